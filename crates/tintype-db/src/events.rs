//! The per-job history in `job_events`.

use chrono::{DateTime, Utc};
use serde_json::Value;
use shared_protocol::JobStatus;
use shared_protocol::events::EventKind;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::DbError;

/// One history entry.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct EventRow {
    /// What happened.
    pub kind: String,
    /// Status after it.
    pub status: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Attempt number.
    pub attempt: i32,
    /// Worker involved.
    pub worker_id: Option<String>,
    /// Details (error, outputs, …).
    pub detail: Option<Value>,
}

/// Appends one history entry.
pub async fn record(
    conn: &mut PgConnection,
    job_id: Uuid,
    kind: EventKind,
    status: JobStatus,
    attempt: i32,
    worker_id: Option<&str>,
    detail: Option<&Value>,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO job_events (job_id, kind, status, attempt, worker_id, detail) \
         VALUES ($1, $2, $3::job_status, $4, $5, $6)",
    )
    .bind(job_id)
    .bind(kind.as_str())
    .bind(status.as_str())
    .bind(attempt)
    .bind(worker_id)
    .bind(detail)
    .execute(conn)
    .await?;
    Ok(())
}

/// A job's history, oldest first.
pub async fn list(pool: &PgPool, job_id: Uuid) -> Result<Vec<EventRow>, DbError> {
    Ok(sqlx::query_as::<_, EventRow>(
        "SELECT kind, status::text AS status, at, attempt, worker_id, detail \
         FROM job_events WHERE job_id = $1 ORDER BY id",
    )
    .bind(job_id)
    .fetch_all(pool)
    .await?)
}
