//! Crop, extend, trim and rotate.

use std::borrow::Cow;

use image::DynamicImage;
use shared_protocol::recipe::Color;

use super::{canvas, convert, layout_for};
use crate::{EngineError, Limits};

/// Cuts out a rectangle that must lie inside the image.
pub(crate) fn crop(
    img: &DynamicImage,
    x: u32,
    y: u32,
    w: u32,
    h: u32,
) -> Result<DynamicImage, EngineError> {
    let fits = u64::from(x) + u64::from(w) <= u64::from(img.width())
        && u64::from(y) + u64::from(h) <= u64::from(img.height());
    if !fits || w == 0 || h == 0 {
        return Err(EngineError::NotApplicable(format!(
            "crop {w}x{h} at ({x}, {y}) lies outside the {}x{} image",
            img.width(),
            img.height()
        )));
    }
    Ok(img.crop_imm(x, y, w, h))
}

/// Adds borders of `[top, right, bottom, left]` pixels in `bg`.
pub(crate) fn extend(
    img: &DynamicImage,
    [top, right, bottom, left]: [u32; 4],
    bg: Color,
    limits: &Limits,
) -> Result<DynamicImage, EngineError> {
    let w = u64::from(img.width()) + u64::from(left) + u64::from(right);
    let h = u64::from(img.height()) + u64::from(top) + u64::from(bottom);
    let (w, h) = (
        u32::try_from(w).unwrap_or(u32::MAX),
        u32::try_from(h).unwrap_or(u32::MAX),
    );
    limits.check_output(w, h)?;
    let mut out = canvas(img, w, h, bg);
    let src = convert(Cow::Borrowed(img), out.color());
    // A plain copy, not a blend: the image's own transparency must survive the border.
    image::imageops::replace(&mut out, src.as_ref(), i64::from(left), i64::from(top));
    Ok(out)
}

/// The bounding box of everything that differs from the top-left pixel by more than
/// `threshold` in any channel; `None` when the whole image is border (nothing sensible to keep,
/// so the image is left as it is).
pub(crate) fn trim_bounds(img: &DynamicImage, threshold: u8) -> Option<(u32, u32, u32, u32)> {
    let n = usize::from(img.color().channel_count());
    let (w, h) = (img.width() as usize, img.height() as usize);
    let bytes = img.as_bytes();
    let corner = bytes.get(..n)?.to_vec();
    let differs = |px: &[u8]| {
        px.iter()
            .zip(&corner)
            .any(|(a, b)| a.abs_diff(*b) > threshold)
    };
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0usize, 0usize);
    for y in 0..h {
        let row = &bytes[y * w * n..(y + 1) * w * n];
        let mut first = None;
        let mut last = 0;
        for (x, px) in row.chunks_exact(n).enumerate() {
            if differs(px) {
                first.get_or_insert(x);
                last = x;
            }
        }
        if let Some(f) = first {
            x0 = x0.min(f);
            x1 = x1.max(last + 1);
            y0 = y0.min(y);
            y1 = y + 1;
        }
    }
    if x0 >= x1 || y0 >= y1 {
        return None;
    }
    Some((x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32))
}

/// Rotates clockwise by `angle` degrees. Multiples of 90 are exact; other angles resample
/// bilinearly onto a canvas that holds the whole rotated image, filled with `bg`.
pub(crate) fn rotate(
    img: &DynamicImage,
    angle: f32,
    bg: Color,
    limits: &Limits,
) -> Result<DynamicImage, EngineError> {
    let a = angle.rem_euclid(360.0);
    if a == 0.0 {
        return Ok(img.clone());
    }
    if a == 90.0 {
        return Ok(img.rotate90());
    }
    if a == 180.0 {
        return Ok(img.rotate180());
    }
    if a == 270.0 {
        return Ok(img.rotate270());
    }
    let rad = f64::from(a).to_radians();
    let (sin, cos) = rad.sin_cos();
    let (w, h) = (f64::from(img.width()), f64::from(img.height()));
    let nw = (w * cos.abs() + h * sin.abs()).round().max(1.0) as u32;
    let nh = (w * sin.abs() + h * cos.abs()).round().max(1.0) as u32;
    limits.check_output(nw, nh)?;
    let layout = layout_for(img, bg);
    let src = convert(Cow::Borrowed(img), layout);
    let mut out = canvas(&src, nw, nh, bg);
    let n = usize::from(layout.channel_count());
    let src_bytes = src.as_bytes();
    let (sw, sh) = (img.width() as usize, img.height() as usize);
    let (cx, cy) = (w / 2.0, h / 2.0);
    let (ncx, ncy) = (f64::from(nw) / 2.0, f64::from(nh) / 2.0);
    let out_w = nw as usize;
    let out_bytes = super::bytes_mut(&mut out);
    for oy in 0..nh as usize {
        for ox in 0..out_w {
            // Inverse mapping: where in the source does this output pixel's centre come from?
            let dx = ox as f64 + 0.5 - ncx;
            let dy = oy as f64 + 0.5 - ncy;
            let sx = dx * cos + dy * sin + cx - 0.5;
            let sy = -dx * sin + dy * cos + cy - 0.5;
            if sx < -0.5 || sy < -0.5 || sx > w - 0.5 || sy > h - 0.5 {
                continue;
            }
            let x0 = sx.floor().clamp(0.0, (sw - 1) as f64) as usize;
            let y0 = sy.floor().clamp(0.0, (sh - 1) as f64) as usize;
            let x1 = (x0 + 1).min(sw - 1);
            let y1 = (y0 + 1).min(sh - 1);
            let fx = (sx - x0 as f64).clamp(0.0, 1.0);
            let fy = (sy - y0 as f64).clamp(0.0, 1.0);
            let o = (oy * out_w + ox) * n;
            for c in 0..n {
                let p = |x: usize, y: usize| f64::from(src_bytes[(y * sw + x) * n + c]);
                let top = p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx;
                let bottom = p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx;
                out_bytes[o + c] = (top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grey(w: u32, h: u32, v: u8) -> DynamicImage {
        DynamicImage::ImageLuma8(image::GrayImage::from_pixel(w, h, image::Luma([v])))
    }

    #[test]
    fn a_crop_outside_the_image_is_not_applicable() {
        let err = crop(&grey(10, 10, 0), 5, 5, 6, 2).unwrap_err();
        assert!(matches!(err, EngineError::NotApplicable(_)), "{err}");
    }

    #[test]
    fn trim_finds_the_content_inside_a_uniform_border() {
        let mut img = image::GrayImage::from_pixel(20, 10, image::Luma([255]));
        for y in 3..6 {
            for x in 4..9 {
                img.put_pixel(x, y, image::Luma([0]));
            }
        }
        let b = trim_bounds(&DynamicImage::ImageLuma8(img), 10);
        assert_eq!(b, Some((4, 3, 5, 3)));
    }

    #[test]
    fn rotating_by_an_arbitrary_angle_grows_the_canvas() {
        let out = rotate(&grey(100, 50, 0), 45.0, Color::WHITE, &Limits::default()).unwrap();
        assert_eq!((out.width(), out.height()), (106, 106));
    }

    #[test]
    fn extend_adds_the_borders() {
        let out = extend(
            &grey(10, 10, 0),
            [1, 2, 3, 4],
            Color::WHITE,
            &Limits::default(),
        )
        .unwrap();
        assert_eq!((out.width(), out.height()), (16, 14));
    }
}
