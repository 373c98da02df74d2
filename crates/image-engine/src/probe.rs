//! Reading what an image is from its header alone: format, dimensions, frame count, and cheap
//! structural checks. Nothing here decodes pixels, so a bomb or a non-image is refused for the
//! price of a few header reads.

use std::io::Cursor;

use serde::Serialize;

use crate::bmff;
use crate::bytes::{be16, be32, find, le16, le24, le32};
use crate::error::{from_decode, guard};
use crate::{EngineError, Limits};

/// What the header says (cheap; used by the gateway at upload time to refuse early).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeInfo {
    /// Format name: `jpeg`, `png`, `gif`, `webp`, `bmp`, `tiff`, `ico`, `qoi`, `pnm`, `avif` or
    /// `heic` (HEVC-coded HEIF).
    pub format: &'static str,
    /// Width of the (first) frame as stored, before EXIF orientation (for AVIF and HEIC, before
    /// the container's rotation, mirror and crop).
    pub width: u32,
    /// Height of the (first) frame as stored, before EXIF orientation.
    pub height: u32,
    /// Number of frames (1 for still images).
    pub frames: u32,
}

/// The formats the engine reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Jpeg,
    Png,
    Gif,
    Webp,
    Bmp,
    Tiff,
    Ico,
    Qoi,
    Pnm,
    /// HEIF with AV1-coded images.
    Avif,
    /// HEIF with HEVC-coded images.
    Heic,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Jpeg => "jpeg",
            Self::Png => "png",
            Self::Gif => "gif",
            Self::Webp => "webp",
            Self::Bmp => "bmp",
            Self::Tiff => "tiff",
            Self::Ico => "ico",
            Self::Qoi => "qoi",
            Self::Pnm => "pnm",
            Self::Avif => "avif",
            Self::Heic => "heic",
        }
    }

    /// The `image` crate's format, for the kinds it decodes (AVIF and HEIC go to libheif).
    pub(crate) fn image_format(self) -> Option<image::ImageFormat> {
        use image::ImageFormat as F;
        Some(match self {
            Self::Jpeg => F::Jpeg,
            Self::Png => F::Png,
            Self::Gif => F::Gif,
            Self::Webp => F::WebP,
            Self::Bmp => F::Bmp,
            Self::Tiff => F::Tiff,
            Self::Ico => F::Ico,
            Self::Qoi => F::Qoi,
            Self::Pnm => F::Pnm,
            Self::Avif | Self::Heic => return None,
        })
    }
}

/// The header facts the decoder needs beyond [`ProbeInfo`].
#[derive(Debug, Clone)]
pub(crate) struct Header {
    pub kind: Kind,
    pub width: u32,
    pub height: u32,
    pub frames: u32,
    /// Colour components of a JPEG frame (1 grey, 3 YCbCr, 4 CMYK/YCCK); 0 for other formats.
    pub jpeg_components: u8,
}

impl Header {
    pub(crate) fn info(&self) -> ProbeInfo {
        ProbeInfo {
            format: self.kind.name(),
            width: self.width,
            height: self.height,
            frames: self.frames,
        }
    }
}

/// Reads only headers + cheap structural checks (e.g. a JPEG without its EOI marker, a PNG without
/// IEND = truncated → InvalidImage). Refuses non-images (UnsupportedFormat) and bombs (TooLarge)
/// without decoding pixels.
pub fn probe(bytes: &[u8], limits: &Limits) -> Result<ProbeInfo, EngineError> {
    guard(|| header(bytes, limits).map(|h| h.info()))
}

