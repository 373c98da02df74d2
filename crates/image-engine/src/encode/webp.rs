//! WebP through libwebp (the `webp` crate): lossy at a quality, or lossless.

use std::borrow::Cow;

use image::DynamicImage;

use crate::EngineError;

/// libwebp's own bound on either side.
const MAX_SIDE: u32 = 16_383;

pub(super) fn encode(
    img: &DynamicImage,
    quality: u8,
    lossless: bool,
) -> Result<Vec<u8>, EngineError> {
    let (w, h) = (img.width(), img.height());
    if w > MAX_SIDE || h > MAX_SIDE {
        return Err(EngineError::NotApplicable(format!(
            "webp holds at most {MAX_SIDE}x{MAX_SIDE}; the image is {w}x{h}"
        )));
    }
    let img: Cow<'_, DynamicImage> = match img.color() {
        image::ColorType::Rgb8 | image::ColorType::Rgba8 => Cow::Borrowed(img),
        image::ColorType::La8 => Cow::Owned(DynamicImage::ImageRgba8(img.to_rgba8())),
        _ => Cow::Owned(DynamicImage::ImageRgb8(img.to_rgb8())),
    };
    let enc = if img.color().has_alpha() {
        webp::Encoder::from_rgba(img.as_bytes(), w, h)
    } else {
        webp::Encoder::from_rgb(img.as_bytes(), w, h)
    };
    let mem = if lossless {
        enc.encode_lossless()
    } else {
        enc.encode(f32::from(quality))
    };
    if mem.is_empty() {
        return Err(EngineError::Encode(
            "webp: the encoder produced nothing".into(),
        ));
    }
    Ok(mem.to_vec())
}
