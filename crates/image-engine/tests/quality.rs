//! Speed must not be bought with quality: the W1/W2 outputs (shrink-on-load, SIMD Lanczos3,
//! JPEG q85) are compared with a reference Lanczos3 resize of the full-size decode.

mod common;
#[path = "../benches/inputs.rs"]
mod inputs;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

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

/// The 12 MP and 2 MP bench inputs, made once: the tests run in parallel, and two corpus
/// builds into one directory at once would trip over each other.
fn bench_inputs() -> &'static (PathBuf, PathBuf) {
    static INPUTS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    INPUTS.get_or_init(|| {
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        inputs::make(tmp, &tmp.join("bench-inputs"))
    })
}

#[test]
fn w1_and_w2_outputs_stay_above_32_db_psnr_against_a_full_decode_lanczos3_reference() {
    let (big, _) = bench_inputs();
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

/// Separable gaussian of `sigma` (normalised, radius ⌈4σ⌉, edges repeated) of every channel,
/// unrounded: the exact filter the engine's extended boxes approximate.
fn exact_gaussian(img: &image::RgbImage, sigma: f64) -> Vec<f64> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let r = (4.0 * sigma).ceil() as isize;
    let mut k: Vec<f64> = (-r..=r)
        .map(|d| (-((d * d) as f64) / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f64 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= total);
    let at = |x: isize, len: usize| x.clamp(0, len as isize - 1) as usize;
    let src: Vec<f64> = img.as_raw().iter().map(|&v| f64::from(v)).collect();
    let mut across = vec![0.0; src.len()];
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                across[(y * w + x) * 3 + c] = (-r..=r)
                    .zip(&k)
                    .map(|(d, wt)| wt * src[(y * w + at(x as isize + d, w)) * 3 + c])
                    .sum();
            }
        }
    }
    let mut out = vec![0.0; src.len()];
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                out[(y * w + x) * 3 + c] = (-r..=r)
                    .zip(&k)
                    .map(|(d, wt)| wt * across[(at(y as isize + d, h) * w + x) * 3 + c])
                    .sum();
            }
        }
    }
    out
}

/// PSNR (dB) and worst absolute difference of 8-bit samples against exact values.
fn against_exact(got: &image::RgbImage, exact: &[f64]) -> (f64, f64) {
    let (mut sq, mut worst) = (0.0, 0f64);
    for (&g, &e) in got.as_raw().iter().zip(exact) {
        let d = f64::from(g) - e;
        sq += d * d;
        worst = worst.max(d.abs());
    }
    let mse = sq / exact.len() as f64;
    (10.0 * (255.0f64 * 255.0 / mse).log10(), worst)
}

#[test]
fn blur_and_sharpen_stay_close_to_an_exact_gaussian_on_a_photo() {
    // The engine's blur and sharpen use three extended boxes per axis (as Pillow does), not a
    // sampled kernel: on a real photo (a 480×360 crop of the bench input, given as PNG so
    // decoding is exact) they must stay close to the exact gaussian and to the unsharp mask
    // built on it. Measured 2026-12-05: see BENCHMARKS.md, "W3 box sharpen".
    let (_, small) = bench_inputs();
    let photo = image::load_from_memory(&std::fs::read(small).expect("2 MP input"))
        .expect("decode")
        .to_rgb8();
    let crop = image::imageops::crop_imm(&photo, 600, 400, 480, 360).to_image();
    let png = common::encode(
        &image::DynamicImage::ImageRgb8(crop.clone()),
        image::ImageFormat::Png,
    );
    let run = |op: &str| {
        let json = format!(r#"{{"operations":[{op}],"outputs":[{{"name":"o","format":"png"}}]}}"#);
        let recipe = common::recipe(&json);
        let prepared = Prepared::prepare(&png, &recipe, &Limits::default()).expect("prepare");
        common::decode(&prepared.render(&recipe, 0).expect("render").bytes)
    };
    // Measured: σ 0.5 49.2 dB (worst 4.2 levels), σ 1 54.7 (2.0), σ 2 53.9 (3.3), σ 5 53.6
    // (3.1); rounding the exact result alone would give ≈ 59 dB.
    for (sigma, min_db, max_worst) in [
        (0.5, 47.0, 6.0),
        (1.0, 52.0, 4.0),
        (2.0, 52.0, 4.0),
        (5.0, 52.0, 4.0),
    ] {
        let exact = exact_gaussian(&crop, sigma);
        let (db, worst) =
            against_exact(&run(&format!(r#"{{"op":"blur","sigma":{sigma}}}"#)), &exact);
        println!("blur σ {sigma}: {db:.1} dB, worst {worst:.2}");
        assert!(
            db >= min_db && worst <= max_worst,
            "blur σ {sigma}: {db:.1} dB, worst {worst:.2}"
        );
    }
    // W3's sharpen: σ 1, amount 1, so 2 × image − blur carries the blur's error unchanged
    // (measured 54.8 dB, worst 2.0).
    let exact = exact_gaussian(&crop, 1.0);
    let unsharp: Vec<f64> = crop
        .as_raw()
        .iter()
        .zip(&exact)
        .map(|(&s, &g)| (2.0 * f64::from(s) - g).clamp(0.0, 255.0))
        .collect();
    let (db, worst) = against_exact(&run(r#"{"op":"sharpen","sigma":1,"amount":1}"#), &unsharp);
    println!("sharpen σ 1: {db:.1} dB, worst {worst:.2}");
    assert!(
        db >= 52.0 && worst <= 4.0,
        "sharpen: {db:.1} dB, worst {worst:.2}"
    );
}
