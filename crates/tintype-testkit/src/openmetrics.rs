//! A strict reader of the OpenMetrics text format `/metrics` serves: every line must be a
//! well-formed `# HELP`/`# TYPE`/`# UNIT` comment or a sample of a declared family, and the
//! exposition must end with `# EOF`. Samples are returned for assertions.

use std::collections::{BTreeMap, BTreeSet};

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name (with any `_total`, `_bucket`, `_count`, `_sum` suffix).
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Value.
    pub value: f64,
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn parse_labels(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once("=\"")
            .ok_or_else(|| format!("label without =\" in {text:?}"))?;
        if !valid_name(name) || name.contains(':') {
            return Err(format!("bad label name {name:?}"));
        }
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    other => return Err(format!("bad escape {other:?} in {text:?}")),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => return Err(format!("unterminated label value in {text:?}")),
            }
        };
        if labels.insert(name.to_owned(), value).is_some() {
            return Err(format!("label {name} twice in {text:?}"));
        }
        rest = &after[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
    Ok(labels)
}

fn parse_value(text: &str) -> Result<f64, String> {
    match text {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => text.parse().map_err(|_| format!("bad value {text:?}")),
    }
}

/// Parses `text`, failing on the first malformed line.
pub fn parse(text: &str) -> Result<Vec<Sample>, String> {
    let mut families: BTreeMap<String, String> = BTreeMap::new();
    let mut helped = BTreeSet::new();
    let mut samples = Vec::new();
    let mut saw_eof = false;
    for line in text.lines() {
        if saw_eof {
            return Err(format!("content after # EOF: {line:?}"));
        }
        if line == "# EOF" {
            saw_eof = true;
            continue;
        }
        if let Some(comment) = line.strip_prefix("# ") {
            let mut parts = comment.splitn(3, ' ');
            let (kind, name) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            if !valid_name(name) {
                return Err(format!("bad metric name in {line:?}"));
            }
            match kind {
                "TYPE" => {
                    let ty = parts.next().unwrap_or("");
                    const TYPES: [&str; 8] = [
                        "counter",
                        "gauge",
                        "histogram",
                        "gaugehistogram",
                        "summary",
                        "info",
                        "stateset",
                        "unknown",
                    ];
                    if !TYPES.contains(&ty) {
                        return Err(format!("unknown type in {line:?}"));
                    }
                    if families.insert(name.to_owned(), ty.to_owned()).is_some() {
                        return Err(format!("family {name} declared twice"));
                    }
                }
                "HELP" => {
                    helped.insert(name.to_owned());
                }
                "UNIT" => {}
                _ => return Err(format!("unknown comment {line:?}")),
            }
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .ok_or_else(|| format!("sample without a value: {line:?}"))?;
        let (name, labels) = match series.split_once('{') {
            Some((name, labels)) => (
                name,
                parse_labels(
                    labels
                        .strip_suffix('}')
                        .ok_or_else(|| format!("unclosed labels: {line:?}"))?,
                )?,
            ),
            None => (series, BTreeMap::new()),
        };
        if !valid_name(name) {
            return Err(format!("bad sample name in {line:?}"));
        }
        let family = families
            .iter()
            .find(|(family, ty)| {
                let suffixes: &[&str] = match ty.as_str() {
                    "counter" => &["_total", "_created"],
                    "histogram" | "gaugehistogram" => &["_bucket", "_count", "_sum", "_created"],
                    "summary" => &["_count", "_sum", "_created", ""],
                    "info" => &["_info"],
                    _ => &[""],
                };
                suffixes.iter().any(|s| name == format!("{family}{s}"))
            })
            .map(|(family, _)| family.clone())
            .ok_or_else(|| format!("sample of an undeclared family: {line:?}"))?;
        if !helped.contains(&family) {
            return Err(format!("family {family} has no HELP"));
        }
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value: parse_value(value)?,
        });
    }
    if !saw_eof {
        return Err("no # EOF at the end".into());
    }
    Ok(samples)
}

/// The summed value of samples named `name` whose labels include `labels`.
pub fn sum(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).is_some_and(|x| x == v))
        })
        .map(|s| s.value)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_well_formed_text_and_refuses_malformed_lines() {
        let good = "# HELP a_total Things.\n# TYPE a_total counter\n# HELP a Things.\n# TYPE a counter\na_total{x=\"1\",y=\"q\\\"\"} 3\n# EOF\n";
        let samples = parse(good).unwrap();
        assert_eq!(sum(&samples, "a_total", &[("x", "1")]), 3.0);
        assert!(parse("# TYPE a counter\na_total 1\n").is_err(), "no EOF");
        assert!(parse("b 1\n# EOF\n").is_err(), "undeclared");
        assert!(parse("# HELP a x\n# TYPE a gauge\na{x=1} 1\n# EOF\n").is_err());
        assert!(parse("# HELP a x\n# TYPE a gauge\na one\n# EOF\n").is_err());
    }
}
