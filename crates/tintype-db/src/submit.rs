//! Submitting a job: the one path every producer takes (the gateway's `POST /v1/jobs`, the
//! scheduler's schedules), so a job never exists without its history entry and its messages.

use serde_json::Value;
use shared_protocol::topology::Topology;
use sqlx::{Postgres, Transaction};

use crate::DbError;
use crate::jobs::{self, JobRow, NewJob};

/// Inserts a queued job with its `queued` history entry and its outbox messages (the job message
/// for its priority queue and the `queued` event) in the caller's transaction; returns the row
/// and the outbox ids to publish after commit.
pub async fn queue_job(
    tx: &mut Transaction<'_, Postgres>,
    topology: &Topology,
    job: &NewJob,
    detail: Option<Value>,
    headers: &Value,
) -> Result<(JobRow, Vec<i64>), DbError> {
    let (mut rows, ids) = queue_jobs(
        tx,
        topology,
        std::slice::from_ref(job),
        detail,
        std::slice::from_ref(headers),
    )
    .await?;
    let row = rows.pop().ok_or(DbError::Sqlx(sqlx::Error::RowNotFound))?;
    Ok((row, ids))
}

/// [`queue_job`] for many jobs in three statements, whatever their number (the gateway's group
/// commit); `headers[i]` belongs to `jobs[i]`. Returns the rows in order and every outbox id.
pub async fn queue_jobs(
    tx: &mut Transaction<'_, Postgres>,
    topology: &Topology,
    jobs: &[NewJob],
    detail: Option<Value>,
    headers: &[Value],
) -> Result<(Vec<JobRow>, Vec<i64>), DbError> {
    let rows = jobs::insert_many(tx, jobs).await?;
    let ids = crate::announce::queued_many(tx, topology, &rows, detail, headers).await?;
    Ok((rows, ids))
}
