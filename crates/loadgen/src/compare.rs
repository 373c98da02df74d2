//! The `make bench` summary: tintype beside the Celery reference, scenario by scenario, with the
//! targets of issue 9 checked, as Markdown for BENCHMARKS.md.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::report::Report;

/// The systems `make bench` drives, in the order they are shown.
pub const SYSTEMS: [&str; 2] = ["tintype", "reference"];

/// The scenario files `make bench` writes (`{system}-{scenario}.json`), in the order they are shown.
pub const SCENARIOS: [(&str, &str); 6] = [
    ("burst", "1. Burst: 200 W1 jobs at once"),
    ("paced", "2. Paced: W1 at 10 jobs/s for 60 s"),
    ("submit", "3. Submit path: URL source, 50 connections, 20 s"),
    ("soak", "4. Soak: 70 % of burst throughput, 2 % bad images"),
    (
        "scale1",
        "5a. Scale-out: burst, 1 worker process × concurrency 1",
    ),
    (
        "scale2",
        "5b. Scale-out: burst, 2 worker processes × concurrency 1",
    ),
];

/// One in this many soak images is a bad one (`bench/run.sh` builds the mix the same way).
pub const SOAK_BAD_PERIOD: u64 = 50;

/// Error kinds that are a bad image's clean failure, not a fault of the system.
fn clean_failure(kind: &str) -> bool {
    matches!(
        kind,
        "job failed: invalid_image"
            | "job failed: unsupported_format"
            | "submit: HTTP 415"
            | "submit: HTTP 422"
    )
}

/// What `make bench` measured: reports by (system, scenario), plus checks it made itself.
#[derive(Debug, Default)]
pub struct Results {
    pub reports: BTreeMap<(String, String), Report>,
    /// `{system}-submit-check.json` from the submit scenario: jobs durable and messages queued.
    pub submit_checks: BTreeMap<String, serde_json::Value>,
}

/// Why the results could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a loadgen report: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
}

impl Results {
    /// Reads every `{system}-{scenario}.json` present in `dir` (missing ones are shown as not run).
    pub fn load(dir: &Path) -> Result<Self, CompareError> {
        let mut out = Self::default();
        for system in SYSTEMS {
            for (scenario, _) in SCENARIOS {
                let path = dir.join(format!("{system}-{scenario}.json"));
                if let Some(report) = read_json::<Report>(&path)? {
                    out.reports
                        .insert((system.to_owned(), scenario.to_owned()), report);
                }
            }
            let path = dir.join(format!("{system}-submit-check.json"));
            if let Some(check) = read_json::<serde_json::Value>(&path)? {
                out.submit_checks.insert(system.to_owned(), check);
            }
        }
        Ok(out)
    }

    fn get(&self, system: &str, scenario: &str) -> Option<&Report> {
        self.reports.get(&(system.to_owned(), scenario.to_owned()))
    }

