//! The outbox relay: publishes the messages their writers could not (broker down at commit time,
//! writer crashed between commit and publish). Rows are locked with `SKIP LOCKED`, so several
//! scheduler replicas, and the writers' own fast path, never publish one row at the same time.

use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use sqlx::PgPool;
use tintype_broker::Publisher;
use tokio_util::sync::CancellationToken;

/// Rows published per pass.
const BATCH: i64 = 200;

/// Relay metrics.
#[derive(Clone, Default)]
pub struct RelayMetrics {
    /// Messages the relay published.
    pub published: Counter,
    /// Failed passes.
    pub failures: Counter,
    /// Messages waiting in the outbox at the last pass.
    pub pending: Gauge,
}

/// Runs passes every `interval` until cancelled.
pub async fn run(
    pool: PgPool,
    publisher: Publisher,
    interval: Duration,
    min_age: Duration,
    metrics: RelayMetrics,
    shutdown: CancellationToken,
) {
    let mut backoff = interval;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        match pass(&pool, &publisher, min_age).await {
            Ok(published) => {
                if published > 0 {
                    tracing::info!(published, "outbox relay published pending messages");
                    metrics.published.inc_by(published as u64);
                }
                backoff = interval;
                // A full batch means there is more: go again at once.
                if published as i64 == BATCH {
                    backoff = Duration::ZERO;
                }
            }
            Err(err) => {
                metrics.failures.inc();
                tracing::warn!(error = %err, "outbox relay pass failed");
                backoff = (backoff * 2).clamp(interval, Duration::from_secs(10));
            }
        }
        if let Ok(mut conn) = pool.acquire().await
            && let Ok(count) = tintype_db::outbox::pending_count(&mut conn).await
        {
            metrics.pending.set(count);
        }
    }
}

/// One pass; returns how many messages were published.
pub async fn pass(
    pool: &PgPool,
    publisher: &Publisher,
    min_age: Duration,
) -> Result<usize, tintype_broker::BrokerError> {
    tintype_broker::outbox::publish_pending(pool, publisher, min_age.as_secs_f64(), BATCH).await
}
