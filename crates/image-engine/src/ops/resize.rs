//! `resize` with sharp's fit modes, on `fast_image_resize` (SIMD convolution).

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::DynamicImage;
use shared_protocol::recipe::{Color, Filter, Fit, Gravity};

use super::{canvas, gravity_offset, overlay, smartcrop};
use crate::{EngineError, Limits};

/// A resize as the recipe states it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spec {
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub fit: Fit,
    pub gravity: Gravity,
    pub enlarge: bool,
    pub filter: Filter,
    pub background: Color,
}

/// Where a resize lands: the scaled size, and the box the result is cropped (cover) or padded
/// (contain) to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub scaled: (u32, u32),
    pub boxed: (u32, u32),
}

fn round_dim(v: f64) -> u32 {
    // Saturating float-to-int conversion; a zero-sized result is never useful.
    (v.round() as u32).max(1)
}

/// Computes the scaled size and box for an image of `w`×`h`.
pub(crate) fn geometry(w: u32, h: u32, spec: &Spec) -> Geometry {
    let (wf, hf) = (f64::from(w), f64::from(h));
    let rw = spec.width.map(|t| f64::from(t) / wf);
    let rh = spec.height.map(|t| f64::from(t) / hf);
    let cap = |s: f64| if spec.enlarge { s } else { s.min(1.0) };
    if spec.fit == Fit::Fill {
        let sx = cap(rw.or(rh).unwrap_or(1.0));
        let sy = cap(rh.or(rw).unwrap_or(1.0));
        let scaled = (round_dim(wf * sx), round_dim(hf * sy));
        return Geometry {
            scaled,
            boxed: scaled,
        };
    }
    let s = match (rw, rh, spec.fit) {
        (Some(a), Some(b), Fit::Inside | Fit::Contain) => a.min(b),
        (Some(a), Some(b), _) => a.max(b),
        (Some(a), None, _) | (None, Some(a), _) => a,
        (None, None, _) => 1.0,
    };
    let s = cap(s);
    let mut scaled = (round_dim(wf * s), round_dim(hf * s));
    if matches!(spec.fit, Fit::Inside | Fit::Contain) {
        // Rounding must never push a side past the box it has to fit in.
        if let Some(t) = spec.width {
            scaled.0 = scaled.0.min(t);
        }
        if let Some(t) = spec.height {
            scaled.1 = scaled.1.min(t);
        }
    }
    let boxed = match spec.fit {
        Fit::Cover => (
            spec.width.map_or(scaled.0, |t| t.min(scaled.0)),
            spec.height.map_or(scaled.1, |t| t.min(scaled.1)),
        ),
        Fit::Contain => (
            spec.width.unwrap_or(scaled.0),
            spec.height.unwrap_or(scaled.1),
        ),
        _ => scaled,
    };
    Geometry { scaled, boxed }
}

/// The scale factor the first resize applies to an image of `w`×`h` (used to pick how far to
/// shrink on load).
pub(crate) fn scale_of(w: u32, h: u32, spec: &Spec) -> f64 {
    let g = geometry(w, h, spec);
    (f64::from(g.scaled.0) / f64::from(w)).max(f64::from(g.scaled.1) / f64::from(h))
}

fn algorithm(filter: Filter) -> ResizeAlg {
    match filter {
        Filter::Lanczos3 => ResizeAlg::Convolution(FilterType::Lanczos3),
        Filter::Mitchell => ResizeAlg::Convolution(FilterType::Mitchell),
        Filter::Bilinear => ResizeAlg::Convolution(FilterType::Bilinear),
        Filter::Nearest => ResizeAlg::Nearest,
    }
}

/// Resamples `src` (optionally only the `crop` rectangle of it, in source pixels) to `w`×`h`.
pub(crate) fn resample(
    src: &DynamicImage,
    w: u32,
    h: u32,
    filter: Filter,
    crop: Option<(f64, f64, f64, f64)>,
) -> Result<DynamicImage, EngineError> {
    if crop.is_none() && (w, h) == (src.width(), src.height()) {
        return Ok(src.clone());
    }
    let mut dst = DynamicImage::new(w, h, src.color());
    let mut options = ResizeOptions::new().resize_alg(algorithm(filter));
    if let Some((left, top, cw, ch)) = crop {
        options = options.crop(left, top, cw, ch);
    }
    Resizer::new()
        .resize(src, &mut dst, &options)
        .map_err(|e| EngineError::Encode(format!("resize: {e}")))?;
    Ok(dst)
}

/// Applies a resize.
pub(crate) fn apply(
    src: &DynamicImage,
    spec: &Spec,
    limits: &Limits,
) -> Result<DynamicImage, EngineError> {
    apply_pinned(src, spec, limits, &mut None)
}

