//! `image-worker process`: runs a recipe on local files with the same engine, limits and error
//! codes as the service, writes the outputs under `out_dir/<input-stem>/<name>.<ext>`, and prints
//! one JSON line per input to stdout.

use std::path::{Path, PathBuf};

use anyhow::Context;
use image_engine::{Limits, Prepared, Recipe};
use serde_json::{Value, json};
use shared_protocol::recipe::RecipeLimits;

/// Runs the recipe at `recipe_path` on every input. A bad input is reported on its own line and
/// does not stop the others; only an unreadable recipe or an unwritable output directory fails
/// the whole run.
pub fn run(recipe_path: &Path, out_dir: &Path, inputs: &[PathBuf]) -> anyhow::Result<()> {
    let raw = std::fs::read(recipe_path)
        .with_context(|| format!("reading the recipe {}", recipe_path.display()))?;
    let recipe = Recipe::parse(&raw, &RecipeLimits::default())
        .with_context(|| format!("parsing the recipe {}", recipe_path.display()))?;
    let limits = Limits::default();
    let mut stdout = std::io::stdout().lock();
    for input in inputs {
        let line = process_one(&recipe, &limits, out_dir, input)?;
        use std::io::Write;
        writeln!(stdout, "{line}").context("writing to stdout")?;
    }
    Ok(())
}

fn error_line(input: &Path, code: &str, message: String) -> Value {
    json!({"input": input.display().to_string(), "error": {"code": code, "message": message}})
}

fn process_one(
    recipe: &Recipe,
    limits: &Limits,
    out_dir: &Path,
    input: &Path,
) -> anyhow::Result<Value> {
    let bytes = match std::fs::read(input) {
        Ok(b) => b,
        Err(e) => {
            return Ok(error_line(
                input,
                "not_found",
                format!("reading the input: {e}"),
            ));
        }
    };
    let prepared = match Prepared::prepare(&bytes, recipe, limits) {
        Ok(p) => p,
        Err(e) => return Ok(error_line(input, e.code().as_str(), e.to_string())),
    };
    let stem = input
        .file_stem()
        .map_or_else(|| "input".into(), |s| s.to_string_lossy().into_owned());
    let dir = out_dir.join(&stem);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut outputs = Vec::with_capacity(recipe.outputs.len());
    for index in 0..recipe.outputs.len() {
        let encoded = match prepared.render(recipe, index) {
            Ok(e) => e,
            Err(e) => return Ok(error_line(input, e.code().as_str(), e.to_string())),
        };
        let path = dir.join(format!("{}.{}", encoded.name, encoded.format.extension()));
        std::fs::write(&path, &encoded.bytes)
            .with_context(|| format!("writing {}", path.display()))?;
        let mut entry = json!({
            "name": encoded.name,
            "format": encoded.format.as_str(),
            "width": encoded.width,
            "height": encoded.height,
            "bytes": encoded.bytes.len(),
            "path": path.display().to_string(),
        });
        if let Some(hash) = encoded.blurhash {
            entry["blurhash"] = Value::String(hash);
        }
        outputs.push(entry);
    }
    Ok(json!({"input": input.display().to_string(), "outputs": outputs}))
}
