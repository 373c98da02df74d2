//! The worker's Prometheus metrics.

use std::sync::{Arc, Mutex};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Label of a finished attempt.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    /// succeeded, failed, retrying, skipped, timeout.
    pub outcome: String,
}

/// Counters and histograms a worker updates.
#[derive(Clone)]
pub struct WorkerMetrics {
    /// Attempts by outcome.
    pub jobs: Family<OutcomeLabel, Counter>,
    /// Processing time of an attempt, seconds.
    pub processing_seconds: Histogram,
    /// Time between enqueue and start, seconds.
    pub queue_wait_seconds: Histogram,
    /// Slots busy right now.
    pub busy_slots: Gauge,
    /// Bytes read from sources.
    pub bytes_in: Counter,
    /// Bytes written as outputs.
    pub bytes_out: Counter,
}

impl WorkerMetrics {
    /// Creates the metrics and registers them.
    pub fn register() -> (Self, Arc<Mutex<Registry>>) {
        let metrics = Self {
            jobs: Family::default(),
            processing_seconds: Histogram::new(exponential_buckets(0.005, 2.0, 14)),
            queue_wait_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 18)),
            busy_slots: Gauge::default(),
            bytes_in: Counter::default(),
            bytes_out: Counter::default(),
        };
        let mut registry = Registry::with_prefix("tintype_worker");
        registry.register("jobs", "Job attempts by outcome", metrics.jobs.clone());
        registry.register(
            "processing_seconds",
            "Processing time of one attempt",
            metrics.processing_seconds.clone(),
        );
        registry.register(
            "queue_wait_seconds",
            "Time from enqueue to start",
            metrics.queue_wait_seconds.clone(),
        );
        registry.register("busy_slots", "Job slots in use", metrics.busy_slots.clone());
        registry.register(
            "source_bytes",
            "Bytes of sources read",
            metrics.bytes_in.clone(),
        );
        registry.register(
            "output_bytes",
            "Bytes of outputs written",
            metrics.bytes_out.clone(),
        );
        (metrics, Arc::new(Mutex::new(registry)))
    }

    /// Counts one attempt's outcome.
    pub fn outcome(&self, outcome: &str) {
        self.jobs
            .get_or_create(&OutcomeLabel {
                outcome: outcome.to_owned(),
            })
            .inc();
    }
}
