//! Submits the workload and follows every job to its final state.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use tokio::task::JoinSet;

use crate::procs::{SAMPLE_EVERY, Sampler};
use crate::report::Report;
use crate::stats::summarize;
use crate::workload::{Arrival, Source, Workload};

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("the workload has no images or URLs to submit")]
    EmptySource,
    #[error("the workload has neither a job count nor a duration: it would never stop")]
    Unbounded,
    #[error("the rate must be a positive number of jobs per second")]
    BadRate,
    #[error("building the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// Statuses after which a job never changes again.
const FINAL: [&str; 5] = ["succeeded", "failed", "cancelled", "deleted", "expired"];

#[derive(Default)]
struct Tally {
    submit: Vec<Duration>,
    end_to_end: Vec<Duration>,
    after_store: Vec<Duration>,
    errors: BTreeMap<String, u64>,
    accepted: u64,
    succeeded: u64,
    failed: u64,
    /// Latest final state, as time since the run started.
    last_final: Option<Duration>,
    /// Final jobs whose end came from the server's `finished_at` rather than the poll that saw it.
    server_timed: u64,
}

struct Shared {
    w: Workload,
    client: reqwest::Client,
    next: AtomicU64,
    started: Instant,
    started_wall: SystemTime,
    tally: Mutex<Tally>,
    bar: ProgressBar,
}

impl Shared {
    fn tally(&self) -> std::sync::MutexGuard<'_, Tally> {
        // A panicked follower cannot leave the tally half-written in a way that matters here.
        self.tally.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn error(&self, kind: String) {
        *self.tally().errors.entry(kind).or_default() += 1;
    }

    /// The index of the next job to submit, or `None` when the run is over.
    fn claim(&self) -> Option<u64> {
        if self.w.duration.is_some_and(|d| self.started.elapsed() >= d) {
            return None;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        match self.w.jobs {
            Some(n) if i >= n => None,
            _ => Some(i),
        }
    }

    fn request(&self, i: u64) -> reqwest::RequestBuilder {
        let url = format!("{}/v1/jobs", self.w.base_url.trim_end_matches('/'));
        let mut req = self.client.post(url);
        if let Some(key) = &self.w.api_key {
            req = req.bearer_auth(key);
        }
        match &self.w.source {
            Source::Upload(files) => {
                let (name, bytes, mime) = &files[i as usize % files.len()];
                let part = || {
                    reqwest::multipart::Part::stream_with_length(bytes.clone(), bytes.len() as u64)
                        .file_name(name.clone())
                };
                let part = part().mime_str(mime).unwrap_or_else(|_| part());
                let form = reqwest::multipart::Form::new()
                    .text("recipe", self.w.recipe.to_string())
                    .part("file", part);
                req.multipart(form)
            }
            Source::Url(urls) => {
                // tintype's JSON submit: the recipe document with its `source` inside.
                let mut doc = self.w.recipe.clone();
                if let Some(fields) = doc.as_object_mut() {
                    fields.insert(
                        "source".into(),
                        serde_json::json!({"url": urls[i as usize % urls.len()]}),
                    );
                }
                req.json(&doc)
            }
        }
    }
}

/// An accepted job: its id and when its submit was sent (monotonic and wall clock).
struct Accepted {
    id: String,
    t0: Instant,
    t0_wall: SystemTime,
}

/// Submits one job; returns it when it was accepted.
async fn submit(shared: &Shared, i: u64) -> Option<Accepted> {
    let t0 = Instant::now();
    let t0_wall = SystemTime::now();
    let answer = shared.request(i).send().await;
    let elapsed = t0.elapsed();
    let response = match answer {
        Ok(r) => r,
        Err(e) => {
            shared.error(format!("submit: {}", transport_kind(&e)));
            return None;
        }
    };
    let status = response.status();
    if status.as_u16() != 202 && status.as_u16() != 201 {
        shared.error(format!("submit: HTTP {}", status.as_u16()));
        return None;
    }
    let id = match response.json::<Value>().await {
        Ok(body) => body["id"].as_str().map(str::to_owned),
        Err(_) => None,
    };
    let Some(id) = id else {
        shared.error("submit: answer without a job id".into());
        return None;
    };
    let mut t = shared.tally();
    t.submit.push(elapsed);
    t.accepted += 1;
    Some(Accepted { id, t0, t0_wall })
}

fn transport_kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection refused or reset"
    } else {
        "transport error"
    }
}

