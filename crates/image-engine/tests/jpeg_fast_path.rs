//! The fast shrink-on-load JPEG decoder (`src/jpeg_scaled/`) against the general one
//! (`jpeg-decoder`'s scaled decode): same sizes and nearly the same pixels for every file it
//! accepts, a refusal (so the engine falls back) for what it does not handle, and no panic on
//! broken or hostile bytes.

mod common;
#[path = "../benches/inputs.rs"]
mod inputs;

use std::path::Path;

use image::RgbImage;
use image_engine::test_hooks::{
    Scaled, jpeg_scaled_fast, jpeg_scaled_general, jpeg_scaled_threads,
};
use image_engine::{EngineError, Limits, Prepared};
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

const SHRINKS: [u32; 3] = [2, 4, 8];

/// Largest difference allowed in any sample. The scaled IDCT and the chroma upsampling are the
/// reference's integer arithmetic, bit for bit; only YCbCr -> RGB differs, because jpeg-decoder
/// converts most pixels with SSSE3 in 16-bit fixed point and we use its 20-bit scalar formula.
/// Measured: at most 1 on every file here.
const MAX_DIFF: u8 = 1;
/// And on average: measured >= 56 dB on every file here.
const MIN_PSNR: f64 = 50.0;

/// Compares the two decoders on `bytes` at `shrink`; panics with `name` when the fast path
/// declines or differs. Returns the PSNR.
fn assert_equivalent(name: &str, bytes: &[u8], shrink: u32) -> f64 {
    let fast = jpeg_scaled_fast(bytes, shrink)
        .unwrap_or_else(|e| panic!("{name} 1/{shrink}: the fast path declined: {e}"));
    let general = jpeg_scaled_general(bytes, shrink)
        .unwrap_or_else(|e| panic!("{name} 1/{shrink}: jpeg-decoder failed: {e}"));
    compare(name, shrink, &fast, &general)
}

fn compare(name: &str, shrink: u32, fast: &Scaled, general: &Scaled) -> f64 {
    assert_eq!(
        (fast.0, fast.1, fast.2),
        (general.0, general.1, general.2),
        "{name} 1/{shrink}: size or channels differ"
    );
    assert_eq!(
        fast.3.len(),
        general.3.len(),
        "{name} 1/{shrink}: buffer length"
    );
    let (mut max, mut sq) = (0u8, 0f64);
    for (&a, &b) in fast.3.iter().zip(&general.3) {
        let d = a.abs_diff(b);
        max = max.max(d);
        sq += f64::from(d) * f64::from(d);
    }
    let mse = sq / fast.3.len() as f64;
    let psnr = if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0 * 255.0 / mse).log10()
    };
    assert!(
        max <= MAX_DIFF && psnr >= MIN_PSNR,
        "{name} 1/{shrink}: max diff {max}, {psnr:.1} dB"
    );
    psnr
}

/// Deterministic noise, so tests need no random crate and fail reproducibly.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A photo-like image with noise added: the noise gives large coefficients and long codes.
fn noisy_photo(w: u32, h: u32, amount: u8) -> RgbImage {
    let mut img = common::photo(w, h);
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ u64::from(w * 31 + h));
    for p in img.pixels_mut() {
        for c in &mut p.0 {
            let n = (rng.next() % (2 * u64::from(amount) + 1)) as i32 - i32::from(amount);
            *c = (i32::from(*c) + n).clamp(0, 255) as u8;
        }
    }
    img
}

struct Options {
    sampling: SamplingFactor,
    restart: Option<u16>,
    grey: bool,
    quality: u8,
    optimized: bool,
    progressive: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            sampling: SamplingFactor::F_2_2,
            restart: None,
            grey: false,
            quality: 92,
            optimized: false,
            progressive: false,
        }
    }
}

fn encode(img: &RgbImage, o: &Options) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = Encoder::new(&mut out, o.quality);
    enc.set_sampling_factor(o.sampling);
    if let Some(r) = o.restart {
        enc.set_restart_interval(r);
    }
    enc.set_optimized_huffman_tables(o.optimized);
    enc.set_progressive(o.progressive);
    let (w, h) = (img.width() as u16, img.height() as u16);
    if o.grey {
        let grey = image::DynamicImage::ImageRgb8(img.clone()).to_luma8();
        enc.encode(grey.as_raw(), w, h, ColorType::Luma)
    } else {
        enc.encode(img.as_raw(), w, h, ColorType::Rgb)
    }
    .expect("encode test JPEG");
    out
}

