//! What clients and operators do to existing jobs: cancel, retry, and read the dead letters. Each
//! action is one conditional statement, so it is safe against racing workers and repeated clicks.

use chrono::{DateTime, Utc};
use shared_protocol::JobStatus;
// Dynamic SQL here is only ever built from the constant column list, never from input.
use sqlx::{AssertSqlSafe, PgConnection, PgPool};
use uuid::Uuid;

use crate::DbError;
use crate::jobs::{JOB_COLUMNS, JobRow};

/// What a cancel request did.
#[derive(Debug)]
pub enum CancelOutcome {
    /// The job was waiting (queued or retrying) and is now `cancelled`; no worker will start it.
    Cancelled(Box<JobRow>),
    /// The job is running; its worker stops at the next step boundary and ends it `cancelled`.
    Requested(Box<JobRow>),
    /// The job had already finished.
    AlreadyFinal(JobStatus),
    /// No such job.
    NotFound,
}

/// Cancels a waiting job at once, or asks the worker running it to stop. Durable: the fact is in
/// the database, so a worker that was down when it happened still never starts the job.
pub async fn cancel(conn: &mut PgConnection, id: Uuid) -> Result<CancelOutcome, DbError> {
    // In SET, `status` is the old value: waiting jobs end now, running ones get the request.
    let sql = format!(
        "UPDATE jobs SET cancel_requested_at = COALESCE(cancel_requested_at, now()), \
           finished_at = CASE WHEN status = 'running' THEN finished_at ELSE now() END, \
           next_attempt_at = CASE WHEN status = 'running' THEN next_attempt_at END, \
           status = CASE WHEN status = 'running' THEN status ELSE 'cancelled'::job_status END, \
           updated_at = now() \
         WHERE id = $1 AND status IN ('queued', 'retrying', 'running') \
         RETURNING {JOB_COLUMNS}"
    );
    if let Some(row) = sqlx::query_as::<_, JobRow>(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    {
        return Ok(if row.status() == JobStatus::Cancelled {
            CancelOutcome::Cancelled(Box::new(row))
        } else {
            CancelOutcome::Requested(Box::new(row))
        });
    }
    Ok(match current_status(conn, id).await? {
        Some(status) => CancelOutcome::AlreadyFinal(status),
        None => CancelOutcome::NotFound,
    })
}

/// What a retry request did.
#[derive(Debug)]
pub enum RetryOutcome {
    /// The job is queued again with `budget` more attempts.
    Queued(Box<JobRow>),
    /// The job is not in a state that can be retried (only `failed` can).
    NotRetryable(JobStatus),
    /// No such job.
    NotFound,
}

/// Queues a failed job again as a new attempt with a fresh budget of `budget` attempts, clearing
/// its error and dead-letter mark; its history is kept.
pub async fn retry(
    conn: &mut PgConnection,
    id: Uuid,
    budget: i32,
) -> Result<RetryOutcome, DbError> {
    let sql = format!(
        "UPDATE jobs SET status = 'queued', max_attempts = attempts + $2, error_code = NULL, \
           error_message = NULL, finished_at = NULL, dead_lettered_at = NULL, \
           next_attempt_at = NULL, lease_expires_at = NULL, updated_at = now() \
         WHERE id = $1 AND status = 'failed' \
         RETURNING {JOB_COLUMNS}"
    );
    if let Some(row) = sqlx::query_as::<_, JobRow>(AssertSqlSafe(sql))
        .bind(id)
        .bind(budget.max(1))
        .fetch_optional(&mut *conn)
        .await?
    {
        return Ok(RetryOutcome::Queued(Box::new(row)));
    }
    Ok(match current_status(conn, id).await? {
        Some(status) => RetryOutcome::NotRetryable(status),
        None => RetryOutcome::NotFound,
    })
}

/// Dead-lettered jobs, most recent first, `limit` at a time, older than `before` if given.
pub async fn dead_letters(
    pool: &PgPool,
    limit: i64,
    before: Option<(DateTime<Utc>, Uuid)>,
) -> Result<Vec<JobRow>, DbError> {
    let (at, id) = before.unzip();
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM jobs \
         WHERE dead_lettered_at IS NOT NULL AND status = 'failed' \
           AND ($2::timestamptz IS NULL OR (dead_lettered_at, id) < ($2, $3)) \
         ORDER BY dead_lettered_at DESC, id DESC LIMIT $1"
    );
    Ok(sqlx::query_as::<_, JobRow>(AssertSqlSafe(sql))
        .bind(limit)
        .bind(at)
        .bind(id)
        .fetch_all(pool)
        .await?)
}

