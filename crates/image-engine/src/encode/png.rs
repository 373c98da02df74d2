//! PNG through the `png` crate, via `image`.

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{DynamicImage, ImageEncoder};

use crate::EngineError;

pub(super) fn encode(
    img: &DynamicImage,
    level: Option<u8>,
    icc: Option<&[u8]>,
    exif: Option<&[u8]>,
) -> Result<Vec<u8>, EngineError> {
    let mut out = Vec::new();
    // Without a level: fdeflate's PNG-tuned fast mode. On photos it is about ten times faster
    // than zlib level 6 and within a few percent of its size (BENCHMARKS.md); an explicit level
    // 1–9 goes to zlib (the zlib-rs backend), 0 stores.
    let compression = match level {
        None => CompressionType::Fast,
        Some(0) => CompressionType::Uncompressed,
        Some(n) => CompressionType::Level(n),
    };
    let mut enc = PngEncoder::new_with_quality(&mut out, compression, FilterType::Adaptive);
    if let Some(icc) = icc {
        // Refusal only means this build's encoder cannot carry it; the pixels are still right.
        let _ = enc.set_icc_profile(icc.to_vec());
    }
    if let Some(exif) = exif {
        let _ = enc.set_exif_metadata(exif.to_vec());
    }
    enc.write_image(
        img.as_bytes(),
        img.width(),
        img.height(),
        img.color().into(),
    )
    .map_err(|e| EngineError::Encode(format!("png: {e}")))?;
    Ok(out)
}