#[test]
fn synthetic_jpegs_of_every_accepted_layout_match_jpeg_decoder_at_every_scale() {
    let sizes = [
        (1, 1),
        (7, 5),
        (8, 8),
        (17, 9),
        (33, 250),
        (250, 33),
        (333, 251),
        (640, 480),
    ];
    let samplings = [
        ("4:4:4", SamplingFactor::F_1_1),
        ("4:2:2", SamplingFactor::F_2_1),
        ("4:4:0", SamplingFactor::F_1_2),
        ("4:2:0", SamplingFactor::F_2_2),
    ];
    let mut worst = f64::INFINITY;
    let mut checked = 0;
    for (w, h) in sizes {
        let img = noisy_photo(w, h, 24);
        for (sname, sampling) in samplings {
            for restart in [None, Some(1), Some(5)] {
                for quality in [92, 50, 100] {
                    let o = Options {
                        sampling,
                        restart,
                        quality,
                        ..Options::default()
                    };
                    let bytes = encode(&img, &o);
                    for shrink in SHRINKS {
                        let name = format!("{w}x{h} {sname} rst {restart:?} q{quality}");
                        worst = worst.min(assert_equivalent(&name, &bytes, shrink));
                        checked += 1;
                    }
                }
            }
        }
        // jpeg-encoder writes optimised tables (other code lengths) only in one scan per
        // component, which the fast path leaves to jpeg-decoder unless there is one component.
        for (restart, optimized) in [(None, false), (Some(3), false), (None, true)] {
            let grey = Options {
                grey: true,
                restart,
                optimized,
                ..Options::default()
            };
            let bytes = encode(&img, &grey);
            for shrink in SHRINKS {
                let name = format!("{w}x{h} grey rst {restart:?} optimised {optimized}");
                worst = worst.min(assert_equivalent(&name, &bytes, shrink));
                checked += 1;
            }
        }
    }
    println!("{checked} synthetic decodes, worst {worst:.1} dB");
}

/// The corpus is assembled on first use; two tests doing that at once would race.
static CORPUS: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn the_benchmark_photos_match_jpeg_decoder_at_every_scale() {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let (big, small) = {
        let _once = CORPUS.lock().unwrap_or_else(|e| e.into_inner());
        inputs::make(tmp, &tmp.join("bench-inputs"))
    };
    for path in [big, small] {
        let bytes = std::fs::read(&path).expect("bench input");
        for shrink in SHRINKS {
            let db = assert_equivalent(&path.display().to_string(), &bytes, shrink);
            println!("{} 1/{shrink}: {db:.1} dB", path.display());
        }
    }
}

#[test]
fn every_corpus_jpeg_the_fast_path_accepts_matches_jpeg_decoder() {
    let dir = {
        let _once = CORPUS.lock().unwrap_or_else(|e| e.into_inner());
        inputs::corpus_dir(Path::new(env!("CARGO_TARGET_TMPDIR")))
    };
    let mut accepted = Vec::new();
    let mut declined = Vec::new();
    for entry in walk(&dir) {
        let bytes = std::fs::read(&entry).expect("corpus file");
        if !bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            continue;
        }
        let name = entry
            .strip_prefix(&dir)
            .unwrap_or(&entry)
            .display()
            .to_string();
        for shrink in SHRINKS {
            match (
                jpeg_scaled_fast(&bytes, shrink),
                jpeg_scaled_general(&bytes, shrink),
            ) {
                (Ok(fast), Ok(general)) => {
                    compare(&name, shrink, &fast, &general);
                    accepted.push(format!("{name} 1/{shrink}"));
                }
                (Ok(_), Err(e)) => {
                    panic!("{name} 1/{shrink}: fast path decoded what jpeg-decoder refuses: {e}")
                }
                (Err(why), _) => declined.push(format!("{name} 1/{shrink}: {why}")),
            }
        }
    }
    println!("accepted {}:\n  {}", accepted.len(), accepted.join("\n  "));
    println!("declined {}:\n  {}", declined.len(), declined.join("\n  "));
    // The corpus holds well over a dozen baseline photos; if the path declined them all, this
    // test would prove nothing.
    assert!(accepted.len() >= 3 * 12, "only {} accepted", accepted.len());
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read corpus dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn layouts_outside_the_fast_path_are_declined_and_still_decode() {
    let img = common::photo(96, 64);
    let cases = [
        (
            "progressive",
            encode(
                &img,
                &Options {
                    progressive: true,
                    ..Options::default()
                },
            ),
        ),
        (
            "4:1:1",
            encode(
                &img,
                &Options {
                    sampling: SamplingFactor::F_4_1,
                    ..Options::default()
                },
            ),
        ),
        (
            "one scan per component",
            encode(
                &img,
                &Options {
                    optimized: true,
                    ..Options::default()
                },
            ),
        ),
        ("cmyk", {
            let mut out = Vec::new();
            let cmyk: Vec<u8> = img
                .as_raw()
                .chunks(3)
                .flat_map(|p| [p[0], p[1], p[2], 40])
                .collect();
            Encoder::new(&mut out, 90)
                .encode(&cmyk, 96, 64, ColorType::Cmyk)
                .expect("cmyk");
            out
        }),
    ];
    let recipe = common::recipe(
        r#"{"operations":[{"op":"resize","width":24,"height":16,"fit":"inside"}],
            "outputs":[{"name":"t","format":"jpeg"}]}"#,
    );
    for (name, bytes) in cases {
        for shrink in SHRINKS {
            assert!(
                jpeg_scaled_fast(&bytes, shrink).is_err(),
                "{name}: the fast path should decline"
            );
        }
        let p = Prepared::prepare(&bytes, &recipe, &Limits::default())
            .unwrap_or_else(|e| panic!("{name}: the general path should decode: {e}"));
        assert_eq!((p.width(), p.height()), (24, 16), "{name}");
    }
}