pub(crate) fn header(bytes: &[u8], limits: &Limits) -> Result<Header, EngineError> {
    if bytes.len() as u64 > limits.max_source_bytes {
        return Err(EngineError::TooLarge(format!(
            "{} bytes exceed the source limit of {} bytes",
            bytes.len(),
            limits.max_source_bytes
        )));
    }
    let mut kind = sniff(bytes, limits)?;
    let truncated =
        move || EngineError::InvalidImage(format!("{} header is truncated", kind.name()));
    let (width, height, frames, jpeg_components) = match kind {
        Kind::Jpeg => jpeg(bytes)?,
        Kind::Png => png(bytes)?,
        Kind::Gif => gif(bytes, limits)?,
        Kind::Webp => webp(bytes)?,
        Kind::Bmp => bmp(bytes)?,
        Kind::Ico => ico(bytes, limits)?,
        Kind::Tiff | Kind::Qoi | Kind::Pnm => via_image(bytes, kind, limits)?,
        Kind::Avif | Kind::Heic => {
            // The brands only say "HEIF"; the primary image's codec names the format.
            let c = bmff::read(bytes, limits)?;
            kind = match c.codec {
                bmff::Codec::Av1 => Kind::Avif,
                bmff::Codec::Hevc => Kind::Heic,
            };
            Some((c.width, c.height, 1, 0))
        }
    }
    .ok_or_else(truncated)?;
    if width == 0 || height == 0 {
        return Err(EngineError::InvalidImage(format!(
            "{} header says {width}x{height}",
            kind.name()
        )));
    }
    limits.check_source(width, height, frames)?;
    Ok(Header {
        kind,
        width,
        height,
        frames,
        jpeg_components,
    })
}

/// Header facts: width, height, frames, JPEG components; `None` means the header ran out.
type Dims = Option<(u32, u32, u32, u8)>;

fn sniff(b: &[u8], limits: &Limits) -> Result<Kind, EngineError> {
    let unsupported = |what: &str| Err(EngineError::UnsupportedFormat(what.to_owned()));
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(Kind::Jpeg);
    }
    if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(Kind::Png);
    }
    if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        return Ok(Kind::Gif);
    }
    if b.len() >= 12 && b.starts_with(b"RIFF") && &b[8..12] == b"WEBP" {
        return Ok(Kind::Webp);
    }
    if b.starts_with(b"BM") && b.len() >= 26 {
        return Ok(Kind::Bmp);
    }
    // Classic TIFF and BigTIFF, either byte order.
    if b.starts_with(b"II*\0")
        || b.starts_with(b"MM\0*")
        || b.starts_with(b"II+\0")
        || b.starts_with(b"MM\0+")
    {
        return Ok(Kind::Tiff);
    }
    // ICO (type 1) and CUR (type 2) share the directory layout.
    if (b.starts_with(&[0, 0, 1, 0]) || b.starts_with(&[0, 0, 2, 0]))
        && le16(b, 4).is_some_and(|n| n > 0)
    {
        return Ok(Kind::Ico);
    }
    if b.starts_with(b"qoif") {
        return Ok(Kind::Qoi);
    }
    if b.len() > 2 && b[0] == b'P' && (b'1'..=b'7').contains(&b[1]) && b[2].is_ascii_whitespace() {
        return Ok(Kind::Pnm);
    }
    if b.get(4..8) == Some(b"ftyp") {
        // Provisional: `header` reads the container and settles AVIF or HEIC by the codec.
        return if bmff::is_image(b) {
            Ok(Kind::Heic)
        } else {
            unsupported("an ISO-BMFF file without a HEIF image brand (a video?) is not supported")
        };
    }
    if b.starts_with(b"icns") {
        icns(b, limits)?;
        return unsupported("ICNS is not supported");
    }
    let what = if b.starts_with(b"%PDF") {
        "a PDF document is not an image"
    } else if b.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        "an OLE (Office) document is not an image"
    } else if b.starts_with(b"8BPS") {
        "Photoshop PSD is not supported"
    } else if b.starts_with(&[0, 0, 0, 0x0C, b'j', b'P', b' ', b' '])
        || b.starts_with(&[0xFF, 0x4F, 0xFF, 0x51])
    {
        "JPEG 2000 is not supported"
    } else {
        "not a recognised image format"
    };
    unsupported(what)
}

