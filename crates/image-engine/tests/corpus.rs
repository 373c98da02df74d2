//! The public corpus (`shared/corpus/build.sh`): 215 real-world, broken and hostile images, each
//! with the expectation the service must meet. The test assembles the corpus itself (into
//! cargo's per-target temp dir, reused across runs) and fails — never skips — when it cannot.
//!
//! Set `TINTYPE_CORPUS_DIR` to use an already assembled corpus, or `TINTYPE_CORPUS_SCRIPT` to
//! point at `build.sh` when `shared/` is not beside the repository.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use image_engine::{EngineError, Limits, Prepared, probe};
use shared_protocol::ErrorCode;

/// A generous bound for one file in an unoptimised test build; a hang or a quadratic blow-up
/// still trips it.
const PER_FILE: Duration = Duration::from_secs(20);
/// Peak resident memory of the whole run: the largest file decodes to ~30 MB.
const PEAK_RSS_BYTES: u64 = 1024 * 1024 * 1024;

/// Formats the engine does not decode yet, whose `process` rows are therefore held to a clean
/// 415 instead. Each is printed when the test runs, and an entry that starts decoding fails the
/// test, so this list cannot go stale silently.
const KNOWN_GAPS: &[(&str, &str)] = &[];

fn corpus_dir() -> PathBuf {
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
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("corpus");
    let status = std::process::Command::new("bash")
        .arg(&script)
        .arg(&dir)
        .status()
        .expect("run the corpus build script");
    assert!(status.success(), "{} failed: {status}", script.display());
    dir
}

struct Row {
    path: String,
    format: String,
    expectation: String,
    note: String,
}

fn manifest(dir: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(dir.join("manifest.tsv")).expect("manifest.tsv");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Row {
                path: f[0].to_owned(),
                format: f[2].to_owned(),
                expectation: f[5].to_owned(),
                note: f[6].to_owned(),
            }
        })
        .collect()
}

/// `upright=WxH` from a manifest note.
fn upright(note: &str) -> Option<(u32, u32)> {
    let rest = note.split("upright=").nth(1)?;
    let dims = rest.split(|c: char| c == ';' || c.is_whitespace()).next()?;
    let (w, h) = dims.split_once('x')?;
    Some((w.parse().ok()?, h.parse().ok()?))
}

const RECIPE: &str = r#"{"outputs":[
    {"name":"full","format":"png","operations":[{"op":"resize","width":512,"height":512}]},
    {"name":"thumb","format":"jpeg","quality":80,"operations":[{"op":"resize","width":128,"height":128,"fit":"cover"}]}]}"#;

fn run(bytes: &[u8]) -> Result<Vec<image_engine::Encoded>, EngineError> {
    let recipe = common::recipe(RECIPE);
    let prepared = Prepared::prepare(bytes, &recipe, &Limits::default())?;
    (0..recipe.outputs.len())
        .map(|i| prepared.render(&recipe, i))
        .collect()
}

fn is_client_error(e: &EngineError) -> bool {
    matches!(
        e.code(),
        ErrorCode::UnsupportedMediaType | ErrorCode::InvalidImage | ErrorCode::ImageTooLarge
    )
}

fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Mean absolute difference per channel between two RGB images of one size.
fn mean_diff(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| u64::from(x.abs_diff(y)))
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

