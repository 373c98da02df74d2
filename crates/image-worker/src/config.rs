//! Settings of a worker, from flags or the environment.

use std::net::SocketAddr;

use shared_protocol::Priority;
use tintype_storage::StorageArgs;

fn parse_queues(raw: &str) -> Result<Vec<Priority>, String> {
    let mut queues = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let priority = Priority::parse(part)
            .ok_or_else(|| format!("unknown queue `{part}`; use high, default or low"))?;
        if !queues.contains(&priority) {
            queues.push(priority);
        }
    }
    if queues.is_empty() {
        return Err("name at least one queue".into());
    }
    Ok(queues)
}

fn default_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Everything a worker needs to run.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Address of `/healthz`, `/readyz` and `/metrics` (port 0 picks a free port).
    #[arg(long, env = "TINTYPE_METRICS_ADDR", default_value = "0.0.0.0:9091")]
    pub metrics_addr: SocketAddr,
    /// PostgreSQL.
    #[command(flatten)]
    pub database: tintype_db::DatabaseArgs,
    /// RabbitMQ.
    #[command(flatten)]
    pub broker: tintype_broker::BrokerArgs,
    /// Object storage.
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Queues this worker consumes, comma-separated (high, default, low), e.g. a dedicated pool
    /// for `high`.
    // The full path keeps clap from reading `Vec` as "the flag repeats": the whole list is one value.
    #[arg(long, env = "TINTYPE_WORKER_QUEUES", default_value = "high,default,low", value_parser = parse_queues)]
    pub queues: std::vec::Vec<Priority>,
    /// Jobs processed at once (default: the number of CPUs).
    #[arg(long, env = "TINTYPE_WORKER_CONCURRENCY", default_value_t = default_concurrency())]
    pub concurrency: usize,
    /// Identity shown in job history (default: host name, process id and a random suffix).
    #[arg(long, env = "TINTYPE_WORKER_ID")]
    pub worker_id: Option<String>,
    /// Lease of a running job, in seconds; heartbeats extend it every third of it.
    #[arg(long, env = "TINTYPE_LEASE_SECS", default_value_t = 30)]
    pub lease_secs: u32,
    /// Time in-flight jobs get to finish on shutdown before they are handed back, in seconds.
    #[arg(long, env = "TINTYPE_SHUTDOWN_GRACE_SECS", default_value_t = 25)]
    pub shutdown_grace_secs: u32,
    /// Largest source read from storage, in bytes.
    #[arg(long, env = "TINTYPE_MAX_UPLOAD_BYTES", default_value_t = 50 * 1024 * 1024)]
    pub max_source_bytes: u64,
    /// CIDRs, addresses or host names exempted from the outbound guard for source URLs,
    /// comma-separated (empty: only public addresses).
    #[arg(long, env = "TINTYPE_OUTBOUND_ALLOW", default_value = "", value_parser = tintype_outbound::Allowlist::parse)]
    pub outbound_allow: tintype_outbound::Allowlist,
    /// Time a source URL gets to arrive whole, in seconds (a slower one is a retryable failure).
    #[arg(long, env = "TINTYPE_SOURCE_FETCH_TIMEOUT_SECS", default_value_t = 30)]
    pub source_fetch_timeout_secs: u32,
    /// Largest image decoded, in pixels (frames counted).
    #[arg(long, env = "TINTYPE_MAX_PIXELS", default_value_t = 50_000_000)]
    pub max_pixels: u64,
    /// Largest width or height decoded.
    #[arg(long, env = "TINTYPE_MAX_DIMENSION", default_value_t = 30_000)]
    pub max_dimension: u32,
}

impl Settings {
    /// Engine limits.
    pub fn image_limits(&self) -> image_engine::Limits {
        image_engine::Limits {
            max_source_bytes: self.max_source_bytes,
            max_pixels: self.max_pixels,
            max_width: self.max_dimension,
            max_height: self.max_dimension,
            ..image_engine::Limits::default()
        }
    }

    /// This worker's identity.
    pub fn worker_id(&self) -> String {
        self.worker_id
            .clone()
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| {
                let host = host_name();
                let suffix = &uuid::Uuid::new_v4().simple().to_string()[..6];
                format!("{host}-{}-{suffix}", std::process::id())
            })
    }
}

/// This machine's (or pod's) host name, `worker` if it has none.
pub fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .unwrap_or_else(|| "worker".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(flatten)]
        settings: Settings,
    }

    fn parse(extra: &[&str]) -> Result<Settings, clap::Error> {
        use clap::Parser;
        let base = [
            "image-worker",
            "--database-url",
            "postgres://db/x",
            "--aws-access-key-id",
            "k",
            "--aws-secret-access-key",
            "s",
        ];
        Cli::try_parse_from(base.iter().chain(extra)).map(|cli| cli.settings)
    }

    #[test]
    fn settings_parse_from_flags_with_defaults() {
        let settings = parse(&[]).unwrap();
        assert_eq!(settings.queues, Priority::ALL.to_vec());
        let settings = parse(&["--queues", "high", "--concurrency", "3"]).unwrap();
        assert_eq!(settings.queues, vec![Priority::High]);
        assert_eq!(settings.concurrency, 3);
        assert!(parse(&["--queues", "urgent"]).is_err());
    }

    #[test]
    fn queue_lists_parse_in_order_without_duplicates() {
        assert_eq!(
            parse_queues("high, low,high").unwrap(),
            vec![Priority::High, Priority::Low]
        );
        assert!(parse_queues("urgent").is_err());
        assert!(parse_queues(" , ").is_err());
    }
}
