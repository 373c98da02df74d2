//! AVIF through `image`'s rav1e-based encoder.

use image::codecs::avif::AvifEncoder;
use image::{DynamicImage, ImageEncoder};

use crate::EngineError;

/// rav1e speed (0 slowest … 10 fastest): 8 keeps a 2 MP encode in about a second per core.
const SPEED: u8 = 8;

pub(super) fn encode(img: &DynamicImage, quality: u8) -> Result<Vec<u8>, EngineError> {
    let img = if img.color().has_alpha() {
        DynamicImage::ImageRgba8(img.to_rgba8())
    } else {
        DynamicImage::ImageRgb8(img.to_rgb8())
    };
    let mut out = Vec::new();
    AvifEncoder::new_with_speed_quality(&mut out, SPEED, quality)
        .write_image(
            img.as_bytes(),
            img.width(),
            img.height(),
            img.color().into(),
        )
        .map_err(|e| EngineError::Encode(format!("avif: {e}")))?;
    Ok(out)
}
