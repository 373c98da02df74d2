//! The worker registry: workers register at start, heartbeat with what they are doing, and say
//! goodbye on a clean stop; a worker whose heartbeat is old died.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::DbError;

/// A worker as listed by `GET /v1/workers`.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct WorkerRow {
    /// Worker id (host, process and a random suffix unless configured).
    pub id: String,
    /// Host name.
    pub host: String,
    /// Queues it consumes, in preference order.
    pub queues: Vec<String>,
    /// Jobs it runs at once.
    pub concurrency: i32,
    /// Registered at.
    pub started_at: DateTime<Utc>,
    /// Last heartbeat.
    pub last_seen_at: DateTime<Utc>,
    /// Clean stop, if it stopped cleanly.
    pub stopped_at: Option<DateTime<Utc>>,
    /// Jobs running on it at the last heartbeat.
    pub current_jobs: Vec<Uuid>,
    /// Attempts it finished.
    pub processed: i64,
    /// Attempts that ended failed.
    pub failed: i64,
}

/// Registers (or re-registers after a restart with the same id) a worker.
pub async fn register(
    pool: &PgPool,
    id: &str,
    host: &str,
    queues: &[String],
    concurrency: i32,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO workers (id, host, queues, concurrency) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (id) DO UPDATE SET host = $2, queues = $3, concurrency = $4, \
           started_at = now(), last_seen_at = now(), stopped_at = NULL, current_jobs = '{}'",
    )
    .bind(id)
    .bind(host)
    .bind(queues)
    .bind(concurrency)
    .execute(pool)
    .await?;
    Ok(())
}

/// Records a heartbeat with the jobs running now and the totals so far.
pub async fn beat(
    pool: &PgPool,
    id: &str,
    current_jobs: &[Uuid],
    processed: i64,
    failed: i64,
) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE workers SET last_seen_at = now(), current_jobs = $2, processed = $3, failed = $4 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(current_jobs)
    .bind(processed)
    .bind(failed)
    .execute(pool)
    .await?;
    Ok(())
}

/// Marks a clean stop.
pub async fn stopped(pool: &PgPool, id: &str) -> Result<(), DbError> {
    sqlx::query("UPDATE workers SET stopped_at = now(), current_jobs = '{}' WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Workers seen within `window_secs`, most recently seen first.
pub async fn list(pool: &PgPool, window_secs: f64) -> Result<Vec<WorkerRow>, DbError> {
    Ok(sqlx::query_as::<_, WorkerRow>(
        "SELECT id, host, queues, concurrency, started_at, last_seen_at, stopped_at, \
           current_jobs, processed, failed \
         FROM workers WHERE last_seen_at > now() - make_interval(secs => $1) \
         ORDER BY last_seen_at DESC, id LIMIT 1000",
    )
    .bind(window_secs)
    .fetch_all(pool)
    .await?)
}
