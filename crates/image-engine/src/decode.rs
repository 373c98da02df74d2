//! Decoding a probed source into 8-bit pixels, with shrink-on-load for JPEG and every decoder
//! behind the limits and a panic guard.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, metadata::Orientation};

use crate::error::{from_decode, guard};
use crate::heif;
use crate::probe::{Header, Kind};
use crate::{EngineError, Limits};

/// A decoded source, upright, in one of the four 8-bit layouts the operations handle.
pub(crate) struct Decoded {
    pub image: DynamicImage,
    /// ICC profile to carry to the outputs (dropped for CMYK sources, whose profile describes
    /// ink, not the RGB we produce).
    pub icc: Option<Vec<u8>>,
    /// EXIF as stored, with its orientation reset to 1 (the pixels are upright now).
    pub exif: Option<Vec<u8>>,
}

/// Decodes `bytes` (already probed into `header`), shrinking a JPEG by `shrink` (1, 2, 4 or 8)
/// in the DCT when allowed, then applies the EXIF orientation. `grey` says the recipe turns the
/// image grey first, so a JPEG's luma plane is all that needs decoding.
pub(crate) fn decode(
    bytes: &[u8],
    header: &Header,
    limits: &Limits,
    shrink: u32,
    grey: bool,
    orientation: Option<Orientation>,
) -> Result<Decoded, EngineError> {
    let (image, icc, mut exif, decoder_orientation) = guard(|| {
        if header.kind == Kind::Jpeg && shrink > 1 && matches!(header.jpeg_components, 1 | 3) {
            jpeg_scaled(bytes, header, limits, shrink)
        } else if header.kind == Kind::Jpeg && grey && matches!(header.jpeg_components, 1 | 3) {
            // A decoder warning on an odd but readable file must not fail the job: the generic
            // path is more lenient, so it gets the last word.
            jpeg_luma(bytes, limits).or_else(|_| generic(bytes, header, limits))
        } else if matches!(header.kind, Kind::Avif | Kind::Heic) {
            // libheif has already applied the container's rotation and mirror: no orientation
            // is reported, and `exif_orientation` gives none for these kinds.
            heif::decode(bytes, header, limits).map(|(image, icc, exif)| (image, icc, exif, None))
        } else {
            generic(bytes, header, limits)
        }
    })?;
    let mut image = to_8bit(image);
    if let Some(o) = orientation.or(decoder_orientation) {
        image.apply_orientation(o);
    }
    if let Some(chunk) = exif.as_mut() {
        // The orientation it held is already in the pixels (or there was none to reset).
        let _ = Orientation::remove_from_exif_chunk(chunk);
    }
    Ok(Decoded { image, icc, exif })
}

pub(crate) type Raw = (
    DynamicImage,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Option<Orientation>,
);

fn generic(bytes: &[u8], header: &Header, limits: &Limits) -> Result<Raw, EngineError> {
    let format = header.kind.image_format().ok_or_else(|| {
        EngineError::UnsupportedFormat(format!("{} is not read by `image`", header.kind.name()))
    })?;
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits.image_limits());
    let mut decoder = reader.into_decoder().map_err(from_decode)?;
    let cmyk = header.kind == Kind::Jpeg && header.jpeg_components == 4;
    let icc = if cmyk {
        None
    } else {
        decoder.icc_profile().ok().flatten()
    };
    let exif = decoder.exif_metadata().ok().flatten();
    let orientation = decoder.orientation().ok();
    let image = DynamicImage::from_decoder(decoder).map_err(from_decode)?;
    Ok((image, icc, exif, orientation))
}

