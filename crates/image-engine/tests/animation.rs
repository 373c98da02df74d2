//! Animated GIF and WebP sources: every frame through the operations, delays kept, frame and
//! pixel limits, and still images unchanged by the `animated` option.

mod common;

use std::io::Cursor;

use common::{encode, photo, recipe};
use image::{AnimationDecoder, DynamicImage, ImageFormat, Rgba, RgbaImage};
use image_engine::{EngineError, Limits, Prepared};
use shared_protocol::ErrorCode;

const DELAYS_MS: [u32; 3] = [100, 200, 300];

/// A 60×40 GIF of three frames, each a different solid colour with a dark bar whose position
/// moves, shown for 100, 200 and 300 ms.
fn three_frame_gif() -> Vec<u8> {
    let colours = [[200, 40, 40], [40, 200, 40], [40, 40, 200]];
    let mut out = Vec::new();
    {
        let mut enc = image::codecs::gif::GifEncoder::new(&mut out);
        enc.set_repeat(image::codecs::gif::Repeat::Infinite)
            .expect("repeat");
        for (i, (c, ms)) in colours.iter().zip(DELAYS_MS).enumerate() {
            let img = RgbaImage::from_fn(60, 40, |x, _| {
                if x / 10 == i as u32 {
                    Rgba([0, 0, 0, 255])
                } else {
                    Rgba([c[0], c[1], c[2], 255])
                }
            });
            let delay = image::Delay::from_numer_denom_ms(ms, 1);
            enc.encode_frame(image::Frame::from_parts(img, 0, 0, delay))
                .expect("frame");
        }
    }
    out
}

fn run_with(
    bytes: &[u8],
    json: &str,
    limits: &Limits,
) -> Result<Vec<image_engine::Encoded>, EngineError> {
    let r = recipe(json);
    let p = Prepared::prepare(bytes, &r, limits)?;
    (0..r.outputs.len()).map(|i| p.render(&r, i)).collect()
}

/// Frames of an encoded animation with their delays in milliseconds.
fn frames_of(bytes: &[u8]) -> Vec<(RgbaImage, u32)> {
    let frames = if bytes.starts_with(b"GIF") {
        image::codecs::gif::GifDecoder::new(Cursor::new(bytes))
            .expect("gif output")
            .into_frames()
    } else {
        image::codecs::webp::WebPDecoder::new(Cursor::new(bytes))
            .expect("webp output")
            .into_frames()
    };
    frames
        .map(|f| {
            let f = f.expect("frame decodes");
            let (n, d) = f.delay().numer_denom_ms();
            (f.into_buffer(), n / d)
        })
        .collect()
}

fn mean_rgb(img: &RgbaImage) -> [u32; 3] {
    let n = img.pixels().len() as u32;
    let mut sum = [0u32; 3];
    for p in img.pixels() {
        for c in 0..3 {
            sum[c] += u32::from(p[c]);
        }
    }
    sum.map(|s| s / n)
}

#[test]
fn an_animated_gif_resized_stays_animated_with_every_frame_and_delay() {
    let out = run_with(
        &three_frame_gif(),
        r#"{"operations":[{"op":"resize","width":30}],
            "outputs":[{"name":"a","format":"gif","animated":true}]}"#,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!((out[0].width, out[0].height), (30, 20));
    let frames = frames_of(&out[0].bytes);
    assert_eq!(frames.len(), 3);
    for (i, (img, delay)) in frames.iter().enumerate() {
        assert_eq!(img.dimensions(), (30, 20), "frame {i}");
        assert_eq!(*delay, DELAYS_MS[i], "frame {i}");
    }
    // Each frame is its own picture: red, then green, then blue dominates.
    for (i, (img, _)) in frames.iter().enumerate() {
        let m = mean_rgb(img);
        let top = (0..3).max_by_key(|&c| m[c]).unwrap();
        assert_eq!(top, i, "frame {i} mean {m:?}");
    }
}

