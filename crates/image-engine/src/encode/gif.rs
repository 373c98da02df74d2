//! GIF through `image` (NeuQuant palette, one frame).

use image::DynamicImage;
use image::codecs::gif::GifEncoder;

use crate::EngineError;

pub(super) fn encode(img: &DynamicImage) -> Result<Vec<u8>, EngineError> {
    let (w, h) = (img.width(), img.height());
    if w > u32::from(u16::MAX) || h > u32::from(u16::MAX) {
        return Err(EngineError::NotApplicable(format!(
            "gif holds at most 65535x65535; the image is {w}x{h}"
        )));
    }
    let mut out = Vec::new();
    {
        // Speed 10 of 30: a good palette for photos at a fraction of the slowest setting.
        let mut enc = GifEncoder::new_with_speed(&mut out, 10);
        enc.encode_frame(image::Frame::new(img.to_rgba8()))
            .map_err(|e| EngineError::Encode(format!("gif: {e}")))?;
    }
    Ok(out)
}
