//! `loadgen`: drive a running tintype (or the Celery reference) and report. See the README's
//! "Load testing" section.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use clap::Parser;
use loadgen::{Arrival, Source, Workload};

/// Drive a tintype-shaped HTTP API with a workload and report latency, throughput and cost.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Base URL of the API.
    #[arg(long, env = "LOADGEN_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// API key (Bearer), when the API requires one.
    #[arg(long, env = "TINTYPE_API_KEY")]
    api_key: Option<String>,
    /// Recipe: a JSON file, or inline JSON starting with `{`.
    #[arg(long)]
    recipe: String,
    /// Image files to upload, used in turn; name a file several times to weight the mix.
    #[arg(long = "image")]
    images: Vec<PathBuf>,
    /// Source URLs for JSON submits (no upload), used in turn; instead of --image.
    #[arg(long = "source-url")]
    source_urls: Vec<String>,
    /// Number of jobs to submit.
    #[arg(long)]
    jobs: Option<u64>,
    /// Seconds to keep submitting.
    #[arg(long)]
    duration: Option<f64>,
    /// Submits in flight at once (closed loop).
    #[arg(long, default_value_t = 8, conflicts_with = "rate")]
    concurrency: usize,
    /// Fixed arrival rate in jobs per second (open loop).
    #[arg(long)]
    rate: Option<f64>,
    /// Measure only the submit path: do not follow jobs to their final state.
    #[arg(long)]
    no_follow: bool,
    /// Seconds a job may take from submit to a final state before it counts as an error.
    #[arg(long, default_value_t = 300.0)]
    job_timeout: f64,
    /// Longest wait in ms between two polls of one job (waits double from 5 ms up to it).
    #[arg(long, default_value_t = 5000)]
    poll_max_ms: u64,
    /// A process to report CPU seconds and memory for, as LABEL=PID (repeatable).
    #[arg(long = "process", value_parser = parse_process)]
    processes: Vec<(String, u32)>,
    /// Write the report as JSON to this file (`-` for stdout instead of the table).
    #[arg(long)]
    json: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

fn parse_process(s: &str) -> Result<(String, u32), String> {
    let (label, pid) = s.split_once('=').ok_or("expected LABEL=PID")?;
    let pid = pid.parse().map_err(|_| format!("not a pid: {pid}"))?;
    Ok((label.to_owned(), pid))
}

fn mime_of(path: &std::path::Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        Some("gif") => "image/gif",
        Some("avif") => "image/avif",
        _ => "application/octet-stream",
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let recipe_text = if args.recipe.trim_start().starts_with('{') {
        args.recipe.clone()
    } else {
        std::fs::read_to_string(&args.recipe).with_context(|| format!("reading {}", args.recipe))?
    };
    let recipe: serde_json::Value =
        serde_json::from_str(&recipe_text).context("the recipe is not JSON")?;
    let source = match (args.images.is_empty(), args.source_urls.is_empty()) {
        (false, true) => {
            // Each distinct file is read once; repeats share its bytes.
            let mut read: HashMap<&PathBuf, Bytes> = HashMap::new();
            let mut files = Vec::with_capacity(args.images.len());
            for p in &args.images {
                let bytes = match read.get(p) {
                    Some(b) => b.clone(),
                    None => {
                        let b = Bytes::from(
                            std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
                        );
                        read.insert(p, b.clone());
                        b
                    }
                };
                let name = p
                    .file_name()
                    .map_or_else(|| "image".into(), |n| n.to_string_lossy().into_owned());
                files.push((name, bytes, mime_of(p).to_owned()));
            }
            Source::Upload(files)
        }
        (true, false) => Source::Url(args.source_urls.clone()),
        _ => bail!("give either --image files or --source-url URLs"),
    };
    let mut w = Workload::new(args.url.clone(), recipe, source);
    w.api_key = args.api_key.clone();
    w.arrival = match args.rate {
        Some(r) => Arrival::Rate(r),
        None => Arrival::Concurrency(args.concurrency),
    };
    w.jobs = args.jobs;
    w.duration = args.duration.map(Duration::from_secs_f64);
    if w.jobs.is_none() && w.duration.is_none() {
        w.jobs = Some(100);
    }
    w.follow = !args.no_follow;
    w.job_timeout = Duration::from_secs_f64(args.job_timeout);
    w.poll_max = Duration::from_millis(args.poll_max_ms);
    w.progress = !args.quiet;
    w.processes = args.processes.clone();
    let report = loadgen::run(w).await?;
    let json = serde_json::to_string_pretty(&report)?;
    match args.json.as_deref() {
        Some(p) if p.as_os_str() == "-" => println!("{json}"),
        Some(p) => {
            std::fs::write(p, json + "\n").with_context(|| format!("writing {}", p.display()))?;
            print!("{}", report.table());
        }
        None => print!("{}", report.table()),
    }
    Ok(())
}
