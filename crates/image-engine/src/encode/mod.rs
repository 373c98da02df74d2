//! Encoding an output: one module per format, plus the `max_bytes` quality search.
//!
//! Metadata policy: EXIF/XMP/IPTC are dropped unless the output says `strip_metadata: false`
//! (then EXIF is kept with its orientation reset, since the pixels are already upright); the
//! ICC profile is always kept where the format carries it, so colours stay right.

mod animated;
mod avif;
mod gif;
mod jpeg;
mod png;
mod webp;

use image::DynamicImage;
use shared_protocol::recipe::{Format, Output};

use crate::EngineError;

/// Metadata carried from the source to the outputs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Metadata {
    pub icc: Option<Vec<u8>>,
    /// EXIF with its orientation already reset to 1.
    pub exif: Option<Vec<u8>>,
}

/// Default lossy quality when the output names none.
pub(crate) fn default_quality(format: Format) -> u8 {
    match format {
        Format::Avif => 50,
        _ => 80,
    }
}

/// The ICC profile, if it describes the colour model the output is written in (a grey profile
/// on RGB pixels, or the reverse, would be worse than none).
fn icc_for<'a>(meta: &'a Metadata, img: &DynamicImage) -> Option<&'a [u8]> {
    let icc = meta.icc.as_deref()?;
    let space = icc.get(16..20)?;
    let grey_pixels = matches!(img.color(), image::ColorType::L8 | image::ColorType::La8);
    match (space, grey_pixels) {
        (b"GRAY", true) | (b"RGB ", false) => Some(icc),
        _ => None,
    }
}

/// Encodes `img` as `out` says; with `max_bytes`, steps the quality down until it fits.
pub(crate) fn encode(
    img: &DynamicImage,
    out: &Output,
    meta: &Metadata,
) -> Result<Vec<u8>, EngineError> {
    let icc = icc_for(meta, img);
    let exif = if out.strip_metadata {
        None
    } else {
        meta.exif.as_deref()
    };
    fit_bytes(out, |q| match out.format {
        Format::Jpeg => jpeg::encode(img, q, out.progressive, icc, exif),
        Format::Png => png::encode(img, out.compression, icc, exif),
        Format::Webp => webp::encode(img, q, out.lossless),
        Format::Gif => gif::encode(img),
        Format::Avif => avif::encode(img, q),
    })
}

/// Encodes an animation (frames of one size, each shown for its delay in milliseconds) as an
/// animated GIF or WebP; `max_bytes` steps a lossy WebP's quality down as for a still.
pub(crate) fn encode_animation(
    frames: &[&DynamicImage],
    delays_ms: &[u32],
    out: &Output,
) -> Result<Vec<u8>, EngineError> {
    fit_bytes(out, |q| match out.format {
        Format::Gif => animated::gif(frames, delays_ms),
        Format::Webp => animated::webp(frames, delays_ms, q, out.lossless),
        other => Err(EngineError::NotApplicable(format!(
            "{} cannot hold an animation",
            other.as_str()
        ))),
    })
}

/// Encodes at the output's quality and, with `max_bytes`, searches down for the highest
/// quality that fits.
fn fit_bytes(
    out: &Output,
    encode_at: impl Fn(u8) -> Result<Vec<u8>, EngineError>,
) -> Result<Vec<u8>, EngineError> {
    let quality = out.quality.unwrap_or_else(|| default_quality(out.format));
    let at = |q: u8| crate::error::guard(|| encode_at(q));
    let first = at(quality)?;
    let Some(max) = out.max_bytes else {
        return Ok(first);
    };
    if first.len() as u64 <= max {
        return Ok(first);
    }
    let lossy = matches!(out.format, Format::Jpeg | Format::Avif)
        || (out.format == Format::Webp && !out.lossless);
    if !lossy {
        return Err(EngineError::NotApplicable(format!(
            "a lossless {} of {} bytes does not fit in max_bytes {max}",
            out.format.as_str(),
            first.len()
        )));
    }
    // Binary search for the highest quality that fits: at most seven more encodes.
    let (mut lo, mut hi) = (1u8, quality.saturating_sub(1));
    let mut best = None;
    while lo <= hi {
        let mid = lo + (hi - lo) / 2;
        let bytes = at(mid)?;
        if bytes.len() as u64 <= max {
            best = Some(bytes);
            lo = mid + 1;
        } else if mid == 1 {
            break;
        } else {
            hi = mid - 1;
        }
    }
    best.ok_or_else(|| {
        EngineError::NotApplicable(format!(
            "no {} quality fits this image in max_bytes {max}",
            out.format.as_str()
        ))
    })
}

/// Flattens alpha onto white for formats without transparency, keeping grey as grey.
pub(crate) fn flatten(img: &DynamicImage) -> std::borrow::Cow<'_, DynamicImage> {
    use std::borrow::Cow;
    if !img.color().has_alpha() {
        return Cow::Borrowed(img);
    }
    let grey = img.color() == image::ColorType::La8;
    let mut bg = crate::ops::canvas(
        img,
        img.width(),
        img.height(),
        shared_protocol::recipe::Color::WHITE,
    );
    bg = if grey {
        DynamicImage::ImageLuma8(bg.to_luma8())
    } else {
        DynamicImage::ImageRgb8(bg.to_rgb8())
    };
    crate::ops::overlay(&mut bg, img, 0, 0, 1.0);
    Cow::Owned(bg)
}