    /// The Markdown section: targets first, then every run in full.
    pub fn markdown(&self, meta: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{}\n", meta.trim_end());
        let _ = writeln!(s, "### Targets (issue 9)\n");
        let _ = writeln!(s, "| target | tintype | reference | ratio | met |");
        let _ = writeln!(s, "|---|---:|---:|---:|:-:|");
        for t in self.targets() {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                t.name,
                t.tintype,
                t.reference,
                t.ratio,
                match t.met {
                    Some(true) => "yes",
                    Some(false) => "**no**",
                    None => "–",
                }
            );
        }
        let _ = writeln!(s, "\n### Every run\n");
        let _ = writeln!(
            s,
            "Latencies in ms (nearest rank). Jobs: submitted / accepted / succeeded / failed / \
             unaccounted. CPU and RSS per service, its child processes included."
        );
        let _ = writeln!(
            s,
            "\n| scenario | system | jobs | submits/s | done/s | submit p50 / p99 | end-to-end p50 / p90 / p99 / max | errors | CPU s · peak / end RSS MB |"
        );
        let _ = writeln!(s, "|---|---|---|---:|---:|---|---|---|---|");
        for (scenario, title) in SCENARIOS {
            for system in SYSTEMS {
                let Some(r) = self.get(system, scenario) else {
                    continue;
                };
                let e = &r.end_to_end_latency;
                let errors = if r.errors.is_empty() {
                    "none".to_owned()
                } else {
                    r.errors
                        .iter()
                        .map(|(k, n)| format!("{n} × {k}"))
                        .collect::<Vec<_>>()
                        .join("<br>")
                };
                let procs = r
                    .processes
                    .iter()
                    .map(|p| {
                        format!(
                            "{}: {:.1} · {:.0} / {:.0}",
                            p.label, p.cpu_seconds, p.peak_rss_mb, p.end_rss_mb
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("<br>");
                let _ = writeln!(
                    s,
                    "| {title} | {system} | {} / {} / {} / {} / {} | {:.0} | {:.1} | {:.1} / {:.1} | {} | {errors} | {procs} |",
                    r.submitted,
                    r.accepted,
                    r.succeeded,
                    r.failed,
                    r.unaccounted(),
                    r.submit_per_second,
                    r.completed_per_second,
                    r.submit_latency.p50_ms,
                    r.submit_latency.p99_ms,
                    if e.count == 0 {
                        "–".to_owned()
                    } else {
                        let c = &r.created_to_finished;
                        let stored = if c.count > 0 {
                            format!(
                                "<br>after store: {:.0} / {:.0} / {:.0} / {:.0}",
                                c.p50_ms, c.p90_ms, c.p99_ms, c.max_ms
                            )
                        } else {
                            String::new()
                        };
                        format!(
                            "{:.0} / {:.0} / {:.0} / {:.0}{stored}",
                            e.p50_ms, e.p90_ms, e.p99_ms, e.max_ms
                        )
                    },
                );
            }
        }
        s
    }

    /// Each target of issue 9 with both systems' figures.
    pub fn targets(&self) -> Vec<Target> {
        let mut out = Vec::new();
        let both = |scenario: &str| {
            (
                self.get("tintype", scenario),
                self.get("reference", scenario),
            )
        };

        let (t, r) = both("burst");
        let (tv, rv) = (
            t.map(|r| r.completed_per_second),
            r.map(|r| r.completed_per_second),
        );
        out.push(Target::ratio(
            "Burst: completed jobs/s, tintype ≥ 2.5 × reference",
            tv,
            rv,
            |x| format!("{x:.1}"),
            |ratio| ratio >= 2.5,
        ));
        let p99 = |r: Option<&Report>| r.map(|r| r.end_to_end_latency.p99_ms);
        out.push(Target::shown("Burst: end-to-end p99 (ms)", p99(t), p99(r)));

        let (t, r) = both("paced");
        let p50 = |r: Option<&Report>| r.map(|r| r.end_to_end_latency.p50_ms);
        out.push(Target::bound(
            "Paced: end-to-end p50 ≤ 60 ms",
            p50(t),
            p50(r),
            60.0,
        ));
        out.push(Target::bound(
            "Paced: end-to-end p99 ≤ 150 ms",
            p99(t),
            p99(r),
            150.0,
        ));

        let (t, r) = both("submit");
        out.push(Target::ratio(
            "Submit path: accepted submits/s, tintype ≥ 2 × reference",
            t.map(|r| r.submit_per_second),
            r.map(|r| r.submit_per_second),
            |x| format!("{x:.0}"),
            |ratio| ratio >= 2.0,
        ));
        out.push(Target::ratio(
            "Submit path: submit p99 (ms), tintype ≤ ⅓ × reference",
            t.map(|r| r.submit_latency.p99_ms),
            r.map(|r| r.submit_latency.p99_ms),
            |x| format!("{x:.1}"),
            |ratio| ratio <= 1.0 / 3.0,
        ));
        out.push(self.durability("tintype", t));

        let (t, r) = both("soak");
        out.push(Target {
            name: "Soak: no errors but the bad images' clean failures, every job accounted for"
                .into(),
            tintype: t.map_or_else(not_run, soak_errors),
            reference: r.map_or_else(not_run, soak_errors),
            ratio: "–".into(),
            met: t.map(|t| soak_clean(t).is_ok()),
        });
        out.push(Target {
            name:
                "Soak: RSS at the end within 10 % of RSS after 5 min, every service of the system"
                    .into(),
            tintype: t.map_or_else(not_run, soak_growth),
            reference: r.map_or_else(not_run, soak_growth),
            ratio: "–".into(),
            met: t.and_then(soak_growth_ok),
        });

        let scale = |system: &str| {
            let one = self.get(system, "scale1")?.completed_per_second;
            let two = self.get(system, "scale2")?.completed_per_second;
            (one > 0.0).then(|| (one, two, two / one))
        };
        let show = |x: Option<(f64, f64, f64)>| {
            x.map_or_else(not_run, |(a, b, r)| {
                format!("{a:.1} → {b:.1} jobs/s ({r:.2}×)")
            })
        };
        out.push(Target {
            name: "Scale-out: 1 → 2 worker processes (report; ~2× expected on 2 cores)".into(),
            tintype: show(scale("tintype")),
            reference: show(scale("reference")),
            ratio: "–".into(),
            met: None,
        });

        let (t, r) = both("burst");
        let peak = |r: Option<&Report>, label: &str| {
            r.and_then(|r| r.processes.iter().find(|p| p.label == label))
                .map(|p| p.peak_rss_mb)
        };
        let end = |r: Option<&Report>, label: &str| {
            r.and_then(|r| r.processes.iter().find(|p| p.label == label))
                .map(|p| p.end_rss_mb)
        };
        out.push(Target::bound(
            "Burst: worker peak RSS ≤ 300 MB (12 MP, concurrency 2)",
            peak(t, "worker"),
            peak(r, "worker"),
            300.0,
        ));
        out.push(Target::bound(
            "Burst: gateway (API) RSS after the burst ≤ 60 MB",
            end(t, "api"),
            end(r, "api"),
            60.0,
        ));
        out
    }

    fn durability(&self, system: &str, report: Option<&Report>) -> Target {
        let show = |system: &str| -> String {
            let Some(c) = self.submit_checks.get(system) else {
                return not_run();
            };
            let mut parts = Vec::new();
            if let Some(n) = c["accepted"].as_u64() {
                parts.push(format!("{n} accepted"));
            }
            if let Some(n) = c["rows"].as_u64() {
                parts.push(format!("{n} rows"));
            }
            if let Some(n) = c["messages"].as_u64() {
                parts.push(format!("{n} messages queued"));
            }
            if let Some(note) = c["note"].as_str() {
                parts.push(note.to_owned());
            }
            parts.join(", ")
        };
        let met = match (report, self.submit_checks.get(system)) {
            (Some(r), Some(c)) => Some(
                c["rows"].as_u64() == Some(r.accepted)
                    && c["messages"].as_u64() == Some(r.accepted),
            ),
            _ => None,
        };
        Target {
            name: "Submit path: every accepted job a row in PostgreSQL and a confirmed message"
                .into(),
            tintype: show("tintype"),
            reference: show("reference"),
            ratio: "–".into(),
            met,
        }
    }
}

/// One line of the targets table.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub tintype: String,
    pub reference: String,
    pub ratio: String,
    /// `None`: reported only, or not run.
    pub met: Option<bool>,
}

impl Target {
    fn ratio(
        name: &str,
        t: Option<f64>,
        r: Option<f64>,
        fmt: impl Fn(f64) -> String,
        ok: impl Fn(f64) -> bool,
    ) -> Self {
        let ratio = match (t, r) {
            (Some(t), Some(r)) if r > 0.0 => Some(t / r),
            _ => None,
        };
        Self {
            name: name.into(),
            tintype: t.map_or_else(not_run, &fmt),
            reference: r.map_or_else(not_run, &fmt),
            ratio: ratio.map_or_else(|| "–".into(), |x| format!("{x:.2}×")),
            met: ratio.map(ok),
        }
    }

