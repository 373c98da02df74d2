//! What to submit, how fast, and for how long.

use std::time::Duration;

use bytes::Bytes;

/// Where each job's image comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Multipart uploads, cycling through these files: (file name, bytes, content type). A file
    /// listed several times weights the mix (the bytes are shared, not copied).
    Upload(Vec<(String, Bytes, String)>),
    /// JSON submits with `source.url`, cycling through these URLs (no upload on the submit path).
    Url(Vec<String>),
}

/// When jobs are submitted.
#[derive(Debug, Clone, Copy)]
pub enum Arrival {
    /// Closed loop: this many submits in flight at once, each starting when one ends.
    Concurrency(usize),
    /// Open loop: this many submits per second, whatever the answers' latency.
    Rate(f64),
}

/// One load run.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Base URL of the API, e.g. `http://127.0.0.1:8080`.
    pub base_url: String,
    /// Bearer token, when the API requires keys.
    pub api_key: Option<String>,
    /// The recipe, as JSON.
    pub recipe: serde_json::Value,
    pub source: Source,
    pub arrival: Arrival,
    /// Stop submitting after this many jobs (`None`: only the duration bounds the run).
    pub jobs: Option<u64>,
    /// Stop submitting after this long (`None`: only the job count bounds the run).
    pub duration: Option<Duration>,
    /// Follow each accepted job to its final state (otherwise only the submit path is measured).
    pub follow: bool,
    /// Give up on a job that has not ended this long after its submit.
    pub job_timeout: Duration,
    /// Longest wait between two polls of one job (the wait doubles from 5 ms up to this).
    pub poll_max: Duration,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Processes whose CPU time and memory to report: (label, pid).
    pub processes: Vec<(String, u32)>,
}

impl Workload {
    /// A workload with the defaults the CLI uses, for `base_url`, `recipe` and `source`.
    pub fn new(base_url: impl Into<String>, recipe: serde_json::Value, source: Source) -> Self {
        Self {
            base_url: base_url.into(),
            api_key: None,
            recipe,
            source,
            arrival: Arrival::Concurrency(8),
            jobs: Some(100),
            duration: None,
            follow: true,
            job_timeout: Duration::from_secs(300),
            poll_max: Duration::from_secs(5),
            progress: false,
            processes: Vec::new(),
        }
    }
}
