//! The outcome of a run, as a table for people and JSON for scripts.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::procs::ProcessUsage;
use crate::stats::Summary;

/// Everything a run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub base_url: String,
    /// "concurrency N" or "R jobs/s".
    pub arrival: String,
    pub wall_seconds: f64,
    pub submitted: u64,
    pub accepted: u64,
    pub succeeded: u64,
    pub failed: u64,
    /// Accepted submits per second over the submit phase.
    pub submit_per_second: f64,
    /// Succeeded jobs per second, from the first submit to the last final state.
    pub completed_per_second: f64,
    pub submit_latency: Summary,
    /// Submit sent → the job's `finished_at` (or, without one, the poll that saw it succeed).
    pub end_to_end_latency: Summary,
    /// Final jobs timed by the server's `finished_at`; the rest by the poll that saw them.
    #[serde(default)]
    pub server_timed: u64,
    /// The job's `created_at` → `finished_at`, when the resource has both: the part after the
    /// submit stored the job (queueing and processing), without the upload.
    #[serde(default)]
    pub created_to_finished: Summary,
    /// Count by kind: `submit: HTTP 429`, `job failed: invalid_image`, …
    pub errors: BTreeMap<String, u64>,
    pub processes: Vec<ProcessUsage>,
}

impl Report {
    /// Jobs submitted that are neither succeeded nor failed nor refused: lost, or still running
    /// when the run gave up on them.
    pub fn unaccounted(&self) -> u64 {
        let refused: u64 = self
            .errors
            .iter()
            .filter(|(k, _)| k.starts_with("submit:"))
            .map(|(_, n)| n)
            .sum();
        self.submitted
            .saturating_sub(self.succeeded + self.failed + refused)
    }

    /// A plain-text table.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let row = |s: &mut String, name: &str, l: &Summary| {
            let _ = writeln!(
                s,
                "{name:<22} {:>8} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
                l.count, l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms
            );
        };
        let _ = writeln!(
            s,
            "target {} ({}), {:.1} s",
            self.base_url, self.arrival, self.wall_seconds
        );
        let _ = writeln!(
            s,
            "jobs: {} submitted, {} accepted, {} succeeded, {} failed, {} unaccounted",
            self.submitted,
            self.accepted,
            self.succeeded,
            self.failed,
            self.unaccounted()
        );
        let _ = writeln!(
            s,
            "throughput: {:.1} submits/s, {:.2} completed jobs/s",
            self.submit_per_second, self.completed_per_second
        );
        let _ = writeln!(
            s,
            "{:<22} {:>8} {:>9} {:>9} {:>9} {:>9}",
            "latency (ms)", "n", "p50", "p90", "p99", "max"
        );
        row(&mut s, "submit", &self.submit_latency);
        row(&mut s, "end to end", &self.end_to_end_latency);
        if self.created_to_finished.count > 0 {
            row(&mut s, "created → finished", &self.created_to_finished);
        }
        let finals = self.succeeded + self.failed;
        if finals > 0 {
            let _ = writeln!(
                s,
                "end-to-end clock: server finished_at for {} of {finals} final jobs, the poll that saw them for the rest",
                self.server_timed
            );
        }
        if !self.errors.is_empty() {
            let _ = writeln!(s, "errors:");
            for (kind, n) in &self.errors {
                let _ = writeln!(s, "  {n:>6}  {kind}");
            }
        }
        if !self.processes.is_empty() {
            let _ = writeln!(
                s,
                "{:<22} {:>8} {:>6} {:>9} {:>13} {:>12}",
                "process", "pid", "procs", "cpu s", "peak RSS MB", "end RSS MB"
            );
            for p in &self.processes {
                let _ = writeln!(
                    s,
                    "{:<22} {:>8} {:>6} {:>9.2} {:>13.1} {:>12.1}",
                    p.label, p.pid, p.processes, p.cpu_seconds, p.peak_rss_mb, p.end_rss_mb
                );
            }
        }
        s
    }
}
