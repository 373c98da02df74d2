//! Webhook deliveries and their attempts. Deliveries are queued by a trigger on `jobs` when a job
//! becomes final; the scheduler claims due ones with `SKIP LOCKED`, so replicas never send one
//! delivery attempt twice at the same time.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::DbError;

/// A delivery claimed for one attempt.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueDelivery {
    /// Message id (`webhook-id`).
    pub id: Uuid,
    /// The job it is about.
    pub job_id: Uuid,
    /// Target URL.
    pub url: String,
    /// Event type.
    pub event: String,
    /// Attempt number of this attempt (1-based).
    pub attempts: i32,
    /// The body, once fixed.
    pub payload: Option<Value>,
    /// Trace context of the span that made the job final (`traceparent`, `tracestate`).
    pub trace_headers: Value,
}

/// One delivery as the API shows it.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct DeliveryRow {
    /// Message id.
    pub id: Uuid,
    /// Target URL.
    pub url: String,
    /// Event type.
    pub event: String,
    /// pending, delivered or failed.
    pub status: String,
    /// Attempts made.
    pub attempts: i32,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: DateTime<Utc>,
    /// Queued at.
    pub created_at: DateTime<Utc>,
    /// Delivered at.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// One attempt as recorded.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct AttemptRow {
    /// Delivery it belongs to.
    pub delivery_id: Uuid,
    /// Attempt number.
    pub attempt: i32,
    /// When it started.
    pub at: DateTime<Utc>,
    /// HTTP status answered, if any.
    pub status_code: Option<i32>,
    /// Time until the answer or the failure.
    pub latency_ms: i32,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// Claims up to `limit` due deliveries for one attempt each, pushing them `lease_secs` ahead.
pub async fn claim_due(
    pool: &PgPool,
    limit: i64,
    lease_secs: f64,
) -> Result<Vec<DueDelivery>, DbError> {
    Ok(sqlx::query_as::<_, DueDelivery>(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, \
           next_attempt_at = now() + make_interval(secs => $2), updated_at = now() \
         WHERE id IN (SELECT id FROM webhook_deliveries \
                      WHERE status = 'pending' AND next_attempt_at <= now() \
                      ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) \
         RETURNING id, job_id, url, event, attempts, payload, trace_headers",
    )
    .bind(limit)
    .bind(lease_secs)
    .fetch_all(pool)
    .await?)
}

/// Fixes the body of a delivery (first attempt only); returns the body in force.
pub async fn fix_payload(pool: &PgPool, id: Uuid, payload: &Value) -> Result<Value, DbError> {
    Ok(sqlx::query_scalar(
        "UPDATE webhook_deliveries SET payload = COALESCE(payload, $2) WHERE id = $1 RETURNING payload",
    )
    .bind(id)
    .bind(payload)
    .fetch_one(pool)
    .await?)
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    /// Attempt number.
    pub attempt: i32,
    /// HTTP status, if the receiver answered.
    pub status_code: Option<i32>,
    /// Latency in milliseconds.
    pub latency_ms: i32,
    /// Failure, if any.
    pub error: Option<String>,
    /// Whether the receiver accepted it (2xx).
    pub delivered: bool,
    /// Delay before the next attempt; `None` gives up.
    pub retry_in_secs: Option<f64>,
}

/// Records an attempt and moves the delivery on (delivered, due again later, or failed).
pub async fn record_attempt(
    pool: &PgPool,
    id: Uuid,
    outcome: &AttemptOutcome,
) -> Result<(), DbError> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO webhook_attempts (delivery_id, attempt, status_code, latency_ms, error) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(outcome.attempt)
    .bind(outcome.status_code)
    .bind(outcome.latency_ms)
    .bind(&outcome.error)
    .execute(&mut *tx)
    .await?;
    let (status, delay) = match (outcome.delivered, outcome.retry_in_secs) {
        (true, _) => ("delivered", 0.0),
        (false, Some(delay)) => ("pending", delay),
        (false, None) => ("failed", 0.0),
    };
    sqlx::query(
        "UPDATE webhook_deliveries SET status = $2, \
           next_attempt_at = now() + make_interval(secs => $3), updated_at = now(), \
           delivered_at = CASE WHEN $2 = 'delivered' THEN now() END \
         WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(delay)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A job's deliveries, oldest first.
pub async fn list(pool: &PgPool, job_id: Uuid) -> Result<Vec<DeliveryRow>, DbError> {
    Ok(sqlx::query_as::<_, DeliveryRow>(
        "SELECT id, url, event, status, attempts, next_attempt_at, created_at, delivered_at \
         FROM webhook_deliveries WHERE job_id = $1 ORDER BY created_at, id",
    )
    .bind(job_id)
    .fetch_all(pool)
    .await?)
}

/// The attempts of a job's deliveries, oldest first.
pub async fn attempts(pool: &PgPool, job_id: Uuid) -> Result<Vec<AttemptRow>, DbError> {
    Ok(sqlx::query_as::<_, AttemptRow>(
        "SELECT a.delivery_id, a.attempt, a.at, a.status_code, a.latency_ms, a.error \
         FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id \
         WHERE d.job_id = $1 ORDER BY a.id",
    )
    .bind(job_id)
    .fetch_all(pool)
    .await?)
}

/// Queues a new delivery of a final job's webhook (a manual redelivery); `None` when the job
/// is not final or has no webhook.
pub async fn redeliver(pool: &PgPool, job_id: Uuid) -> Result<Option<Uuid>, DbError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO webhook_deliveries (job_id, url, event) \
         SELECT id, recipe -> 'webhook' ->> 'url', 'job.' || status::text FROM jobs \
         WHERE id = $1 AND status IN ('succeeded', 'failed', 'cancelled') \
           AND recipe -> 'webhook' ->> 'url' IS NOT NULL \
         RETURNING id",
    )
    .bind(job_id)
    .fetch_optional(pool)
    .await?)
}

/// Makes the webhook a job's final state queues in this transaction a child of the trace context
/// in `headers` (the trigger reads it from transaction-local settings).
pub async fn set_trace_context(
    conn: &mut sqlx::PgConnection,
    headers: &std::collections::BTreeMap<String, String>,
) -> Result<(), DbError> {
    sqlx::query(
        "SELECT set_config('tintype.traceparent', $1, true),                 set_config('tintype.tracestate', $2, true)",
    )
    .bind(headers.get("traceparent").map_or("", String::as_str))
    .bind(headers.get("tracestate").map_or("", String::as_str))
    .execute(conn)
    .await?;
    Ok(())
}
