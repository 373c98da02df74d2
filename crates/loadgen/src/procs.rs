//! CPU seconds and memory of the processes under test, from Linux's /proc.

use std::time::Duration;

use serde::Serialize;

/// /proc reports CPU time in USER_HZ ticks, fixed at 100 by the kernel ABI on Linux.
const TICKS_PER_SECOND: f64 = 100.0;

/// What one process spent during the run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProcessUsage {
    pub label: String,
    pub pid: u32,
    /// User + system CPU seconds between the start and the end of the run.
    pub cpu_seconds: f64,
    /// Largest resident set seen while sampling (and the kernel's own high-water mark).
    pub peak_rss_mb: f64,
    /// Resident set at the end of the run.
    pub end_rss_mb: f64,
}

/// CPU ticks (utime + stime) of `pid`, or `None` if it is gone.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// (current RSS, peak RSS) in MB from /proc/PID/status.
pub fn rss_mb(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Samples the processes' memory while the run goes on and their CPU time at both ends.
pub struct Sampler {
    procs: Vec<(String, u32, u64, f64)>,
}

impl Sampler {
    /// Starts sampling; processes that cannot be read are reported with zeros.
    pub fn start(processes: &[(String, u32)]) -> Self {
        Self {
            procs: processes
                .iter()
                .map(|(label, pid)| (label.clone(), *pid, cpu_ticks(*pid).unwrap_or(0), 0.0))
                .collect(),
        }
    }

    /// Records the current resident sets (call every few hundred milliseconds).
    pub fn sample(&mut self) {
        for (_, pid, _, peak) in &mut self.procs {
            if let Some((now, hwm)) = rss_mb(*pid) {
                *peak = peak.max(now).max(hwm);
            }
        }
    }

    /// The usage of each process since `start`.
    pub fn finish(mut self) -> Vec<ProcessUsage> {
        self.sample();
        self.procs
            .into_iter()
            .map(|(label, pid, start, peak)| {
                let end = cpu_ticks(pid).unwrap_or(start);
                ProcessUsage {
                    label,
                    pid,
                    cpu_seconds: end.saturating_sub(start) as f64 / TICKS_PER_SECOND,
                    peak_rss_mb: peak,
                    end_rss_mb: rss_mb(pid).map(|(now, _)| now).unwrap_or(0.0),
                }
            })
            .collect()
    }
}

/// How often memory is sampled.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(250);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        let mut sampler = Sampler::start(&[("self".into(), pid), ("gone".into(), u32::MAX)]);
        // Burn a little CPU so the tick count can move.
        let mut x = 0u64;
        for i in 0..30_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        sampler.sample();
        let usage = sampler.finish();
        assert!(
            usage[0].peak_rss_mb > 1.0 && usage[0].end_rss_mb > 1.0,
            "{usage:?}"
        );
        assert!(usage[0].cpu_seconds >= 0.0);
        assert_eq!((usage[1].peak_rss_mb, usage[1].cpu_seconds), (0.0, 0.0));
    }
}
