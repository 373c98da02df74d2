//! AVIF and HEIC input (libheif): decoding, alpha, 10-bit, ICC and EXIF, limits read from the
//! container before decoding, and broken or hostile files refused with a client error.
//!
//! Test files are made here, not checked in: 8-bit AVIF with the engine's own AVIF encoder
//! (rav1e through `image`), 10-bit AVIF with ravif directly, HEIC (8- and 10-bit) with libheif's
//! x265 encoder through libheif-rs.

mod common;

use common::{decode, photo, recipe};
use image::{DynamicImage, RgbImage, RgbaImage};
use image_engine::{EngineError, Limits, Prepared, probe};
use libheif_rs::{
    Channel, ColorProfileRaw, ColorSpace, CompressionFormat, EncoderQuality, HeifContext, Image,
    LibHeif, RgbChroma,
};
use shared_protocol::ErrorCode;

const PNG_OUT: &str = r#"{"outputs":[{"name":"a","format":"png"}]}"#;

fn run(
    bytes: &[u8],
    json: &str,
    limits: &Limits,
) -> Result<Vec<image_engine::Encoded>, EngineError> {
    let r = recipe(json);
    let p = Prepared::prepare(bytes, &r, limits)?;
    (0..r.outputs.len()).map(|i| p.render(&r, i)).collect()
}

/// An AVIF written by the engine itself (rav1e through `image`), from an RGB or RGBA image.
fn engine_avif(img: &DynamicImage) -> Vec<u8> {
    let png = common::encode(img, image::ImageFormat::Png);
    let out = run(
        &png,
        r#"{"outputs":[{"name":"a","format":"avif","quality":90}]}"#,
        &Limits::default(),
    )
    .expect("encode avif");
    out.into_iter().next().expect("one output").bytes
}

/// What to hand libheif's encoder.
struct Source<'a> {
    width: u32,
    height: u32,
    /// Interleaved RGB, 8 bits, or 16-bit little-endian samples holding `depth` bits.
    samples: &'a [u8],
    depth: u8,
    icc: Option<Vec<u8>>,
    exif: Option<Vec<u8>>,
}

/// A HEIC file written by libheif's x265 encoder. No encoding options are passed: libheif-rs
/// 0.20 frees them before libheif reads them. (Its aom AVIF encoder is not used: Debian 12's
/// libheif and aom abort on 10-bit input.)
fn libheif_file(format: CompressionFormat, src: &Source<'_>) -> Vec<u8> {
    let lib = LibHeif::new();
    let chroma = if src.depth > 8 {
        RgbChroma::HdrRgbLe
    } else {
        RgbChroma::Rgb
    };
    let mut image =
        Image::new(src.width, src.height, ColorSpace::Rgb(chroma)).expect("libheif image");
    image
        .create_plane(Channel::Interleaved, src.width, src.height, src.depth)
        .expect("plane");
    {
        let plane = image.planes_mut().interleaved.expect("interleaved plane");
        let row = src.samples.len() / src.height as usize;
        for y in 0..src.height as usize {
            plane.data[y * plane.stride..y * plane.stride + row]
                .copy_from_slice(&src.samples[y * row..(y + 1) * row]);
        }
    }
    if let Some(icc) = &src.icc {
        image
            .set_color_profile_raw(&ColorProfileRaw::new(b"prof".into(), icc.clone()))
            .expect("icc");
    }
    let mut ctx = HeifContext::new().expect("context");
    let mut encoder = lib.encoder_for_format(format).expect("encoder");
    encoder
        .set_quality(EncoderQuality::Lossy(90))
        .expect("quality");

    let handle = ctx
        .encode_image(&image, &mut encoder, None)
        .expect("encode");
    if let Some(exif) = &src.exif {
        ctx.add_exif_metadata(&handle, exif).expect("exif");
    }
    ctx.write_to_bytes().expect("write")
}

fn heic(img: &RgbImage) -> Vec<u8> {
    libheif_file(
        CompressionFormat::Hevc,
        &Source {
            width: img.width(),
            height: img.height(),
            samples: img.as_raw(),
            depth: 8,
            icc: None,
            exif: None,
        },
    )
}

/// Mean absolute difference per channel.
fn mean_diff(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let sum: u64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| u64::from(x.abs_diff(y)))
        .sum();
    sum as f64 / a.len() as f64
}