#[test]
fn every_corpus_file_meets_its_expectation_in_bounded_time_and_memory() {
    let dir = corpus_dir();
    let rows = manifest(&dir);
    assert_eq!(rows.len(), 215, "the corpus should hold 215 files");
    let mut failures = Vec::new();
    let mut gaps_seen = Vec::new();
    let started = Instant::now();
    for row in &rows {
        let bytes = std::fs::read(dir.join(&row.path)).expect("corpus file");
        let t = Instant::now();
        let probed = probe(&bytes, &Limits::default());
        let result = run(&bytes);
        let took = t.elapsed();
        if took > PER_FILE {
            failures.push(format!("{}: took {took:?}", row.path));
        }
        let gap = KNOWN_GAPS.iter().find(|(f, _)| *f == row.format);
        let verdict: Result<(), String> = match (row.expectation.as_str(), &result, gap) {
            ("process", Ok(_), Some((f, _))) => Err(format!(
                "{f} now decodes: remove it from KNOWN_GAPS so its rows are checked in full"
            )),
            ("process", Err(e), Some(_)) if e.code() == ErrorCode::UnsupportedMediaType => {
                gaps_seen.push(row.path.clone());
                Ok(())
            }
            ("process", Ok(outs), None) => check_outputs(&dir, row, outs),
            ("process", Err(e), _) => Err(format!("should process, failed: {e}")),
            ("reject-4xx", Err(e), _) if is_client_error(e) => Ok(()),
            ("reject-4xx", other, _) => Err(format!("should be refused with a 4xx: {other:?}")),
            ("reject-limit", _, _) => match &probed {
                Err(e) if e.code() == ErrorCode::ImageTooLarge => Ok(()),
                other => Err(format!("probe should refuse on limits: {other:?}")),
            },
            ("process-or-reject-4xx", Ok(outs), _) => check_outputs(&dir, row, outs),
            ("process-or-reject-4xx", Err(e), _) if is_client_error(e) => Ok(()),
            (exp, other, _) => Err(format!("expectation {exp}: {other:?}")),
        };
        if let Err(why) = verdict {
            failures.push(format!("{}: {why}", row.path));
        }
        // A file the probe accepts must not then be refused as too large or unsupported by the
        // decoder for a reason the header already showed; a probe refusal must hold too.
        if let (Err(pe), Ok(_)) = (&probed, &result) {
            failures.push(format!(
                "{}: probe refused ({pe}) but prepare succeeded",
                row.path
            ));
        }
    }
    for (format, why) in KNOWN_GAPS {
        println!("known gap, {format}: {why}");
    }
    println!(
        "{} files in {:?}; {} rows held to the known-gap rule: {:?}",
        rows.len(),
        started.elapsed(),
        gaps_seen.len(),
        gaps_seen
    );
    if let Some(peak) = peak_rss() {
        println!("peak resident memory: {} MiB", peak / (1024 * 1024));
        assert!(peak < PEAK_RSS_BYTES, "peak RSS {peak} bytes");
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    check_orientation_content(&dir);
}

/// Outputs decode, have the stated size, and keep the upright aspect the manifest gives.
fn check_outputs(_dir: &Path, row: &Row, outs: &[image_engine::Encoded]) -> Result<(), String> {
    for e in outs {
        let img = image::load_from_memory(&e.bytes).map_err(|err| format!("{}: {err}", e.name))?;
        if (img.width(), img.height()) != (e.width, e.height) {
            return Err(format!("{} decodes at another size", e.name));
        }
    }
    if let Some((uw, uh)) = upright(&row.note) {
        let full = &outs[0];
        // Inside 512x512 without enlarging: exact when it fits, else the same shape.
        let expect = if uw <= 512 && uh <= 512 {
            (uw, uh)
        } else {
            let s = (512.0 / f64::from(uw)).min(512.0 / f64::from(uh));
            (
                (f64::from(uw) * s).round() as u32,
                (f64::from(uh) * s).round() as u32,
            )
        };
        if (full.width, full.height) != expect {
            return Err(format!(
                "not upright: {}x{}, expected {}x{}",
                full.width, full.height, expect.0, expect.1
            ));
        }
    }
    Ok(())
}

/// The orientation set's pixels, not just its sizes: every EXIF-rotated hopper must come out
/// looking like the plain hopper, and every oriented G4 TIFF like orientation 1.
fn check_orientation_content(dir: &Path) {
    let render = |p: &str| -> image::RgbImage {
        let bytes = std::fs::read(dir.join(p)).expect("corpus file");
        let out = run(&bytes).unwrap_or_else(|e| panic!("{p}: {e}"));
        common::decode(&out[0].bytes)
    };
    // AVIF orients by the container's irot/imir (each of these also carries a contradicting
    // EXIF orientation, which must be ignored): every one looks like the untransformed file.
    let avif = (0..=3).flat_map(|rot| {
        (0..=1).map(move |mir| {
            (
                format!("orientation/pillow-rot{rot}mir{mir}.avif"),
                "orientation/pillow-rot0mir0.avif",
            )
        })
    });
    let pairs: Vec<(String, &str)> = (2..=8)
        .flat_map(|o| {
            [
                (
                    format!("orientation/pillow-hopper_orientation_{o}.jpg"),
                    "valid/pillow-hopper.jpg",
                ),
                (
                    format!("orientation/pillow-hopper_orientation_{o}.webp"),
                    "valid/pillow-hopper.jpg",
                ),
                (
                    format!("orientation/pillow-g4_orientation_{o}.tif"),
                    "orientation/pillow-g4_orientation_1.tif",
                ),
            ]
        })
        .chain(avif.filter(|(f, _)| !f.ends_with("rot0mir0.avif")))
        .collect();
    for (file, reference) in &pairs {
        let got = render(file);
        let want = render(reference);
        assert_eq!(got.dimensions(), want.dimensions(), "{file}");
        let upright = mean_diff(&got, &want);
        // The same pixels turned half a turn must be much further off: proves the comparison
        // can tell orientations apart on this image.
        let turned = mean_diff(&image::imageops::rotate180(&got), &want);
        assert!(
            upright < 12.0 && upright * 2.0 < turned,
            "{file}: mean difference {upright:.1} upright vs {turned:.1} turned"
        );
    }
}
