//! A fast decoder for the one JPEG case shrink-on-load hits most: a baseline (sequential Huffman,
//! 8-bit) photo decoded at 1/2, 1/4 or 1/8 scale.
//!
//! At a reduced scale most DCT coefficients never reach a pixel, so the time goes into entropy
//! decoding. This path decodes the Huffman stream with a 64-bit bit buffer and one table lookup
//! per symbol, keeps only the coefficients the reduced inverse DCT reads (1, 4 or 16 of 64),
//! writes pixels straight into reduced-size planes and upsamples chroma at that size. The
//! arithmetic after entropy decoding (scaled IDCT, fancy upsampling, colour conversion) follows
//! `jpeg-decoder` 0.3, the general path, so both give the same pixels up to colour rounding.
//!
//! Scope: SOF0/SOF1, 8-bit, one interleaved scan, 1 component (grey) or 3 (YCbCr, with the luma
//! sampled 1x1, 2x1, 1x2 or 2x2 and chroma 1x1), restart intervals. Anything else
//! (progressive, arithmetic, 12-bit, CMYK/YCCK, RGB, other sampling, several scans) and any sign
//! of corruption returns an error, and the caller falls back to `jpeg-decoder`, so a file never
//! decodes worse than it did before this path existed.
//!
//! - `markers.rs` reads the headers up to the scan; `huffman.rs` builds the lookup tables;
//!   `bits.rs` is the bit reader; `scan.rs` decodes MCUs, `split.rs` shares a large scan with a
//!   second thread; `idct.rs` holds the reduced inverse
//!   DCTs; `color.rs` upsamples chroma and converts to RGB.

mod bits;
mod color;
mod huffman;
mod idct;
mod markers;
mod scan;
mod split;

pub(crate) use markers::first_exif;
pub(crate) use split::Threads;

/// A JPEG decoded at reduced scale.
pub(crate) struct ScaledJpeg {
    /// Width of the decoded image.
    pub width: u32,
    /// Height of the decoded image.
    pub height: u32,
    /// 1 (grey) or 3 (RGB).
    pub channels: u8,
    /// Rows of `width * channels` bytes, packed.
    pub pixels: Vec<u8>,
    /// The ICC profile assembled from APP2 chunks, when complete.
    pub icc: Option<Vec<u8>>,
    /// The EXIF block (from the TIFF header on) of the last APP1 `Exif` segment.
    pub exif: Option<Vec<u8>>,
    /// Whether a second thread decoded part of the scan.
    pub helped: bool,
}

/// Why the fast path did not decode a file; either way the caller uses the general decoder.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum FastPathError {
    /// A valid feature this path leaves to the general decoder.
    #[error("not handled by the fast JPEG path: {0}")]
    Unsupported(&'static str),
    /// The stream is broken; the general decoder decides how leniently to read it.
    #[error("corrupt JPEG: {0}")]
    Corrupt(&'static str),
}

/// Decodes `bytes` at the DCT scale `jpeg-decoder` would choose for a target of
/// `ceil(width / shrink)` x `ceil(height / shrink)` (so both paths agree on the size).
/// `max_pixels` bounds the frame (the probe has checked it already; this is a second guard).
pub(crate) fn decode(
    bytes: &[u8],
    shrink: u32,
    max_pixels: u64,
) -> Result<ScaledJpeg, FastPathError> {
    decode_on(bytes, shrink, max_pixels, Threads::Auto)
}

/// [`decode`] on the given number of threads.
pub(crate) fn decode_on(
    bytes: &[u8],
    shrink: u32,
    max_pixels: u64,
    threads: Threads,
) -> Result<ScaledJpeg, FastPathError> {
    let header = markers::read(bytes)?;
    if u64::from(header.width) * u64::from(header.height) > max_pixels {
        return Err(FastPathError::Unsupported("frame above the pixel limit"));
    }
    let want_w = u32::from(header.width).div_ceil(shrink.max(1));
    let want_h = u32::from(header.height).div_ceil(shrink.max(1));
    let ds = dct_size(header.width, header.height, want_w, want_h);
    let (planes, helped) = match ds {
        1 => scan::decode::<1>(&header, bytes, threads)?,
        2 => scan::decode::<2>(&header, bytes, threads)?,
        4 => scan::decode::<4>(&header, bytes, threads)?,
        _ => return Err(FastPathError::Unsupported("no reduction")),
    };
    let (pixels, width, height) = color::compose(&header, &planes, ds)?;
    Ok(ScaledJpeg {
        width,
        height,
        channels: if header.components.len() == 1 { 1 } else { 3 },
        pixels,
        icc: header.icc,
        exif: header.exif,
        helped,
    })
}

/// Output samples per 8x8 block (1, 2, 4 or 8): the smallest whose output reaches the wanted
/// size in at least one axis, as `jpeg-decoder`'s `scale` picks it.
fn dct_size(width: u16, height: u16, want_w: u32, want_h: u32) -> usize {
    let scaled = |len: u16, s: u32| (u32::from(len) * s).div_ceil(8);
    for s in [1u32, 2, 4] {
        if scaled(width, s) >= want_w || scaled(height, s) >= want_h {
            return s as usize;
        }
    }
    8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dct_size_matches_the_shrink_for_ordinary_images() {
        assert_eq!(dct_size(4000, 3000, 1000, 750), 2);
        assert_eq!(dct_size(4000, 3000, 2000, 1500), 4);
        assert_eq!(dct_size(4000, 3000, 500, 375), 1);
        assert_eq!(dct_size(4000, 3000, 4000, 3000), 8);
        // A one-pixel-wide image reaches its width at any scale, as in jpeg-decoder.
        assert_eq!(dct_size(1, 100, 1, 50), 1);
    }
}

#[cfg(test)]
mod timing {
    /// Decode-only timing of the fast path against jpeg-decoder on one file:
    /// `TINTYPE_JPEG_TIMING=file.jpg cargo test --release -p image-engine -- --ignored
    /// decode_timing --nocapture`.
    #[test]
    #[ignore = "a measurement, not a check"]
    fn decode_timing() {
        let Some(path) = std::env::var_os("TINTYPE_JPEG_TIMING") else {
            return;
        };
        let bytes = std::fs::read(path).expect("read the file");
        let shrink: u32 = std::env::var("TINTYPE_JPEG_SHRINK")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(4);
        let n = 20;
        let time = |threads| {
            let t = std::time::Instant::now();
            for _ in 0..n {
                let d = super::decode_on(&bytes, shrink, u64::MAX, threads).expect("fast path");
                std::hint::black_box(d.pixels);
            }
            t.elapsed().as_secs_f64() * 1000.0 / f64::from(n)
        };
        let one = time(super::Threads::One);
        let fast = time(super::Threads::Auto);
        let t = std::time::Instant::now();
        for _ in 0..n {
            let mut d = jpeg_decoder::Decoder::new(std::io::Cursor::new(&bytes));
            let info = d
                .read_info()
                .map(|_| d.info().expect("info"))
                .expect("header");
            d.scale(
                info.width.div_ceil(shrink as u16),
                info.height.div_ceil(shrink as u16),
            )
            .expect("scale");
            std::hint::black_box(d.decode().expect("decode"));
        }
        let general = t.elapsed().as_secs_f64() * 1000.0 / f64::from(n);
        println!(
            "fast path {fast:.2} ms ({one:.2} ms on one thread), jpeg-decoder {general:.2} ms (1/{shrink})"
        );
    }
}
