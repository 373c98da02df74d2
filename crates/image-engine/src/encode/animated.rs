//! Animated GIF (through `image`'s encoder) and animated WebP (libwebp's animation encoder,
//! through the `webp` crate).

use image::DynamicImage;
use image::codecs::gif::{GifEncoder, Repeat};

use crate::EngineError;
use crate::bytes::le32;

/// libwebp's own bound on either side.
const MAX_SIDE: u32 = 16_383;

fn size_of(frames: &[&DynamicImage]) -> Result<(u32, u32), EngineError> {
    let first = frames
        .first()
        .ok_or_else(|| EngineError::Encode("an animation without frames".into()))?;
    let (w, h) = (first.width(), first.height());
    if frames.iter().any(|f| (f.width(), f.height()) != (w, h)) {
        return Err(EngineError::Encode(
            "the frames of an animation differ in size".into(),
        ));
    }
    Ok((w, h))
}

/// An endlessly looping GIF, one NeuQuant palette per frame.
pub(super) fn gif(frames: &[&DynamicImage], delays_ms: &[u32]) -> Result<Vec<u8>, EngineError> {
    let (w, h) = size_of(frames)?;
    if w > u32::from(u16::MAX) || h > u32::from(u16::MAX) {
        return Err(EngineError::NotApplicable(format!(
            "gif holds at most 65535x65535; the image is {w}x{h}"
        )));
    }
    let err = |e: image::ImageError| EngineError::Encode(format!("gif: {e}"));
    let mut out = Vec::new();
    {
        // Speed 10 of 30, as for a still GIF.
        let mut enc = GifEncoder::new_with_speed(&mut out, 10);
        enc.set_repeat(Repeat::Infinite).map_err(err)?;
        for (frame, &delay) in frames.iter().zip(delays_ms) {
            let delay = image::Delay::from_numer_denom_ms(delay, 1);
            enc.encode_frame(image::Frame::from_parts(frame.to_rgba8(), 0, 0, delay))
                .map_err(err)?;
        }
    }
    Ok(out)
}

/// An endlessly looping WebP, lossy at `quality` or lossless.
pub(super) fn webp(
    frames: &[&DynamicImage],
    delays_ms: &[u32],
    quality: u8,
    lossless: bool,
) -> Result<Vec<u8>, EngineError> {
    let (w, h) = size_of(frames)?;
    if w > MAX_SIDE || h > MAX_SIDE {
        return Err(EngineError::NotApplicable(format!(
            "webp holds at most {MAX_SIDE}x{MAX_SIDE}; the image is {w}x{h}"
        )));
    }
    let mut config = webp::WebPConfig::new()
        .map_err(|()| EngineError::Encode("webp: no encoder configuration".into()))?;
    config.lossless = i32::from(lossless);
    config.quality = f32::from(quality);
    let rgba: Vec<image::RgbaImage> = frames.iter().map(|f| f.to_rgba8()).collect();
    let mut enc = webp::AnimEncoder::new(w, h, &config);
    enc.set_loop_count(0);
    let mut at: u64 = 0;
    for (frame, &delay) in rgba.iter().zip(delays_ms) {
        let timestamp = i32::try_from(at)
            .map_err(|_| EngineError::NotApplicable("the animation is too long".into()))?;
        enc.add_frame(webp::AnimFrame::from_rgba(frame.as_raw(), w, h, timestamp));
        at += u64::from(delay);
    }
    let mem = enc
        .try_encode()
        .map_err(|e| EngineError::Encode(format!("webp animation: {e:?}")))?;
    let mut bytes = mem.to_vec();
    let total = delays_ms.iter().map(|&d| u64::from(d)).sum();
    set_last_duration(&mut bytes, total);
    Ok(bytes)
}

/// libwebp (as the `webp` crate drives it) gives the last frame the average duration of the
/// others, having no way to learn its own; the total says what it should be, so the last
/// `ANMF` chunk gets the remainder.
fn set_last_duration(b: &mut [u8], total_ms: u64) {
    let mut i = 12usize;
    let mut durations = Vec::new();
    while let (Some(fourcc), Some(size)) = (b.get(i..i + 4), le32(b, i + 4)) {
        let data = i + 8;
        if fourcc == b"ANMF" && b.len() >= data + 15 {
            durations.push(data + 12);
        }
        i = data
            .saturating_add(size as usize)
            .saturating_add((size & 1) as usize);
    }
    let Some((&last, others)) = durations.split_last() else {
        return;
    };
    let shown: u64 = others
        .iter()
        .map(|&at| u64::from(b[at]) | u64::from(b[at + 1]) << 8 | u64::from(b[at + 2]) << 16)
        .sum();
    let rest = total_ms.saturating_sub(shown).min(0xFF_FFFF);
    b[last..last + 3].copy_from_slice(&rest.to_le_bytes()[..3]);
}
