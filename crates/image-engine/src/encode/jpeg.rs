//! JPEG through `jpeg-encoder` (SIMD colour conversion and DCT; 4:2:0 below quality 90).
//!
//! A baseline JPEG of some size is encoded in two halves on two threads when a core is idle: the
//! top half as the file's first restart interval, the bottom half as its second. Each half is an
//! independent entropy-coded segment (DC prediction restarts at the marker), so the result is
//! byte for byte what one thread writes with the same restart interval.

use image::DynamicImage;
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

use super::flatten;
use crate::EngineError;
use crate::cores::Busy;

/// Images with fewer pixels are encoded on one thread: a second would hardly pay for itself.
const MIN_SHARED_PIXELS: u64 = 256 * 1024;

pub(super) fn encode(
    img: &DynamicImage,
    quality: u8,
    progressive: bool,
    icc: Option<&[u8]>,
    exif: Option<&[u8]>,
) -> Result<Vec<u8>, EngineError> {
    let flat = flatten(img);
    let (w, h) = (flat.width(), flat.height());
    let (Ok(w16), Ok(h16)) = (u16::try_from(w), u16::try_from(h)) else {
        return Err(EngineError::NotApplicable(format!(
            "jpeg holds at most 65535x65535; the image is {w}x{h}"
        )));
    };
    let color = match flat.color() {
        image::ColorType::L8 => ColorType::Luma,
        _ => ColorType::Rgb,
    };
    let pixels = Pixels {
        data: flat.as_bytes(),
        width: w16,
        height: h16,
        color,
    };
    let busy = Busy::enter();
    if !progressive
        && u64::from(w) * u64::from(h) >= MIN_SHARED_PIXELS
        && busy.core_free()
        && let Some(halves) = Halves::plan(&pixels, quality)
    {
        return halves.encode(&pixels, quality, icc, exif);
    }
    encode_whole(&pixels, quality, progressive, icc, exif, None)
}

/// Packed pixels to encode.
struct Pixels<'a> {
    data: &'a [u8],
    width: u16,
    height: u16,
    color: ColorType,
}

fn jpeg_error(e: jpeg_encoder::EncodingError) -> EngineError {
    EngineError::Encode(format!("jpeg: {e}"))
}

/// One encoder run over `pixels`, with the metadata and restart interval given.
fn encode_whole(
    pixels: &Pixels<'_>,
    quality: u8,
    progressive: bool,
    icc: Option<&[u8]>,
    exif: Option<&[u8]>,
    restart_interval: Option<u16>,
) -> Result<Vec<u8>, EngineError> {
    let (w, h) = (usize::from(pixels.width), usize::from(pixels.height));
    let mut out = Vec::with_capacity((w * h / 8).max(1024));
    let mut enc = Encoder::new(&mut out, quality);
    enc.set_progressive(progressive);
    if let Some(interval) = restart_interval {
        enc.set_restart_interval(interval);
    }
    if let Some(icc) = icc {
        enc.add_icc_profile(icc).map_err(jpeg_error)?;
    }
    if let Some(exif) = exif {
        enc.add_exif_metadata(exif).map_err(jpeg_error)?;
    }
    enc.encode(pixels.data, pixels.width, pixels.height, pixels.color)
        .map_err(jpeg_error)?;
    Ok(out)
}

/// Where the image is cut: after `top_rows` rows (a whole number of MCU rows), which make
/// `interval` MCUs, the restart interval.
struct Halves {
    top_rows: u16,
    interval: u16,
}

impl Halves {
    /// The cut for `pixels` at `quality`; `None` when the image is too short to cut or the top
    /// half has more MCUs than a restart interval can count.
    fn plan(pixels: &Pixels<'_>, quality: u8) -> Option<Self> {
        // The encoder's own choice of sampling for this quality decides the MCU size.
        let mcu = match pixels.color {
            ColorType::Luma => 8,
            _ => match Encoder::new(Vec::new(), quality).sampling_factor() {
                SamplingFactor::F_1_1 => 8,
                SamplingFactor::F_2_2 => 16,
                _ => return None,
            },
        };
        let height = u32::from(pixels.height);
        // The top half takes the larger share of MCU rows: the bottom half must not need a
        // second restart interval.
        let top_rows = height.div_ceil(mcu).div_ceil(2) * mcu;
        if top_rows >= height {
            return None;
        }
        let interval = u32::from(pixels.width).div_ceil(mcu) * (top_rows / mcu);
        Some(Self {
            top_rows: u16::try_from(top_rows).ok()?,
            interval: u16::try_from(interval).ok()?,
        })
    }

    /// Encodes the halves on two threads and joins them into one file.
    fn encode(
        &self,
        pixels: &Pixels<'_>,
        quality: u8,
        icc: Option<&[u8]>,
        exif: Option<&[u8]>,
    ) -> Result<Vec<u8>, EngineError> {
        let channels = if pixels.color == ColorType::Luma {
            1
        } else {
            3
        };
        let row_bytes = usize::from(pixels.width) * channels;
        let (top, bottom) = pixels
            .data
            .split_at_checked(usize::from(self.top_rows) * row_bytes)
            .ok_or_else(|| EngineError::Encode("jpeg: pixel buffer too short".into()))?;
        let top = Pixels {
            data: top,
            height: self.top_rows,
            ..*pixels
        };
        let bottom = Pixels {
            data: bottom,
            height: pixels.height - self.top_rows,
            ..*pixels
        };
        let (top, bottom) = std::thread::scope(|scope| {
            let lower = scope.spawn(|| encode_whole(&bottom, quality, false, None, None, None));
            let upper = encode_whole(&top, quality, false, icc, exif, Some(self.interval));
            let lower = lower
                .join()
                .map_err(|_| EngineError::Encode("jpeg: the second encoder thread failed".into()));
            (upper, lower)
        });
        join(top?, &bottom??, pixels.height)
    }
}

