//! Jobs: insertion, reads, and the state transitions. Each transition is a single conditional
//! statement, so a redelivered message can never move a finished or cancelled job, and two workers
//! can never both own one.

use chrono::{DateTime, Utc};
use serde_json::Value;
use shared_protocol::{JobStatus, Priority};
// Dynamic SQL here is only ever built from the constant column list, never from input.
use sqlx::{AssertSqlSafe, PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::DbError;

/// Columns every job read returns, with enums as text so no custom type mapping is needed.
pub(crate) const JOB_COLUMNS: &str = "id, status::text AS status, priority::text AS priority, recipe, \
    source_key, source_url, source_info, outputs, metadata, attempts, max_attempts, timeout_secs, \
    error_code, error_message, created_at, updated_at, started_at, finished_at, worker_id, \
    lease_expires_at, next_attempt_at, cancel_requested_at, trace_id, dead_lettered_at";

/// A job as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobRow {
    /// Job id (UUIDv7, so ids sort by creation time).
    pub id: Uuid,
    /// Lifecycle status (stored enum as text).
    pub status: String,
    /// Queue priority (stored enum as text).
    pub priority: String,
    /// The validated recipe.
    pub recipe: Value,
    /// Object key of the original.
    pub source_key: Option<String>,
    /// Remote source URL.
    pub source_url: Option<String>,
    /// What the header said at submit time.
    pub source_info: Option<Value>,
    /// Output records once succeeded.
    pub outputs: Value,
    /// Client metadata.
    pub metadata: Value,
    /// Attempts started so far.
    pub attempts: i32,
    /// Attempts allowed.
    pub max_attempts: i32,
    /// Time limit per attempt.
    pub timeout_secs: i32,
    /// Stable error code when failed.
    pub error_code: Option<String>,
    /// Human error message when failed.
    pub error_message: Option<String>,
    /// Accepted at.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// First attempt started at.
    pub started_at: Option<DateTime<Utc>>,
    /// Reached a final state at.
    pub finished_at: Option<DateTime<Utc>>,
    /// Worker owning (or last owning) the job.
    pub worker_id: Option<String>,
    /// Lease of the running attempt.
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// When a retrying job is due again.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When cancellation was asked for.
    pub cancel_requested_at: Option<DateTime<Utc>>,
    /// Trace id of the submitting request.
    pub trace_id: Option<String>,
    /// When the job's message was dead-lettered.
    pub dead_lettered_at: Option<DateTime<Utc>>,
}

impl JobRow {
    /// The status as the protocol enum.
    pub fn status(&self) -> JobStatus {
        // The column is an enum with exactly these values, so parse cannot fail.
        JobStatus::parse(&self.status).unwrap_or(JobStatus::Failed)
    }

    /// The priority as the protocol enum.
    pub fn priority(&self) -> Priority {
        Priority::parse(&self.priority).unwrap_or_default()
    }
}

/// A job to insert.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Id chosen by the caller (the original is stored under it before the insert).
    pub id: Uuid,
    /// Queue priority.
    pub priority: Priority,
    /// The validated recipe.
    pub recipe: Value,
    /// Object key of the original.
    pub source_key: Option<String>,
    /// Remote source URL.
    pub source_url: Option<String>,
    /// What the header said.
    pub source_info: Option<Value>,
    /// Client metadata.
    pub metadata: Value,
    /// Attempts allowed.
    pub max_attempts: i32,
    /// Time limit per attempt.
    pub timeout_secs: i32,
    /// Trace id of the submitting request.
    pub trace_id: Option<String>,
}

/// Inserts a queued job (inside the caller's transaction, beside its outbox row).
pub async fn insert(tx: &mut Transaction<'_, Postgres>, job: &NewJob) -> Result<JobRow, DbError> {
    insert_many(tx, std::slice::from_ref(job))
        .await?
        .pop()
        .ok_or(DbError::Sqlx(sqlx::Error::RowNotFound))
}