/// Decodes a JPEG at 1/2, 1/4 or 1/8 scale straight from the DCT coefficients: the inverse
/// transform, colour conversion and every later step then touch a fraction of the pixels.
/// Baseline photos take the fast path (`jpeg_scaled/`); everything it declines, including any
/// corrupt stream, is decoded by `jpeg-decoder` exactly as before.
fn jpeg_scaled(
    bytes: &[u8],
    header: &Header,
    limits: &Limits,
    shrink: u32,
) -> Result<Raw, EngineError> {
    match crate::jpeg_scaled::decode(bytes, shrink, limits.max_pixels) {
        Ok(fast) => {
            let bad =
                || EngineError::InvalidImage("jpeg: decoded buffer has the wrong size".into());
            let (w, h) = (fast.width, fast.height);
            let image = if fast.channels == 1 {
                DynamicImage::ImageLuma8(
                    image::GrayImage::from_raw(w, h, fast.pixels).ok_or_else(bad)?,
                )
            } else {
                DynamicImage::ImageRgb8(
                    image::RgbImage::from_raw(w, h, fast.pixels).ok_or_else(bad)?,
                )
            };
            Ok((image, fast.icc, fast.exif, None))
        }
        Err(why) => {
            tracing::debug!(%why, "JPEG shrink-on-load falls back to jpeg-decoder");
            jpeg_scaled_general(bytes, header, limits, shrink)
        }
    }
}

/// [`jpeg_scaled`] through `jpeg-decoder`, for every JPEG the fast path declines.
pub(crate) fn jpeg_scaled_general(
    bytes: &[u8],
    header: &Header,
    limits: &Limits,
    shrink: u32,
) -> Result<Raw, EngineError> {
    let mut d = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    let max = usize::try_from(limits.max_pixels.saturating_mul(4)).unwrap_or(usize::MAX);
    d.set_max_decoding_buffer_size(max);
    let want_w = u16::try_from(header.width.div_ceil(shrink)).unwrap_or(u16::MAX);
    let want_h = u16::try_from(header.height.div_ceil(shrink)).unwrap_or(u16::MAX);
    let (w, h) = d
        .scale(want_w, want_h)
        .map_err(|e| EngineError::InvalidImage(format!("jpeg: {e}")))?;
    let pixels = d
        .decode()
        .map_err(|e| EngineError::InvalidImage(format!("jpeg: {e}")))?;
    let info = d
        .info()
        .ok_or_else(|| EngineError::InvalidImage("jpeg: no frame information".into()))?;
    let (w, h) = (u32::from(w), u32::from(h));
    let bad = || EngineError::InvalidImage("jpeg: decoded buffer has the wrong size".into());
    let image = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => {
            DynamicImage::ImageLuma8(image::GrayImage::from_raw(w, h, pixels).ok_or_else(bad)?)
        }
        jpeg_decoder::PixelFormat::RGB24 => {
            DynamicImage::ImageRgb8(image::RgbImage::from_raw(w, h, pixels).ok_or_else(bad)?)
        }
        jpeg_decoder::PixelFormat::L16 => {
            let wide: Vec<u16> = pixels
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            DynamicImage::ImageLuma16(image::ImageBuffer::from_raw(w, h, wide).ok_or_else(bad)?)
        }
        jpeg_decoder::PixelFormat::CMYK32 => {
            // Not reached: CMYK sources take the generic path, which knows Adobe's inversion.
            return generic(bytes, header, limits);
        }
    };
    let exif = d.exif_data().map(<[u8]>::to_vec);
    Ok((image, d.icc_profile(), exif, None))
}

/// Decodes only a JPEG's luma (Y) plane: no chroma upsampling, no colour conversion, a third of
/// the memory. Y is the Rec. 601 luma that a grey conversion would compute anyway.
fn jpeg_luma(bytes: &[u8], limits: &Limits) -> Result<Raw, EngineError> {
    let options = zune_core::options::DecoderOptions::default()
        .set_max_width(limits.max_width as usize)
        .set_max_height(limits.max_height as usize)
        .jpeg_set_out_colorspace(zune_core::colorspace::ColorSpace::Luma);
    let mut d = zune_jpeg::JpegDecoder::new_with_options(
        zune_core::bytestream::ZCursor::new(bytes),
        options,
    );
    let pixels = d
        .decode()
        .map_err(|e| EngineError::InvalidImage(format!("jpeg: {e:?}")))?;
    let (w, h) = d
        .dimensions()
        .ok_or_else(|| EngineError::InvalidImage("jpeg: no dimensions".into()))?;
    let (w, h) = (
        u32::try_from(w).map_err(|_| EngineError::TooLarge("jpeg width".into()))?,
        u32::try_from(h).map_err(|_| EngineError::TooLarge("jpeg height".into()))?,
    );
    let image = image::GrayImage::from_raw(w, h, pixels)
        .ok_or_else(|| EngineError::InvalidImage("jpeg: short luma plane".into()))?;
    let exif = d.exif().cloned();
    Ok((DynamicImage::ImageLuma8(image), None, exif, None))
}