/// A timestamp field (RFC 3339) of the job resource, when it has one.
fn timestamp(job: &Value, field: &str) -> Option<SystemTime> {
    let text = job[field].as_str()?;
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(SystemTime::from)
}

/// Polls the job with back-off until it is final; records its end-to-end latency.
///
/// The end is the server's `finished_at` when the resource has one (same machine, same clock),
/// so the figure does not depend on how often we poll; otherwise it is the poll that saw it.
async fn follow(shared: Arc<Shared>, job: Accepted) {
    let Accepted { id, t0, t0_wall } = job;
    let url = format!("{}/v1/jobs/{id}", shared.w.base_url.trim_end_matches('/'));
    // The back-off keeps hundreds of followers in a burst from spending the services' CPU on
    // polls (which would slow the very jobs being measured): the wait doubles from 5 ms, so a job
    // is polled about log2(age / 5 ms) times, then once per `poll_max`. The latency itself comes
    // from `finished_at`, so slow polling only makes the run end a little later.
    let mut wait = Duration::from_millis(5);
    loop {
        if t0.elapsed() > shared.w.job_timeout {
            shared.error("job: not final before the job timeout".into());
            break;
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(shared.w.poll_max.max(Duration::from_millis(5)));
        let mut req = shared.client.get(&url);
        if let Some(key) = &shared.w.api_key {
            req = req.bearer_auth(key);
        }
        let Ok(response) = req.send().await else {
            continue;
        };
        if !response.status().is_success() {
            continue;
        }
        let Ok(job) = response.json::<Value>().await else {
            continue;
        };
        let status = job["status"].as_str().unwrap_or_default();
        if !FINAL.contains(&status) {
            continue;
        }
        let seen = Instant::now();
        let finished = timestamp(&job, "finished_at");
        // created_at → finished_at: the system's part once the job is stored (tintype has it).
        let stored = timestamp(&job, "created_at")
            .zip(finished)
            .and_then(|(c, f)| f.duration_since(c).ok());
        let (latency, since_start, server) = match finished {
            Some(end) => (
                end.duration_since(t0_wall).unwrap_or_default(),
                end.duration_since(shared.started_wall).unwrap_or_default(),
                true,
            ),
            None => (seen - t0, seen - shared.started, false),
        };
        let mut t = shared.tally();
        t.last_final = t.last_final.max(Some(since_start));
        t.server_timed += u64::from(server);
        if status == "succeeded" {
            t.end_to_end.push(latency);
            if let Some(d) = stored {
                t.after_store.push(d);
            }
            t.succeeded += 1;
        } else {
            let code = job["error"]["code"]
                .as_str()
                .or(job["error"].as_str())
                .unwrap_or("no code");
            let kind = format!("job {status}: {code}");
            t.failed += 1;
            *t.errors.entry(kind).or_default() += 1;
        }
        break;
    }
    shared.bar.inc(1);
}

/// Runs the workload to the end and reports.
pub async fn run(w: Workload) -> Result<Report, LoadError> {
    match &w.source {
        Source::Upload(f) if f.is_empty() => return Err(LoadError::EmptySource),
        Source::Url(u) if u.is_empty() => return Err(LoadError::EmptySource),
        _ => {}
    }
    if w.jobs.is_none() && w.duration.is_none() {
        return Err(LoadError::Unbounded);
    }
    if let Arrival::Rate(r) = w.arrival
        && !(r.is_finite() && r > 0.0)
    {
        return Err(LoadError::BadRate);
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(1024)
        .build()?;
    let bar = if w.progress {
        let bar = w.jobs.map_or_else(ProgressBar::no_length, ProgressBar::new);
        bar.set_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} jobs final, {per_sec}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let sampler = Arc::new(Mutex::new(Sampler::start(&w.processes)));
    let sampling = Arc::new(AtomicBool::new(true));
    let sample_task = {
        let (sampler, sampling) = (sampler.clone(), sampling.clone());
        tokio::spawn(async move {
            while sampling.load(Ordering::Relaxed) {
                sampler.lock().unwrap_or_else(|e| e.into_inner()).sample();
                tokio::time::sleep(SAMPLE_EVERY).await;
            }
        })
    };
    let shared = Arc::new(Shared {
        w: w.clone(),
        client,
        next: AtomicU64::new(0),
        started: Instant::now(),
        started_wall: SystemTime::now(),
        tally: Mutex::new(Tally::default()),
        bar,
    });
    let mut followers = JoinSet::new();
    let followers_tx = Arc::new(Mutex::new(Vec::new()));
    let start_follow = |shared: &Arc<Shared>, accepted: Option<Accepted>| {
        if let Some(job) = accepted
            && shared.w.follow
        {
            return Some(tokio::spawn(follow(shared.clone(), job)));
        }
        shared.bar.inc(1);
        None
    };
    let mut submitters = JoinSet::new();
    match w.arrival {
        Arrival::Concurrency(c) => {
            for _ in 0..c.max(1) {
                let (shared, tx) = (shared.clone(), followers_tx.clone());
                submitters.spawn(async move {
                    while let Some(i) = shared.claim() {
                        let accepted = submit(&shared, i).await;
                        if let Some(h) = start_follow(&shared, accepted) {
                            tx.lock().unwrap_or_else(|e| e.into_inner()).push(h);
                        }
                    }
                });
            }
        }
        Arrival::Rate(rate) => {
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            while let Some(i) = shared.claim() {
                tick.tick().await;
                let (shared, tx) = (shared.clone(), followers_tx.clone());
                submitters.spawn(async move {
                    let accepted = submit(&shared, i).await;
                    if let Some(h) = start_follow(&shared, accepted) {
                        tx.lock().unwrap_or_else(|e| e.into_inner()).push(h);
                    }
                });
            }
        }
    }
    while submitters.join_next().await.is_some() {}
    let submit_phase = shared.started.elapsed();
    let handles = std::mem::take(&mut *followers_tx.lock().unwrap_or_else(|e| e.into_inner()));
    for h in handles {
        followers.spawn(async move {
            let _ = h.await;
        });
    }
    while followers.join_next().await.is_some() {}
    sampling.store(false, Ordering::Relaxed);
    let _ = sample_task.await;
    shared.bar.finish_and_clear();
    let processes = match Arc::try_unwrap(sampler) {
        Ok(m) => m.into_inner().unwrap_or_else(|e| e.into_inner()).finish(),
        Err(_) => Vec::new(),
    };
    let wall = shared.started.elapsed();
    let t = shared.tally();
    let submitted = shared
        .next
        .load(Ordering::Relaxed)
        .min(w.jobs.unwrap_or(u64::MAX));
    let completion_window = t.last_final.unwrap_or(wall);
    Ok(Report {
        base_url: w.base_url.clone(),
        arrival: match w.arrival {
            Arrival::Concurrency(c) => format!("concurrency {c}"),
            Arrival::Rate(r) => format!("{r} jobs/s"),
        },
        wall_seconds: wall.as_secs_f64(),
        submitted,
        accepted: t.accepted,
        succeeded: t.succeeded,
        failed: t.failed,
        submit_per_second: t.accepted as f64 / submit_phase.as_secs_f64().max(1e-9),
        completed_per_second: t.succeeded as f64 / completion_window.as_secs_f64().max(1e-9),
        submit_latency: summarize(&t.submit),
        end_to_end_latency: summarize(&t.end_to_end),
        server_timed: t.server_timed,
        created_to_finished: summarize(&t.after_store),
        errors: t.errors.clone(),
        processes,
    })
}
