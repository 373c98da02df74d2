//! Speed must not be bought with quality: the W1/W2 outputs (shrink-on-load, SIMD Lanczos3,
//! JPEG q85) are compared with a reference Lanczos3 resize of the full-size decode.

mod common;
#[path = "../benches/inputs.rs"]
mod inputs;

use std::path::Path;

use image_engine::{Limits, Prepared};

/// Lanczos3 resize of the whole decode to `w`×`h`: the reference.
fn reference(full: &image::DynamicImage, w: u32, h: u32) -> image::RgbImage {
    let mut dst = image::DynamicImage::new(w, h, image::ColorType::Rgb8);
    fast_image_resize::Resizer::new()
        .resize(
            full,
            &mut dst,
            &fast_image_resize::ResizeOptions::new().resize_alg(
                fast_image_resize::ResizeAlg::Convolution(fast_image_resize::FilterType::Lanczos3),
            ),
        )
        .expect("reference resize");
    dst.to_rgb8()
}

#[test]
fn w1_and_w2_outputs_stay_above_32_db_psnr_against_a_full_decode_lanczos3_reference() {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let (big, _) = inputs::make(tmp, &tmp.join("bench-inputs"));
    let bytes = std::fs::read(big).expect("12 MP input");
    let full = image::DynamicImage::ImageRgb8(
        image::load_from_memory(&bytes)
            .expect("full decode")
            .to_rgb8(),
    );
    for json in [inputs::W1, inputs::W2] {
        let recipe = common::recipe(json);
        let prepared = Prepared::prepare(&bytes, &recipe, &Limits::default()).expect("prepare");
        // The shrink-on-load really happened, or this test would prove nothing about it.
        assert!(
            prepared.width() < 4000,
            "no shrink-on-load: {}",
            prepared.width()
        );
        for i in 0..recipe.outputs.len() {
            let out = prepared.render(&recipe, i).expect("render");
            let got = common::decode(&out.bytes);
            let want = reference(&full, out.width, out.height);
            let db = common::psnr(&got, &want);
            println!("{} {}x{}: {db:.1} dB", out.name, out.width, out.height);
            assert!(db >= 32.0, "{}: {db:.1} dB", out.name);
        }
    }
}

#[test]
fn psnr_tells_a_shifted_image_from_the_same_one() {
    // The metric itself must be able to fail: a one-pixel shift of a textured image is far
    // below 32 dB.
    let img = common::photo(200, 150);
    let shifted = image::RgbImage::from_fn(200, 150, |x, y| *img.get_pixel((x + 3).min(199), y));
    assert!(common::psnr(&img, &img).is_infinite());
    assert!(common::psnr(&img, &shifted) < 32.0);
}
