//! The stuck-job reaper. A running job's worker extends its lease by heartbeats; when the lease
//! runs out the job may be taken over by whichever worker gets its message again. A job whose
//! lease expired more than a grace period ago and that nobody took over has no message coming
//! (the worker died after acking, or the message was lost): the reaper queues it again through
//! the outbox as a new attempt, or fails it with `lease_expired` on its last attempt.

use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use serde_json::json;
use shared_protocol::ErrorCode;
use shared_protocol::JobStatus;
use shared_protocol::events::EventKind;
use sqlx::PgPool;
use tintype_broker::Publisher;
use tintype_db::DbError;
use tintype_telemetry::propagation;
use tokio_util::sync::CancellationToken;

/// Jobs taken back per transaction.
const BATCH: i64 = 100;

/// What a failed job's error says.
const LEASE_EXPIRED_MESSAGE: &str = "the worker running the job stopped renewing its lease and \
    no worker took the job over; it was on its last attempt";

/// Runs a pass every `interval` until cancelled, counting taken-back jobs in `reaped_total`.
pub async fn run(
    pool: PgPool,
    publisher: Publisher,
    interval: Duration,
    grace: Duration,
    reaped_total: Counter,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
        match pass(&pool, &publisher, grace).await {
            Ok(0) => {}
            Ok(reaped) => {
                reaped_total.inc_by(reaped as u64);
                tracing::warn!(reaped, "stuck jobs taken back from vanished workers");
            }
            Err(err) => tracing::warn!(error = %err, "reaper pass failed"),
        }
    }
}

/// Takes back every job stuck for longer than `grace` past its lease; returns how many.
pub async fn pass(pool: &PgPool, publisher: &Publisher, grace: Duration) -> Result<usize, DbError> {
    let topology = publisher.topology();
    let headers = propagation::current_headers_json();
    let mut total = 0;
    loop {
        let mut tx = pool.begin().await?;
        let reaped = tintype_db::housekeeping::reap_expired_leases(
            &mut tx,
            grace.as_secs_f64(),
            BATCH,
            ErrorCode::LeaseExpired.as_str(),
            LEASE_EXPIRED_MESSAGE,
        )
        .await?;
        let mut outbox_ids = Vec::new();
        for r in &reaped {
            let job = &r.job;
            let worker = r.previous_worker.as_deref();
            match job.status() {
                JobStatus::Queued => {
                    let detail = json!({"reason": "lease_expired", "previous_worker": worker});
                    outbox_ids.extend(
                        tintype_db::announce::queued(
                            &mut tx,
                            topology,
                            job,
                            Some(detail),
                            &headers,
                        )
                        .await?,
                    );
                    tracing::warn!(job.id = %job.id, worker, attempt = job.attempts, "stuck job queued again");
                }
                JobStatus::Failed => {
                    let detail = json!({
                        "code": ErrorCode::LeaseExpired.as_str(),
                        "message": LEASE_EXPIRED_MESSAGE,
                        "previous_worker": worker,
                    });
                    outbox_ids.push(
                        tintype_db::announce::event(
                            &mut tx,
                            topology,
                            job,
                            EventKind::Failed,
                            None,
                            Some(detail),
                            &headers,
                        )
                        .await?,
                    );
                    tracing::warn!(job.id = %job.id, worker, "stuck job failed on its last attempt");
                }
                _ => {
                    let detail = json!({"reason": "lease_expired", "previous_worker": worker});
                    outbox_ids.push(
                        tintype_db::announce::event(
                            &mut tx,
                            topology,
                            job,
                            EventKind::Cancelled,
                            None,
                            Some(detail),
                            &headers,
                        )
                        .await?,
                    );
                }
            }
        }
        tx.commit().await?;
        if !outbox_ids.is_empty()
            && let Err(err) =
                tintype_broker::outbox::publish_ids(pool, publisher, &outbox_ids).await
        {
            tracing::warn!(error = %err, "publish of reaped jobs deferred to the outbox relay");
        }
        total += reaped.len();
        if (reaped.len() as i64) < BATCH {
            return Ok(total);
        }
    }
}
