//! `watermark`: text drawn with a built-in 8×8 bitmap font, or an image the caller supplies
//! (the worker fetches it from storage), at a gravity with opacity and margin.

use image::DynamicImage;
use shared_protocol::recipe::{Color, Gravity, Operation};

use super::{Ctx, gravity_offset, overlay};
use crate::EngineError;

/// Applies a `watermark` operation.
pub(crate) fn apply(
    mut img: DynamicImage,
    op: &Operation,
    ctx: &Ctx<'_>,
) -> Result<DynamicImage, EngineError> {
    let Operation::Watermark {
        text,
        image: key,
        gravity,
        opacity,
        margin,
        size,
        color,
    } = op
    else {
        return Ok(img);
    };
    let mark = match (text, key) {
        (Some(text), _) => {
            let height = size.unwrap_or_else(|| (img.height() / 20).clamp(8, 256));
            render_text(text, height, *color)
        }
        (None, Some(key)) => {
            let bytes = ctx.overlays.get(key).ok_or_else(|| {
                EngineError::NotApplicable(format!("watermark image `{key}` was not supplied"))
            })?;
            let decoded = crate::load(bytes, ctx.limits, 1)?;
            match size {
                Some(w) => {
                    let h = (u64::from(*w) * u64::from(decoded.height())
                        / u64::from(decoded.width().max(1)))
                    .max(1);
                    let h = u32::try_from(h).unwrap_or(u32::MAX);
                    ctx.limits.check_output(*w, h)?;
                    super::resize::resample(
                        &decoded,
                        *w,
                        h,
                        shared_protocol::recipe::Filter::Lanczos3,
                        None,
                    )?
                }
                None => decoded,
            }
        }
        (None, None) => return Ok(img),
    };
    let (x, y) = place(&img, &mark, *gravity, *margin);
    if !matches!(
        img.color(),
        image::ColorType::Rgb8 | image::ColorType::Rgba8
    ) && !is_grey(color)
    {
        img = if img.color().has_alpha() {
            DynamicImage::ImageRgba8(img.to_rgba8())
        } else {
            DynamicImage::ImageRgb8(img.to_rgb8())
        };
    }
    overlay(&mut img, &mark, x, y, *opacity);
    Ok(img)
}

fn is_grey(c: &Color) -> bool {
    c.r == c.g && c.g == c.b
}

fn place(img: &DynamicImage, mark: &DynamicImage, gravity: Gravity, margin: u32) -> (i64, i64) {
    let inner = (
        img.width().saturating_sub(2 * margin),
        img.height().saturating_sub(2 * margin),
    );
    let (x, y) = gravity_offset(gravity, inner, (mark.width(), mark.height()));
    let m = i64::from(margin);
    let cx = if mark.width() > inner.0 { 0 } else { m };
    let cy = if mark.height() > inner.1 { 0 } else { m };
    (i64::from(x) + cx, i64::from(y) + cy)
}

/// Renders `text` `height` pixels tall in `color` on transparency.
fn render_text(text: &str, height: u32, color: Color) -> DynamicImage {
    let glyphs: Vec<[u8; 8]> = text
        .chars()
        .map(|c| {
            let i = if c.is_ascii() {
                c as usize
            } else {
                '?' as usize
            };
            font8x8::legacy::BASIC_LEGACY[i]
        })
        .collect();
    let scale = height.max(8) / 8;
    let (w, h) = ((glyphs.len() as u32 * 8 * scale).max(1), 8 * scale);
    image::DynamicImage::ImageRgba8(image::RgbaImage::from_fn(w, h, |x, y| {
        let (gx, gy) = (x / scale, y / scale);
        let glyph = glyphs[(gx / 8) as usize];
        let on = glyph[gy as usize] >> (gx % 8) & 1 == 1;
        image::Rgba([color.r, color.g, color.b, if on { color.a } else { 0 }])
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_as_tall_as_asked_and_eight_columns_per_glyph() {
        let t = render_text("ab", 16, Color::WHITE);
        assert_eq!((t.width(), t.height()), (32, 16));
        assert!(t.as_bytes().chunks(4).any(|p| p[3] == 255));
    }
}
