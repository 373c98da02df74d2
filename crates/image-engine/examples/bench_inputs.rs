//! Writes the benchmark inputs (see `benches/inputs.rs`) into a directory, so the peer script
//! (`bench/peers.sh`) measures libvips and Pillow on the very same files, and optionally runs
//! one workload a number of times for whole-process timing.
//!
//! `cargo run --release -p image-engine --example bench_inputs -- DIR`
//! `cargo run --release -p image-engine --example bench_inputs -- DIR run W1 ITERATIONS`

#[path = "../benches/inputs.rs"]
mod inputs;

use std::path::PathBuf;
use std::time::Instant;

use image_engine::{Limits, Prepared, Recipe};
use shared_protocol::recipe::RecipeLimits;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = PathBuf::from(args.first().map_or("target/bench-inputs", String::as_str));
    let (big, small) = inputs::make(&dir, &dir);
    println!("{}\n{}", big.display(), small.display());
    if args.get(1).map(String::as_str) != Some("run") {
        return;
    }
    let workload = args.get(2).map_or("W1", String::as_str);
    let n: u32 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(10);
    let (json, path) = match workload {
        "W1" => (inputs::W1, &big),
        "W2" => (inputs::W2, &big),
        _ => (inputs::W3, &small),
    };
    let recipe = Recipe::parse(json.as_bytes(), &RecipeLimits::default()).expect("recipe");
    let bytes = std::fs::read(path).expect("input");
    let start = Instant::now();
    let mut total = 0usize;
    for _ in 0..n {
        let p = Prepared::prepare(&bytes, &recipe, &Limits::default()).expect("prepare");
        for i in 0..recipe.outputs.len() {
            let e = p.render(&recipe, i).expect("render");
            total += e.bytes.len();
            std::fs::write(
                dir.join(format!(
                    "tintype-{workload}-{}.{}",
                    e.name,
                    e.format.extension()
                )),
                &e.bytes,
            )
            .expect("write output");
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "tintype {workload}: {:.2} images/s ({n} runs, {:.1} ms each, {} output bytes per run)",
        f64::from(n) / secs,
        secs * 1000.0 / f64::from(n),
        total / n as usize
    );
}
