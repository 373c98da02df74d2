//! Queue depth and the age of the oldest waiting job, per queue: what KEDA or an HPA scales
//! workers on. Depth and consumers come from RabbitMQ (a passive declare, no management API
//! needed); the age comes from the jobs table, where a queued job's `created_at` is the time it
//! was accepted (RabbitMQ does not tell the age of a queue's head).

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use lapin::options::QueueDeclareOptions;
use lapin::types::{FieldTable, ShortString};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use shared_protocol::Priority;
use sqlx::PgPool;
use tintype_broker::Publisher;
use tokio_util::sync::CancellationToken;

/// How often the queues are sampled; Prometheus scrapes every 15 s or so.
const SAMPLE_INTERVAL: Duration = Duration::from_secs(5);

/// Label of a queue.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabel {
    /// Full queue name (`tintype.jobs.default`, `tintype.jobs.dead`, …).
    pub queue: String,
}

/// The queue gauges.
#[derive(Clone, Debug, Default)]
pub struct QueueMetrics {
    /// `tintype_queue_depth`: messages ready in the queue.
    pub depth: Family<QueueLabel, Gauge>,
    /// `tintype_queue_consumers`: consumers attached.
    pub consumers: Family<QueueLabel, Gauge>,
    /// `tintype_queue_oldest_age_seconds`: age of the oldest queued job (0 when none waits).
    pub oldest_age_seconds: Family<QueueLabel, Gauge<f64, AtomicU64>>,
}

impl QueueMetrics {
    /// Creates the gauges and registers them in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        let queue = registry.sub_registry_with_prefix("queue");
        queue.register(
            "depth",
            "Messages ready in the queue",
            metrics.depth.clone(),
        );
        queue.register(
            "consumers",
            "Consumers attached to the queue",
            metrics.consumers.clone(),
        );
        queue.register(
            "oldest_age_seconds",
            "Age of the oldest queued job of the queue",
            metrics.oldest_age_seconds.clone(),
        );
        metrics
    }
}

/// Samples every [`SAMPLE_INTERVAL`] until cancelled, starting at once.
pub async fn run(
    pool: PgPool,
    publisher: Publisher,
    metrics: QueueMetrics,
    shutdown: CancellationToken,
) {
    loop {
        if let Err(err) = sample(&pool, &publisher, &metrics).await {
            tracing::warn!(error = %err, "sampling queue depths failed");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(SAMPLE_INTERVAL) => {}
        }
    }
}

/// Why a sample failed.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    /// RabbitMQ.
    #[error(transparent)]
    Broker(#[from] tintype_broker::BrokerError),
    /// PostgreSQL.
    #[error("postgres: {0}")]
    Db(#[from] sqlx::Error),
}

/// One sample of every job queue and the dead-letter queue.
pub async fn sample(
    pool: &PgPool,
    publisher: &Publisher,
    metrics: &QueueMetrics,
) -> Result<(), SampleError> {
    let topology = publisher.topology();
    let channel = publisher.channel().await?;
    let mut queues: Vec<String> = Priority::ALL
        .iter()
        .map(|p| topology.jobs_queue(*p))
        .collect();
    queues.push(topology.dead_letter_queue());
    for name in &queues {
        let queue = channel
            .queue_declare(
                ShortString::from(name.clone()),
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(tintype_broker::BrokerError::from)?;
        let label = QueueLabel {
            queue: name.clone(),
        };
        metrics
            .depth
            .get_or_create(&label)
            .set(i64::from(queue.message_count()));
        metrics
            .consumers
            .get_or_create(&label)
            .set(i64::from(queue.consumer_count()));
    }
    let ages: Vec<(String, f64)> = sqlx::query_as(
        "SELECT priority::text, EXTRACT(EPOCH FROM now() - min(created_at))::float8 \
         FROM jobs WHERE status = 'queued' GROUP BY priority",
    )
    .fetch_all(pool)
    .await?;
    for priority in Priority::ALL {
        let age = ages
            .iter()
            .find(|(p, _)| p == priority.as_str())
            .map_or(0.0, |(_, age)| age.max(0.0));
        metrics
            .oldest_age_seconds
            .get_or_create(&QueueLabel {
                queue: topology.jobs_queue(priority),
            })
            .set(age);
    }
    Ok(())
}
