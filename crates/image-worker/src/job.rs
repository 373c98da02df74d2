//! Handling one delivery: claim the job with a conditional update, run it under a lease and a time
//! limit, record the outcome durably, and only then ack. A message for a job that is finished,
//! cancelled or unknown is acked and dropped; one for a job another live worker owns is parked in
//! a delay queue, so it comes back if that worker dies.

use std::future::Future;
use std::time::{Duration, Instant};

use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicNackOptions, BasicRejectOptions};
use serde_json::json;
use shared_protocol::events::EventKind;
use shared_protocol::job::{JOB_MESSAGE_VERSION, JobMessage, original_key};
use shared_protocol::topology::{MESSAGE_TYPE_JOB, Topology};
use shared_protocol::{ErrorCode, JobStatus};
use sqlx::PgConnection;
use tintype_db::{ClaimOutcome, DbError, JobRow};
use tokio_util::task::AbortOnDropHandle;
use tracing::Instrument;

use crate::context::Ctx;
use crate::error::JobError;
use crate::process::{self, StopFlag};

/// How long state writes are retried through a database outage before the delivery is handed back.
const DB_RETRY_WINDOW: Duration = Duration::from_secs(60);

/// Retries a database operation while its failure is transient.
async fn with_db_retry<T, F, Fut>(what: &str, mut op: F) -> Result<T, DbError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, DbError>>,
{
    let started = Instant::now();
    let mut delay = Duration::from_millis(100);
    loop {
        match op().await {
            Err(err) if err.is_transient() && started.elapsed() < DB_RETRY_WINDOW => {
                tracing::warn!(error = %err, "{what}: database unavailable, retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            other => return other,
        }
    }
}

/// Handles one delivery to completion (ack, nack or reject).
pub async fn handle(ctx: Ctx, delivery: Delivery) {
    let message: JobMessage = match serde_json::from_slice(&delivery.data) {
        Ok(
            message @ JobMessage {
                v: JOB_MESSAGE_VERSION,
                ..
            },
        ) => message,
        Ok(other) => {
            tracing::error!(
                version = other.v,
                "job message of an unknown version; dead-lettering it"
            );
            ctx.metrics.dead_letters.inc();
            let _ = delivery
                .acker
                .reject(BasicRejectOptions { requeue: false })
                .await;
            return;
        }
        Err(err) => {
            tracing::error!(error = %err, "unreadable job message; dead-lettering it");
            ctx.metrics.dead_letters.inc();
            let _ = delivery
                .acker
                .reject(BasicRejectOptions { requeue: false })
                .await;
            return;
        }
    };
    let span = crate::trace::consume_span(&delivery, &message, &ctx.worker_id);
    handle_message(ctx, delivery, message)
        .instrument(span)
        .await;
}

async fn handle_message(ctx: Ctx, delivery: Delivery, message: JobMessage) {
    // An uploaded original's key follows from the job id: download it while the claim commits
    // (about as long). Used only if the claimed job names that key; otherwise dropped.
    let original = original_key(message.job_id);
    // Dropped unawaited (a message needing no work, another source), the download is cancelled.
    let prefetch = AbortOnDropHandle::new(tokio::spawn({
        let ctx = ctx.clone();
        let key = original.clone();
        async move { ctx.storage.get(&key, ctx.limits.max_source_bytes).await }
            .instrument(tracing::info_span!("download original", key = %original))
    }));
    let claimed = with_db_retry("claim", || claim(&ctx, &message))
        .instrument(tintype_telemetry::propagation::db_span("UPDATE", "jobs"))
        .await;
    let (job, outbox_ids) = match claimed {
        Ok((ClaimOutcome::Claimed(job), ids)) => (*job, ids),
        Ok((ClaimOutcome::NotFound, _)) => {
            tracing::warn!("message for an unknown job; dropping it");
            let _ = delivery.acker.ack(BasicAckOptions::default()).await;
            return;
        }
        Ok((
            ClaimOutcome::NotClaimable {
                status: JobStatus::Running,
                worker_id,
            },
            _,
        )) => {
            // Another worker holds a live lease. Park the message: if that worker dies, the copy
            // comes back after the lease has expired and this or another worker takes over.
            tracing::info!(owner = ?worker_id, "job runs elsewhere; parking the duplicate message");
            park(&ctx, &delivery, &message).await;
            return;
        }
        Ok((ClaimOutcome::NotClaimable { status, .. }, _)) => {
            tracing::info!(%status, "job needs no work; dropping the message");
            ctx.metrics.outcome("skipped");
            let _ = delivery.acker.ack(BasicAckOptions::default()).await;
            return;
        }
        Err(err) => {
            tracing::error!(error = %err, "could not claim the job; handing the message back");
            let _ = delivery
                .acker
                .nack(BasicNackOptions {
                    requeue: true,
                    multiple: false,
                })
                .await;
            return;
        }
    };
    // The "started" events are for watchers, not for the work: they go out beside the job (a
    // commit and a broker confirm off the job's path), and are done before the outcome's events
    // are published, so watchers still see them in order.
    let started_events = tokio::spawn({
        let ctx = ctx.clone();
        async move { publish_now(&ctx, &outbox_ids).await }.in_current_span()
    });
    let wait = (chrono::Utc::now() - message.enqueued_at)
        .num_milliseconds()
        .max(0) as f64
        / 1000.0;
    ctx.metrics.queue_wait_seconds.observe(wait);
    ctx.metrics.busy_slots.inc();
    ctx.activity.started(job.id);
    let started = Instant::now();
    tracing::info!(attempt = job.attempts, "job started");

    let stop = StopFlag::default();
    let heartbeat = tokio::spawn(heartbeat(ctx.clone(), job.id, stop.clone()));
    let limit = Duration::from_secs(job.timeout_secs.max(1) as u64);
    let prefetched = (job.source_key.as_deref() == Some(original.as_str())).then_some(prefetch);
    let work = process::run(&ctx, &job, &stop, prefetched);
    let result = match tokio::time::timeout(limit, work).await {
        Ok(result) => result,
        Err(_) => Err(JobError::abort(
            ErrorCode::Timeout,
            format!("the job ran past its time limit of {}s", limit.as_secs()),
        )),
    };
    heartbeat.abort();
    ctx.metrics.busy_slots.dec();
    ctx.metrics
        .processing_seconds
        .observe(started.elapsed().as_secs_f64());

    let finished = with_db_retry("record outcome", || finish(&ctx, &job, &result))
        .instrument(tintype_telemetry::propagation::db_span("UPDATE", "jobs"))
        .await;
    match finished {
        Ok((outcome, ids)) => {
            ctx.metrics.outcome(outcome);
            ctx.activity
                .finished(job.id, matches!(outcome, "failed" | "timeout"));
            tracing::info!(
                outcome,
                duration_ms = started.elapsed().as_millis() as u64,
                "job attempt finished"
            );
            if outcome == "released" {
                let requeue = BasicNackOptions {
                    requeue: true,
                    multiple: false,
                };
                let _ = delivery.acker.nack(requeue).await;
            } else {
                let _ = delivery.acker.ack(BasicAckOptions::default()).await;
            }
            let _ = started_events.await;
            publish_now(&ctx, &ids).await;
        }
        Err(err) => {
            ctx.activity.finished(job.id, false);
            // The outcome is not recorded; hand the message back. The job keeps its lease until
            // it expires, then a redelivery takes it over.
            tracing::error!(error = %err, "could not record the outcome; handing the message back");
            let _ = delivery
                .acker
                .nack(BasicNackOptions {
                    requeue: true,
                    multiple: false,
                })
                .await;
        }
    }
}

/// Claims the job and, in the same transaction, records the start in its history and outbox.
async fn claim(ctx: &Ctx, message: &JobMessage) -> Result<(ClaimOutcome, Vec<i64>), DbError> {
    let mut tx = ctx.pool.begin().await?;
    let outcome = tintype_db::jobs::claim(
        &mut tx,
        message.job_id,
        &ctx.worker_id,
        f64::from(ctx.lease_secs),
    )
    .await?;
    let mut ids = Vec::new();
    if let ClaimOutcome::Claimed(job) = &outcome {
        let detail =
            json!({"queue_wait_ms": (chrono::Utc::now() - message.enqueued_at).num_milliseconds()});
        ids.push(record(&mut tx, ctx, job, EventKind::Started, Some(detail)).await?);
    }
    tx.commit().await?;
    Ok((outcome, ids))
}

/// Records the attempt's outcome; returns the outcome's name and the outbox rows to publish.
async fn finish(
    ctx: &Ctx,
    job: &JobRow,
    result: &Result<Vec<shared_protocol::job::OutputRecord>, JobError>,
) -> Result<(&'static str, Vec<i64>), DbError> {
    let mut tx = ctx.pool.begin().await?;
    // A webhook queued by this transaction continues this job's trace.
    tintype_db::webhooks::set_trace_context(
        &mut tx,
        &tintype_telemetry::propagation::current_headers(),
    )
    .await?;
    let worker = ctx.worker_id.as_str();
    let mut ids = Vec::new();
    let outcome = match result {
        Ok(outputs) => {
            let value = serde_json::to_value(outputs).unwrap_or_default();
            match tintype_db::jobs::succeed(&mut tx, job.id, worker, &value).await? {
                Some(row) => {
                    let names: Vec<&str> = outputs.iter().map(|o| o.name.as_str()).collect();
                    ids.push(
                        record(
                            &mut tx,
                            ctx,
                            &row,
                            EventKind::Succeeded,
                            Some(json!({"outputs": names})),
                        )
                        .await?,
                    );
                    "succeeded"
                }
                None => "lost",
            }
        }
        Err(JobError::Stopped) => {
            match tintype_db::jobs::cancelled(&mut tx, job.id, worker).await? {
                Some(row) => {
                    tracing::info!("job cancelled while running");
                    ids.push(record(&mut tx, ctx, &row, EventKind::Cancelled, None).await?);
                    "cancelled"
                }
                None => {
                    // Shutting down past the grace period: back to the queue for another worker.
                    // Otherwise the lease was taken over and the new owner finishes the job.
                    let released = ctx.hand_back.is_cancelled()
                        && tintype_db::jobs::release(&mut tx, job.id, worker).await?;
                    if released {
                        tracing::info!("shutting down; job handed back to the queue");
                        "released"
                    } else {
                        "stopped"
                    }
                }
            }
        }
        Err(JobError::Abort { code, message }) => {
            fail(&mut tx, ctx, job, code.as_str(), message, &mut ids).await?
        }
        Err(JobError::Retry { code, message }) if job.attempts < job.max_attempts => {
            let delay = retry_delay(job.attempts);
            let tier = Topology::retry_tier(delay);
            match tintype_db::jobs::retry_later(
                &mut tx,
                job.id,
                worker,
                code.as_str(),
                message,
                f64::from(tier),
            )
            .await?
            {
                Some(row) => {
                    let detail =
                        json!({"error": {"code": code, "message": message}, "retry_in_secs": tier});
                    ids.push(record(&mut tx, ctx, &row, EventKind::Retrying, Some(detail)).await?);
                    ids.push(
                        tintype_db::announce::message(
                            &mut tx,
                            ctx.topology.retry_exchange(),
                            Topology::retry_routing_key(tier, job.priority()),
                            job.id,
                            &tintype_telemetry::propagation::current_headers_json(),
                        )
                        .await?,
                    );
                    tracing::warn!(code = %code, error = %message, retry_in_secs = tier, "transient failure; retrying later");
                    "retrying"
                }
                None => "lost",
            }
        }
        Err(JobError::Retry { message, .. }) => {
            let message = format!(
                "gave up after {} attempts; last error: {message}",
                job.attempts
            );
            let outcome = fail(
                &mut tx,
                ctx,
                job,
                ErrorCode::RetriesExhausted.as_str(),
                &message,
                &mut ids,
            )
            .await?;
            // The record operators look at: a copy in the dead-letter queue and the mark that
            // `GET /v1/dead-letters` lists.
            tintype_db::jobs::mark_dead_lettered(&mut tx, job.id).await?;
            ids.push(
                tintype_db::announce::message(
                    &mut tx,
                    ctx.topology.dead_letter_exchange(),
                    job.priority().as_str().to_owned(),
                    job.id,
                    &tintype_telemetry::propagation::current_headers_json(),
                )
                .await?,
            );
            outcome
        }
    };
    tx.commit().await?;
    Ok((outcome, ids))
}

async fn fail(
    tx: &mut PgConnection,
    ctx: &Ctx,
    job: &JobRow,
    code: &str,
    message: &str,
    ids: &mut Vec<i64>,
) -> Result<&'static str, DbError> {
    match tintype_db::jobs::fail(tx, job.id, &ctx.worker_id, code, message).await? {
        Some(row) => {
            tracing::warn!(code, error = message, "job failed");
            let detail = json!({"error": {"code": code, "message": message}});
            ids.push(record(tx, ctx, &row, EventKind::Failed, Some(detail)).await?);
            Ok(if code == ErrorCode::Timeout.as_str() {
                "timeout"
            } else {
                "failed"
            })
        }
        None => Ok("lost"),
    }
}

/// Exponential backoff with jitter, before rounding up to a delay tier.
fn retry_delay(attempt: i32) -> u32 {
    let base = 5u32.saturating_mul(1 << attempt.clamp(1, 10).saturating_sub(1));
    let jitter = rand::random::<u32>() % (base / 2 + 1);
    base + jitter
}

/// Appends the event to the job's history and to the outbox; returns the outbox row id.
async fn record(
    conn: &mut PgConnection,
    ctx: &Ctx,
    job: &JobRow,
    kind: EventKind,
    detail: Option<serde_json::Value>,
) -> Result<i64, DbError> {
    tintype_db::announce::event(
        conn,
        &ctx.topology,
        job,
        kind,
        Some(&ctx.worker_id),
        detail,
        &tintype_telemetry::propagation::current_headers_json(),
    )
    .await
}

/// Publishes outbox rows now; on failure the scheduler's relay publishes them later.
async fn publish_now(ctx: &Ctx, ids: &[i64]) {
    if ids.is_empty() {
        return;
    }
    if let Err(err) = tintype_broker::outbox::publish_ids(&ctx.pool, &ctx.publisher, ids).await {
        tracing::warn!(error = %err, "publish deferred to the outbox relay");
    }
}

/// Puts a duplicate message into the longest-but-one delay queue, then acks the original.
async fn park(ctx: &Ctx, delivery: &Delivery, message: &JobMessage) {
    let Ok(payload) = serde_json::to_vec(message) else {
        return;
    };
    let tier = Topology::retry_tier(ctx.lease_secs);
    let job_priority = tintype_db::jobs::get(&ctx.pool, message.job_id)
        .await
        .ok()
        .flatten()
        .map(|j| j.priority())
        .unwrap_or_default();
    let published = ctx
        .publisher
        .publish(
            &ctx.topology.retry_exchange(),
            &Topology::retry_routing_key(tier, job_priority),
            &payload,
            MESSAGE_TYPE_JOB,
            &Default::default(),
        )
        .await;
    match published {
        Ok(()) => {
            let _ = delivery.acker.ack(BasicAckOptions::default()).await;
        }
        Err(err) => {
            tracing::warn!(error = %err, "could not park the message; handing it back");
            tokio::time::sleep(Duration::from_secs(1)).await;
            let _ = delivery
                .acker
                .nack(BasicNackOptions {
                    requeue: true,
                    multiple: false,
                })
                .await;
        }
    }
}

/// How often a running job looks for a cancel request; the promise is "stops within 1–2 s".
const CANCEL_POLL: Duration = Duration::from_millis(500);

/// Extends the lease every third of its length and looks for cancel requests in between; stops
/// the attempt when ownership is lost or cancellation is asked for.
async fn heartbeat(ctx: Ctx, job_id: uuid::Uuid, stop: StopFlag) {
    let period = Duration::from_secs_f64(f64::from(ctx.lease_secs) / 3.0);
    let mut last_beat = Instant::now();
    loop {
        tokio::select! {
            () = ctx.hand_back.cancelled() => {
                stop.stop();
                return;
            }
            () = tokio::time::sleep(CANCEL_POLL.min(period)) => {}
        }
        if matches!(
            tintype_db::jobs::cancel_requested(&ctx.pool, job_id).await,
            Ok(true)
        ) {
            tracing::info!("cancel requested; stopping the job");
            stop.stop();
            return;
        }
        if last_beat.elapsed() < period {
            continue;
        }
        last_beat = Instant::now();
        match tintype_db::jobs::heartbeat(
            &ctx.pool,
            job_id,
            &ctx.worker_id,
            f64::from(ctx.lease_secs),
        )
        .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!("lost the job (lease taken over or cancel requested); stopping it");
                stop.stop();
                return;
            }
            // A database blip: the lease has slack (three beats) before anyone may take over.
            Err(err) => tracing::warn!(error = %err, "heartbeat failed"),
        }
    }
}
