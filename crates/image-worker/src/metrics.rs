//! The worker's Prometheus metrics, all prefixed `tintype_worker_`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Label of a finished attempt.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    /// succeeded, failed, retrying, skipped, timeout, stopped, lost.
    pub outcome: String,
}

/// Label of an image operation.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabel {
    /// The recipe's `op` (resize, blur, …).
    pub op: String,
}

/// Label of an encoder.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FormatLabel {
    /// jpeg, png, webp, gif, avif.
    pub format: String,
}

fn step_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
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
    /// Probe and decode time, seconds.
    pub decode_seconds: Histogram,
    /// Time per image operation, seconds.
    pub operation_seconds: Family<OperationLabel, Histogram>,
    /// Time per encode, by format, seconds.
    pub encode_seconds: Family<FormatLabel, Histogram>,
    /// Attempts that ended in a scheduled retry.
    pub retries: Counter,
    /// Attempts that ran past their time limit.
    pub timeouts: Counter,
    /// Attempts stopped because their job was cancelled.
    pub cancellations: Counter,
    /// Messages this worker rejected to the dead-letter queue.
    pub dead_letters: Counter,
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
            decode_seconds: step_histogram(),
            operation_seconds: Family::new_with_constructor(step_histogram),
            encode_seconds: Family::new_with_constructor(step_histogram),
            retries: Counter::default(),
            timeouts: Counter::default(),
            cancellations: Counter::default(),
            dead_letters: Counter::default(),
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
        registry.register(
            "decode_seconds",
            "Probe and decode time of a source",
            metrics.decode_seconds.clone(),
        );
        registry.register(
            "operation_seconds",
            "Time per image operation",
            metrics.operation_seconds.clone(),
        );
        registry.register(
            "encode_seconds",
            "Time per encode, by format",
            metrics.encode_seconds.clone(),
        );
        registry.register(
            "retries",
            "Attempts that ended in a scheduled retry",
            metrics.retries.clone(),
        );
        registry.register(
            "timeouts",
            "Attempts that ran past their time limit",
            metrics.timeouts.clone(),
        );
        registry.register(
            "cancellations",
            "Attempts stopped because their job was cancelled",
            metrics.cancellations.clone(),
        );
        registry.register(
            "dead_letters",
            "Messages rejected to the dead-letter queue",
            metrics.dead_letters.clone(),
        );
        (metrics, Arc::new(Mutex::new(registry)))
    }

    /// Counts one attempt's outcome (and the retry, timeout and cancellation counters it implies).
    pub fn outcome(&self, outcome: &str) {
        self.jobs
            .get_or_create(&OutcomeLabel {
                outcome: outcome.to_owned(),
            })
            .inc();
        match outcome {
            "retrying" => {
                self.retries.inc();
            }
            "timeout" => {
                self.timeouts.inc();
            }
            "cancelled" => {
                self.cancellations.inc();
            }
            _ => {}
        }
    }

    /// Records where the engine spent its time in one step.
    pub fn steps(&self, timings: &image_engine::StepTimings, format: Option<&str>) {
        if !timings.decode.is_zero() {
            self.decode_seconds.observe(timings.decode.as_secs_f64());
        }
        for (op, took) in &timings.operations {
            self.operation_seconds
                .get_or_create(&OperationLabel {
                    op: (*op).to_owned(),
                })
                .observe(took.as_secs_f64());
        }
        if let Some(format) = format
            && timings.encode > Duration::ZERO
        {
            self.encode_seconds
                .get_or_create(&FormatLabel {
                    format: format.to_owned(),
                })
                .observe(timings.encode.as_secs_f64());
        }
    }
}
