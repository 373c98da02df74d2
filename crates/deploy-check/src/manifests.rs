//! The deployment files as JSON values: docker-compose.yml interpolated the way compose does it, and
//! each kustomize overlay rendered by kustomize itself.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use serde_json::Value;

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every YAML document in `text` (empty documents skipped), YAML merge keys applied.
pub fn parse_documents(text: &str) -> anyhow::Result<Vec<Value>> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(text)?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// The `NAME=value` lines of .env.example.
pub fn env_example() -> anyhow::Result<BTreeMap<String, String>> {
    let path = repo_root().join(".env.example");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path:?}"))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
}

/// docker-compose.yml as compose sees it when .env is a copy of .env.example.
pub fn compose() -> anyhow::Result<Value> {
    let path = repo_root().join("docker-compose.yml");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path:?}"))?;
    let mut doc = parse_documents(&text)?
        .into_iter()
        .next()
        .context("docker-compose.yml is empty")?;
    let vars = env_example()?;
    interpolate_value(&mut doc, &vars)?;
    Ok(doc)
}

fn interpolate_value(value: &mut Value, vars: &BTreeMap<String, String>) -> anyhow::Result<()> {
    match value {
        Value::String(s) => *s = interpolate(s, vars)?,
        Value::Array(items) => {
            for item in items {
                interpolate_value(item, vars)?;
            }
        }
        Value::Object(map) => {
            for item in map.values_mut() {
                interpolate_value(item, vars)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Compose's interpolation: `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `$VAR`, and `$$` for `$`.
pub fn interpolate(s: &str, vars: &BTreeMap<String, String>) -> anyhow::Result<String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
        } else if let Some(braced) = rest.strip_prefix('{') {
            let end = braced
                .find('}')
                .with_context(|| format!("unclosed ${{ in {s:?}"))?;
            let expr = &braced[..end];
            let (name, default, empty_counts) = if let Some((n, d)) = expr.split_once(":-") {
                (n, Some(d), true)
            } else if let Some((n, d)) = expr.split_once('-') {
                (n, Some(d), false)
            } else {
                (expr, None, false)
            };
            match (vars.get(name), default) {
                (Some(v), Some(d)) if v.is_empty() && empty_counts => out.push_str(d),
                (Some(v), _) => out.push_str(v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => bail!("${{{name}}} in {s:?} has neither a value nor a default"),
            }
            rest = &braced[end + 1..];
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            if end == 0 {
                bail!("a lone $ in {s:?} (write $$)");
            }
            let name = &rest[..end];
            out.push_str(
                vars.get(name)
                    .with_context(|| format!("${name} in {s:?} has no value"))?,
            );
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// One kustomize overlay, rendered.
#[derive(Debug, Clone)]
pub struct Overlay {
    /// The directory name under k8s/overlays/.
    pub name: String,
    /// Every object of the rendering.
    pub objects: Vec<Value>,
}

/// Every overlay under k8s/overlays/, rendered by `scripts/check-deploy.sh kustomize` (which installs
/// its pinned kubectl on first use).
pub fn overlays() -> anyhow::Result<Vec<Overlay>> {
    let root = repo_root();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("k8s/overlays"))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("kustomization.yaml").is_file())
        .collect();
    dirs.sort();
    let mut overlays = Vec::new();
    for dir in dirs {
        let output = Command::new("bash")
            .arg(root.join("scripts/check-deploy.sh"))
            .arg("kustomize")
            .arg(&dir)
            .output()
            .context("running scripts/check-deploy.sh kustomize")?;
        if !output.status.success() {
            bail!(
                "kustomize {dir:?} failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let objects = parse_documents(&String::from_utf8(output.stdout)?)
            .with_context(|| format!("parsing the rendering of {dir:?}"))?;
        overlays.push(Overlay { name, objects });
    }
    if overlays.is_empty() {
        bail!("no overlay under k8s/overlays/");
    }
    Ok(overlays)
}

/// The Secrets of k8s/base/secret-template.yaml, which real clusters create by hand.
pub fn secret_template() -> anyhow::Result<Vec<Value>> {
    let path = repo_root().join("k8s/base/secret-template.yaml");
    parse_documents(&std::fs::read_to_string(&path).with_context(|| format!("reading {path:?}"))?)
}

/// `kind/name` of an object, for messages.
pub fn id(object: &Value) -> String {
    format!(
        "{}/{}",
        str_at(object, "/kind"),
        str_at(object, "/metadata/name")
    )
}

/// The string at a JSON pointer, or "" (YAML numbers and booleans as written).
pub fn str_at<'a>(value: &'a Value, pointer: &str) -> std::borrow::Cow<'a, str> {
    match value.pointer(pointer) {
        Some(Value::String(s)) => s.as_str().into(),
        Some(Value::Number(n)) => n.to_string().into(),
        Some(Value::Bool(b)) => b.to_string().into(),
        _ => "".into(),
    }
}

/// The array at a JSON pointer, or an empty one.
pub fn array_at<'a>(value: &'a Value, pointer: &str) -> &'a [Value] {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The pod template's spec of a workload (Deployment, StatefulSet, Job, ...), if it has one.
pub fn pod_spec(object: &Value) -> Option<&Value> {
    object.pointer("/spec/template/spec")
}

/// The object of `kind` named `name`, in a rendering.
pub fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    objects
        .iter()
        .find(|o| str_at(o, "/kind") == kind && str_at(o, "/metadata/name") == name)
}

/// The keys of a Secret or ConfigMap with their values when readable (`stringData`/`data` of a
/// ConfigMap as is, a Secret's base64 `data` only as keys).
pub fn keys(object: &Value) -> BTreeMap<String, Option<String>> {
    let mut keys = BTreeMap::new();
    let is_secret = str_at(object, "/kind") == "Secret";
    for field in ["/data", "/stringData"] {
        if let Some(map) = object.pointer(field).and_then(Value::as_object) {
            for (k, v) in map {
                let readable = !is_secret || field == "/stringData";
                keys.insert(
                    k.clone(),
                    v.as_str().filter(|_| readable).map(str::to_owned),
                );
            }
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_follows_compose() {
        let vars: BTreeMap<String, String> = [("A", "x"), ("EMPTY", "")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(
            interpolate("${A:-d}/${B:-d}/$A/$$A", &vars).unwrap(),
            "x/d/x/$A"
        );
        assert_eq!(interpolate("${EMPTY:-d}|${EMPTY-d}", &vars).unwrap(), "d|");
        assert!(interpolate("${MISSING}", &vars).is_err());
    }

    #[test]
    fn merge_keys_are_applied() {
        let docs =
            parse_documents("a: &a {x: 1}\nb: &b {y: 2}\nc:\n  <<: [*a, *b]\n  z: 3\n").unwrap();
        assert_eq!(docs[0]["c"], serde_json::json!({"x": 1, "y": 2, "z": 3}));
    }
}
