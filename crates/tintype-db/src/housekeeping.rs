//! The scheduler's housekeeping statements: the stuck-job reaper and retention. Both take rows
//! with `FOR UPDATE SKIP LOCKED` in bounded batches, so replicas share the work and no pass
//! loads everything at once.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Postgres, Transaction};

use crate::DbError;
use crate::jobs::{JOB_COLUMNS, JobRow};

/// A running job the reaper took back, with the worker that had it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Reaped {
    /// The job after the change: `queued` again, `failed` on its last attempt, or `cancelled`
    /// when cancellation had been asked for.
    #[sqlx(flatten)]
    pub job: JobRow,
    /// The worker whose lease expired.
    pub previous_worker: Option<String>,
}

/// Takes back up to `limit` running jobs whose lease expired more than `grace_secs` ago (so no
/// worker re-claimed them on a redelivery in the meantime): a job with attempts left is queued
/// again, one on its last attempt fails with `code`/`message`, one whose cancellation was asked
/// for ends cancelled. The caller announces each in the same transaction.
pub async fn reap_expired_leases(
    tx: &mut Transaction<'_, Postgres>,
    grace_secs: f64,
    limit: i64,
    code: &str,
    message: &str,
) -> Result<Vec<Reaped>, DbError> {
    let sql = format!(
        "WITH stuck AS ( \
           SELECT id AS stuck_id, worker_id AS previous_worker FROM jobs \
           WHERE status = 'running' AND lease_expires_at < now() - make_interval(secs => $1) \
           ORDER BY lease_expires_at LIMIT $2 FOR UPDATE SKIP LOCKED) \
         UPDATE jobs SET \
           status = CASE WHEN cancel_requested_at IS NOT NULL THEN 'cancelled'::job_status \
                         WHEN attempts >= max_attempts THEN 'failed'::job_status \
                         ELSE 'queued'::job_status END, \
           error_code = CASE WHEN cancel_requested_at IS NULL AND attempts >= max_attempts \
                             THEN $3 ELSE error_code END, \
           error_message = CASE WHEN cancel_requested_at IS NULL AND attempts >= max_attempts \
                                THEN $4 ELSE error_message END, \
           finished_at = CASE WHEN cancel_requested_at IS NOT NULL OR attempts >= max_attempts \
                              THEN now() END, \
           lease_expires_at = NULL, next_attempt_at = NULL, updated_at = now() \
         FROM stuck WHERE jobs.id = stuck.stuck_id \
         RETURNING {JOB_COLUMNS}, stuck.previous_worker"
    );
    Ok(sqlx::query_as::<_, Reaped>(AssertSqlSafe(sql))
        .bind(grace_secs)
        .bind(limit)
        .bind(code)
        .bind(message)
        .fetch_all(&mut **tx)
        .await?)
}

/// Locks up to `limit` final jobs (succeeded, failed, cancelled) that finished before `cutoff`,
/// oldest first, for retention; rows another scheduler holds are skipped.
pub async fn lock_expired(
    tx: &mut Transaction<'_, Postgres>,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<JobRow>, DbError> {
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM jobs \
         WHERE status IN ('succeeded', 'failed', 'cancelled') AND finished_at < $1 \
         ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED"
    );
    Ok(sqlx::query_as::<_, JobRow>(AssertSqlSafe(sql))
        .bind(cutoff)
        .bind(limit)
        .fetch_all(&mut **tx)
        .await?)
}

/// Marks a locked job `expired` once its objects are gone; its outputs list goes with them.
pub async fn mark_expired(
    tx: &mut Transaction<'_, Postgres>,
    id: uuid::Uuid,
) -> Result<Option<JobRow>, DbError> {
    let sql = format!(
        "UPDATE jobs SET status = 'expired', outputs = '[]'::jsonb, updated_at = now() \
         WHERE id = $1 AND status IN ('succeeded', 'failed', 'cancelled') \
         RETURNING {JOB_COLUMNS}"
    );
    Ok(sqlx::query_as::<_, JobRow>(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?)
}
