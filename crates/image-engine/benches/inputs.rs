//! Benchmark inputs, made reproducibly from the public corpus: the 10 MP Fujifilm camera file
//! (`valid/pillow-fujifilm.mpo`) resampled to a 12 MP (4000×3000) and a 2 MP (1732×1155)
//! camera-like JPEG at quality 92, 4:2:0. Shared by the criterion bench, the quality test and
//! the `bench_inputs` example the peer script runs, so every tool reads the same bytes.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The corpus directory, assembled by `shared/corpus/build.sh` into `cache` when needed.
/// `TINTYPE_CORPUS_DIR` names an assembled corpus; `TINTYPE_CORPUS_SCRIPT` the script.
pub fn corpus_dir(cache: &Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("TINTYPE_CORPUS_DIR") {
        return PathBuf::from(dir);
    }
    let script = std::env::var_os("TINTYPE_CORPUS_SCRIPT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/build.sh")
        });
    assert!(
        script.is_file(),
        "corpus script not found at {} (set TINTYPE_CORPUS_SCRIPT or TINTYPE_CORPUS_DIR)",
        script.display()
    );
    let dir = cache.join("corpus");
    let status = std::process::Command::new("bash")
        .arg(&script)
        .arg(&dir)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run the corpus build script");
    assert!(status.success(), "{} failed: {status}", script.display());
    dir
}

/// 12 MP and 2 MP camera-like JPEGs, written into `out` (reused when present).
pub fn make(cache: &Path, out: &Path) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(out).expect("create the inputs dir");
    let big = out.join("camera-12mp.jpg");
    let small = out.join("camera-2mp.jpg");
    if big.is_file() && small.is_file() {
        return (big, small);
    }
    let src = corpus_dir(cache).join("valid/pillow-fujifilm.mpo");
    let bytes = std::fs::read(&src).expect("read the corpus photo");
    let photo = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)
        .expect("decode the corpus photo")
        .to_rgb8();
    for (path, w, h) in [(&big, 4000u32, 3000u32), (&small, 1732, 1155)] {
        let src = image::DynamicImage::ImageRgb8(photo.clone());
        let mut dst = image::DynamicImage::new(w, h, image::ColorType::Rgb8);
        fast_image_resize::Resizer::new()
            .resize(
                &src,
                &mut dst,
                &fast_image_resize::ResizeOptions::new().resize_alg(
                    fast_image_resize::ResizeAlg::Convolution(
                        fast_image_resize::FilterType::Lanczos3,
                    ),
                ),
            )
            .expect("resample");
        let mut jpeg = Vec::new();
        let mut enc = jpeg_encoder::Encoder::new(&mut jpeg, 92);
        enc.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
        enc.encode(
            dst.as_bytes(),
            w as u16,
            h as u16,
            jpeg_encoder::ColorType::Rgb,
        )
        .expect("encode");
        std::fs::write(path, jpeg).expect("write input");
    }
    (big, small)
}

/// W1 thumbnail: fit inside 800×600, Lanczos3, JPEG q85.
pub const W1: &str = r#"{"operations":[{"op":"resize","width":800,"height":600,"fit":"inside"}],
    "outputs":[{"name":"thumb","format":"jpeg","quality":85}]}"#;

/// W2 variants: auto_orient, then 1600, 800 and 200 wide JPEG q85 from one decode.
pub const W2: &str = r#"{"operations":[{"op":"auto_orient"}],
    "outputs":[{"name":"large","format":"jpeg","quality":85,"operations":[{"op":"resize","width":1600}]},
               {"name":"medium","format":"jpeg","quality":85,"operations":[{"op":"resize","width":800}]},
               {"name":"small","format":"jpeg","quality":85,"operations":[{"op":"resize","width":200}]}]}"#;

/// W3 filters: grayscale, gaussian blur σ 2, unsharp mask (σ 1, amount 1), PNG.
pub const W3: &str = r#"{"operations":[{"op":"grayscale"},{"op":"blur","sigma":2},{"op":"sharpen","sigma":1,"amount":1}],
    "outputs":[{"name":"filtered","format":"png"}]}"#;