#[test]
fn an_animated_gif_becomes_an_animated_webp_lossy_or_lossless() {
    let out = run_with(
        &three_frame_gif(),
        r#"{"outputs":[
            {"name":"lossy","format":"webp","animated":true,"quality":80,
             "operations":[{"op":"resize","width":30}]},
            {"name":"lossless","format":"webp","animated":true,"lossless":true,
             "operations":[{"op":"grayscale"}]}]}"#,
        &Limits::default(),
    )
    .unwrap();
    let lossy = frames_of(&out[0].bytes);
    assert_eq!(lossy.len(), 3);
    for (i, (img, delay)) in lossy.iter().enumerate() {
        assert_eq!(img.dimensions(), (30, 20));
        assert_eq!(*delay, DELAYS_MS[i], "frame {i}");
    }
    let lossless = frames_of(&out[1].bytes);
    assert_eq!(lossless.len(), 3);
    for (i, (img, delay)) in lossless.iter().enumerate() {
        assert_eq!(img.dimensions(), (60, 40));
        assert_eq!(*delay, DELAYS_MS[i], "frame {i}");
        assert!(
            img.pixels().all(|p| p[0] == p[1] && p[1] == p[2]),
            "frame {i} is grey"
        );
    }
}

#[test]
fn without_animated_an_animation_yields_its_first_frame() {
    let out = run_with(
        &three_frame_gif(),
        r#"{"outputs":[{"name":"a","format":"gif"},{"name":"b","format":"gif","animated":true}]}"#,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(frames_of(&out[0].bytes).len(), 1);
    assert_eq!(frames_of(&out[1].bytes).len(), 3);
}

#[test]
fn an_animation_over_the_frame_cap_is_refused_as_too_large() {
    let limits = Limits {
        max_frames: 2,
        ..Limits::default()
    };
    let err = run_with(
        &three_frame_gif(),
        r#"{"outputs":[{"name":"a","format":"gif","animated":true}]}"#,
        &limits,
    )
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ImageTooLarge, "{err}");
    assert!(err.to_string().contains("frames"), "{err}");
}

#[test]
fn the_output_pixel_limit_counts_every_frame() {
    // One 600×400 frame fits a 500 000-pixel limit; three of them do not.
    let limits = Limits {
        max_output_pixels: 500_000,
        ..Limits::default()
    };
    let json = |animated: bool| {
        format!(
            r#"{{"operations":[{{"op":"resize","width":600,"enlarge":true}}],
                "outputs":[{{"name":"a","format":"gif","animated":{animated}}}]}}"#
        )
    };
    let gif = three_frame_gif();
    assert!(run_with(&gif, &json(false), &limits).is_ok());
    let err = run_with(&gif, &json(true), &limits).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ImageTooLarge, "{err}");
}

#[test]
fn a_trim_and_smart_crop_cut_every_frame_alike() {
    let out = run_with(
        &three_frame_gif(),
        r#"{"operations":[{"op":"resize","width":20,"height":20,"fit":"cover","gravity":"attention"}],
            "outputs":[{"name":"a","format":"webp","lossless":true,"animated":true,
                        "operations":[{"op":"trim"}]}]}"#,
        &Limits::default(),
    )
    .unwrap();
    let frames = frames_of(&out[0].bytes);
    assert_eq!(frames.len(), 3);
    let size = frames[0].0.dimensions();
    assert!(frames.iter().all(|(f, _)| f.dimensions() == size));
}

#[test]
fn a_still_image_is_unchanged_by_the_animated_option() {
    let png = encode(&DynamicImage::ImageRgb8(photo(64, 48)), ImageFormat::Png);
    for format in ["gif", "webp"] {
        let still = run_with(
            &png,
            &format!(r#"{{"operations":[{{"op":"resize","width":32}}],"outputs":[{{"name":"a","format":"{format}"}}]}}"#),
            &Limits::default(),
        )
        .unwrap();
        let asked = run_with(
            &png,
            &format!(r#"{{"operations":[{{"op":"resize","width":32}}],"outputs":[{{"name":"a","format":"{format}","animated":true}}]}}"#),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(still[0].bytes, asked[0].bytes, "{format}");
    }
}
