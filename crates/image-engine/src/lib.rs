//! The tintype image engine: probe, decode with limits, apply a recipe's operations, encode.
//!
//! - [`probe`] ([`probe.rs`](probe)) reads headers only: format, size, frames, truncation, and
//!   refuses non-images and bombs before any pixel is decoded.
//! - [`Prepared::prepare`] decodes once (JPEG shrink-on-load sized for the largest output, see
//!   `plan.rs`) and applies the recipe's shared operations; [`Prepared::render`] applies one
//!   output's own operations and encodes it (`encode/`), so one decode serves every variant.
//! - `ops/` holds the operations, `decode.rs` the decoders, `orient.rs` EXIF orientation.
//!
//! **Orientation is always applied.** The EXIF orientation (1–8) is applied right after decode
//! for every recipe, so a phone photo comes out upright whether or not the recipe lists
//! `auto_orient`; listing it is accepted and changes nothing. Outputs never carry an
//! orientation other than 1, so no viewer rotates them a second time.
//!
//! **Formats.** Read: JPEG (baseline, progressive, grey, CMYK/YCCK, MPO primary image), PNG
//! (every colour type and depth, palette + tRNS, interlaced, 16-bit; APNG's default image),
//! GIF (still or animated), WebP (lossy, lossless, alpha, animated), BMP, TIFF (what the
//! `tiff` crate decodes), ICO/CUR, QOI, PNM, and AVIF and HEIC through the system libheif
//! (`bmff.rs` reads the container for the probe, `heif.rs` decodes the primary image, upright by
//! the container's `irot`/`imir`; their EXIF orientation is ignored). Refused with 415: HEIF
//! coded with other codecs, other ISO-BMFF files, JPEG 2000, PSD, ICNS, PDF and anything else.
//! Written: JPEG (baseline or progressive), PNG, WebP (lossy or lossless, still or animated),
//! GIF (still or animated) and AVIF. 16-bit and float sources are narrowed to 8 bits per channel.
//!
//! **Animations.** An animated GIF or WebP yields its first frame unless an output sets
//! `animated` (gif and webp outputs only). Then [`Prepared::prepare`] decodes every frame
//! (composed onto the full canvas, with its delay), the shared operations run on each, and that
//! output's operations run on each again before the frames are encoded as one animation with
//! their delays (animated WebP through libwebp's animation encoder). Content-dependent choices
//! (trim bounds, a smart crop's window) are made on the first frame and reused, so frames keep
//! one size. [`Limits::max_frames`] caps the frames (refused from the header, and again while
//! decoding), `max_pixels` counts all frames of the source and `max_output_pixels` all frames of
//! an animated result; each refusal is [`EngineError::TooLarge`]. EXIF and ICC are not carried
//! into an animation's outputs.
//!
//! Every call is CPU-bound and blocking; run it on a blocking thread. Decoder and encoder
//! panics are caught and returned as [`EngineError::Panic`]; nothing unwinds into the caller.

mod av1;
mod bmff;
mod bytes;
mod cores;
mod decode;
mod encode;
mod error;
mod heif;
mod hevc;
mod jpeg_scaled;
mod limits;
mod msb_bits;
mod ops;
mod orient;
mod plan;
mod probe;

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use image::DynamicImage;

pub use error::EngineError;
pub use limits::Limits;
pub use probe::{ProbeInfo, probe};
pub use shared_protocol::recipe::{Format, Operation, Output, Recipe};

use error::guard;

/// Images that a recipe's `watermark` operations overlay, by object key (the worker fetches
/// them from storage before preparing).
#[derive(Debug, Clone, Default)]
pub struct Overlays {
    images: HashMap<String, Vec<u8>>,
}

impl Overlays {
    /// No overlay images.
    pub fn new() -> Self {
        Self::default()
    }

    /// Supplies the bytes of the image stored under `key`.
    pub fn insert(&mut self, key: impl Into<String>, bytes: Vec<u8>) {
        self.images.insert(key.into(), bytes);
    }

    /// The bytes supplied for `key`.
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.images.get(key).map(Vec::as_slice)
    }
}