/// Inserts queued jobs in one statement (a group commit's batch); answers rows in `jobs`' order.
pub async fn insert_many(
    tx: &mut Transaction<'_, Postgres>,
    jobs: &[NewJob],
) -> Result<Vec<JobRow>, DbError> {
    let sql = format!(
        "INSERT INTO jobs (id, priority, recipe, source_key, source_url, source_info, metadata, \
         max_attempts, timeout_secs, trace_id) \
         SELECT id, priority::job_priority, recipe, source_key, source_url, source_info, metadata, \
           max_attempts, timeout_secs, trace_id \
         FROM UNNEST($1::uuid[], $2::text[], $3::jsonb[], $4::text[], $5::text[], $6::jsonb[], \
           $7::jsonb[], $8::int4[], $9::int4[], $10::text[]) \
           AS t(id, priority, recipe, source_key, source_url, source_info, metadata, \
           max_attempts, timeout_secs, trace_id) \
         RETURNING {JOB_COLUMNS}"
    );
    let rows = sqlx::query_as::<_, JobRow>(AssertSqlSafe(sql))
        .bind(jobs.iter().map(|j| j.id).collect::<Vec<_>>())
        .bind(jobs.iter().map(|j| j.priority.as_str()).collect::<Vec<_>>())
        .bind(jobs.iter().map(|j| j.recipe.clone()).collect::<Vec<_>>())
        .bind(
            jobs.iter()
                .map(|j| j.source_key.clone())
                .collect::<Vec<_>>(),
        )
        .bind(
            jobs.iter()
                .map(|j| j.source_url.clone())
                .collect::<Vec<_>>(),
        )
        .bind(
            jobs.iter()
                .map(|j| j.source_info.clone())
                .collect::<Vec<_>>(),
        )
        .bind(jobs.iter().map(|j| j.metadata.clone()).collect::<Vec<_>>())
        .bind(jobs.iter().map(|j| j.max_attempts).collect::<Vec<_>>())
        .bind(jobs.iter().map(|j| j.timeout_secs).collect::<Vec<_>>())
        .bind(jobs.iter().map(|j| j.trace_id.clone()).collect::<Vec<_>>())
        .fetch_all(&mut **tx)
        .await?;
    // RETURNING promises no order: put the rows back in the caller's.
    let mut by_id: std::collections::HashMap<Uuid, JobRow> =
        rows.into_iter().map(|row| (row.id, row)).collect();
    jobs.iter()
        .map(|job| {
            by_id
                .remove(&job.id)
                .ok_or(DbError::Sqlx(sqlx::Error::RowNotFound))
        })
        .collect()
}

/// Reads one job.
pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<JobRow>, DbError> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
    Ok(sqlx::query_as::<_, JobRow>(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?)
}

/// What happened when a worker tried to take a job.
#[derive(Debug)]
pub enum ClaimOutcome {
    /// The worker owns the job now.
    Claimed(Box<JobRow>),
    /// No such job (the message is stale or foreign).
    NotFound,
    /// The job is already final, cancelled, or owned by a live lease; nothing to do.
    NotClaimable {
        /// Its current status.
        status: JobStatus,
        /// Its current owner, if running.
        worker_id: Option<String>,
    },
}

/// Takes a queued or retrying job, or a running one whose lease expired, for `worker_id`.
pub async fn claim(
    conn: &mut PgConnection,
    id: Uuid,
    worker_id: &str,
    lease_secs: f64,
) -> Result<ClaimOutcome, DbError> {
    let sql = format!(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, worker_id = $2, \
           lease_expires_at = now() + make_interval(secs => $3), heartbeat_at = now(), \
           started_at = COALESCE(started_at, now()), next_attempt_at = NULL, updated_at = now() \
         WHERE id = $1 AND cancel_requested_at IS NULL \
           AND (status IN ('queued', 'retrying') \
                OR (status = 'running' AND lease_expires_at < now())) \
         RETURNING {JOB_COLUMNS}"
    );
    if let Some(row) = sqlx::query_as::<_, JobRow>(AssertSqlSafe(sql))
        .bind(id)
        .bind(worker_id)
        .bind(lease_secs)
        .fetch_optional(&mut *conn)
        .await?
    {
        return Ok(ClaimOutcome::Claimed(Box::new(row)));
    }
    // A cancel asked of a running job whose worker died has nobody left to honour it: finish it.
    sqlx::query(
        "UPDATE jobs SET status = 'cancelled', finished_at = now(), lease_expires_at = NULL, \
           updated_at = now() \
         WHERE id = $1 AND status = 'running' AND cancel_requested_at IS NOT NULL \
           AND lease_expires_at < now()",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    let current: Option<(String, Option<String>)> =
        sqlx::query_as("SELECT status::text, worker_id FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(match current {
        None => ClaimOutcome::NotFound,
        Some((status, worker_id)) => ClaimOutcome::NotClaimable {
            status: JobStatus::parse(&status).unwrap_or(JobStatus::Failed),
            worker_id,
        },
    })
}