fn is_sof(m: u8) -> bool {
    matches!(m, 0xC0..=0xCF) && !matches!(m, 0xC4 | 0xC8 | 0xCC)
}

fn jpeg(b: &[u8]) -> Result<Dims, EngineError> {
    let invalid = |m: &str| Err(EngineError::InvalidImage(format!("jpeg: {m}")));
    let mut i = 2;
    let mut sof: Option<(u32, u32, u8)> = None;
    loop {
        // Junk between segments is tolerated (as libjpeg does): skip to the next 0xFF, then
        // past fill bytes.
        while i < b.len() && b[i] != 0xFF {
            i += 1;
        }
        while i < b.len() && b[i] == 0xFF {
            i += 1;
        }
        let Some(&marker) = b.get(i) else {
            return invalid("truncated before the image data");
        };
        i += 1;
        match marker {
            0x00 | 0x01 | 0xD0..=0xD8 => continue,
            0xD9 => return invalid("end of image before any image data"),
            0xDA => break,
            _ => {
                let Some(len) = be16(b, i) else {
                    return invalid("truncated inside a segment header");
                };
                if len < 2 {
                    return invalid("segment with a length below 2");
                }
                if is_sof(marker) && sof.is_none() {
                    let (Some(h), Some(w), Some(&n)) =
                        (be16(b, i + 3), be16(b, i + 5), b.get(i + 7))
                    else {
                        return invalid("truncated frame header");
                    };
                    sof = Some((u32::from(w), u32::from(h), n));
                }
                i += usize::from(len);
            }
        }
    }
    let Some((w, h, n)) = sof else {
        return invalid("no frame header before the scan");
    };
    // Entropy-coded data cannot contain FF D9 (0xFF is always stuffed), so an EOI after the
    // first scan is the end of this image; without one the file was cut short.
    // Searched from the end, where the marker almost always is: no pass over the whole file.
    let scan = b.get(i..).unwrap_or_default();
    if !scan.windows(2).rev().any(|w| w == [0xFF, 0xD9]) {
        return invalid("truncated: no end-of-image marker");
    }
    Ok(Some((w, h, 1, n)))
}

fn png(b: &[u8]) -> Result<Dims, EngineError> {
    let invalid = |m: &str| Err(EngineError::InvalidImage(format!("png: {m}")));
    let mut i = 8usize;
    let mut dims = None;
    let mut frames = 1;
    loop {
        let (Some(len), Some(ty)) = (be32(b, i), b.get(i + 4..i + 8)) else {
            return invalid("truncated: no IEND chunk");
        };
        if len > 0x7FFF_FFFF {
            return invalid("chunk length out of range");
        }
        let data = i + 8;
        let end = data + len as usize + 4;
        if end > b.len() {
            return invalid("truncated inside a chunk");
        }
        if dims.is_none() && ty != b"IHDR" {
            return invalid("the first chunk is not IHDR");
        }
        match ty {
            b"IHDR" => dims = Some((be32(b, data), be32(b, data + 4))),
            b"acTL" => frames = be32(b, data).unwrap_or(1).max(1),
            b"IEND" => break,
            _ => {}
        }
        i = end;
    }
    match dims {
        Some((Some(w), Some(h))) => Ok(Some((w, h, frames, 0))),
        _ => Ok(None),
    }
}

/// Skips GIF data sub-blocks; `None` when the file ends inside them.
fn skip_sub_blocks(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        let n = usize::from(*b.get(i)?);
        i += 1;
        if n == 0 {
            return Some(i);
        }
        i += n;
    }
}