/// Every mutation of `bytes` must leave the fast path returning (an error or an image of the
/// size its header states), never panicking or hanging; and the engine, which falls back,
/// must not report a caught panic either.
fn assert_survives(name: &str, bytes: &[u8]) {
    for shrink in SHRINKS {
        if let Ok((w, h, c, px)) = jpeg_scaled_fast(bytes, shrink) {
            assert_eq!(px.len(), w as usize * h as usize * usize::from(c), "{name}");
        }
    }
    let recipe = common::recipe(
        r#"{"operations":[{"op":"resize","width":40,"height":40,"fit":"inside"}],
            "outputs":[{"name":"t","format":"jpeg"}]}"#,
    );
    if let Err(EngineError::Panic(p)) = Prepared::prepare(bytes, &recipe, &Limits::default()) {
        panic!("{name}: a decoder panicked: {p}");
    }
}

fn scan_start(bytes: &[u8]) -> usize {
    let sos = bytes
        .windows(2)
        .position(|w| w == [0xFF, 0xDA])
        .expect("SOS");
    sos + 2 + usize::from(u16::from_be_bytes([bytes[sos + 2], bytes[sos + 3]]))
}

#[test]
fn truncated_streams_are_refused_without_panicking() {
    let img = noisy_photo(200, 120, 16);
    for restart in [None, Some(2)] {
        let bytes = encode(
            &img,
            &Options {
                restart,
                ..Options::default()
            },
        );
        let start = scan_start(&bytes);
        // Everything before the scan's last two bytes is needed: cutting there must be caught
        // (the reader counts the zero bits it pads with), not decoded into a grey tail.
        for cut in (0..bytes.len() - 4).step_by(7) {
            let name = format!("rst {restart:?} cut at {cut}");
            assert_survives(&name, &bytes[..cut]);
            if cut < bytes.len() - 4 {
                for shrink in SHRINKS {
                    assert!(
                        jpeg_scaled_fast(&bytes[..cut], shrink).is_err(),
                        "{name} (scan starts at {start}): accepted"
                    );
                }
            }
        }
    }
}

#[test]
fn corrupted_streams_never_panic() {
    let img = noisy_photo(160, 96, 16);
    let mut rng = XorShift(0x0123_4567_89AB_CDEF);
    for (i, o) in [
        Options::default(),
        Options {
            restart: Some(3),
            ..Options::default()
        },
        Options {
            grey: true,
            restart: Some(1),
            ..Options::default()
        },
        Options {
            sampling: SamplingFactor::F_2_1,
            optimized: true,
            ..Options::default()
        },
    ]
    .iter()
    .enumerate()
    {
        let bytes = encode(&img, o);
        let start = scan_start(&bytes);
        for round in 0..300 {
            let mut bad = bytes.clone();
            // Mostly the entropy-coded data, sometimes the headers.
            let pos = if round % 4 == 0 {
                (rng.next() as usize) % start
            } else {
                start + (rng.next() as usize) % (bad.len() - start)
            };
            match round % 3 {
                0 => bad[pos] = rng.next() as u8,
                1 => bad[pos] ^= 1 << (rng.next() % 8),
                _ => {
                    // A marker in the middle: EOI, a wrong RST, a table.
                    let marker = [0xD9, 0xD0 + (rng.next() % 8) as u8, 0xC4, 0xFF][round % 4];
                    bad.splice(pos..pos, [0xFF, marker]);
                }
            }
            assert_survives(&format!("case {i} round {round} at {pos}"), &bad);
        }
    }
}

