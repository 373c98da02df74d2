//! The dead-letter ledger: drains `tintype.jobs.dead` into the database. RabbitMQ dead-letters a
//! job message on its own when it was delivered `x-delivery-limit` times without an outcome (a
//! worker that crashes on it, a database that kept failing); without this the job would wait
//! forever for a message that no longer exists. Such a job is failed with `retries_exhausted`
//! and the broker's reason, so it shows in `GET /v1/dead-letters` and can be retried. The worker's
//! own copies of exhausted jobs find their job failed already and change nothing.
//!
//! A delivery is acked only once its fact is in the database: on a database error it is retried
//! here with backoff rather than nacked, because the dead-letter queue is the end of the line (a
//! requeue loop would spend the queue's own delivery limit on RabbitMQ 4).

use std::time::Duration;

use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use shared_protocol::ErrorCode;
use shared_protocol::events::EventKind;
use shared_protocol::job::JobMessage;
use shared_protocol::topology::Topology;
use sqlx::PgPool;
use tintype_broker::BrokerError;
use tintype_db::operator::DeadLetterOutcome;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Why consuming stopped.
#[derive(Debug, thiserror::Error)]
enum LedgerError {
    #[error(transparent)]
    Broker(#[from] BrokerError),
    #[error("the broker ended the delivery stream")]
    StreamEnded,
}

impl From<lapin::Error> for LedgerError {
    fn from(err: lapin::Error) -> Self {
        Self::Broker(err.into())
    }
}

/// Why the broker dead-lettered a message, from its first `x-death` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Death {
    /// `delivery_limit`, `rejected`, `expired` or `maxlen`.
    pub reason: String,
    /// The queue the message died in.
    pub queue: String,
    /// How often it died there.
    pub count: i64,
}

/// Reads the most recent `x-death` entry of a delivery's headers.
pub fn death_of(headers: Option<&FieldTable>) -> Option<Death> {
    let AMQPValue::FieldArray(deaths) = headers?.inner().get("x-death")? else {
        return None;
    };
    let AMQPValue::FieldTable(entry) = deaths.as_slice().first()? else {
        return None;
    };
    let text = |name: &str| match entry.inner().get(name) {
        Some(AMQPValue::LongString(s)) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
        Some(AMQPValue::ShortString(s)) => s.as_str().to_owned(),
        _ => String::new(),
    };
    let count = match entry.inner().get("count") {
        Some(AMQPValue::LongLongInt(n)) => *n,
        Some(AMQPValue::LongInt(n)) => i64::from(*n),
        _ => 0,
    };
    Some(Death {
        reason: text("reason"),
        queue: text("queue"),
        count,
    })
}

/// The error message a job gets when the broker gave up on its message.
pub fn failure_message(death: Option<&Death>) -> String {
    match death {
        Some(d) if d.reason == "delivery_limit" => format!(
            "RabbitMQ dead-lettered the job message after it was delivered {} times from {} \
             without an outcome (a worker crashed on it, or the database kept failing)",
            shared_protocol::topology::DELIVERY_LIMIT,
            d.queue
        ),
        Some(d) => format!(
            "RabbitMQ dead-lettered the job message from {} ({})",
            d.queue, d.reason
        ),
        None => "the job message reached the dead-letter queue".to_owned(),
    }
}

