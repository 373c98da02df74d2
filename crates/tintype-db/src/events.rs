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

/// A history entry to append.
#[derive(Debug, Clone, Copy)]
pub struct NewEvent<'a> {
    /// The job.
    pub job_id: Uuid,
    /// What happened.
    pub kind: EventKind,
    /// Status after it.
    pub status: JobStatus,
    /// Attempt number.
    pub attempt: i32,
    /// Worker involved.
    pub worker_id: Option<&'a str>,
    /// Details (error, outputs, …).
    pub detail: Option<&'a Value>,
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
    record_many(
        conn,
        &[NewEvent {
            job_id,
            kind,
            status,
            attempt,
            worker_id,
            detail,
        }],
    )
    .await
}

/// Appends history entries in one statement.
pub async fn record_many(conn: &mut PgConnection, events: &[NewEvent<'_>]) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO job_events (job_id, kind, status, attempt, worker_id, detail) \
         SELECT job_id, kind, status::job_status, attempt, worker_id, detail \
         FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::int4[], $5::text[], $6::jsonb[]) \
           WITH ORDINALITY AS t(job_id, kind, status, attempt, worker_id, detail, n) \
         ORDER BY n",
    )
    .bind(events.iter().map(|e| e.job_id).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.status.as_str()).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.attempt).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.worker_id).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.detail.cloned()).collect::<Vec<_>>())
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
