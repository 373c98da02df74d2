//! Test images made on the fly: nothing binary is checked in.
#![allow(dead_code)]

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, RgbImage};
use image_engine::Recipe;
use shared_protocol::recipe::RecipeLimits;

/// A photo-like RGB image: smooth gradients, some texture, and an asymmetric marker (a red
/// block in the top-left quarter) so orientation mistakes show.
pub fn photo(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let fx = x as f32 / w as f32;
        let fy = y as f32 / h as f32;
        let tex = (((x as f32 * 0.37).sin() * (y as f32 * 0.23).cos()) * 12.0) as i32;
        let marker = x < w / 4 && y < h / 4;
        if marker {
            image::Rgb([220, 30, 30])
        } else {
            let r = (40.0 + 150.0 * fx) as i32 + tex;
            let g = (60.0 + 120.0 * fy) as i32 + tex;
            let b = (200.0 - 120.0 * fx * fy) as i32 - tex;
            image::Rgb([
                r.clamp(0, 255) as u8,
                g.clamp(0, 255) as u8,
                b.clamp(0, 255) as u8,
            ])
        }
    })
}

/// Encodes an image with the `image` crate.
pub fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encode test image");
    out.into_inner()
}

/// A JPEG of `img` at quality 90, with an EXIF block holding `orientation` when given.
pub fn jpeg(img: &RgbImage, orientation: Option<u16>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, 90);
    if let Some(o) = orientation {
        enc.add_exif_metadata(&exif_with_orientation(o))
            .expect("exif");
    }
    enc.encode(
        img.as_raw(),
        img.width() as u16,
        img.height() as u16,
        jpeg_encoder::ColorType::Rgb,
    )
    .expect("encode jpeg");
    out
}

/// A minimal big-endian TIFF/EXIF structure with one IFD entry: Orientation.
pub fn exif_with_orientation(o: u16) -> Vec<u8> {
    let mut v = b"MM\0*\0\0\0\x08".to_vec();
    v.extend_from_slice(&1u16.to_be_bytes());
    v.extend_from_slice(&0x0112u16.to_be_bytes());
    v.extend_from_slice(&3u16.to_be_bytes());
    v.extend_from_slice(&1u32.to_be_bytes());
    v.extend_from_slice(&o.to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(&0u32.to_be_bytes());
    v
}

/// Parses a recipe, panicking on error (tests only).
pub fn recipe(json: &str) -> Recipe {
    Recipe::parse(json.as_bytes(), &RecipeLimits::default()).expect("valid test recipe")
}

/// Decodes an encoded output back to RGB8 for checks.
pub fn decode(bytes: &[u8]) -> RgbImage {
    image::load_from_memory(bytes)
        .expect("output decodes")
        .to_rgb8()
}

/// Peak signal-to-noise ratio between two equally sized RGB images, in dB.
pub fn psnr(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let mse: f64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| {
            let d = f64::from(x) - f64::from(y);
            d * d
        })
        .sum::<f64>()
        / a.as_raw().len() as f64;
    if mse == 0.0 {
        return f64::INFINITY;
    }
    10.0 * (255.0f64 * 255.0 / mse).log10()
}