/// Positions of every `ispe` property's width (the height follows).
fn ispe_offsets(bytes: &[u8]) -> Vec<usize> {
    bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"ispe")
        .map(|(i, _)| i + 8)
        .collect()
}

fn with_ispe(bytes: &[u8], w: u32, h: u32) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let at = ispe_offsets(bytes);
    assert!(!at.is_empty(), "an ispe property");
    for i in at {
        out[i..i + 4].copy_from_slice(&w.to_be_bytes());
        out[i + 4..i + 8].copy_from_slice(&h.to_be_bytes());
    }
    out
}

fn is_client_error(e: &EngineError) -> bool {
    matches!(
        e.code(),
        ErrorCode::UnsupportedMediaType | ErrorCode::InvalidImage | ErrorCode::ImageTooLarge
    ) && !matches!(e, EngineError::Panic(_))
}

#[test]
fn an_8bit_avif_decodes_to_its_pixels() {
    let src = photo(64, 48);
    let avif = engine_avif(&DynamicImage::ImageRgb8(src.clone()));
    let info = probe(&avif, &Limits::default()).expect("probe");
    assert_eq!(
        (info.format, info.width, info.height, info.frames),
        ("avif", 64, 48, 1)
    );
    let out = run(&avif, PNG_OUT, &Limits::default()).expect("decode");
    let got = decode(&out[0].bytes);
    assert_eq!(got.dimensions(), (64, 48));
    let diff = mean_diff(got.as_raw(), src.as_raw());
    // The same pixels in another channel order or range would be far off.
    assert!(diff < 6.0, "mean difference {diff:.2}");
    let swapped: Vec<u8> = got
        .as_raw()
        .chunks(3)
        .flat_map(|p| [p[2], p[1], p[0]])
        .collect();
    assert!(mean_diff(&swapped, src.as_raw()) > 3.0 * diff.max(1.0));
}

#[test]
fn an_avif_with_alpha_keeps_its_alpha() {
    let src = RgbaImage::from_fn(64, 48, |x, y| {
        let a = if x < 32 { 255 } else { (y * 5) as u8 };
        image::Rgba([(x * 4) as u8, (y * 5) as u8, 120, a])
    });
    let avif = engine_avif(&DynamicImage::ImageRgba8(src.clone()));
    let out = run(&avif, PNG_OUT, &Limits::default()).expect("decode");
    let got = image::load_from_memory(&out[0].bytes).expect("png");
    assert!(got.color().has_alpha(), "alpha kept: {:?}", got.color());
    let got = got.to_rgba8();
    let alpha = |img: &RgbaImage| img.pixels().map(|p| p[3]).collect::<Vec<u8>>();
    let diff = mean_diff(&alpha(&got), &alpha(&src));
    assert!(diff < 4.0, "alpha mean difference {diff:.2}");
    assert!(got.get_pixel(60, 2)[3] < 40 && got.get_pixel(2, 2)[3] > 240);
}

#[test]
fn a_10bit_avif_decodes_to_8bit() {
    let src = photo(64, 48);
    let pixels: Vec<ravif::RGB8> = src
        .pixels()
        .map(|p| ravif::RGB8::new(p[0], p[1], p[2]))
        .collect();
    let avif = ravif::Encoder::new()
        .with_quality(90.0)
        .with_speed(10)
        .with_bit_depth(ravif::BitDepth::Ten)
        .encode_rgb(ravif::Img::new(pixels.as_slice(), 64, 48))
        .expect("encode 10-bit avif")
        .avif_file;
    {
        let ctx = HeifContext::read_from_bytes(&avif).expect("read back");
        let handle = ctx.primary_image_handle().expect("primary");
        assert_eq!(handle.luma_bits_per_pixel(), 10, "the test file is 10-bit");
    }
    assert_eq!(
        probe(&avif, &Limits::default()).expect("probe").format,
        "avif"
    );
    let out = run(&avif, PNG_OUT, &Limits::default()).expect("decode");
    let got = decode(&out[0].bytes);
    let diff = mean_diff(got.as_raw(), src.as_raw());
    assert!(diff < 6.0, "mean difference {diff:.2}");
}

