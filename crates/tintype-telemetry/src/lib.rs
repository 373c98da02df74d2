//! What every tintype service sets up the same way.
//!
//! - [`init`]: logging with a `RUST_LOG` filter (default `info`), human output by default and JSON
//!   lines when `TINTYPE_LOG_FORMAT=json`; spans go to OpenTelemetry, exported over OTLP when
//!   `OTEL_EXPORTER_OTLP_ENDPOINT` is set; the W3C trace-context propagator is installed globally.
//! - [`propagation`]: trace context in and out of message headers (AMQP, outbox rows).
//! - [`http`]: the gateway's request middleware: server spans that continue an incoming
//!   `traceparent`, and request metrics by route pattern and status.
//! - [`shutdown_signal`]: resolves on SIGTERM or Ctrl-C.
//! - [`ops`]: the operations server (`/healthz`, `/readyz`, `/metrics`) of the worker and scheduler.

pub mod http;
pub mod ops;
pub mod otlp;
pub mod propagation;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

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

/// The installed telemetry; call [`Telemetry::shutdown`] before exiting so buffered spans are sent.
#[must_use = "spans buffered for export are lost unless `shutdown` is called"]
pub struct Telemetry {
    provider: SdkTracerProvider,
    exporting: bool,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("exporting", &self.exporting)
            .finish_non_exhaustive()
    }
}

impl Telemetry {
    /// Whether spans are exported over OTLP.
    pub fn exporting(&self) -> bool {
        self.exporting
    }

    /// Flushes buffered spans and stops the exporter.
    pub async fn shutdown(self) {
        if !self.exporting {
            return;
        }
        // The batch processor blocks until its export thread has drained; keep that off the
        // async workers (the gRPC exporter needs them to make progress).
        let provider = self.provider;
        let flushed = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        match flushed {
            Ok(Ok(())) => {}
            Ok(Err(err)) => eprintln!("flushing traces failed: {err}"),
            Err(err) => eprintln!("flushing traces failed: {err}"),
        }
    }
}

/// Installs the global subscriber, tracer provider and propagator for `service`. Call once, at
/// the top of `main`, inside the Tokio runtime (the gRPC exporter needs it).
pub fn init(service: &'static str) -> anyhow::Result<Telemetry> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new("info"))
        .map_err(|e| anyhow::anyhow!("invalid RUST_LOG: {e}"))?;
    let format = LogFormat::from_env()?;
    let (provider, exporting) = otlp::tracer_provider(service)?;
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    opentelemetry::global::set_tracer_provider(provider.clone());
    // Spans get trace ids even without an exporter, so logs, message headers and the job's
    // `trace_id` stay correlated with the caller's trace.
    let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer(service));
    let fmt = tracing_subscriber::fmt::layer()
        .with_span_events(FmtSpan::NONE)
        .with_target(true);
    let registry = tracing_subscriber::registry().with(filter).with(otel);
    let result = match format {
        LogFormat::Text => registry.with(fmt).try_init(),
        LogFormat::Json => registry.with(fmt.json().flatten_event(true)).try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("installing the log subscriber: {e}"))?;
    tracing::info!(
        service,
        version = env!("CARGO_PKG_VERSION"),
        otlp = exporting,
        "starting"
    );
    Ok(Telemetry {
        provider,
        exporting,
    })
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
