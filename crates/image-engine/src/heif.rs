//! Decoding AVIF and HEIC through libheif (libheif-rs): the primary image, upright (libheif
//! applies the container's `irot`/`imir`/`clap` transforms), as 8-bit RGB or RGBA, with its
//! ICC profile and EXIF.
//!
//! The probe has already read the container in Rust (`bmff.rs`) and refused files over the
//! limits, for AVIF by the AV1 sequence headers too. libheif 1.15 decodes the size the bitstream
//! says, not the container's `ispe`, so the decoded size is checked again: a HEIC whose HEVC
//! parameter sets claim more than its container (not read by the probe) is refused after
//! decoding, once the memory has been spent.

use std::sync::OnceLock;

use image::DynamicImage;
use libheif_rs::{
    ColorProfile, ColorSpace, HeifContext, HeifError, HeifErrorCode, ItemId, LibHeif, RgbChroma,
};

use crate::probe::Header;
use crate::{EngineError, Limits};

/// libheif's global state (codec plugins), set up once and kept for the life of the process:
/// its init/deinit pair is reference-counted, and tearing it down between jobs gains nothing.
fn library() -> &'static LibHeif {
    static LIB: OnceLock<LibHeif> = OnceLock::new();
    LIB.get_or_init(LibHeif::new)
}

/// A libheif failure as an engine error: broken input is the client's (invalid image), a codec
/// or feature this build lacks is an unsupported format, and an allocation failure is a size
/// the machine cannot hold.
fn from_heif(what: &str, e: HeifError) -> EngineError {
    let message = format!("{what}: {:?}/{:?}: {}", e.code, e.sub_code, e.message);
    match e.code {
        HeifErrorCode::UnsupportedFileType | HeifErrorCode::UnsupportedFeature => {
            EngineError::UnsupportedFormat(message)
        }
        HeifErrorCode::MemoryAllocationError => EngineError::TooLarge(message),
        _ => EngineError::InvalidImage(message),
    }
}

/// Decoded pixels, ICC profile and EXIF (the raw TIFF structure).
pub(crate) type Raw = (DynamicImage, Option<Vec<u8>>, Option<Vec<u8>>);

/// Decodes the primary image of a probed AVIF or HEIC file.
pub(crate) fn decode(bytes: &[u8], header: &Header, limits: &Limits) -> Result<Raw, EngineError> {
    let name = header.kind.name();
    let lib = library();
    let ctx = HeifContext::read_from_bytes(bytes).map_err(|e| from_heif(name, e))?;
    let handle = ctx.primary_image_handle().map_err(|e| from_heif(name, e))?;
    // libheif's view of the stored size must be the one the probe checked.
    let (iw, ih) = (handle.ispe_width(), handle.ispe_height());
    if i64::from(iw) != i64::from(header.width) || i64::from(ih) != i64::from(header.height) {
        return Err(EngineError::InvalidImage(format!(
            "{name}: the container says {}x{} in one place and {iw}x{ih} in another",
            header.width, header.height
        )));
    }
    let (w, h) = (handle.width(), handle.height());
    limits.check_source(w, h, 1)?;
    let alpha = handle.has_alpha_channel();
    let chroma = if alpha {
        RgbChroma::Rgba
    } else {
        RgbChroma::Rgb
    };
    // No decoding options: the defaults apply the transforms, and libheif-rs 0.20 frees an
    // options object before libheif reads it (fixed upstream in 1.0.1).
    let decoded = lib
        .decode(&handle, ColorSpace::Rgb(chroma), None)
        .map_err(|e| from_heif(name, e))?;
    let (dw, dh) = (decoded.width(), decoded.height());
    // The bitstream decides the decoded size; one bigger than the container said has already
    // cost the memory, but is still not let through.
    limits.check_source(dw, dh, 1)?;
    let channels: usize = if alpha { 4 } else { 3 };
    let plane = decoded
        .planes()
        .interleaved
        .ok_or_else(|| EngineError::InvalidImage(format!("{name}: no interleaved plane")))?;
    if plane.storage_bits_per_pixel != 8 * channels as u8 || plane.width != dw {
        return Err(EngineError::InvalidImage(format!(
            "{name}: unexpected decoded layout ({} bits per pixel)",
            plane.storage_bits_per_pixel
        )));
    }
    let row = dw as usize * channels;
    let mut pixels = Vec::with_capacity(row * dh as usize);
    for y in 0..dh as usize {
        let start = y * plane.stride;
        let line = plane
            .data
            .get(start..start + row)
            .ok_or_else(|| EngineError::InvalidImage(format!("{name}: short decoded plane")))?;
        pixels.extend_from_slice(line);
    }
    let short = || EngineError::InvalidImage(format!("{name}: short decoded plane"));
    let image = if alpha {
        DynamicImage::ImageRgba8(image::RgbaImage::from_raw(dw, dh, pixels).ok_or_else(short)?)
    } else {
        DynamicImage::ImageRgb8(image::RgbImage::from_raw(dw, dh, pixels).ok_or_else(short)?)
    };
    let icc = handle
        .color_profile_raw()
        .filter(|p| matches!(&p.profile_type().0, b"prof" | b"rICC"))
        .map(|p| p.data);
    let exif = exif(&handle);
    Ok((image, icc, exif))
}

/// The EXIF block of the image as the raw TIFF structure the encoders expect. HEIF stores it
/// behind a 4-byte offset to the TIFF header (usually pointing past a JPEG-style `Exif\0\0`).
/// Anything malformed is dropped: EXIF never fails a job.
fn exif(handle: &libheif_rs::ImageHandle) -> Option<Vec<u8>> {
    let mut ids: [ItemId; 1] = [0];
    if handle.metadata_block_ids(&mut ids, b"Exif") == 0 {
        return None;
    }
    let block = handle.metadata(ids[0]).ok()?;
    let offset = usize::try_from(crate::bytes::be32(&block, 0)?).ok()?;
    let tiff = block.get(offset.checked_add(4)?..)?;
    (tiff.starts_with(b"II*\0") || tiff.starts_with(b"MM\0*")).then(|| tiff.to_vec())
}
