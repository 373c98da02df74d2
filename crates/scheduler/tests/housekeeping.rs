//! The stuck-job reaper and retention, each run as one pass against the real services.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use lapin::options::{BasicGetOptions, QueuePurgeOptions};
use serde_json::json;
use shared_protocol::job::{JobMessage, original_key};
use shared_protocol::{JobStatus, Priority};
use tintype_testkit::{TestEnv, images};
use uuid::Uuid;

async fn set_running(env: &TestEnv, id: Uuid, attempts: i32, lease: &str) {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE jobs SET status = 'running', attempts = $2, max_attempts = 3, \
           worker_id = 'w-vanished', started_at = now() - interval '10 minutes', \
           lease_expires_at = now() + interval '{lease}' WHERE id = $1"
    )))
    .bind(id)
    .bind(attempts)
    .execute(&env.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn running_jobs_whose_lease_expired_unclaimed_are_queued_again_or_failed_at_max_attempts() {
    let env = TestEnv::new().await;
    let recipe = json!({"outputs": [{"name": "a", "format": "png"}]});
    let stuck = env.submit(images::jpeg(8, 8), &recipe).await;
    let exhausted = env.submit(images::jpeg(8, 8), &recipe).await;
    let recent = env.submit(images::jpeg(8, 8), &recipe).await;
    let alive = env.submit(images::jpeg(8, 8), &recipe).await;
    set_running(&env, stuck, 1, "-5 minutes").await;
    set_running(&env, exhausted, 3, "-5 minutes").await;
    // Expired only just: a redelivery may still let a worker take it over.
    set_running(&env, recent, 1, "-10 seconds").await;
    set_running(&env, alive, 1, "1 hour").await;
    let publisher = common::publisher(&env);
    let channel = publisher.channel().await.unwrap();
    let queue = env.topology.jobs_queue(Priority::Default);
    channel
        .queue_purge(queue.as_str().into(), QueuePurgeOptions::default())
        .await
        .unwrap();

    let reaped = scheduler::reaper::pass(&env.pool, &publisher, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(reaped, 2);

    let job = env.job(stuck).await;
    assert_eq!(job.status(), JobStatus::Queued);
    assert_eq!(job.lease_expires_at, None);
    assert_eq!(job.attempts, 1, "the next claim counts the new attempt");
    let events = tintype_db::events::list(&env.pool, stuck).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.kind, "queued");
    let detail = last.detail.clone().unwrap();
    assert_eq!(detail["reason"], "lease_expired");
    assert_eq!(detail["previous_worker"], "w-vanished");

    let job = env.job(exhausted).await;
    assert_eq!(job.status(), JobStatus::Failed);
    assert_eq!(job.error_code.as_deref(), Some("lease_expired"));
    assert!(job.finished_at.is_some());
    let events = tintype_db::events::list(&env.pool, exhausted)
        .await
        .unwrap();
    assert_eq!(events.last().unwrap().kind, "failed");

    assert_eq!(env.job(recent).await.status(), JobStatus::Running);
    assert_eq!(env.job(alive).await.status(), JobStatus::Running);

    // Exactly one job message was published: the re-queued job's.
    let message = channel
        .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
        .expect("the re-queued job's message");
    let message: JobMessage = serde_json::from_slice(&message.delivery.data).unwrap();
    assert_eq!(message.job_id, stuck);
    let more = channel
        .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap();
    assert!(more.is_none(), "only one message");
    // A second pass finds nothing more to do.
    let again = scheduler::reaper::pass(&env.pool, &publisher, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(again, 0);
}

/// Puts two outputs for `id` in the bucket and finishes the job `days` days ago as `status`.
async fn finish(env: &TestEnv, id: Uuid, status: &str, days: i32) -> Vec<String> {
    let keys = vec![
        format!("outputs/{id}/a.png"),
        format!("outputs/{id}/b.webp"),
    ];
    for key in &keys {
        env.storage
            .put(key, images::png(4, 4).into(), "image/png")
            .await
            .unwrap();
    }
    let outputs = json!(
        keys.iter()
            .map(|k| json!({"name": k, "format": "png", "width": 4, "height": 4, "bytes": 10, "key": k, "content_type": "image/png"}))
            .collect::<Vec<_>>()
    );
    sqlx::query(
        "UPDATE jobs SET status = $2::job_status, outputs = $3, \
           finished_at = now() - make_interval(days => $4) WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(outputs)
    .bind(days)
    .execute(&env.pool)
    .await
    .unwrap();
    keys
}

#[tokio::test]
async fn retention_deletes_exactly_the_expired_objects() {
    let env = TestEnv::new().await;
    let recipe = json!({"outputs": [{"name": "a", "format": "png"}]});
    let mut old = Vec::new();
    for status in ["succeeded", "failed", "cancelled"] {
        let id = env.submit(images::jpeg(8, 8), &recipe).await;
        let keys = finish(&env, id, status, 40).await;
        old.push((id, keys));
    }
    let mut new = Vec::new();
    for status in ["succeeded", "failed"] {
        let id = env.submit(images::jpeg(8, 8), &recipe).await;
        let keys = finish(&env, id, status, 1).await;
        new.push((id, keys));
    }
    // An old job made from a schedule's object source: the source is the user's, it stays.
    env.storage
        .put("library/cat.jpg", images::jpeg(8, 8).into(), "image/jpeg")
        .await
        .unwrap();
    let scheduled = common::insert_job(&env, recipe.clone()).await;
    sqlx::query("UPDATE jobs SET source_key = 'library/cat.jpg' WHERE id = $1")
        .bind(scheduled)
        .execute(&env.pool)
        .await
        .unwrap();
    let scheduled_keys = finish(&env, scheduled, "succeeded", 40).await;
    // An old job still waiting is not final: untouched.
    let waiting = env.submit(images::jpeg(8, 8), &recipe).await;
    sqlx::query("UPDATE jobs SET created_at = now() - interval '40 days' WHERE id = $1")
        .bind(waiting)
        .execute(&env.pool)
        .await
        .unwrap();

    let publisher = common::publisher(&env);
    // A batch of 2 makes the pass loop over three transactions.
    let expired = scheduler::retention::pass(
        &env.pool,
        &env.storage,
        &publisher,
        Duration::from_secs(30 * 86_400),
        2,
    )
    .await
    .unwrap();
    assert_eq!(expired, 4);

    let mut remaining = env.storage.list("").await.unwrap();
    remaining.sort();
    let mut expected: Vec<String> = new
        .iter()
        .flat_map(|(id, keys)| keys.iter().cloned().chain([original_key(*id)]))
        .chain(["library/cat.jpg".to_owned(), original_key(waiting)])
        .collect();
    expected.sort();
    assert_eq!(
        remaining, expected,
        "exactly the expired jobs' objects are gone"
    );

    for (id, _) in old.iter().chain([&(scheduled, scheduled_keys)]) {
        let job = env.job(*id).await;
        assert_eq!(job.status(), JobStatus::Expired, "{id}");
        assert_eq!(job.outputs, json!([]));
        let events = tintype_db::events::list(&env.pool, *id).await.unwrap();
        let last = events.last().unwrap();
        assert_eq!(last.kind, "expired");
        assert_eq!(last.detail.as_ref().unwrap()["objects_deleted"], 3);
    }
    for (id, _) in &new {
        assert_ne!(env.job(*id).await.status(), JobStatus::Expired);
    }
    assert_eq!(env.job(waiting).await.status(), JobStatus::Queued);

    let again = scheduler::retention::pass(
        &env.pool,
        &env.storage,
        &publisher,
        Duration::from_secs(30 * 86_400),
        2,
    )
    .await
    .unwrap();
    assert_eq!(again, 0);
}
