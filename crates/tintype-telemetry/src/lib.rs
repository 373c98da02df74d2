//! What every tintype service sets up the same way.
//!
//! - [`init`]: logging with a `RUST_LOG` filter (default `info`), human output by default and JSON
//!   lines when `TINTYPE_LOG_FORMAT=json`.
//! - [`shutdown_signal`]: resolves on SIGTERM or Ctrl-C.
//! - [`ops`]: the operations server (`/healthz`, `/readyz`, `/metrics`) of the worker and scheduler.

pub mod ops;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// Reads `TINTYPE_LOG_FORMAT` (`text` or `json`; empty or unset means text).
    pub fn from_env() -> anyhow::Result<Self> {
        match std::env::var("TINTYPE_LOG_FORMAT")
            .unwrap_or_default()
            .as_str()
        {
            "" | "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => anyhow::bail!("TINTYPE_LOG_FORMAT must be `text` or `json`, not `{other}`"),
        }
    }
}

/// Installs the global subscriber for `service`. Call once, at the top of `main`.
pub fn init(service: &'static str) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new("info"))
        .map_err(|e| anyhow::anyhow!("invalid RUST_LOG: {e}"))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::NONE)
        .with_target(true);
    let result = match LogFormat::from_env()? {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("installing the log subscriber: {e}"))?;
    tracing::info!(service, version = env!("CARGO_PKG_VERSION"), "starting");
    Ok(())
}

/// Resolves when the process is asked to stop (SIGTERM from an orchestrator, or Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutdown requested");
}