/// Applies a resize; a smart crop (attention, entropy) uses the window in `pin` when there is
/// one and stores the window it found otherwise, so every frame of an animation is cut alike.
pub(crate) fn apply_pinned(
    src: &DynamicImage,
    spec: &Spec,
    limits: &Limits,
    pin: &mut Option<(u32, u32)>,
) -> Result<DynamicImage, EngineError> {
    let (w, h) = (src.width(), src.height());
    let g = geometry(w, h, spec);
    limits.check_output(g.scaled.0, g.scaled.1)?;
    limits.check_output(g.boxed.0, g.boxed.1)?;
    match spec.fit {
        Fit::Cover if g.boxed != g.scaled => {
            if matches!(spec.gravity, Gravity::Attention | Gravity::Entropy) {
                let scaled = resample(src, g.scaled.0, g.scaled.1, spec.filter, None)?;
                let (x, y) =
                    *pin.get_or_insert_with(|| smartcrop::find(&scaled, g.boxed, spec.gravity));
                Ok(scaled.crop_imm(x, y, g.boxed.0, g.boxed.1))
            } else {
                // Crop in source coordinates and resample only what is kept: the same result
                // as resize-then-crop, without scaling pixels that are thrown away.
                let (x, y) = gravity_offset(spec.gravity, g.scaled, g.boxed);
                let sx = f64::from(w) / f64::from(g.scaled.0);
                let sy = f64::from(h) / f64::from(g.scaled.1);
                let crop = (
                    f64::from(x) * sx,
                    f64::from(y) * sy,
                    f64::from(g.boxed.0) * sx,
                    f64::from(g.boxed.1) * sy,
                );
                resample(src, g.boxed.0, g.boxed.1, spec.filter, Some(crop))
            }
        }
        Fit::Contain if g.boxed != g.scaled => {
            let scaled = resample(src, g.scaled.0, g.scaled.1, spec.filter, None)?;
            let mut out = canvas(&scaled, g.boxed.0, g.boxed.1, spec.background);
            let (x, y) = gravity_offset(spec.gravity, g.boxed, g.scaled);
            overlay(&mut out, &scaled, i64::from(x), i64::from(y), 1.0);
            Ok(out)
        }
        _ => resample(src, g.scaled.0, g.scaled.1, spec.filter, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(width: Option<u32>, height: Option<u32>, fit: Fit, enlarge: bool) -> Spec {
        Spec {
            width,
            height,
            fit,
            gravity: Gravity::Center,
            enlarge,
            filter: Filter::Lanczos3,
            background: Color::WHITE,
        }
    }

    #[test]
    fn inside_fits_the_box_keeping_aspect() {
        let g = geometry(4000, 3000, &spec(Some(800), Some(800), Fit::Inside, false));
        assert_eq!(g.scaled, (800, 600));
        assert_eq!(g.boxed, (800, 600));
    }

    #[test]
    fn outside_covers_the_box_without_cropping() {
        let g = geometry(4000, 3000, &spec(Some(800), Some(800), Fit::Outside, false));
        assert_eq!(g.scaled, (1067, 800));
        assert_eq!(g.boxed, (1067, 800));
    }

    #[test]
    fn cover_fills_the_box_and_crops_the_overflow() {
        let g = geometry(4000, 3000, &spec(Some(200), Some(200), Fit::Cover, false));
        assert_eq!(g.scaled, (267, 200));
        assert_eq!(g.boxed, (200, 200));
    }

    #[test]
    fn contain_fits_inside_and_pads_to_the_box() {
        let g = geometry(4000, 3000, &spec(Some(200), Some(200), Fit::Contain, false));
        assert_eq!(g.scaled, (200, 150));
        assert_eq!(g.boxed, (200, 200));
    }

    #[test]
    fn fill_stretches_to_exactly_the_box() {
        let g = geometry(4000, 3000, &spec(Some(300), Some(100), Fit::Fill, false));
        assert_eq!(g.scaled, (300, 100));
    }

    #[test]
    fn a_small_image_is_not_enlarged_unless_asked() {
        let g = geometry(100, 50, &spec(Some(800), None, Fit::Inside, false));
        assert_eq!(g.scaled, (100, 50));
        let g = geometry(100, 50, &spec(Some(800), None, Fit::Inside, true));
        assert_eq!(g.scaled, (800, 400));
    }

    #[test]
    fn one_given_side_keeps_the_aspect_ratio() {
        let g = geometry(4000, 3000, &spec(None, Some(300), Fit::Inside, false));
        assert_eq!(g.scaled, (400, 300));
    }
}