fn gif(b: &[u8], limits: &Limits) -> Result<Dims, EngineError> {
    let (Some(w), Some(h), Some(&flags)) = (le16(b, 6), le16(b, 8), b.get(10)) else {
        return Ok(None);
    };
    let mut i = 13usize;
    if flags & 0x80 != 0 {
        i += 3 << ((flags & 7) + 1);
    }
    let mut frames = 0u32;
    // Walk the blocks without decoding any LZW data: counting frames and checking every frame's
    // extents must cost nothing, or the frame count is itself a denial of service.
    while let Some(&block) = b.get(i) {
        match block {
            0x3B => break,
            0x21 => match skip_sub_blocks(b, i + 2) {
                Some(next) => i = next,
                None => break,
            },
            0x2C => {
                let (Some(fw), Some(fh), Some(&fl)) =
                    (le16(b, i + 5), le16(b, i + 7), b.get(i + 9))
                else {
                    break;
                };
                if u32::from(fw) > limits.max_width || u32::from(fh) > limits.max_height {
                    return Err(EngineError::TooLarge(format!(
                        "gif frame {} is {fw}x{fh}, over the {}x{} limit",
                        frames + 1,
                        limits.max_width,
                        limits.max_height
                    )));
                }
                i += 10;
                if fl & 0x80 != 0 {
                    i += 3 << ((fl & 7) + 1);
                }
                frames += 1;
                if frames > limits.max_frames {
                    break;
                }
                match skip_sub_blocks(b, i + 1) {
                    Some(next) => i = next,
                    None => break,
                }
            }
            _ => break,
        }
    }
    if frames == 0 {
        return Err(EngineError::InvalidImage("gif: no image data".into()));
    }
    Ok(Some((u32::from(w), u32::from(h), frames, 0)))
}

fn webp(b: &[u8]) -> Result<Dims, EngineError> {
    let mut i = 12usize;
    let mut dims: Option<(u32, u32)> = None;
    let mut frames = 0u32;
    while let (Some(fourcc), Some(size)) = (b.get(i..i + 4), le32(b, i + 4)) {
        let data = i + 8;
        match fourcc {
            b"VP8 " if dims.is_none() => {
                if b.get(data + 3..data + 6) != Some(&[0x9D, 0x01, 0x2A]) {
                    return Err(EngineError::InvalidImage("webp: bad VP8 frame tag".into()));
                }
                if let (Some(w), Some(h)) = (le16(b, data + 6), le16(b, data + 8)) {
                    dims = Some((u32::from(w & 0x3FFF), u32::from(h & 0x3FFF)));
                }
            }
            b"VP8L" if dims.is_none() => {
                if b.get(data) != Some(&0x2F) {
                    return Err(EngineError::InvalidImage("webp: bad VP8L signature".into()));
                }
                if let Some(bits) = le32(b, data + 1) {
                    dims = Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1));
                }
            }
            b"VP8X" => {
                if let (Some(w), Some(h)) = (le24(b, data + 4), le24(b, data + 7)) {
                    dims = Some((w + 1, h + 1));
                }
            }
            b"ANMF" => frames += 1,
            _ => {}
        }
        i = data
            .saturating_add(size as usize)
            .saturating_add((size & 1) as usize);
    }
    Ok(dims.map(|(w, h)| (w, h, frames.max(1), 0)))
}

fn bmp(b: &[u8]) -> Result<Dims, EngineError> {
    let Some(dib) = le32(b, 14) else {
        return Ok(None);
    };
    let (w, h) = match dib {
        12 => match (le16(b, 18), le16(b, 20)) {
            (Some(w), Some(h)) => (i64::from(w), i64::from(h)),
            _ => return Ok(None),
        },
        16 | 40 | 52 | 56 | 64 | 108 | 124 => match (le32(b, 18), le32(b, 22)) {
            (Some(w), Some(h)) => (i64::from(w as i32), i64::from(h as i32)),
            _ => return Ok(None),
        },
        other => {
            return Err(EngineError::InvalidImage(format!(
                "bmp: unknown header size {other}"
            )));
        }
    };
    if w <= 0 || h == 0 {
        return Err(EngineError::InvalidImage(format!(
            "bmp: header says {w}x{h}"
        )));
    }
    let h = h.unsigned_abs();
    Ok(Some((
        u32::try_from(w).unwrap_or(u32::MAX),
        u32::try_from(h).unwrap_or(u32::MAX),
        1,
        0,
    )))
}

