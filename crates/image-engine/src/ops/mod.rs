//! The operations of a recipe, applied to an 8-bit image (L8, La8, Rgb8 or Rgba8).
//!
//! - [`resize`]: the fit modes, on SIMD convolution.
//! - [`geometry`]: crop, extend, trim, rotate, flip, flop.
//! - [`color`]: grayscale, brightness, contrast, saturation, hue rotation, invert, tint.
//! - [`filter`]: gaussian blur and unsharp mask.
//! - [`smartcrop`]: the attention/entropy window for `cover`.
//! - [`watermark`]: text and image overlays.

pub(crate) mod color;
pub(crate) mod filter;
pub(crate) mod geometry;
pub(crate) mod resize;
pub(crate) mod smartcrop;
pub(crate) mod watermark;

use std::borrow::Cow;

use image::{ColorType, DynamicImage};
use shared_protocol::recipe::{Color, Gravity, Operation};

use crate::{EngineError, Limits, Overlays};

/// What the operations may consult besides the image.
pub(crate) struct Ctx<'a> {
    pub limits: &'a Limits,
    pub overlays: &'a Overlays,
}

/// Applies `ops` in order. A borrowed image is copied only when an operation changes pixels in
/// place; resampling and cropping read the borrow and produce a new image.
/// Each operation runs in its own span and its time is appended to `timings`.
pub(crate) fn apply<'a>(
    mut img: Cow<'a, DynamicImage>,
    ops: &[Operation],
    ctx: &Ctx<'_>,
    timings: &mut Vec<(&'static str, std::time::Duration)>,
) -> Result<Cow<'a, DynamicImage>, EngineError> {
    for op in ops {
        let name = op.name();
        let _span =
            tracing::info_span!("operation", otel.name = name, image.operation = name).entered();
        let started = std::time::Instant::now();
        img = apply_one(img, op, ctx)?;
        timings.push((name, started.elapsed()));
    }
    Ok(img)
}

/// Applies `ops` to every frame of an animation, one operation at a time across all frames.
/// Decisions that depend on content (trim bounds, a smart crop's window) are made on the first
/// frame and reused for the others, so the frames keep one size and the crop does not jitter.
pub(crate) fn apply_frames<'a>(
    mut frames: Vec<Cow<'a, DynamicImage>>,
    ops: &[Operation],
    ctx: &Ctx<'_>,
    timings: &mut Vec<(&'static str, std::time::Duration)>,
) -> Result<Vec<Cow<'a, DynamicImage>>, EngineError> {
    use Operation as O;
    for op in ops {
        let name = op.name();
        let _span =
            tracing::info_span!("operation", otel.name = name, image.operation = name).entered();
        let started = std::time::Instant::now();
        frames = match op {
            O::Trim { threshold } => match frames
                .first()
                .and_then(|f| geometry::trim_bounds(f, *threshold))
            {
                Some((x, y, w, h)) => frames
                    .into_iter()
                    .map(|f| Cow::Owned(f.crop_imm(x, y, w, h)))
                    .collect(),
                None => frames,
            },
            O::Resize {
                width,
                height,
                fit,
                gravity,
                enlarge,
                filter,
                background,
            } => {
                let spec = resize::Spec {
                    width: *width,
                    height: *height,
                    fit: *fit,
                    gravity: *gravity,
                    enlarge: *enlarge,
                    filter: *filter,
                    background: *background,
                };
                let mut pin = None;
                frames
                    .iter()
                    .map(|f| resize::apply_pinned(f, &spec, ctx.limits, &mut pin).map(Cow::Owned))
                    .collect::<Result<_, _>>()?
            }
            _ => frames
                .into_iter()
                .map(|f| apply_one(f, op, ctx))
                .collect::<Result<_, _>>()?,
        };
        if let Some(first) = frames.first() {
            ctx.limits
                .check_frames(frames.len(), first.width(), first.height())?;
        }
        timings.push((name, started.elapsed()));
    }
    Ok(frames)
}

