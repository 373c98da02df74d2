//! Colour operations. Alpha is never touched; grey images stay grey where the result would be
//! grey anyway.

use image::DynamicImage;
use shared_protocol::recipe::Color;

/// Rec. 601 luma weights, as JPEG's YCbCr uses.
const LUMA: [f32; 3] = [0.299, 0.587, 0.114];

fn clamp_u8(v: f32) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

/// Colour channels and whether the last channel is alpha.
fn shape(img: &DynamicImage) -> (usize, bool) {
    (
        usize::from(img.color().channel_count()),
        img.color().has_alpha(),
    )
}

/// Applies a per-channel lookup table to the colour channels.
fn map_lut(img: &mut DynamicImage, lut: &[u8; 256]) {
    let (n, alpha) = shape(img);
    let colour = if alpha { n - 1 } else { n };
    for px in super::bytes_mut(img).chunks_exact_mut(n) {
        for c in &mut px[..colour] {
            *c = lut[usize::from(*c)];
        }
    }
}

fn lut(f: impl Fn(f32) -> f32) -> [u8; 256] {
    std::array::from_fn(|i| clamp_u8(f(i as f32)))
}

/// Applies `f` to each RGB triple of an Rgb8/Rgba8 image (grey images are left alone).
fn map_rgb(img: &mut DynamicImage, f: impl Fn([f32; 3]) -> [f32; 3]) {
    let (n, _) = shape(img);
    if n < 3 {
        return;
    }
    for px in super::bytes_mut(img).chunks_exact_mut(n) {
        let out = f([f32::from(px[0]), f32::from(px[1]), f32::from(px[2])]);
        px[0] = clamp_u8(out[0]);
        px[1] = clamp_u8(out[1]);
        px[2] = clamp_u8(out[2]);
    }
}

/// Converts to grey (keeping alpha) with Rec. 601 weights: the luma JPEG stores (so a grey
/// decode of a JPEG's Y plane gives the same picture) and the one Pillow's `L` mode uses.
pub(crate) fn grayscale(img: &DynamicImage) -> DynamicImage {
    let (n, alpha) = shape(img);
    if n < 3 {
        return img.clone();
    }
    // 16.16 fixed point: 0.299, 0.587, 0.114 summing to exactly 1.
    let luma = |p: &[u8]| -> u8 {
        ((19_595 * u32::from(p[0]) + 38_470 * u32::from(p[1]) + 7_471 * u32::from(p[2]) + 32_768)
            >> 16) as u8
    };
    let (w, h) = (img.width(), img.height());
    let bytes = img.as_bytes();
    if alpha {
        let out: Vec<u8> = bytes
            .chunks_exact(n)
            .flat_map(|p| [luma(p), p[3]])
            .collect();
        image::GrayAlphaImage::from_raw(w, h, out).map_or_else(
            || DynamicImage::ImageLumaA8(img.to_luma_alpha8()),
            DynamicImage::ImageLumaA8,
        )
    } else {
        let out: Vec<u8> = bytes.chunks_exact(n).map(luma).collect();
        image::GrayImage::from_raw(w, h, out).map_or_else(
            || DynamicImage::ImageLuma8(img.to_luma8()),
            DynamicImage::ImageLuma8,
        )
    }
}

/// Multiplies every colour channel by `value`.
pub(crate) fn brightness(img: &mut DynamicImage, value: f32) {
    map_lut(img, &lut(|v| v * value));
}

/// Scales distances from mid-grey by `value`.
pub(crate) fn contrast(img: &mut DynamicImage, value: f32) {
    map_lut(img, &lut(|v| (v - 128.0) * value + 128.0));
}

/// Scales each pixel's distance from its own grey by `value` (0 = grey).
pub(crate) fn saturation(img: &mut DynamicImage, value: f32) {
    map_rgb(img, |[r, g, b]| {
        let y = LUMA[0] * r + LUMA[1] * g + LUMA[2] * b;
        [
            y + (r - y) * value,
            y + (g - y) * value,
            y + (b - y) * value,
        ]
    });
}