/// The top half's file, its frame height made the whole image's, then a restart marker, the
/// bottom half's entropy-coded data and the end marker.
fn join(mut top: Vec<u8>, bottom: &[u8], height: u16) -> Result<Vec<u8>, EngineError> {
    let bad = || EngineError::Encode("jpeg: unexpected encoder output".into());
    let (height_at, _) = segments(&top).ok_or_else(bad)?;
    let (_, scan_at) = segments(bottom).ok_or_else(bad)?;
    let scan = bottom
        .get(scan_at..)
        .and_then(|s| s.strip_suffix(&[0xFF, 0xD9]))
        .ok_or_else(bad)?;
    if !top.ends_with(&[0xFF, 0xD9]) {
        return Err(bad());
    }
    top.truncate(top.len() - 2);
    top.get_mut(height_at..height_at + 2)
        .ok_or_else(bad)?
        .copy_from_slice(&height.to_be_bytes());
    top.reserve(scan.len() + 4);
    top.extend_from_slice(&[0xFF, 0xD0]);
    top.extend_from_slice(scan);
    top.extend_from_slice(&[0xFF, 0xD9]);
    Ok(top)
}

/// In an encoder's output: where the baseline frame header's height is, and where the scan's
/// entropy-coded data begins. Walks the segments by their lengths (metadata may hold any bytes).
fn segments(jpeg: &[u8]) -> Option<(usize, usize)> {
    let mut at = 2;
    let mut height_at = None;
    loop {
        let (&[0xFF, marker], rest) = jpeg.get(at..)?.split_first_chunk::<2>()? else {
            return None;
        };
        let len = usize::from(u16::from_be_bytes(*rest.first_chunk::<2>()?));
        match marker {
            0xC0 => height_at = Some(at + 5),
            0xDA => return Some((height_at?, at + 2 + len)),
            _ => {}
        }
        at += 2 + len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo(w: u32, h: u32, grey: bool) -> DynamicImage {
        let rgb = image::RgbImage::from_fn(w, h, |x, y| {
            // Smooth gradients with some detail, so every block has AC coefficients.
            let v = |a: u32, b: u32| ((a * 7 + b * 3 + (a * b) % 23) % 256) as u8;
            image::Rgb([v(x, y), v(y, x), v(x + y, x / 2)])
        });
        let img = DynamicImage::ImageRgb8(rgb);
        if grey {
            DynamicImage::ImageLuma8(img.to_luma8())
        } else {
            img
        }
    }

    fn pixels_of(img: &DynamicImage) -> Pixels<'_> {
        Pixels {
            data: img.as_bytes(),
            width: img.width() as u16,
            height: img.height() as u16,
            color: if img.color() == image::ColorType::L8 {
                ColorType::Luma
            } else {
                ColorType::Rgb
            },
        }
    }

    #[test]
    fn two_halves_are_byte_for_byte_one_encode_with_the_same_restart_interval() {
        let icc = b"not a real profile, but bytes to carry \xFF\xC0\xFF\xDA";
        let exif = b"MM\x00\x2A\x00\x00\x00\x08\x00\x00";
        let mut checked = 0;
        for (w, h) in [
            (800, 600),
            (801, 599),
            (17, 40),
            (640, 33),
            (1000, 17),
            (3, 4000),
        ] {
            for grey in [false, true] {
                let img = photo(w, h, grey);
                let pixels = pixels_of(&img);
                for quality in [85, 95] {
                    let Some(halves) = Halves::plan(&pixels, quality) else {
                        continue;
                    };
                    for (icc, exif) in [(None, None), (Some(&icc[..]), Some(&exif[..]))] {
                        let two = halves.encode(&pixels, quality, icc, exif).unwrap();
                        let one =
                            encode_whole(&pixels, quality, false, icc, exif, Some(halves.interval))
                                .unwrap();
                        assert!(
                            two == one,
                            "{w}x{h} grey {grey} q{quality}: {} vs {} bytes",
                            two.len(),
                            one.len()
                        );
                        let decoded = image::load_from_memory(&two).unwrap();
                        assert_eq!((decoded.width(), decoded.height()), (w, h));
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked >= 30, "only {checked} cases were cut in two");
    }

    #[test]
    fn the_cut_is_a_whole_number_of_mcu_rows_near_the_middle() {
        let img = photo(800, 600, false);
        // Below quality 90: 4:2:0, 16-row MCUs of 16 columns.
        let h = Halves::plan(&pixels_of(&img), 85).unwrap();
        assert_eq!((h.top_rows, h.interval), (304, 50 * 19));
        // 4:4:4 and grey: 8-row MCUs.
        let h = Halves::plan(&pixels_of(&img), 95).unwrap();
        assert_eq!((h.top_rows, h.interval), (304, 100 * 38));
        // Too short to cut.
        assert!(Halves::plan(&pixels_of(&photo(800, 8, true)), 85).is_none());
    }

    #[test]
    fn small_and_progressive_images_are_encoded_whole() {
        let img = photo(100, 100, false);
        let out = encode(&img, 85, false, None, None).unwrap();
        assert_eq!(
            out,
            encode_whole(&pixels_of(&img), 85, false, None, None, None).unwrap()
        );
        let big = photo(800, 600, false);
        let out = encode(&big, 85, true, None, None).unwrap();
        let whole = encode_whole(&pixels_of(&big), 85, true, None, None, None).unwrap();
        assert_eq!(out, whole);
    }
}