fn apply_one<'a>(
    img: Cow<'a, DynamicImage>,
    op: &Operation,
    ctx: &Ctx<'_>,
) -> Result<Cow<'a, DynamicImage>, EngineError> {
    use Operation as O;
    let owned = |img: Cow<'a, DynamicImage>, f: &dyn Fn(&mut DynamicImage)| {
        let mut img = img.into_owned();
        f(&mut img);
        Cow::Owned(img)
    };
    Ok(match op {
        // The EXIF orientation is applied at decode for every recipe (see the crate docs).
        O::AutoOrient => img,
        O::Resize {
            width,
            height,
            fit,
            gravity,
            enlarge,
            filter,
            background,
        } => {
            let spec = resize::Spec {
                width: *width,
                height: *height,
                fit: *fit,
                gravity: *gravity,
                enlarge: *enlarge,
                filter: *filter,
                background: *background,
            };
            Cow::Owned(resize::apply(&img, &spec, ctx.limits)?)
        }
        O::Crop {
            x,
            y,
            width,
            height,
        } => Cow::Owned(geometry::crop(&img, *x, *y, *width, *height)?),
        O::Extend {
            top,
            right,
            bottom,
            left,
            background,
        } => Cow::Owned(geometry::extend(
            &img,
            [*top, *right, *bottom, *left],
            *background,
            ctx.limits,
        )?),
        O::Trim { threshold } => match geometry::trim_bounds(&img, *threshold) {
            Some((x, y, w, h)) => Cow::Owned(img.crop_imm(x, y, w, h)),
            None => img,
        },
        O::Rotate { angle, background } => {
            Cow::Owned(geometry::rotate(&img, *angle, *background, ctx.limits)?)
        }
        O::Flip => owned(img, &|i| {
            i.apply_orientation(image::metadata::Orientation::FlipVertical)
        }),
        O::Flop => owned(img, &|i| {
            i.apply_orientation(image::metadata::Orientation::FlipHorizontal)
        }),
        O::Grayscale if matches!(img.color(), ColorType::L8 | ColorType::La8) => img,
        O::Grayscale => Cow::Owned(color::grayscale(&img)),
        O::Blur { sigma } => Cow::Owned(filter::blur(&img, *sigma)),
        O::Sharpen {
            sigma,
            amount,
            threshold,
        } => Cow::Owned(filter::sharpen(&img, *sigma, *amount, *threshold)),
        O::Brightness { value } => owned(img, &|i| color::brightness(i, *value)),
        O::Contrast { value } => owned(img, &|i| color::contrast(i, *value)),
        O::Saturation { value } => owned(img, &|i| color::saturation(i, *value)),
        O::HueRotate { degrees } => owned(img, &|i| color::hue_rotate(i, *degrees)),
        O::Invert => owned(img, &color::invert),
        O::Tint { color: c } => Cow::Owned(color::tint(&img, *c)),
        O::Watermark { .. } => Cow::Owned(watermark::apply(img.into_owned(), op, ctx)?),
    })
}

/// Top-left offset that places `inner` inside `outer` at `gravity` (smart gravities centre).
pub(crate) fn gravity_offset(gravity: Gravity, outer: (u32, u32), inner: (u32, u32)) -> (u32, u32) {
    use Gravity as G;
    let dx = outer.0.saturating_sub(inner.0);
    let dy = outer.1.saturating_sub(inner.1);
    let x = match gravity {
        G::West | G::Northwest | G::Southwest => 0,
        G::East | G::Northeast | G::Southeast => dx,
        _ => dx / 2,
    };
    let y = match gravity {
        G::North | G::Northwest | G::Northeast => 0,
        G::South | G::Southwest | G::Southeast => dy,
        _ => dy / 2,
    };
    (x, y)
}

fn is_grey(c: Color) -> bool {
    c.r == c.g && c.g == c.b
}

/// The layout that can hold both `img` and a `bg` colour without loss.
pub(crate) fn layout_for(img: &DynamicImage, bg: Color) -> ColorType {
    let alpha = img.color().has_alpha() || bg.a < 255;
    let grey = matches!(img.color(), ColorType::L8 | ColorType::La8) && is_grey(bg);
    match (grey, alpha) {
        (true, false) => ColorType::L8,
        (true, true) => ColorType::La8,
        (false, false) => ColorType::Rgb8,
        (false, true) => ColorType::Rgba8,
    }
}

