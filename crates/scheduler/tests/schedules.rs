//! Schedules fire exactly one job per tick, however many schedulers run, and follow their
//! misfire policy after downtime.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde_json::Value;
use tintype_testkit::TestEnv;
use uuid::Uuid;

#[derive(Debug, sqlx::FromRow)]
struct Run {
    fire_at: DateTime<Utc>,
    outcome: String,
    job_id: Option<Uuid>,
    missed_until: Option<DateTime<Utc>>,
}

async fn runs(env: &TestEnv, schedule: Uuid) -> Vec<Run> {
    sqlx::query_as(
        "SELECT fire_at, outcome, job_id, missed_until FROM schedule_runs \
         WHERE schedule_id = $1 ORDER BY fire_at",
    )
    .bind(schedule)
    .fetch_all(&env.pool)
    .await
    .unwrap()
}

async fn jobs_of(env: &TestEnv, schedule: Uuid) -> Vec<tintype_db::JobRow> {
    let ids: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM jobs WHERE metadata ->> 'schedule_id' = $1 ORDER BY id")
            .bind(schedule.to_string())
            .fetch_all(&env.pool)
            .await
            .unwrap();
    let mut jobs = Vec::new();
    for id in ids {
        jobs.push(env.job(id).await);
    }
    jobs
}

