//! Retention: final jobs (succeeded, failed, cancelled) that finished longer ago than
//! `TINTYPE_RETENTION` lose their original and outputs in storage and become `expired`; the
//! record and its history stay. Jobs are taken in batches with `FOR UPDATE SKIP LOCKED`, so
//! replicas share the work and a pass never loads every expired job at once. Objects are deleted
//! before the row changes: if a delete fails the batch rolls back and the next pass repeats it
//! (deleting a missing object succeeds). Only keys the job owns are deleted, `originals/{id}` and
//! `outputs/{id}/…`: an object a schedule names as its source is the user's and stays.

use std::time::Duration;

use chrono::Utc;
use prometheus_client::metrics::counter::Counter;
use serde_json::json;
use shared_protocol::events::EventKind;
use shared_protocol::job::original_key;
use sqlx::PgPool;
use tintype_broker::Publisher;
use tintype_storage::{Storage, StorageError};
use tintype_telemetry::propagation;
use tokio_util::sync::CancellationToken;

/// Why a retention pass stopped.
#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] tintype_db::DbError),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<sqlx::Error> for RetentionError {
    fn from(err: sqlx::Error) -> Self {
        Self::Db(err.into())
    }
}

/// Parses `TINTYPE_RETENTION`: an age like `30d` or `12h`; empty or `0` turns retention off.
pub fn parse_age(text: &str) -> Result<Option<Duration>, String> {
    let text = text.trim();
    if text.is_empty() || text == "0" {
        return Ok(None);
    }
    let age = humantime::parse_duration(text)
        .map_err(|e| format!("`{text}` is not an age like `30d` or `12h`: {e}"))?;
    Ok((!age.is_zero()).then_some(age))
}

/// What retention keeps and how it works through the rest.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Age after which a final job's objects go.
    pub age: Duration,
    /// Time between passes.
    pub interval: Duration,
    /// Jobs per transaction.
    pub batch: i64,
}

/// Runs a pass every `policy.interval` until cancelled, counting expired jobs in `expired_total`.
pub async fn run(
    pool: PgPool,
    storage: Storage,
    publisher: Publisher,
    policy: Policy,
    expired_total: Counter,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(policy.interval) => {}
        }
        match pass(&pool, &storage, &publisher, policy.age, policy.batch).await {
            Ok(0) => {}
            Ok(expired) => {
                expired_total.inc_by(expired as u64);
                tracing::info!(expired, "retention expired old jobs");
            }
            Err(err) => tracing::warn!(error = %err, "retention pass failed"),
        }
    }
}

/// Expires every final job older than `age`, `batch` jobs per transaction; returns how many.
pub async fn pass(
    pool: &PgPool,
    storage: &Storage,
    publisher: &Publisher,
    age: Duration,
    batch: i64,
) -> Result<usize, RetentionError> {
    let age_delta = chrono::TimeDelta::from_std(age).unwrap_or(chrono::TimeDelta::MAX);
    let cutoff = Utc::now()
        .checked_sub_signed(age_delta)
        .unwrap_or(chrono::DateTime::<Utc>::MIN_UTC);
    let batch = batch.max(1);
    let headers = propagation::current_headers_json();
    let mut total = 0;
    loop {
        let mut tx = pool.begin().await?;
        let jobs = tintype_db::housekeeping::lock_expired(&mut tx, cutoff, batch).await?;
        let mut outbox_ids = Vec::new();
        for job in &jobs {
            let mut keys = storage.list(&format!("outputs/{}/", job.id)).await?;
            keys.push(original_key(job.id));
            for key in &keys {
                storage.delete(key).await?;
            }
            if let Some(row) = tintype_db::housekeeping::mark_expired(&mut tx, job.id).await? {
                let detail = json!({"objects_deleted": keys.len(), "finished_at": job.finished_at});
                outbox_ids.push(
                    tintype_db::announce::event(
                        &mut tx,
                        publisher.topology(),
                        &row,
                        EventKind::Expired,
                        None,
                        Some(detail),
                        &headers,
                    )
                    .await?,
                );
            }
        }
        tx.commit().await?;
        if !outbox_ids.is_empty()
            && let Err(err) =
                tintype_broker::outbox::publish_ids(pool, publisher, &outbox_ids).await
        {
            tracing::warn!(error = %err, "publish of expiry events deferred to the outbox relay");
        }
        total += jobs.len();
        if (jobs.len() as i64) < batch {
            return Ok(total);
        }
    }
}
