//! The gateway's Prometheus metrics, served at `/metrics`: HTTP requests (see
//! [`tintype_telemetry::http`]) and accepted jobs.

use std::sync::{Arc, Mutex};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use tintype_telemetry::http::HttpMetrics;

/// Label of an accepted job.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PriorityLabel {
    /// high, default, low.
    pub priority: String,
}

/// What the gateway counts about jobs.
#[derive(Clone, Debug, Default)]
pub struct GatewayMetrics {
    /// `tintype_gateway_jobs_accepted_total{priority}`.
    pub jobs_accepted: Family<PriorityLabel, Counter>,
    /// `tintype_gateway_upload_bytes_total`: bytes of originals accepted.
    pub upload_bytes: Counter,
}

/// The registry behind `/metrics`.
#[derive(Clone, Debug)]
pub struct MetricsRegistry(pub Arc<Mutex<Registry>>);

/// Creates and registers every gateway metric.
pub fn register() -> (GatewayMetrics, HttpMetrics, MetricsRegistry) {
    let mut registry = Registry::with_prefix("tintype");
    let http = HttpMetrics::register(&mut registry);
    let gateway = GatewayMetrics::default();
    let sub = registry.sub_registry_with_prefix("gateway");
    sub.register(
        "jobs_accepted",
        "Jobs accepted, by priority",
        gateway.jobs_accepted.clone(),
    );
    sub.register(
        "upload_bytes",
        "Bytes of originals accepted",
        gateway.upload_bytes.clone(),
    );
    (
        gateway,
        http,
        MetricsRegistry(Arc::new(Mutex::new(registry))),
    )
}