async fn next_fire_at(env: &TestEnv, schedule: Uuid) -> Option<DateTime<Utc>> {
    sqlx::query_scalar("SELECT next_fire_at FROM schedules WHERE id = $1")
        .bind(schedule)
        .fetch_one(&env.pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_schedulers_fire_each_tick_of_an_every_second_schedule_exactly_once() {
    tintype_testkit::init_logs();
    let env = TestEnv::new().await;
    let first_tick = (Utc::now() + TimeDelta::seconds(1))
        .duration_trunc(TimeDelta::seconds(1))
        .unwrap();
    let schedule = common::insert_schedule(&env, None, Some(1), "fire_once", first_tick).await;
    let fast = ["--schedule-tick-ms", "50"];
    let a = common::start(common::settings(&env, &fast)).await;
    let b = common::start(common::settings(&env, &fast)).await;
    let started = Utc::now();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let stopping = Utc::now();
    tokio::join!(a.stop(), b.stop());

    let runs = runs(&env, schedule).await;
    let jobs = jobs_of(&env, schedule).await;
    assert!(
        (9..=13).contains(&runs.len()),
        "{} runs in 10 s: {runs:?}",
        runs.len()
    );
    // One job per tick: as many jobs as runs, each run has its own, no tick twice.
    assert_eq!(jobs.len(), runs.len());
    let mut job_ids: Vec<Uuid> = runs.iter().map(|r| r.job_id.unwrap()).collect();
    job_ids.sort();
    job_ids.dedup();
    assert_eq!(job_ids.len(), runs.len());
    assert_eq!(
        job_ids,
        jobs.iter().map(|j| j.id).collect::<Vec<_>>(),
        "runs name exactly the jobs made"
    );
    // Consecutive seconds: no tick missed in between, none doubled.
    for pair in runs.windows(2) {
        assert_eq!(
            pair[1].fire_at - pair[0].fire_at,
            TimeDelta::seconds(1),
            "{runs:?}"
        );
    }
    assert!(runs.iter().all(|r| r.outcome == "fired"), "{runs:?}");
    // And no gap at the edges beyond one tick.
    assert_eq!(runs[0].fire_at, first_tick);
    assert!(first_tick <= started + TimeDelta::seconds(2));
    let last = runs.last().unwrap().fire_at;
    assert!(
        last >= stopping - TimeDelta::seconds(2),
        "last tick {last}, stopped at {stopping}"
    );
    for job in &jobs {
        assert_eq!(job.status(), shared_protocol::JobStatus::Queued);
        assert_eq!(job.source_key.as_deref(), Some("library/cat.jpg"));
        let history = env.history(job.id).await;
        assert_eq!(history.len(), 1, "{history:?}");
        assert_eq!(history[0].0, "queued");
    }
    // Every job's message went out: nothing waits in the outbox.
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(pending, 0);
}

#[tokio::test]
async fn after_downtime_fire_once_makes_one_job_for_all_missed_ticks_and_skip_makes_none() {
    let env = TestEnv::new().await;
    let now = Utc::now();
    let hour = TimeDelta::hours(1);
    let three_hours_ago = (now - hour * 3).duration_trunc(hour).unwrap();
    let once =
        common::insert_schedule(&env, Some("0 * * * *"), None, "fire_once", three_hours_ago).await;
    let skip =
        common::insert_schedule(&env, Some("0 * * * *"), None, "skip", three_hours_ago).await;
    let publisher = common::publisher(&env);
    let grace = Duration::from_secs(60);

    let handled = scheduler::schedules::fire_due(&env.pool, &publisher, now, grace)
        .await
        .unwrap();
    assert_eq!(handled, 2);
    let next_hour = now.duration_trunc(hour).unwrap() + hour;
    let last_missed = (now - TimeDelta::seconds(60)).duration_trunc(hour).unwrap();

    let once_runs = runs(&env, once).await;
    assert_eq!(once_runs.len(), 1, "{once_runs:?}");
    assert_eq!(once_runs[0].outcome, "misfire_fired");
    assert_eq!(once_runs[0].fire_at, three_hours_ago);
    assert_eq!(once_runs[0].missed_until, Some(last_missed));
    let once_jobs = jobs_of(&env, once).await;
    assert_eq!(once_jobs.len(), 1);
    let job = &once_jobs[0];
    assert_eq!(once_runs[0].job_id, Some(job.id));
    assert_eq!(job.metadata["schedule_id"], Value::String(once.to_string()));
    assert_eq!(job.metadata["team"], "catalogue");
    assert_eq!(job.metadata["from"], "recipe");
    assert_eq!(job.priority, "low");
    assert_eq!(job.max_attempts, 2);
    assert_eq!(job.source_key.as_deref(), Some("library/cat.jpg"));
    assert_eq!(job.recipe["source"]["object"], "library/cat.jpg");
    assert_eq!(next_fire_at(&env, once).await, Some(next_hour));

    let skip_runs = runs(&env, skip).await;
    assert_eq!(skip_runs.len(), 1, "{skip_runs:?}");
    assert_eq!(skip_runs[0].outcome, "misfire_skipped");
    assert_eq!(skip_runs[0].job_id, None);
    assert!(jobs_of(&env, skip).await.is_empty());
    assert_eq!(next_fire_at(&env, skip).await, Some(next_hour));

    // Nothing more is due now; at the next tick both resume and fire normally.
    let again = scheduler::schedules::fire_due(&env.pool, &publisher, now, grace)
        .await
        .unwrap();
    assert_eq!(again, 0);
    let later = next_hour + TimeDelta::seconds(1);
    let handled = scheduler::schedules::fire_due(&env.pool, &publisher, later, grace)
        .await
        .unwrap();
    assert_eq!(handled, 2);
    for schedule in [once, skip] {
        let runs = runs(&env, schedule).await;
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[1].outcome, "fired");
        assert_eq!(runs[1].fire_at, next_hour);
        assert!(runs[1].job_id.is_some());
    }
    assert_eq!(jobs_of(&env, once).await.len(), 2);
    assert_eq!(jobs_of(&env, skip).await.len(), 1);
}

#[tokio::test]
async fn a_paused_schedule_does_not_fire() {
    let env = TestEnv::new().await;
    let due = Utc::now() - TimeDelta::seconds(5);
    let schedule = common::insert_schedule(&env, None, Some(1), "fire_once", due).await;
    tintype_db::schedules::pause(&env.pool, schedule)
        .await
        .unwrap()
        .unwrap();
    let publisher = common::publisher(&env);
    let handled =
        scheduler::schedules::fire_due(&env.pool, &publisher, Utc::now(), Duration::from_secs(60))
            .await
            .unwrap();
    assert_eq!(handled, 0);
    assert!(runs(&env, schedule).await.is_empty());
}
