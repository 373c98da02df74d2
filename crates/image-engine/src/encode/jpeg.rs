//! JPEG through `jpeg-encoder` (SIMD colour conversion and DCT; 4:2:0 below quality 90).

use image::DynamicImage;
use jpeg_encoder::{ColorType, Encoder};

use super::flatten;
use crate::EngineError;

pub(super) fn encode(
    img: &DynamicImage,
    quality: u8,
    progressive: bool,
    icc: Option<&[u8]>,
    exif: Option<&[u8]>,
) -> Result<Vec<u8>, EngineError> {
    let flat = flatten(img);
    let (w, h) = (flat.width(), flat.height());
    let (Ok(w16), Ok(h16)) = (u16::try_from(w), u16::try_from(h)) else {
        return Err(EngineError::NotApplicable(format!(
            "jpeg holds at most 65535x65535; the image is {w}x{h}"
        )));
    };
    let color = match flat.color() {
        image::ColorType::L8 => ColorType::Luma,
        _ => ColorType::Rgb,
    };
    let mut out = Vec::with_capacity((w as usize * h as usize / 8).max(1024));
    let mut enc = Encoder::new(&mut out, quality);
    enc.set_progressive(progressive);
    let err = |e: jpeg_encoder::EncodingError| EngineError::Encode(format!("jpeg: {e}"));
    if let Some(icc) = icc {
        enc.add_icc_profile(icc).map_err(err)?;
    }
    if let Some(exif) = exif {
        enc.add_exif_metadata(exif).map_err(err)?;
    }
    enc.encode(flat.as_bytes(), w16, h16, color).map_err(err)?;
    Ok(out)
}