/// Object keys of every image a recipe's watermarks overlay, shared and per-output, each once.
pub fn overlay_keys(recipe: &Recipe) -> Vec<&str> {
    let mut keys: Vec<&str> = recipe
        .operations
        .iter()
        .chain(recipe.outputs.iter().flat_map(|o| &o.operations))
        .filter_map(|op| match op {
            Operation::Watermark { image: Some(k), .. } => Some(k.as_str()),
            _ => None,
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Decoded source after the recipe's shared operations; `Send + Sync + 'static`, so the worker
/// can keep it in an `Arc` across blocking calls.
pub struct Prepared {
    /// The (first) frame.
    image: DynamicImage,
    /// The other frames of an animation, kept when an output asks for `animated`.
    animation: Option<Animation>,
    meta: encode::Metadata,
    limits: Limits,
    overlays: Overlays,
    source: ProbeInfo,
    timings: StepTimings,
}

/// Frames after the first, and every frame's delay in milliseconds (the first's included).
struct Animation {
    rest: Vec<DynamicImage>,
    delays_ms: Vec<u32>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("width", &self.image.width())
            .field("height", &self.image.height())
            .field("color", &self.image.color())
            .field("frames", &self.frames())
            .field("source", &self.source)
            .finish()
    }
}

/// Where the CPU time of a step went, for the worker's metrics.
#[derive(Debug, Clone, Default)]
pub struct StepTimings {
    /// Probing and decoding (zero for a render).
    pub decode: Duration,
    /// Each operation in order, by name.
    pub operations: Vec<(&'static str, Duration)>,
    /// Encoding (zero for a prepare).
    pub encode: Duration,
}

/// One encoded output.
#[derive(Debug)]
pub struct Encoded {
    /// The output's name from the recipe.
    pub name: String,
    /// The format it is encoded in.
    pub format: Format,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The encoded file.
    pub bytes: Vec<u8>,
    /// BlurHash placeholder, when the output asked for one.
    pub blurhash: Option<String>,
    /// Time spent in this output's operations and its encoding.
    pub timings: StepTimings,
}

impl Prepared {
    /// Probes, decodes (shrinking on load where the outputs allow) and applies
    /// `recipe.operations`. CPU-bound, blocking.
    pub fn prepare(
        bytes: &[u8],
        recipe: &Recipe,
        limits: &Limits,
    ) -> Result<Prepared, EngineError> {
        Self::prepare_with(bytes, recipe, limits, Overlays::new())
    }

    /// Like [`Prepared::prepare`], with the images the recipe's watermarks overlay (see
    /// [`overlay_keys`]).
    pub fn prepare_with(
        bytes: &[u8],
        recipe: &Recipe,
        limits: &Limits,
        overlays: Overlays,
    ) -> Result<Prepared, EngineError> {
        guard(|| {
            let mut timings = StepTimings::default();
            let decoding = tracing::info_span!("decode", otel.name = "decode").entered();
            let started = Instant::now();
            let header = probe::header(bytes, limits)?;
            let orientation = orient::exif_orientation(bytes, header.kind);
            let swapped = orientation.is_some_and(|o| {
                use image::metadata::Orientation as O;
                matches!(
                    o,
                    O::Rotate90 | O::Rotate270 | O::Rotate90FlipH | O::Rotate270FlipH
                )
            });
            let shrink = plan::shrink_factor(&header, recipe, swapped);
            let grey = plan::grey_first(recipe);
            let animate = header.frames > 1
                && matches!(header.kind, probe::Kind::Gif | probe::Kind::Webp)
                && recipe.outputs.iter().any(|o| o.animated);
            let ctx = ops::Ctx {
                limits,
                overlays: &overlays,
            };
            let (image, animation, meta) = if animate {
                let decoded = decode::decode_frames(bytes, &header, limits, orientation)?;
                timings.decode = started.elapsed();
                drop(decoding);
                let frames = decoded.frames.into_iter().map(Cow::Owned).collect();
                let mut frames =
                    ops::apply_frames(frames, &recipe.operations, &ctx, &mut timings.operations)?
                        .into_iter()
                        .map(Cow::into_owned);
                let first = frames.next().ok_or_else(|| {
                    EngineError::InvalidImage("the animation has no frames".into())
                })?;
                let animation = Animation {
                    rest: frames.collect(),
                    delays_ms: decoded.delays_ms,
                };
                (first, Some(animation), encode::Metadata::default())
            } else {
                let decoded = decode::decode(bytes, &header, limits, shrink, grey, orientation)?;
                timings.decode = started.elapsed();
                drop(decoding);
                let image = ops::apply(
                    Cow::Owned(decoded.image),
                    &recipe.operations,
                    &ctx,
                    &mut timings.operations,
                )?
                .into_owned();
                let meta = encode::Metadata {
                    icc: decoded.icc,
                    exif: decoded.exif,
                };
                (image, None, meta)
            };
            Ok(Prepared {
                timings,
                image,
                animation,
                meta,
                limits: limits.clone(),
                source: header.info(),
                overlays,
            })
        })
    }

    /// Width after the shared operations (and any shrink-on-load).
    pub fn width(&self) -> u32 {
        self.image.width()
    }

    /// Height after the shared operations (and any shrink-on-load).
    pub fn height(&self) -> u32 {
        self.image.height()
    }

    /// Frames held: the source's frame count when an output asked for `animated`, else 1.
    pub fn frames(&self) -> usize {
        1 + self.animation.as_ref().map_or(0, |a| a.rest.len())
    }

    /// Time spent decoding and in the shared operations.
    pub fn timings(&self) -> &StepTimings {
        &self.timings
    }

    /// What the source's header said.
    pub fn source(&self) -> &ProbeInfo {
        &self.source
    }

    /// Applies `recipe.outputs[index].operations` and encodes. CPU-bound, blocking. Call once
    /// per output; nothing is shared between calls but the prepared image.
    pub fn render(&self, recipe: &Recipe, index: usize) -> Result<Encoded, EngineError> {
        guard(|| {
            let out = recipe.outputs.get(index).ok_or_else(|| {
                EngineError::NotApplicable(format!(
                    "the recipe has no output number {index} (it has {})",
                    recipe.outputs.len()
                ))
            })?;
            let ctx = ops::Ctx {
                limits: &self.limits,
                overlays: &self.overlays,
            };
            let mut timings = StepTimings::default();
            if out.animated
                && let Some(animation) = &self.animation
            {
                return self.render_animation(out, animation, &ctx, timings);
            }
            let img = ops::apply(
                Cow::Borrowed(&self.image),
                &out.operations,
                &ctx,
                &mut timings.operations,
            )?;
            let bytes = {
                let _span = tracing::info_span!(
                    "encode",
                    otel.name = %format!("encode {}", out.format.as_str()),
                    image.format = out.format.as_str(),
                )
                .entered();
                let started = Instant::now();
                let bytes = encode::encode(&img, out, &self.meta)?;
                timings.encode = started.elapsed();
                bytes
            };
            let blurhash = if out.blurhash {
                Some(placeholder(&img)?)
            } else {
                None
            };
            Ok(Encoded {
                name: out.name.clone(),
                format: out.format,
                width: img.width(),
                height: img.height(),
                bytes,
                blurhash,
                timings,
            })
        })
    }
}

impl Prepared {
    /// Applies an output's operations to every frame and encodes them as one animation.
    fn render_animation(
        &self,
        out: &Output,
        animation: &Animation,
        ctx: &ops::Ctx<'_>,
        mut timings: StepTimings,
    ) -> Result<Encoded, EngineError> {
        let frames = std::iter::once(&self.image)
            .chain(&animation.rest)
            .map(Cow::Borrowed)
            .collect();
        let frames = ops::apply_frames(frames, &out.operations, ctx, &mut timings.operations)?;
        let refs: Vec<&DynamicImage> = frames.iter().map(|f| &**f).collect();
        let first = refs
            .first()
            .ok_or_else(|| EngineError::InvalidImage("the animation has no frames".into()))?;
        let bytes = {
            let _span = tracing::info_span!(
                "encode",
                otel.name = %format!("encode animated {}", out.format.as_str()),
                image.format = out.format.as_str(),
            )
            .entered();
            let started = Instant::now();
            let bytes = encode::encode_animation(&refs, &animation.delays_ms, out)?;
            timings.encode = started.elapsed();
            bytes
        };
        let blurhash = if out.blurhash {
            Some(placeholder(first)?)
        } else {
            None
        };
        Ok(Encoded {
            name: out.name.clone(),
            format: out.format,
            width: first.width(),
            height: first.height(),
            bytes,
            blurhash,
            timings,
        })
    }
}

/// A 4×3-component BlurHash computed on a small copy of the image.
fn placeholder(img: &DynamicImage) -> Result<String, EngineError> {
    let (w, h) = (img.width(), img.height());
    let s = (32.0 / f64::from(w.max(h))).min(1.0);
    let (tw, th) = (
        ((f64::from(w) * s).round() as u32).max(1),
        ((f64::from(h) * s).round() as u32).max(1),
    );
    let small =
        ops::resize::resample(img, tw, th, shared_protocol::recipe::Filter::Bilinear, None)?;
    let rgba = small.to_rgba8();
    blurhash::encode(4, 3, tw, th, rgba.as_raw())
        .map_err(|e| EngineError::Encode(format!("blurhash: {e}")))
}

/// Probes and decodes a whole image, upright (used for watermark overlays).
pub(crate) fn load(
    bytes: &[u8],
    limits: &Limits,
    shrink: u32,
) -> Result<DynamicImage, EngineError> {
    let header = probe::header(bytes, limits)?;
    let orientation = orient::exif_orientation(bytes, header.kind);
    Ok(decode::decode(bytes, &header, limits, shrink, false, orientation)?.image)
}

/// Hooks for the engine's own integration tests (`tests/jpeg_fast_path.rs`); not an API.
#[doc(hidden)]
pub mod test_hooks {
    use crate::{EngineError, Limits};

    /// A JPEG decoded at reduced scale: width, height, channels (1 or 3), packed pixels.
    pub type Scaled = (u32, u32, u8, Vec<u8>);

    /// The fast shrink-on-load path alone, without its fallback; `Err` says why it declined.
    pub fn jpeg_scaled_fast(bytes: &[u8], shrink: u32) -> Result<Scaled, String> {
        crate::jpeg_scaled::decode(bytes, shrink, Limits::default().max_pixels)
            .map(|d| (d.width, d.height, d.channels, d.pixels))
            .map_err(|e| e.to_string())
    }

    /// The fast path on one thread (`two` false) or with its scan shared with a helper thread
    /// whatever its size (`two` true); also says whether the helper's blocks were used.
    pub fn jpeg_scaled_threads(
        bytes: &[u8],
        shrink: u32,
        two: bool,
    ) -> Result<(Scaled, bool), String> {
        let threads = if two {
            crate::jpeg_scaled::Threads::Two
        } else {
            crate::jpeg_scaled::Threads::One
        };
        crate::jpeg_scaled::decode_on(bytes, shrink, Limits::default().max_pixels, threads)
            .map(|d| ((d.width, d.height, d.channels, d.pixels), d.helped))
            .map_err(|e| e.to_string())
    }

    /// `jpeg-decoder`'s scaled decode as the engine runs it: the reference for the fast path.
    pub fn jpeg_scaled_general(bytes: &[u8], shrink: u32) -> Result<Scaled, EngineError> {
        let limits = Limits::default();
        let header = crate::probe::header(bytes, &limits)?;
        let (image, ..) = crate::decode::jpeg_scaled_general(bytes, &header, &limits, shrink)?;
        let channels = image.color().channel_count();
        Ok((image.width(), image.height(), channels, image.into_bytes()))
    }
}

#[cfg(test)]
mod send_sync {
    fn assert_send_sync_static<T: Send + Sync + 'static>() {}

    #[test]
    fn prepared_can_be_shared_across_blocking_tasks() {
        assert_send_sync_static::<super::Prepared>();
    }
}