async fn current_status(conn: &mut PgConnection, id: Uuid) -> Result<Option<JobStatus>, DbError> {
    let status: Option<String> = sqlx::query_scalar("SELECT status::text FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(status.map(|s| JobStatus::parse(&s).unwrap_or(JobStatus::Failed)))
}

/// What recording a message RabbitMQ dead-lettered did to its job.
#[derive(Debug)]
pub enum DeadLetterOutcome {
    /// The job was still waiting, or running on an expired lease: it is now `failed` and listed
    /// in the dead letters.
    Failed(Box<JobRow>),
    /// The job is final already (the worker's own copy of an exhausted job) or runs on a live
    /// lease (its owner finishes it; the reaper takes it if the owner dies): nothing changed.
    Unchanged(JobStatus),
    /// No such job.
    NotFound,
}

/// Records a job message the broker dead-lettered (delivered too often without an outcome): a job
/// nobody is working on any more is failed with `code` and `message`, so it is never left waiting
/// for a message that no longer exists.
pub async fn dead_lettered(
    conn: &mut PgConnection,
    id: Uuid,
    code: &str,
    message: &str,
) -> Result<DeadLetterOutcome, DbError> {
    let sql = format!(
        "UPDATE jobs SET status = 'failed', error_code = $2, error_message = $3, \
           finished_at = now(), lease_expires_at = NULL, next_attempt_at = NULL, \
           dead_lettered_at = COALESCE(dead_lettered_at, now()), updated_at = now() \
         WHERE id = $1 AND (status IN ('queued', 'retrying') \
           OR (status = 'running' AND (lease_expires_at IS NULL OR lease_expires_at < now()))) \
         RETURNING {JOB_COLUMNS}"
    );
    if let Some(row) = sqlx::query_as::<_, JobRow>(AssertSqlSafe(sql))
        .bind(id)
        .bind(code)
        .bind(message)
        .fetch_optional(&mut *conn)
        .await?
    {
        return Ok(DeadLetterOutcome::Failed(Box::new(row)));
    }
    Ok(match current_status(conn, id).await? {
        Some(status) => DeadLetterOutcome::Unchanged(status),
        None => DeadLetterOutcome::NotFound,
    })
}

/// What a delete request did.
#[derive(Debug)]
pub enum DeleteOutcome {
    /// The job is `deleted` (now or before); its stored objects may be removed.
    Deleted(Box<JobRow>),
    /// The job is still waiting or running.
    NotFinal(JobStatus),
    /// No such job.
    NotFound,
}

/// Marks a finished job `deleted` and forgets its outputs; repeating it is harmless, so a delete
/// whose object removal failed can simply be sent again.
pub async fn delete(conn: &mut PgConnection, id: Uuid) -> Result<DeleteOutcome, DbError> {
    let sql = format!(
        "UPDATE jobs SET status = 'deleted', outputs = '[]'::jsonb, updated_at = now() \
         WHERE id = $1 AND status IN ('succeeded', 'failed', 'cancelled', 'expired', 'deleted') \
         RETURNING {JOB_COLUMNS}"
    );
    if let Some(row) = sqlx::query_as::<_, JobRow>(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    {
        return Ok(DeleteOutcome::Deleted(Box::new(row)));
    }
    Ok(match current_status(conn, id).await? {
        Some(status) => DeleteOutcome::NotFinal(status),
        None => DeleteOutcome::NotFound,
    })
}