    fn bound(name: &str, t: Option<f64>, r: Option<f64>, limit: f64) -> Self {
        Self {
            name: name.into(),
            tintype: t.map_or_else(not_run, |x| format!("{x:.1}")),
            reference: r.map_or_else(not_run, |x| format!("{x:.1}")),
            ratio: "–".into(),
            met: t.map(|x| x <= limit),
        }
    }

    fn shown(name: &str, t: Option<f64>, r: Option<f64>) -> Self {
        Self {
            name: name.into(),
            tintype: t.map_or_else(not_run, |x| format!("{x:.0}")),
            reference: r.map_or_else(not_run, |x| format!("{x:.0}")),
            ratio: match (t, r) {
                (Some(t), Some(r)) if t > 0.0 => format!("{:.1}× lower", r / t),
                _ => "–".into(),
            },
            met: None,
        }
    }
}

fn not_run() -> String {
    "not run".into()
}

/// `Ok(bad)` when the soak's only errors are clean failures of about one in
/// [`SOAK_BAD_PERIOD`] jobs and nothing is unaccounted; `Err(why)` otherwise.
pub fn soak_clean(r: &Report) -> Result<u64, String> {
    let (clean, other): (Vec<_>, Vec<_>) = r.errors.iter().partition(|(k, _)| clean_failure(k));
    if let Some((k, n)) = other.first() {
        return Err(format!("{n} × {k}"));
    }
    if r.unaccounted() > 0 {
        return Err(format!("{} unaccounted", r.unaccounted()));
    }
    let bad: u64 = clean.iter().map(|(_, n)| **n).sum();
    let expected = r.submitted / SOAK_BAD_PERIOD;
    if bad.abs_diff(expected) > 1 {
        return Err(format!("{bad} clean failures, {expected} bad images sent"));
    }
    Ok(bad)
}

fn soak_errors(r: &Report) -> String {
    match soak_clean(r) {
        Ok(bad) => format!(
            "{} jobs, {bad} bad images failed cleanly, 0 other errors, 0 unaccounted",
            r.submitted
        ),
        Err(why) => why,
    }
}

/// Labels `bench/run.sh` gives the shared infrastructure: measured and shown, but not the system
/// under test, so not judged by the soak's growth target (RabbitMQ's Erlang VM and PostgreSQL's
/// caches grow with their own history, whichever system drives them).
pub const INFRASTRUCTURE: [&str; 3] = ["seaweedfs", "postgres", "rabbitmq"];

/// Seconds of samples whose median stands for "after 5 min" and for "at the end".
const RSS_WINDOW_SECS: f64 = 60.0;

/// RSS after five minutes and at the end, per process of the system: (label, at 5 min, end).
/// Each is the median of a minute of samples: a worker's RSS swings by a tenth as large images
/// come and go, and one sample against another would read that swing as growth or shrinkage.
fn rss_points(r: &Report) -> Vec<(String, f64, f64)> {
    r.processes
        .iter()
        .filter(|p| !INFRASTRUCTURE.contains(&p.label.as_str()))
        .filter_map(|p| {
            // Inclusive minutes: seven samples at the bench's 10-s sampling.
            let median_between = |from: f64, to: f64| {
                median(
                    p.rss_series
                        .iter()
                        .filter(|pt| pt[0] >= from && pt[0] <= to)
                        .map(|pt| pt[1])
                        .collect(),
                )
            };
            let last = p.rss_series.last()?[0];
            if last < 300.0 {
                return None;
            }
            let at5 = median_between(300.0, 300.0 + RSS_WINDOW_SECS)?;
            let end = median_between((last - RSS_WINDOW_SECS).max(300.0), last)?;
            Some((p.label.clone(), at5, end))
        })
        .collect()
}

/// The middle value (the mean of the middle two for an even count); `None` for no values.
fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

fn soak_growth(r: &Report) -> String {
    let points = rss_points(r);
    if points.is_empty() {
        return "shorter than 5 min".into();
    }
    points
        .iter()
        .map(|(l, a, b)| format!("{l} {a:.0} → {b:.0} MB ({:+.1} %)", (b / a - 1.0) * 100.0))
        .collect::<Vec<_>>()
        .join("<br>")
}

fn soak_growth_ok(r: &Report) -> Option<bool> {
    let points = rss_points(r);
    (!points.is_empty()).then(|| points.iter().all(|(_, a, b)| *b <= a * 1.10))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, CompareError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(CompareError::Read {
                path: path.display().to_string(),
                source,
            });
        }
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|source| CompareError::Parse {
            path: path.display().to_string(),
            source,
        })
}