/// Converts to one of the four 8-bit layouts (no copy when it already is).
pub(crate) fn convert(img: Cow<'_, DynamicImage>, to: ColorType) -> Cow<'_, DynamicImage> {
    if img.color() == to {
        return img;
    }
    Cow::Owned(match to {
        ColorType::L8 => DynamicImage::ImageLuma8(img.to_luma8()),
        ColorType::La8 => DynamicImage::ImageLumaA8(img.to_luma_alpha8()),
        ColorType::Rgb8 => DynamicImage::ImageRgb8(img.to_rgb8()),
        _ => DynamicImage::ImageRgba8(img.to_rgba8()),
    })
}

/// A `w`×`h` image filled with `bg`, in a layout that holds both `like` and `bg`.
pub(crate) fn canvas(like: &DynamicImage, w: u32, h: u32, bg: Color) -> DynamicImage {
    let layout = layout_for(like, bg);
    let px: Vec<u8> = match layout {
        ColorType::L8 => vec![bg.r],
        ColorType::La8 => vec![bg.r, bg.a],
        ColorType::Rgb8 => vec![bg.r, bg.g, bg.b],
        _ => vec![bg.r, bg.g, bg.b, bg.a],
    };
    let mut out = DynamicImage::new(w, h, layout);
    match &mut out {
        DynamicImage::ImageLuma8(b) => b.fill(bg.r),
        other => {
            for chunk in bytes_mut(other).chunks_exact_mut(px.len()) {
                chunk.copy_from_slice(&px);
            }
        }
    }
    out
}

/// Composites `src` onto `dst` with its top-left corner at (`x`, `y`), clipped to `dst`, using
/// `src`'s alpha times `opacity`.
pub(crate) fn overlay(dst: &mut DynamicImage, src: &DynamicImage, x: i64, y: i64, opacity: f32) {
    let src = convert(
        Cow::Borrowed(src),
        match dst.color() {
            ColorType::L8 | ColorType::La8 => ColorType::La8,
            _ => ColorType::Rgba8,
        },
    );
    let (dw, dh) = (i64::from(dst.width()), i64::from(dst.height()));
    let (sw, sh) = (i64::from(src.width()), i64::from(src.height()));
    let x0 = x.max(0);
    let y0 = y.max(0);
    let x1 = (x + sw).min(dw);
    let y1 = (y + sh).min(dh);
    if x0 >= x1 || y0 >= y1 {
        return;
    }
    let dn = usize::from(dst.color().channel_count());
    let sn = usize::from(src.color().channel_count());
    let dst_alpha = dst.color().has_alpha();
    let colour = sn - 1;
    let dst_stride = dn * dw as usize;
    let src_stride = sn * sw as usize;
    let src_bytes = src.as_bytes();
    let dst_bytes = bytes_mut(dst);
    for row in y0..y1 {
        let d_off = row as usize * dst_stride;
        let s_off = (row - y) as usize * src_stride;
        for col in x0..x1 {
            let d = d_off + col as usize * dn;
            let s = s_off + (col - x) as usize * sn;
            let a = f32::from(src_bytes[s + colour]) / 255.0 * opacity;
            if a <= 0.0 {
                continue;
            }
            let da = if dst_alpha {
                f32::from(dst_bytes[d + dn - 1]) / 255.0
            } else {
                1.0
            };
            let out_a = a + da * (1.0 - a);
            for c in 0..colour {
                let sc = f32::from(src_bytes[s + c]);
                let dc = f32::from(dst_bytes[d + c]);
                let v = if out_a > 0.0 {
                    (sc * a + dc * da * (1.0 - a)) / out_a
                } else {
                    0.0
                };
                dst_bytes[d + c] = v.round().clamp(0.0, 255.0) as u8;
            }
            if dst_alpha {
                dst_bytes[d + dn - 1] = (out_a * 255.0).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
}

/// The pixel bytes of an 8-bit image, mutably (empty for other layouts, which the engine
/// narrows away at decode).
pub(crate) fn bytes_mut(img: &mut DynamicImage) -> &mut [u8] {
    match img {
        DynamicImage::ImageLuma8(b) => b,
        DynamicImage::ImageLumaA8(b) => b,
        DynamicImage::ImageRgb8(b) => b,
        DynamicImage::ImageRgba8(b) => b,
        _ => &mut [],
    }
}
