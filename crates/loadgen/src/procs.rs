//! CPU seconds and memory of the processes under test, from Linux's /proc.
//!
//! A labelled process counts with all its descendants: a Celery worker's pool processes or a
//! uvicorn supervisor's workers do the work in children, and they are what a user pays for.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// /proc reports CPU time in USER_HZ ticks, fixed at 100 by the kernel ABI on Linux.
const TICKS_PER_SECOND: f64 = 100.0;

/// How often memory is sampled.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(250);

/// How often a point is added to the RSS series (enough to see growth over a soak).
pub const SERIES_EVERY: Duration = Duration::from_secs(10);

/// What one process (with its descendants) spent during the run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProcessUsage {
    pub label: String,
    pub pid: u32,
    /// Processes counted at the end: the labelled one and its descendants.
    #[serde(default = "one")]
    pub processes: usize,
    /// User + system CPU seconds between the start and the end of the run.
    pub cpu_seconds: f64,
    /// Largest resident set seen while sampling (summed over the process tree).
    pub peak_rss_mb: f64,
    /// Resident set at the end of the run.
    pub end_rss_mb: f64,
    /// `[seconds since the start, RSS MB]` every [`SERIES_EVERY`].
    #[serde(default)]
    pub rss_series: Vec<[f64; 2]>,
}

fn one() -> usize {
    1
}

/// (parent pid, CPU ticks utime + stime) of `pid`, or `None` if it is gone.
fn stat(pid: u32) -> Option<(u32, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // ppid is field 4 of the whole line; utime and stime are 14 and 15 (2, 12, 13 after the name).
    let ppid: u32 = fields.get(1)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((ppid, utime + stime))
}

/// CPU ticks (utime + stime) of `pid`, or `None` if it is gone.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    stat(pid).map(|(_, ticks)| ticks)
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

/// Children of every live process, read once per sample.
type Children = HashMap<u32, Vec<u32>>;

fn children() -> Children {
    let mut children: Children = HashMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some((ppid, _)) = stat(pid) {
                children.entry(ppid).or_default().push(pid);
            }
        }
    }
    children
}

/// `root` and every live descendant of it.
fn tree(root: u32, children: &Children) -> Vec<u32> {
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        if let Some(kids) = children.get(&out[i]) {
            let me = out[i];
            out.extend(kids.iter().copied().filter(|k| *k != me));
        }
        i += 1;
    }
    out
}

struct Watched {
    label: String,
    pid: u32,
    /// CPU ticks at the start, per process of the tree (children born later start at zero).
    start_ticks: HashMap<u32, u64>,
    /// Last CPU ticks seen per process, so children that exit mid-run still count.
    last_ticks: HashMap<u32, u64>,
    peak: f64,
    series: Vec<[f64; 2]>,
    members: usize,
}

/// Samples the processes' memory while the run goes on and their CPU time at both ends.
pub struct Sampler {
    started: Instant,
    next_point: Duration,
    procs: Vec<Watched>,
}

impl Sampler {
    /// Starts sampling; processes that cannot be read are reported with zeros.
    pub fn start(processes: &[(String, u32)]) -> Self {
        let kids = children();
        let procs = processes
            .iter()
            .map(|(label, pid)| {
                let ticks: HashMap<u32, u64> = tree(*pid, &kids)
                    .into_iter()
                    .filter_map(|p| cpu_ticks(p).map(|t| (p, t)))
                    .collect();
                Watched {
                    label: label.clone(),
                    pid: *pid,
                    start_ticks: ticks.clone(),
                    last_ticks: ticks,
                    peak: 0.0,
                    series: Vec::new(),
                    members: 0,
                }
            })
            .collect();
        let mut s = Self {
            started: Instant::now(),
            next_point: Duration::ZERO,
            procs,
        };
        s.sample();
        s
    }

    /// Records the current resident sets and CPU ticks (call every few hundred milliseconds).
    pub fn sample(&mut self) {
        let elapsed = self.started.elapsed();
        let point = elapsed >= self.next_point;
        if point {
            self.next_point += SERIES_EVERY;
        }
        let kids = children();
        for w in &mut self.procs {
            let members = tree(w.pid, &kids);
            let mut rss = 0.0;
            let mut live = 0;
            for p in &members {
                if let Some((now, hwm)) = rss_mb(*p) {
                    rss += now;
                    live += 1;
                    // A lone process's own high-water mark catches peaks between samples.
                    if members.len() == 1 {
                        w.peak = w.peak.max(hwm);
                    }
                }
                if let Some(t) = cpu_ticks(*p) {
                    w.last_ticks.insert(*p, t);
                }
            }
            if live > 0 {
                w.members = live;
                w.peak = w.peak.max(rss);
                if point {
                    w.series.push([elapsed.as_secs_f64().round(), round1(rss)]);
                }
            }
        }
    }

    /// The usage of each process since `start`.
    pub fn finish(mut self) -> Vec<ProcessUsage> {
        self.sample();
        let elapsed = self.started.elapsed().as_secs_f64().round();
        let kids = children();
        self.procs
            .into_iter()
            .map(|mut w| {
                let ticks: u64 = w
                    .last_ticks
                    .iter()
                    .map(|(p, t)| t.saturating_sub(w.start_ticks.get(p).copied().unwrap_or(0)))
                    .sum();
                let end: f64 = tree(w.pid, &kids)
                    .into_iter()
                    .filter_map(rss_mb)
                    .map(|(now, _)| now)
                    .sum();
                if w.members > 0 && w.series.last().is_none_or(|p| p[0] < elapsed) {
                    w.series.push([elapsed, round1(end)]);
                }
                ProcessUsage {
                    label: w.label,
                    pid: w.pid,
                    processes: w.members,
                    cpu_seconds: ticks as f64 / TICKS_PER_SECOND,
                    peak_rss_mb: w.peak,
                    end_rss_mb: end,
                    rss_series: w.series,
                }
            })
            .collect()
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn burn() {
        let mut x = 0u64;
        for i in 0..30_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
    }

    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        let mut sampler = Sampler::start(&[("self".into(), pid), ("gone".into(), u32::MAX)]);
        burn();
        sampler.sample();
        let usage = sampler.finish();
        assert!(
            usage[0].peak_rss_mb > 1.0 && usage[0].end_rss_mb > 1.0,
            "{usage:?}"
        );
        assert!(usage[0].cpu_seconds >= 0.0);
        assert!(!usage[0].rss_series.is_empty(), "{usage:?}");
        assert_eq!((usage[1].peak_rss_mb, usage[1].cpu_seconds), (0.0, 0.0));
        assert!(usage[1].rss_series.is_empty());
    }

    #[test]
    fn counts_children_cpu_and_memory() {
        // A shell whose child burns CPU: the shell itself spends almost nothing.
        let mut child = std::process::Command::new("sh")
            .args([
                "-c",
                "python3 -c 'import time\nt=time.time()\nwhile time.time()-t<0.6: pass'; true",
            ])
            .spawn()
            .expect("spawn sh");
        std::thread::sleep(Duration::from_millis(100));
        let mut sampler = Sampler::start(&[("sh".into(), child.id())]);
        for _ in 0..3 {
            std::thread::sleep(Duration::from_millis(100));
            sampler.sample();
        }
        let usage = sampler.finish();
        let _ = child.wait();
        assert_eq!(usage[0].processes, 2, "{usage:?}");
        assert!(usage[0].cpu_seconds >= 0.2, "{usage:?}");
        assert!(usage[0].peak_rss_mb > 2.0, "{usage:?}");
    }
}