/// Dimensions claimed by an embedded PNG or BMP (as in ICO and ICNS entries).
fn embedded_dims(p: &[u8]) -> Option<(u64, u64)> {
    if p.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some((u64::from(be32(p, 16)?), u64::from(be32(p, 20)?)));
    }
    if matches!(le32(p, 0)?, 12 | 40 | 52 | 56 | 64 | 108 | 124) {
        let w = i64::from(le32(p, 4)? as i32).unsigned_abs();
        // An ICO's BMP stores twice the height: the colour rows and the AND mask.
        let h = i64::from(le32(p, 8)? as i32).unsigned_abs() / 2;
        return Some((w, h));
    }
    None
}

pub(crate) fn check_claim(limits: &Limits, what: &str, w: u64, h: u64) -> Result<(), EngineError> {
    if w > u64::from(limits.max_width)
        || h > u64::from(limits.max_height)
        || w.saturating_mul(h) > limits.max_pixels
    {
        return Err(EngineError::TooLarge(format!(
            "{what} claims {w}x{h}, over the limits"
        )));
    }
    Ok(())
}

fn ico(b: &[u8], limits: &Limits) -> Result<Dims, EngineError> {
    let Some(count) = le16(b, 4) else {
        return Ok(None);
    };
    let mut best: Option<(u32, u32)> = None;
    for e in 0..usize::from(count) {
        let at = 6 + 16 * e;
        let (Some(&w), Some(&h), Some(off)) = (b.get(at), b.get(at + 1), le32(b, at + 12)) else {
            return Ok(None);
        };
        let dir = (
            if w == 0 { 256 } else { u64::from(w) },
            if h == 0 { 256 } else { u64::from(h) },
        );
        let (w, h) = b.get(off as usize..).and_then(embedded_dims).unwrap_or(dir);
        check_claim(limits, "an ico entry", w, h)?;
        let (w, h) = (w as u32, h as u32);
        if best.is_none_or(|(bw, bh)| u64::from(w) * u64::from(h) > u64::from(bw) * u64::from(bh)) {
            best = Some((w, h));
        }
    }
    Ok(best.map(|(w, h)| (w, h, 1, 0)))
}

/// ICNS is not decoded, but an entry claiming absurd dimensions is still a bomb, and says so.
fn icns(b: &[u8], limits: &Limits) -> Result<(), EngineError> {
    let mut i = 8usize;
    while let Some(len) = be32(b, i + 4) {
        let end = b.len().min(i.saturating_add(len as usize));
        let payload = b.get(i + 8..end).unwrap_or_default();
        let claim = if payload.starts_with(&[0, 0, 0, 0x0C, b'j', b'P', b' ', b' ']) {
            find(payload, b"ihdr").and_then(|p| {
                Some((
                    u64::from(be32(payload, p + 8)?),
                    u64::from(be32(payload, p + 4)?),
                ))
            })
        } else {
            embedded_dims(payload)
        };
        if let Some((w, h)) = claim {
            check_claim(limits, "an icns entry", w, h)?;
        }
        if len < 8 {
            break;
        }
        i = i.saturating_add(len as usize);
    }
    Ok(())
}

fn via_image(b: &[u8], kind: Kind, limits: &Limits) -> Result<Dims, EngineError> {
    use image::ImageDecoder;
    guard(|| {
        let format = kind.image_format().ok_or_else(|| {
            EngineError::UnsupportedFormat(format!("{} is not read by `image`", kind.name()))
        })?;
        let mut reader = image::ImageReader::with_format(Cursor::new(b), format);
        reader.limits(limits.image_limits());
        let decoder = reader.into_decoder().map_err(from_decode)?;
        let (w, h) = decoder.dimensions();
        Ok(Some((w, h, 1, 0)))
    })
}
