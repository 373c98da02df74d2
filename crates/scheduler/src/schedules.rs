//! Firing schedules. Every tick loop pass claims due schedules one at a time with
//! `FOR UPDATE SKIP LOCKED`; in that one transaction it records the tick in `schedule_runs`
//! (unique per schedule and tick), submits the job through the same path as the gateway (job row,
//! history, outbox) and advances `next_fire_at`. So with any number of replicas, and across
//! restarts, each tick makes exactly one job: a replica that crashes before commit leaves the tick
//! due for the next pass, and no advisory lock is held on a pooled connection.

use std::time::Duration;

use chrono::{DateTime, Utc};
use prometheus_client::metrics::counter::Counter;
use serde_json::{Map, Value, json};
use shared_protocol::schedule;
use sqlx::PgPool;
use tintype_broker::Publisher;
use tintype_db::schedules::{NewRun, ScheduleRow};
use tintype_db::{DbError, NewJob};
use tintype_telemetry::propagation;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

/// Ticks handled per pass at most, so one pass cannot starve shutdown.
const MAX_PER_PASS: usize = 500;
/// Attempts and time limit of a scheduled job whose recipe names none (the gateway fills in its
/// own defaults when it saves a schedule, so these only cover rows written by hand).
const DEFAULT_MAX_ATTEMPTS: i32 = 3;
const DEFAULT_TIMEOUT_SECS: i32 = 120;

/// Runs the tick loop every `tick` until cancelled, counting handled ticks in `ticks`.
pub async fn run(
    pool: PgPool,
    publisher: Publisher,
    tick: Duration,
    grace: Duration,
    ticks: Counter,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(tick) => {}
        }
        match fire_due(&pool, &publisher, Utc::now(), grace).await {
            Ok(0) => {}
            Ok(handled) => {
                ticks.inc_by(handled as u64);
                tracing::debug!(handled, "schedule ticks handled");
            }
            Err(err) => tracing::warn!(error = %err, "schedule pass failed"),
        }
    }
}

/// Handles every tick due at `now`, one transaction each; returns how many were handled.
pub async fn fire_due(
    pool: &PgPool,
    publisher: &Publisher,
    now: DateTime<Utc>,
    grace: Duration,
) -> Result<usize, DbError> {
    let mut handled = 0;
    while handled < MAX_PER_PASS {
        let Some(outbox_ids) = fire_one(pool, publisher, now, grace).await? else {
            break;
        };
        handled += 1;
        if !outbox_ids.is_empty()
            && let Err(err) =
                tintype_broker::outbox::publish_ids(pool, publisher, &outbox_ids).await
        {
            tracing::warn!(error = %err, "publish of a scheduled job deferred to the outbox relay");
        }
    }
    Ok(handled)
}

/// Claims and handles one due tick; `None` when nothing is due.
async fn fire_one(
    pool: &PgPool,
    publisher: &Publisher,
    now: DateTime<Utc>,
    grace: Duration,
) -> Result<Option<Vec<i64>>, DbError> {
    let mut tx = pool.begin().await?;
    let Some(schedule) = tintype_db::schedules::lock_due(&mut tx, now).await? else {
        tx.rollback().await?;
        return Ok(None);
    };
    let Some(due) = schedule.next_fire_at else {
        tx.rollback().await?;
        return Ok(None);
    };
    let (timing, tz, misfire) = match schedule.timing() {
        Ok(parts) => parts,
        Err(err) => {
            // Validated when saved, so only a row written by hand gets here: stop it, loudly.
            tracing::error!(schedule.id = %schedule.id, error = %err, "schedule has an invalid timing; it stops firing");
            tintype_db::schedules::advance(&mut tx, schedule.id, due, None).await?;
            tx.commit().await?;
            return Ok(Some(Vec::new()));
        }
    };
    let step = schedule::step(&timing, tz, misfire, due, now, grace);
    let span = tracing::info_span!(
        "schedule tick",
        schedule.id = %schedule.id,
        fire_at = %step.fire_at,
        outcome = step.outcome.as_str(),
    );
    async move {
        let recorded = tintype_db::schedules::record_run(
            &mut tx,
            &NewRun {
                schedule_id: schedule.id,
                fire_at: step.fire_at,
                job_id: None,
                outcome: step.outcome.as_str(),
                missed_until: step.outcome.missed_until(),
            },
        )
        .await?;
        let mut outbox_ids = Vec::new();
        if recorded && step.outcome.creates_job() {
            let job = scheduled_job(&schedule);
            let detail = json!({
                "schedule_id": schedule.id,
                "fire_at": step.fire_at,
                "outcome": step.outcome.as_str(),
                "missed_until": step.outcome.missed_until(),
            });
            let (row, ids) = tintype_db::submit::queue_job(
                &mut tx,
                publisher.topology(),
                &job,
                Some(detail),
                &propagation::current_headers_json(),
            )
            .await?;
            tintype_db::schedules::attach_job(&mut tx, schedule.id, step.fire_at, row.id).await?;
            outbox_ids = ids;
            tracing::info!(job.id = %row.id, "schedule fired");
        } else if recorded {
            tracing::info!(missed_until = ?step.outcome.missed_until(), "missed ticks skipped");
        } else {
            tracing::warn!("tick was recorded before; advancing without a job");
        }
        tintype_db::schedules::advance(&mut tx, schedule.id, step.fire_at, step.next_fire_at)
            .await?;
        tx.commit().await?;
        Ok(Some(outbox_ids))
    }
    .instrument(span)
    .await
}

/// The job a schedule makes: its recipe with the schedule's source, priority and metadata
/// (the recipe's, the schedule's, and `schedule_id`), submitted like any other.
pub fn scheduled_job(schedule: &ScheduleRow) -> NewJob {
    let mut recipe = match &schedule.recipe {
        Value::Object(fields) => fields.clone(),
        _ => Map::new(),
    };
    let mut metadata = match recipe.get("metadata") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    if let Value::Object(extra) = &schedule.metadata {
        metadata.extend(extra.clone());
    }
    metadata.insert("schedule_id".into(), json!(schedule.id));
    let source = match (&schedule.source_url, &schedule.source_key) {
        (Some(url), _) => json!({"url": url}),
        (None, key) => json!({"object": key}),
    };
    let priority = schedule.priority();
    recipe.insert("source".into(), source);
    recipe.insert("priority".into(), json!(priority));
    recipe.insert("metadata".into(), Value::Object(metadata.clone()));
    let number = |name: &str, default: i32| {
        recipe
            .get(name)
            .and_then(Value::as_i64)
            .and_then(|n| i32::try_from(n).ok())
            .unwrap_or(default)
    };
    let max_attempts = number("max_attempts", DEFAULT_MAX_ATTEMPTS);
    let timeout_secs = number("timeout_secs", DEFAULT_TIMEOUT_SECS);
    NewJob {
        id: Uuid::now_v7(),
        priority,
        recipe: Value::Object(recipe),
        source_key: schedule.source_key.clone(),
        source_url: schedule.source_url.clone(),
        source_info: None,
        metadata: Value::Object(metadata),
        max_attempts,
        timeout_secs,
        trace_id: propagation::current_trace_id(),
    }
}