/// Rotates hues by `degrees`, keeping luma (the matrix of CSS `hue-rotate`).
pub(crate) fn hue_rotate(img: &mut DynamicImage, degrees: f32) {
    let (s, c) = degrees.to_radians().sin_cos();
    let m = [
        [
            0.213 + c * 0.787 - s * 0.213,
            0.715 - c * 0.715 - s * 0.715,
            0.072 - c * 0.072 + s * 0.928,
        ],
        [
            0.213 - c * 0.213 + s * 0.143,
            0.715 + c * 0.285 + s * 0.140,
            0.072 - c * 0.072 - s * 0.283,
        ],
        [
            0.213 - c * 0.213 - s * 0.787,
            0.715 - c * 0.715 + s * 0.715,
            0.072 + c * 0.928 + s * 0.072,
        ],
    ];
    map_rgb(img, |p| {
        std::array::from_fn(|i| m[i][0] * p[0] + m[i][1] * p[1] + m[i][2] * p[2])
    });
}

/// Inverts the colour channels.
pub(crate) fn invert(img: &mut DynamicImage) {
    map_lut(img, &lut(|v| 255.0 - v));
}

/// Keeps each pixel's luma and takes the chroma of `color` (YCbCr), like sharp's tint.
pub(crate) fn tint(img: &DynamicImage, color: Color) -> DynamicImage {
    let mut out = if img.color().has_alpha() {
        DynamicImage::ImageRgba8(img.to_rgba8())
    } else {
        DynamicImage::ImageRgb8(img.to_rgb8())
    };
    let (r, g, b) = (f32::from(color.r), f32::from(color.g), f32::from(color.b));
    let cb = -0.168_736 * r - 0.331_264 * g + 0.5 * b;
    let cr = 0.5 * r - 0.418_688 * g - 0.081_312 * b;
    map_rgb(&mut out, |[r, g, b]| {
        let y = LUMA[0] * r + LUMA[1] * g + LUMA[2] * b;
        [
            y + 1.402 * cr,
            y - 0.344_136 * cb - 0.714_136 * cr,
            y + 1.772 * cb,
        ]
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rgb(r: u8, g: u8, b: u8) -> DynamicImage {
        DynamicImage::ImageRgb8(image::RgbImage::from_pixel(2, 2, image::Rgb([r, g, b])))
    }

    fn first(img: &DynamicImage) -> Vec<u8> {
        img.as_bytes()[..usize::from(img.color().channel_count())].to_vec()
    }

    #[test]
    fn invert_twice_is_the_identity_and_keeps_alpha() {
        let mut img = DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
            1,
            1,
            image::Rgba([10, 20, 30, 40]),
        ));
        invert(&mut img);
        assert_eq!(first(&img), [245, 235, 225, 40]);
        invert(&mut img);
        assert_eq!(first(&img), [10, 20, 30, 40]);
    }

    #[test]
    fn zero_saturation_makes_grey() {
        let mut img = rgb(200, 50, 10);
        saturation(&mut img, 0.0);
        let p = first(&img);
        assert!(p[0] == p[1] && p[1] == p[2], "{p:?}");
    }

    #[test]
    fn a_full_hue_turn_changes_nothing() {
        let mut img = rgb(200, 50, 10);
        hue_rotate(&mut img, 360.0);
        let p = first(&img);
        assert!(p[0].abs_diff(200) <= 1 && p[1].abs_diff(50) <= 1 && p[2].abs_diff(10) <= 1);
    }

    #[test]
    fn tint_keeps_luma_and_moves_chroma_toward_the_colour() {
        let out = tint(&rgb(128, 128, 128), Color::rgba(255, 0, 0, 255));
        let p = first(&out);
        assert!(p[0] > p[1] && p[0] > p[2], "{p:?}");
    }

    #[test]
    fn brightness_scales_channels() {
        let mut img = rgb(100, 100, 100);
        brightness(&mut img, 1.5);
        assert_eq!(first(&img), [150, 150, 150]);
    }
}