#[test]
fn a_10bit_heic_decodes_to_8bit() {
    let src = photo(64, 48);
    // The same colours at 10 bits (v * 1023 / 255), as little-endian 16-bit samples.
    let samples: Vec<u8> = src
        .as_raw()
        .iter()
        .flat_map(|&v| ((u32::from(v) * 1023 / 255) as u16).to_le_bytes())
        .collect();
    let bytes = libheif_file(
        CompressionFormat::Hevc,
        &Source {
            width: 64,
            height: 48,
            samples: &samples,
            depth: 10,
            icc: None,
            exif: None,
        },
    );
    {
        let ctx = HeifContext::read_from_bytes(&bytes).expect("read back");
        let handle = ctx.primary_image_handle().expect("primary");
        assert_eq!(handle.luma_bits_per_pixel(), 10, "the test file is 10-bit");
    }
    let out = run(&bytes, PNG_OUT, &Limits::default()).expect("decode");
    let got = decode(&out[0].bytes);
    let diff = mean_diff(got.as_raw(), src.as_raw());
    assert!(diff < 6.0, "mean difference {diff:.2}");
}

#[test]
fn a_heic_decodes_with_its_icc_profile_and_exif() {
    let src = photo(64, 48);
    // A minimal profile header: size, then "mntr" class and "RGB " space where ICC puts them.
    let mut icc = vec![0u8; 132];
    icc[0..4].copy_from_slice(&132u32.to_be_bytes());
    icc[12..16].copy_from_slice(b"mntr");
    icc[16..20].copy_from_slice(b"RGB ");
    icc[36..40].copy_from_slice(b"acsp");
    // EXIF orientation 6 ("turn 90°") on a file with no `irot`: HEIF orientation is the
    // container's, so the pixels must come out as stored, and the carried EXIF must say 1.
    let exif = common::exif_with_orientation(6);
    let mut heif_exif = 0u32.to_be_bytes().to_vec();
    heif_exif.extend_from_slice(&exif);
    let bytes = libheif_file(
        CompressionFormat::Hevc,
        &Source {
            width: 64,
            height: 48,
            samples: src.as_raw(),
            depth: 8,
            icc: Some(icc.clone()),
            exif: Some(heif_exif),
        },
    );
    let info = probe(&bytes, &Limits::default()).expect("probe");
    assert_eq!((info.format, info.width, info.height), ("heic", 64, 48));
    let out = run(
        &bytes,
        r#"{"operations":[{"op":"auto_orient"}],"outputs":[
            {"name":"p","format":"png"},
            {"name":"j","format":"jpeg","strip_metadata":false}]}"#,
        &Limits::default(),
    )
    .expect("decode");
    let got = decode(&out[0].bytes);
    assert_eq!(
        got.dimensions(),
        (64, 48),
        "not turned by the EXIF orientation"
    );
    let diff = mean_diff(got.as_raw(), src.as_raw());
    assert!(diff < 6.0, "mean difference {diff:.2}");
    // The ICC profile travels to the PNG (iCCP), the EXIF to the JPEG, reset to orientation 1.
    let png =
        image::codecs::png::PngDecoder::new(std::io::Cursor::new(&out[0].bytes)).expect("png");
    let mut png = png;
    let kept = image::ImageDecoder::icc_profile(&mut png).expect("icc read");
    assert_eq!(kept.as_deref(), Some(icc.as_slice()), "ICC profile kept");
    let exif_out = exif::Reader::new()
        .read_from_container(&mut std::io::Cursor::new(&out[1].bytes))
        .expect("exif in the jpeg");
    let o = exif_out
        .get_field(exif::Tag::Orientation, exif::In::PRIMARY)
        .and_then(|f| f.value.get_uint(0));
    assert_eq!(o, Some(1));
}

