//! Decode + recipe: arbitrary bytes as the image, and optionally a recipe before a NUL byte.
//! The engine must return (never unwind, hang or exhaust memory) and every output must respect
//! the limits. Run: `cargo fuzz run decode_recipe` from the repository root.
#![no_main]

use image_engine::{Limits, Prepared, probe};
use libfuzzer_sys::fuzz_target;
use shared_protocol::recipe::{Recipe, RecipeLimits};

const DEFAULT_RECIPE: &str = r#"{"operations":[{"op":"resize","width":64,"height":64,"fit":"cover"}],
  "outputs":[{"name":"a","format":"png"},{"name":"b","format":"jpeg","quality":50,
  "operations":[{"op":"rotate","angle":33},{"op":"sharpen","sigma":1}]}]}"#;

fuzz_target!(
    init: {
        // Decoder panics are caught by the engine and turned into errors; that is the contract
        // under test, so they must not abort the run (libFuzzer's hook would).
        std::panic::set_hook(Box::new(|_| {}));
    },
    |data: &[u8]| {
        let (recipe, image) = match data.iter().position(|&b| b == 0) {
            Some(cut) if cut < 2048 => (
                Recipe::parse(&data[..cut], &RecipeLimits::default()).ok(),
                &data[cut + 1..],
            ),
            _ => (None, data),
        };
        let recipe = recipe.unwrap_or_else(|| {
            Recipe::parse(DEFAULT_RECIPE.as_bytes(), &RecipeLimits::default()).expect("default recipe")
        });
        // Small limits keep each execution fast; the checks are the same at any size.
        let limits = Limits {
            max_pixels: 4_000_000,
            max_output_pixels: 4_000_000,
            max_width: 4096,
            max_height: 4096,
            ..Limits::default()
        };
        let _ = probe(image, &limits);
        if let Ok(prepared) = Prepared::prepare(image, &recipe, &limits) {
            for i in 0..recipe.outputs.len() {
                if let Ok(out) = prepared.render(&recipe, i) {
                    assert!(u64::from(out.width) * u64::from(out.height) <= limits.max_output_pixels);
                }
            }
        }
    }
);
