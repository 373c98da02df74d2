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
    let row = jobs::insert(tx, job).await?;
    let ids = crate::announce::queued(tx, topology, &row, detail, headers).await?;
    Ok((row, ids))
}