/// The fast path on one thread and with its scan shared with a helper thread must agree
/// exactly: the same pixels, or both refusing. Returns whether the helper's blocks were used.
fn assert_threads_agree(name: &str, bytes: &[u8], shrink: u32) -> bool {
    let one = jpeg_scaled_threads(bytes, shrink, false).map(|(scaled, _)| scaled);
    let two = jpeg_scaled_threads(bytes, shrink, true);
    match (one, two) {
        (Ok(one), Ok((two, helped))) => {
            assert_eq!(
                (one.0, one.1, one.2),
                (two.0, two.1, two.2),
                "{name} 1/{shrink}: sizes differ between one and two threads"
            );
            let differ = one.3.iter().zip(&two.3).filter(|(a, b)| a != b).count();
            assert_eq!(
                differ, 0,
                "{name} 1/{shrink}: {differ} samples differ between one and two threads"
            );
            helped
        }
        (Err(_), Err(_)) => false,
        (one, two) => panic!(
            "{name} 1/{shrink}: one thread {:?}, two threads {:?}",
            one.err(),
            two.err()
        ),
    }
}

#[test]
fn a_scan_shared_with_a_helper_thread_decodes_to_the_same_pixels() {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let (big, small) = {
        let _once = CORPUS.lock().unwrap_or_else(|e| e.into_inner());
        inputs::make(tmp, &tmp.join("bench-inputs"))
    };
    // The photos the service is measured with: the helper must be met (not only agree by
    // having been abandoned), at every scale.
    for path in [&big, &small] {
        let bytes = std::fs::read(path).expect("bench input");
        for shrink in SHRINKS {
            let name = path.display().to_string();
            assert!(
                assert_threads_agree(&name, &bytes, shrink),
                "{name} 1/{shrink}: the helper thread was never met"
            );
        }
    }
    // Every layout and size, including scans far smaller than a helper is started for in
    // service, where it may start in the last MCU or never find its footing.
    let (mut met, mut runs) = (0, 0);
    for (w, h) in [(8, 8), (17, 9), (64, 48), (333, 251), (640, 480)] {
        let img = noisy_photo(w, h, 24);
        for sampling in [
            SamplingFactor::F_1_1,
            SamplingFactor::F_2_1,
            SamplingFactor::F_1_2,
            SamplingFactor::F_2_2,
        ] {
            for (grey, quality) in [(false, 92), (false, 50), (true, 92)] {
                let o = Options {
                    sampling,
                    grey,
                    quality,
                    ..Options::default()
                };
                let bytes = encode(&img, &o);
                for shrink in SHRINKS {
                    let name = format!("{w}x{h} {sampling:?} grey {grey} q{quality}");
                    met += usize::from(assert_threads_agree(&name, &bytes, shrink));
                    runs += 1;
                }
            }
        }
    }
    println!("synthetic: helper met in {met} of {runs}");
    assert!(met * 2 > runs, "helper met in only {met} of {runs}");
}

#[test]
fn every_corpus_jpeg_decodes_alike_on_one_or_two_threads() {
    let dir = {
        let _once = CORPUS.lock().unwrap_or_else(|e| e.into_inner());
        inputs::corpus_dir(Path::new(env!("CARGO_TARGET_TMPDIR")))
    };
    let (mut met, mut runs) = (0, 0);
    for entry in walk(&dir) {
        let bytes = std::fs::read(&entry).expect("corpus file");
        if !bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            continue;
        }
        let name = entry.display().to_string();
        for shrink in SHRINKS {
            met += usize::from(assert_threads_agree(&name, &bytes, shrink));
            runs += 1;
        }
    }
    println!("corpus: helper met in {met} of {runs}");
    assert!(met >= 3 * 12, "helper met in only {met} of {runs}");
}

#[test]
fn broken_scans_fail_alike_on_one_or_two_threads() {
    let img = noisy_photo(320, 200, 16);
    let bytes = encode(&img, &Options::default());
    let start = scan_start(&bytes);
    let mut rng = XorShift(0x0DDB_A11C_AFE5_EED5);
    let mut met = 0;
    // Cut anywhere in the scan, and at each of its last bytes (where the helper's last block
    // may be the one that runs out of data).
    let tail = bytes.len() - 24..bytes.len() - 2;
    for cut in (start..bytes.len() - 2).step_by(97).chain(tail) {
        for shrink in SHRINKS {
            met += usize::from(assert_threads_agree(
                &format!("cut at {cut}"),
                &bytes[..cut],
                shrink,
            ));
        }
    }
    // Damage in either half: a changed byte, a flipped bit, a marker in the middle.
    for round in 0..400 {
        let mut bad = bytes.clone();
        let pos = start + (rng.next() as usize) % (bad.len() - start - 2);
        match round % 3 {
            0 => bad[pos] = rng.next() as u8,
            1 => bad[pos] ^= 1 << (rng.next() % 8),
            _ => {
                let marker = [0xD9, 0xD0, 0xC4, 0xFF][round % 4];
                bad.splice(pos..pos, [0xFF, marker]);
            }
        }
        for shrink in SHRINKS {
            let name = format!("round {round} at {pos}");
            met += usize::from(assert_threads_agree(&name, &bad, shrink));
        }
    }
    println!("broken scans: helper met in {met}");
    assert!(met > 0, "the helper never took part");
}