/// Narrows any decoded layout to L8, La8, Rgb8 or Rgba8: every operation and encoder works on
/// 8 bits per channel, and 16-bit or float sources gain nothing visible from the extra depth in
/// the outputs we write.
fn to_8bit(image: DynamicImage) -> DynamicImage {
    use DynamicImage as D;
    match image {
        D::ImageLuma8(_) | D::ImageLumaA8(_) | D::ImageRgb8(_) | D::ImageRgba8(_) => image,
        D::ImageLuma16(_) => D::ImageLuma8(image.to_luma8()),
        D::ImageLumaA16(_) => D::ImageLumaA8(image.to_luma_alpha8()),
        img if img.color().has_alpha() => D::ImageRgba8(img.to_rgba8()),
        img => D::ImageRgb8(img.to_rgb8()),
    }
}

/// Every frame of an animated GIF or WebP, composed onto the full canvas, upright, with each
/// frame's delay in milliseconds.
pub(crate) struct Frames {
    pub frames: Vec<DynamicImage>,
    pub delays_ms: Vec<u32>,
}

/// Decodes all frames of an animated GIF or WebP. The probe has already refused too many frames
/// and too many pixels from the headers; the decoded count is checked again as it grows, in
/// case a header undercounted.
pub(crate) fn decode_frames(
    bytes: &[u8],
    header: &Header,
    limits: &Limits,
    orientation: Option<Orientation>,
) -> Result<Frames, EngineError> {
    use image::AnimationDecoder;
    let (iter, opaque) = match header.kind {
        Kind::Gif => {
            let mut d =
                image::codecs::gif::GifDecoder::new(Cursor::new(bytes)).map_err(from_decode)?;
            d.set_limits(limits.image_limits()).map_err(from_decode)?;
            (d.into_frames(), false)
        }
        Kind::Webp => {
            let mut d =
                image::codecs::webp::WebPDecoder::new(Cursor::new(bytes)).map_err(from_decode)?;
            d.set_limits(limits.image_limits()).map_err(from_decode)?;
            // An opaque animation stays RGB, as its first frame would be on the still path.
            let opaque = !d.color_type().has_alpha();
            (d.into_frames(), opaque)
        }
        other => {
            return Err(EngineError::NotApplicable(format!(
                "{} has no animation to decode",
                other.name()
            )));
        }
    };
    let canvas = u64::from(header.width) * u64::from(header.height);
    let mut frames = Vec::new();
    let mut delays_ms = Vec::new();
    for frame in iter {
        let frame = frame.map_err(from_decode)?;
        let count = frames.len() as u64 + 1;
        if count > u64::from(limits.max_frames) || count * canvas > limits.max_pixels {
            return Err(EngineError::TooLarge(format!(
                "the animation has more than {} frames or {} pixels",
                limits.max_frames, limits.max_pixels
            )));
        }
        let (num, den) = frame.delay().numer_denom_ms();
        delays_ms.push(num.checked_div(den).unwrap_or(0));
        let rgba = DynamicImage::ImageRgba8(frame.into_buffer());
        let mut image = if opaque {
            DynamicImage::ImageRgb8(rgba.to_rgb8())
        } else {
            rgba
        };
        if let Some(o) = orientation {
            image.apply_orientation(o);
        }
        frames.push(image);
    }
    if frames.is_empty() {
        return Err(EngineError::InvalidImage(format!(
            "{}: no frames",
            header.kind.name()
        )));
    }
    Ok(Frames { frames, delays_ms })
}