/// Extends the lease of a job this worker runs; false when the worker no longer owns it
/// (or cancellation was requested, which the worker must then honour).
pub async fn heartbeat(
    pool: &PgPool,
    id: Uuid,
    worker_id: &str,
    lease_secs: f64,
) -> Result<bool, DbError> {
    let owned: Option<bool> = sqlx::query_scalar(
        "UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $3), heartbeat_at = now() \
         WHERE id = $1 AND status = 'running' AND worker_id = $2 \
         RETURNING cancel_requested_at IS NULL",
    )
    .bind(id)
    .bind(worker_id)
    .bind(lease_secs)
    .fetch_optional(pool)
    .await?;
    Ok(owned.unwrap_or(false))
}

/// Marks a job this worker owns as succeeded with its outputs; false if it no longer owns it.
pub async fn succeed(
    conn: &mut PgConnection,
    id: Uuid,
    worker_id: &str,
    outputs: &Value,
) -> Result<Option<JobRow>, DbError> {
    let sql = format!(
        "UPDATE jobs SET status = 'succeeded', outputs = $3, finished_at = now(), \
           lease_expires_at = NULL, error_code = NULL, error_message = NULL, updated_at = now() \
         WHERE id = $1 AND status = 'running' AND worker_id = $2 \
         RETURNING {JOB_COLUMNS}"
    );
    Ok(sqlx::query_as::<_, JobRow>(AssertSqlSafe(sql))
        .bind(id)
        .bind(worker_id)
        .bind(outputs)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Marks a job this worker owns as failed for good.
pub async fn fail(
    conn: &mut PgConnection,
    id: Uuid,
    worker_id: &str,
    code: &str,
    message: &str,
) -> Result<Option<JobRow>, DbError> {
    let sql = format!(
        "UPDATE jobs SET status = 'failed', error_code = $3, error_message = $4, \
           finished_at = now(), lease_expires_at = NULL, updated_at = now() \
         WHERE id = $1 AND status = 'running' AND worker_id = $2 \
         RETURNING {JOB_COLUMNS}"
    );
    Ok(sqlx::query_as::<_, JobRow>(AssertSqlSafe(sql))
        .bind(id)
        .bind(worker_id)
        .bind(code)
        .bind(message)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Puts a job this worker owns into `retrying` until `next_attempt_at`, keeping the last error.
pub async fn retry_later(
    conn: &mut PgConnection,
    id: Uuid,
    worker_id: &str,
    code: &str,
    message: &str,
    delay_secs: f64,
) -> Result<Option<JobRow>, DbError> {
    let sql = format!(
        "UPDATE jobs SET status = 'retrying', error_code = $3, error_message = $4, \
           next_attempt_at = now() + make_interval(secs => $5), lease_expires_at = NULL, \
           updated_at = now() \
         WHERE id = $1 AND status = 'running' AND worker_id = $2 \
         RETURNING {JOB_COLUMNS}"
    );
    Ok(sqlx::query_as::<_, JobRow>(AssertSqlSafe(sql))
        .bind(id)
        .bind(worker_id)
        .bind(code)
        .bind(message)
        .bind(delay_secs)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Ends a running job this worker owns as `cancelled`, once cancellation was asked for.
pub async fn cancelled(
    conn: &mut PgConnection,
    id: Uuid,
    worker_id: &str,
) -> Result<Option<JobRow>, DbError> {
    let sql = format!(
        "UPDATE jobs SET status = 'cancelled', finished_at = now(), lease_expires_at = NULL, \
           updated_at = now() \
         WHERE id = $1 AND status = 'running' AND worker_id = $2 \
           AND cancel_requested_at IS NOT NULL \
         RETURNING {JOB_COLUMNS}"
    );
    Ok(sqlx::query_as::<_, JobRow>(AssertSqlSafe(sql))
        .bind(id)
        .bind(worker_id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Whether cancellation of the job was asked for (checked often by the worker running it).
pub async fn cancel_requested(pool: &PgPool, id: Uuid) -> Result<bool, DbError> {
    let requested: Option<bool> =
        sqlx::query_scalar("SELECT cancel_requested_at IS NOT NULL FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    Ok(requested.unwrap_or(true))
}

/// Notes that the job's message went to the dead-letter queue.
pub async fn mark_dead_lettered(conn: &mut PgConnection, id: Uuid) -> Result<(), DbError> {
    sqlx::query("UPDATE jobs SET dead_lettered_at = now() WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Gives a running job back to the queue (graceful shutdown): lease cleared, attempt not counted.
pub async fn release(conn: &mut PgConnection, id: Uuid, worker_id: &str) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE jobs SET status = 'queued', attempts = GREATEST(attempts - 1, 0), \
           lease_expires_at = NULL, updated_at = now() \
         WHERE id = $1 AND status = 'running' AND worker_id = $2",
    )
    .bind(id)
    .bind(worker_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