/// Consumes the dead-letter queue until cancelled, reconnecting with backoff.
pub async fn run(pool: PgPool, amqp_url: String, topology: Topology, shutdown: CancellationToken) {
    let mut backoff = Duration::from_millis(200);
    while !shutdown.is_cancelled() {
        match consume(&pool, &amqp_url, &topology, &shutdown).await {
            Ok(()) => return,
            Err(err) => {
                tracing::warn!(error = %err, retry_in_ms = backoff.as_millis() as u64, "dead-letter consumer lost the broker; reconnecting");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}

async fn consume(
    pool: &PgPool,
    amqp_url: &str,
    topology: &Topology,
    shutdown: &CancellationToken,
) -> Result<(), LedgerError> {
    let connection = tintype_broker::connect(amqp_url, "scheduler dead letters").await?;
    let channel = connection.create_channel().await?;
    tintype_broker::topology::declare(&channel, topology).await?;
    channel.basic_qos(16, BasicQosOptions::default()).await?;
    let mut consumer = channel
        .basic_consume(
            ShortString::from(topology.dead_letter_queue()),
            ShortString::from("scheduler-dead-letters"),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    tracing::info!(queue = %topology.dead_letter_queue(), "recording dead letters");
    loop {
        let delivery = tokio::select! {
            () = shutdown.cancelled() => {
                let _ = connection.close(200, "scheduler stopping".into()).await;
                return Ok(());
            }
            next = consumer.next() => next,
        };
        let delivery = match delivery {
            Some(Ok(delivery)) => delivery,
            Some(Err(err)) => return Err(BrokerError::from(err).into()),
            None => return Err(LedgerError::StreamEnded),
        };
        let span = record_span(&delivery);
        if record_until_done(pool, topology, &delivery, shutdown)
            .instrument(span)
            .await
        {
            delivery
                .acker
                .ack(BasicAckOptions::default())
                .await
                .map_err(BrokerError::from)?;
        } else {
            // Shutting down with the fact unrecorded: the unacked delivery returns to the queue.
            return Ok(());
        }
    }
}

fn record_span(delivery: &Delivery) -> tracing::Span {
    let span = tracing::info_span!(
        "dead letter",
        otel.name = %format!("process {}", delivery.exchange.as_str()),
        otel.kind = "consumer",
        messaging.system = "rabbitmq",
        messaging.operation.type = "process",
        messaging.destination.name = delivery.exchange.as_str(),
    );
    let headers = tintype_broker::headers_from_amqp(delivery.properties.headers().as_ref());
    tintype_telemetry::propagation::set_parent_from(&span, &headers);
    span
}

/// Records one dead letter, retrying database errors; false only when shutdown came first.
async fn record_until_done(
    pool: &PgPool,
    topology: &Topology,
    delivery: &Delivery,
    shutdown: &CancellationToken,
) -> bool {
    let Ok(message) = serde_json::from_slice::<JobMessage>(&delivery.data) else {
        tracing::warn!(
            bytes = delivery.data.len(),
            "dead letter is not a job message; dropping it"
        );
        return true;
    };
    let death = death_of(delivery.properties.headers().as_ref());
    let mut backoff = Duration::from_millis(200);
    loop {
        match record(pool, topology, &message, death.as_ref()).await {
            Ok(()) => return true,
            Err(err) => {
                tracing::warn!(job.id = %message.job_id, error = %err, "recording a dead letter failed; retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return false,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}

async fn record(
    pool: &PgPool,
    topology: &Topology,
    message: &JobMessage,
    death: Option<&Death>,
) -> Result<(), tintype_db::DbError> {
    let mut tx = pool.begin().await?;
    let text = failure_message(death);
    let outcome = tintype_db::operator::dead_lettered(
        &mut tx,
        message.job_id,
        ErrorCode::RetriesExhausted.as_str(),
        &text,
    )
    .await?;
    match outcome {
        DeadLetterOutcome::Failed(job) => {
            let detail = serde_json::json!({
                "code": ErrorCode::RetriesExhausted.as_str(),
                "message": text,
                "dead_letter_reason": death.map(|d| d.reason.clone()),
            });
            tintype_db::announce::event(
                &mut tx,
                topology,
                &job,
                EventKind::Failed,
                None,
                Some(detail),
                &tintype_telemetry::propagation::current_headers_json(),
            )
            .await?;
            tx.commit().await?;
            tracing::warn!(job.id = %message.job_id, reason = ?death.map(|d| &d.reason), "job failed: its message was dead-lettered");
        }
        DeadLetterOutcome::Unchanged(status) => {
            tx.commit().await?;
            tracing::debug!(job.id = %message.job_id, %status, "dead letter of a job that needs no change");
        }
        DeadLetterOutcome::NotFound => {
            tx.commit().await?;
            tracing::warn!(job.id = %message.job_id, "dead letter for an unknown job");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lapin::types::{FieldArray, LongString};

    fn headers(reason: &str) -> FieldTable {
        let mut entry = FieldTable::default();
        entry.insert(
            "reason".into(),
            AMQPValue::LongString(LongString::from(reason)),
        );
        entry.insert(
            "queue".into(),
            AMQPValue::LongString(LongString::from("tintype.jobs.low")),
        );
        entry.insert("count".into(), AMQPValue::LongLongInt(1));
        let mut table = FieldTable::default();
        table.insert(
            "x-death".into(),
            AMQPValue::FieldArray(FieldArray::from(vec![AMQPValue::FieldTable(entry)])),
        );
        table
    }

    #[test]
    fn reads_the_broker_reason() {
        let death = death_of(Some(&headers("delivery_limit"))).unwrap();
        assert_eq!(death.reason, "delivery_limit");
        assert_eq!(death.queue, "tintype.jobs.low");
        assert_eq!(death.count, 1);
        assert!(failure_message(Some(&death)).contains("delivered 20 times"));
        assert_eq!(death_of(None), None);
        assert_eq!(death_of(Some(&FieldTable::default())), None);
    }
}