/// Puts `section` between the `begin`/`end` marker lines of `doc`, or after its first paragraph
/// of the title when the markers are not there yet.
pub fn splice(doc: &str, section: &str, begin: &str, end: &str) -> String {
    let block = format!("{begin}\n{}\n{end}", section.trim_end());
    if let (Some(b), Some(e)) = (doc.find(begin), doc.find(end))
        && b < e
    {
        return format!("{}{block}{}", &doc[..b], &doc[e + end.len()..]);
    }
    // After the title line and its blank line, so the whole-system figures come first.
    match doc.find("\n\n") {
        Some(i) => format!("{}\n\n{block}\n\n{}", &doc[..i], &doc[i + 2..]),
        None => format!("{doc}\n\n{block}\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::procs::ProcessUsage;
    use crate::stats::Summary;

    fn report(done_per_s: f64, p50: f64, p99: f64) -> Report {
        Report {
            base_url: "http://x".into(),
            arrival: "concurrency 200".into(),
            wall_seconds: 10.0,
            submitted: 200,
            accepted: 200,
            succeeded: 200,
            failed: 0,
            submit_per_second: 1000.0,
            completed_per_second: done_per_s,
            submit_latency: Summary {
                count: 200,
                p50_ms: 5.0,
                p90_ms: 8.0,
                p99_ms: 10.0,
                max_ms: 12.0,
                mean_ms: 6.0,
            },
            end_to_end_latency: Summary {
                count: 200,
                p50_ms: p50,
                p90_ms: p99,
                p99_ms: p99,
                max_ms: p99,
                mean_ms: p50,
            },
            server_timed: 200,
            created_to_finished: Summary::default(),
            errors: BTreeMap::new(),
            processes: vec![ProcessUsage {
                label: "worker".into(),
                pid: 1,
                processes: 1,
                cpu_seconds: 10.0,
                peak_rss_mb: 250.0,
                end_rss_mb: 120.0,
                rss_series: vec![[0.0, 100.0], [300.0, 110.0], [1800.0, 125.0]],
            }],
        }
    }

    fn results(pairs: &[(&str, &str, Report)]) -> Results {
        let mut r = Results::default();
        for (sys, sc, rep) in pairs {
            r.reports
                .insert(((*sys).to_owned(), (*sc).to_owned()), rep.clone());
        }
        r
    }

    fn target<'a>(ts: &'a [Target], prefix: &str) -> &'a Target {
        ts.iter()
            .find(|t| t.name.starts_with(prefix))
            .unwrap_or_else(|| panic!("no target {prefix}"))
    }

    #[test]
    fn burst_ratio_is_checked_against_two_and_a_half() {
        let r = results(&[
            ("tintype", "burst", report(50.0, 1000.0, 3000.0)),
            ("reference", "burst", report(17.0, 5000.0, 11000.0)),
        ]);
        let ts = r.targets();
        let t = target(&ts, "Burst: completed");
        assert_eq!((t.ratio.as_str(), t.met), ("2.94×", Some(true)));
        let r = results(&[
            ("tintype", "burst", report(40.0, 1000.0, 3000.0)),
            ("reference", "burst", report(17.0, 5000.0, 11000.0)),
        ]);
        assert_eq!(target(&r.targets(), "Burst: completed").met, Some(false));
        // Memory of the same run: 250 MB peak passes, and there is no "api" process here.
        let ts = r.targets();
        assert_eq!(target(&ts, "Burst: worker peak").met, Some(true));
        assert_eq!(target(&ts, "Burst: gateway").met, None);
    }

    #[test]
    fn missing_runs_are_shown_as_not_run_and_never_met() {
        let ts = Results::default().targets();
        assert!(ts.iter().all(|t| t.met.is_none()), "{ts:?}");
        assert_eq!(target(&ts, "Paced: end-to-end p50").tintype, "not run");
    }

    #[test]
    fn paced_bounds_apply_to_tintype() {
        let r = results(&[("tintype", "paced", report(10.0, 55.0, 160.0))]);
        let ts = r.targets();
        assert_eq!(target(&ts, "Paced: end-to-end p50").met, Some(true));
        assert_eq!(target(&ts, "Paced: end-to-end p99").met, Some(false));
    }

    #[test]
    fn soak_accepts_only_the_bad_images_failures() {
        let mut r = report(10.0, 50.0, 100.0);
        r.submitted = 1000;
        r.succeeded = 980;
        r.failed = 10;
        r.accepted = 990;
        r.errors.insert("job failed: invalid_image".into(), 10);
        r.errors.insert("submit: HTTP 422".into(), 10);
        assert_eq!(soak_clean(&r), Ok(20));
        r.errors.insert("job failed: internal".into(), 1);
        r.failed += 1;
        r.succeeded -= 1;
        assert!(soak_clean(&r).is_err());
        // Growth: 110 → 125 MB is +13.6 %.
        let mut infra = r.processes[0].clone();
        infra.label = "rabbitmq".into();
        infra.rss_series = vec![[300.0, 100.0], [1800.0, 200.0]];
        r.processes.push(infra);
        let set = results(&[("tintype", "soak", r.clone())]);
        let ts = set.targets();
        assert_eq!(target(&ts, "Soak: RSS").met, Some(false));
        assert!(target(&ts, "Soak: RSS").tintype.contains("+13.6 %"));
        // The broker doubling is shown nowhere in the verdict: it is not the system under test.
        assert!(!target(&ts, "Soak: RSS").tintype.contains("rabbitmq"));
        r.processes[0].rss_series = vec![[300.0, 110.0], [1800.0, 112.0]];
        let set = results(&[("tintype", "soak", r)]);
        assert_eq!(target(&set.targets(), "Soak: RSS").met, Some(true));
    }

    #[test]
    fn soak_growth_compares_a_minute_of_samples_not_two_samples() {
        let mut r = report(10.0, 50.0, 100.0);
        // Every 10 s for 10 min, a job's 8 MB coming and going with no trend: one sample at 5 min
        // (50) against the last one (58) would be +16 %; the minutes' medians are equal.
        let swing = |t: usize| if (t / 10) % 3 == 2 { 58.0 } else { 50.0 };
        r.processes[0].rss_series = (0..600).step_by(10).map(|t| [t as f64, swing(t)]).collect();
        let set = results(&[("tintype", "soak", r.clone())]);
        let t = target(&set.targets(), "Soak: RSS").clone();
        assert_eq!(t.met, Some(true), "{}", t.tintype);
        // Real growth still shows: the same swing climbing 2 MB a minute.
        r.processes[0].rss_series = (0..600)
            .step_by(10)
            .map(|t| [t as f64, swing(t) + t as f64 / 30.0])
            .collect();
        let set = results(&[("tintype", "soak", r)]);
        assert_eq!(target(&set.targets(), "Soak: RSS").met, Some(false));
    }

    #[test]
    fn median_of_odd_even_and_no_values() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(vec![]), None);
    }

    #[test]
    fn durability_needs_a_row_and_a_message_per_accepted_job() {
        let mut set = results(&[("tintype", "submit", report(0.0, 0.0, 0.0))]);
        set.submit_checks.insert(
            "tintype".into(),
            serde_json::json!({"accepted": 200, "rows": 200, "messages": 200}),
        );
        assert_eq!(target(&set.targets(), "Submit path: every").met, Some(true));
        set.submit_checks.insert(
            "tintype".into(),
            serde_json::json!({"accepted": 200, "rows": 200, "messages": 199}),
        );
        assert_eq!(
            target(&set.targets(), "Submit path: every").met,
            Some(false)
        );
    }

    #[test]
    fn splice_replaces_between_markers_or_inserts_after_the_title() {
        let doc = "# Title\n\nintro\n";
        let once = splice(doc, "A\n", "<!-- b -->", "<!-- e -->");
        assert_eq!(once, "# Title\n\n<!-- b -->\nA\n<!-- e -->\n\nintro\n");
        let twice = splice(&once, "B", "<!-- b -->", "<!-- e -->");
        assert_eq!(twice, "# Title\n\n<!-- b -->\nB\n<!-- e -->\n\nintro\n");
    }

    #[test]
    fn markdown_lists_every_run() {
        let r = results(&[
            ("tintype", "burst", report(50.0, 1000.0, 3000.0)),
            ("reference", "burst", report(17.0, 5000.0, 11000.0)),
        ]);
        let md = r.markdown("## Whole system\n");
        assert!(md.starts_with("## Whole system\n"));
        assert_eq!(md.matches("| 1. Burst").count(), 2, "{md}");
        assert!(md.contains("| yes |"), "{md}");
    }
}
