//! W1/W2/W3 of issue 3 on one core (criterion runs single-threaded and nothing in the engine
//! spawns threads). `cargo bench -p image-engine`; see BENCHMARKS.md for the peer runs.

mod inputs;

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use image_engine::{Limits, Prepared, Recipe};
use shared_protocol::recipe::RecipeLimits;

fn run(bytes: &[u8], recipe: &Recipe) -> usize {
    let prepared = Prepared::prepare(bytes, recipe, &Limits::default()).expect("prepare");
    (0..recipe.outputs.len())
        .map(|i| prepared.render(recipe, i).expect("render").bytes.len())
        .sum()
}

fn workloads(c: &mut Criterion) {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let (big, small) = inputs::make(tmp, &tmp.join("bench-inputs"));
    let big = std::fs::read(big).expect("12 MP input");
    let small = std::fs::read(small).expect("2 MP input");
    let parse =
        |json: &str| Recipe::parse(json.as_bytes(), &RecipeLimits::default()).expect("recipe");
    let mut group = c.benchmark_group("engine");
    group.sample_size(20);
    group.throughput(Throughput::Elements(1));
    for (name, bytes, recipe) in [
        ("W1_thumbnail_12mp", &big, parse(inputs::W1)),
        ("W2_variants_12mp", &big, parse(inputs::W2)),
        ("W3_filters_2mp", &small, parse(inputs::W3)),
    ] {
        group.bench_function(name, |b| b.iter(|| run(bytes, &recipe)));
    }
    group.finish();
}

criterion_group!(benches, workloads);
criterion_main!(benches);