#[test]
fn probe_names_the_format_by_codec_and_refuses_other_iso_bmff() {
    let heic = heic(&photo(40, 30));
    let info = probe(&heic, &Limits::default()).expect("probe heic");
    assert_eq!(
        (info.format, info.width, info.height, info.frames),
        ("heic", 40, 30, 1)
    );
    // The same container with a video brand instead of an image one.
    let mut video = heic.clone();
    let brands = 8..heic.len().min(32);
    for i in brands.clone().step_by(4) {
        video[i..i + 4].copy_from_slice(b"isom");
    }
    video[12..16].copy_from_slice(&[0, 0, 2, 0]);
    let err = probe(&video, &Limits::default()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::UnsupportedMediaType, "{err}");
    // An image item coded with something libheif here cannot decode (JPEG 2000).
    let at = heic
        .windows(4)
        .position(|w| w == b"hvc1")
        .expect("hvc1 item");
    let mut j2k = heic.clone();
    j2k[at..at + 4].copy_from_slice(b"j2k1");
    let err = probe(&j2k, &Limits::default()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::UnsupportedMediaType, "{err}");
}

#[test]
fn an_over_limit_size_is_refused_from_the_container_before_decoding() {
    let avif = engine_avif(&DynamicImage::ImageRgb8(photo(64, 48)));
    // Claims 20000x20000: refused by the probe and by prepare, as too large, not as broken.
    let bomb = with_ispe(&avif, 20_000, 20_000);
    let err = probe(&bomb, &Limits::default()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ImageTooLarge, "{err}");
    let err = run(&bomb, PNG_OUT, &Limits::default()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ImageTooLarge, "{err}");
    // And the real size against tighter limits.
    let small = Limits {
        max_width: 32,
        ..Limits::default()
    };
    let err = run(&avif, PNG_OUT, &small).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ImageTooLarge, "{err}");
    let few = Limits {
        max_pixels: 1000,
        ..Limits::default()
    };
    let err = probe(&heic(&photo(64, 48)), &few).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ImageTooLarge, "{err}");
}

#[test]
fn a_bitstream_larger_than_its_container_says_is_not_let_through() {
    // The containers claim 16x16 (inside a 32x32 limit); the coded images are 64x48, and
    // libheif 1.15 would decode them at that size.
    let limits = Limits {
        max_width: 32,
        max_height: 32,
        ..Limits::default()
    };
    // AVIF: the probe reads the AV1 sequence header as well and refuses before any decoding.
    let avif = with_ispe(
        &engine_avif(&DynamicImage::ImageRgb8(photo(64, 48))),
        16,
        16,
    );
    let err = probe(&avif, &limits).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ImageTooLarge, "{err}");
    assert!(err.to_string().contains("av1 sequence header"), "{err}");
    let err = run(&avif, PNG_OUT, &limits).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ImageTooLarge, "{err}");
    // HEIC: likewise from the HEVC sequence parameter set, before libheif sees the file.
    let heic = with_ispe(&heic(&photo(64, 48)), 16, 16);
    let err = probe(&heic, &limits).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ImageTooLarge, "{err}");
    assert!(
        err.to_string().contains("hevc sequence parameter set"),
        "{err}"
    );
    let err = run(&heic, PNG_OUT, &limits).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ImageTooLarge, "{err}");
}

#[test]
fn truncated_and_corrupt_files_are_refused_with_a_client_error() {
    for (name, bytes) in [
        ("avif", engine_avif(&DynamicImage::ImageRgb8(photo(64, 48)))),
        ("heic", heic(&photo(64, 48))),
    ] {
        // Cut in the image data: the probe sees the extents run past the end.
        let cut = &bytes[..bytes.len() - 40];
        let err = probe(cut, &Limits::default()).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidImage, "{name}: {err}");
        assert!(err.to_string().contains("truncated"), "{name}: {err}");
        let err = run(cut, PNG_OUT, &Limits::default()).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidImage, "{name}: {err}");
        // Cut at every length and with bytes flipped all over: never a panic or a crash, only
        // a decoded image or a client error.
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut refused = 0;
        for len in (0..bytes.len()).step_by(7) {
            if let Err(e) = run(&bytes[..len], PNG_OUT, &Limits::default()) {
                assert!(is_client_error(&e), "{name} cut at {len}: {e:?}");
                refused += 1;
            }
        }
        assert!(refused > 0);
        for _ in 0..150 {
            let mut broken = bytes.clone();
            for _ in 0..4 {
                let i = (next() % broken.len() as u64) as usize;
                broken[i] ^= (next() % 255 + 1) as u8;
            }
            if let Err(e) = run(&broken, PNG_OUT, &Limits::default()) {
                assert!(is_client_error(&e), "{name}: {e:?}");
            }
        }
    }
}
