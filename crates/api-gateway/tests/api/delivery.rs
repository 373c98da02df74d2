//! Delivery guarantees, broken on purpose: cancel (queued and running), time limits, dead letters
//! and retry, idempotent submits, priorities, and the worker registry.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tintype_testkit::images;

use crate::helpers::{Options, assert_problem, spawn_app_with};

/// A job that keeps a worker busy for several seconds: big blurs, each output on its own.
fn slow_recipe(extra: Value) -> String {
    let outputs: Vec<Value> = (0..8)
        .map(|i| {
            json!({"name": format!("o{i}"), "format": "png",
                        "operations": [{"op": "blur", "sigma": 60.0}]})
        })
        .collect();
    let mut recipe = json!({"operations": [], "outputs": outputs});
    if let (Some(r), Some(extra)) = (recipe.as_object_mut(), extra.as_object()) {
        r.extend(extra.clone());
    }
    recipe.to_string()
}

const QUICK: &str =
    r#"{"outputs":[{"name":"t","format":"jpeg","operations":[{"op":"resize","width":16}]}]}"#;

async fn submit_id(app: &crate::helpers::TestApp, file: Vec<u8>, recipe: &str) -> String {
    let response = app.submit(file, "image/jpeg", recipe).await;
    assert_eq!(response.status(), 202);
    let job: Value = response.json().await.unwrap();
    job["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_cancelled_queued_job_is_never_started_even_by_a_worker_that_was_down() {
    let mut app = spawn_app_with(Options {
        worker: false,
        ..Options::default()
    })
    .await;
    let id = submit_id(&app, images::jpeg(64, 48), QUICK).await;

    let response = app.post(&format!("/v1/jobs/{id}/cancel")).await;
    assert_eq!(response.status(), 200);
    let job: Value = response.json().await.unwrap();
    assert_eq!(job["status"], "cancelled");

    // The worker comes up after the cancel with the job's message still in the queue.
    app.start_worker(|_| {}).await;
    let other = submit_id(&app, images::jpeg(64, 48), QUICK).await;
    assert_eq!(app.wait_final(&other).await["status"], "succeeded");
    let job = app.wait_final(&id).await;
    assert_eq!(job["status"], "cancelled", "{job}");
    assert_eq!(job["attempts"], 0, "{job}");
    assert!(job["started_at"].is_null(), "{job}");
    assert!(app.output_keys(&id).await.is_empty());

    // Cancelling a finished job is a conflict; an unknown one is not found.
    let again = app.post(&format!("/v1/jobs/{id}/cancel")).await;
    assert_problem(again, 409, "conflict").await;
    let unknown = app
        .post("/v1/jobs/01a20107-0000-7000-8000-000000000000/cancel")
        .await;
    assert_problem(unknown, 404, "not_found").await;
    app.stop().await;
}

#[tokio::test]
async fn a_running_job_stops_within_two_seconds_of_cancel_and_writes_nothing_after() {
    let app = spawn_app_with(Options::default()).await;
    let id = submit_id(&app, images::jpeg(1600, 1200), &slow_recipe(json!({}))).await;
    app.wait_job(&id, "the job running", |j| j["status"] == "running")
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let asked = Instant::now();
    let response = app.post(&format!("/v1/jobs/{id}/cancel")).await;
    assert_eq!(response.status(), 202);
    let at_cancel = app.output_keys(&id).await;
    let job = app
        .wait_job(&id, "the job cancelled", |j| j["status"] == "cancelled")
        .await;
    let took = asked.elapsed();
    // An upload already in flight when the cancel arrived may land (S3 writes are atomic);
    // nothing starts after it, and nothing at all once the job is `cancelled`.
    let at_end = app.output_keys(&id).await;
    assert!(
        at_end.len() <= at_cancel.len() + 1,
        "uploads started after the cancel: {at_cancel:?} then {at_end:?}"
    );
    assert!(took < Duration::from_secs(2), "cancel took {took:?}");
    assert!(job["outputs"].as_array().unwrap().is_empty(), "{job}");
    assert!(
        at_cancel.len() < 8,
        "the job finished before the cancel: {at_cancel:?}"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        app.output_keys(&id).await,
        at_end,
        "outputs written after the cancel"
    );

    let events = app.get_json(&format!("/v1/jobs/{id}/events")).await;
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds.last(), Some(&"cancelled"), "{events}");
    app.stop().await;
}

#[tokio::test]
async fn a_job_past_its_deadline_fails_with_timeout_and_the_worker_keeps_going() {
    let app = spawn_app_with(Options::default()).await;
    let slow = submit_id(
        &app,
        images::jpeg(1600, 1200),
        &slow_recipe(json!({"timeout_secs": 1})),
    )
    .await;
    let job = app.wait_final(&slow).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"]["code"], "timeout", "{job}");

    let quick = submit_id(&app, images::jpeg(64, 48), QUICK).await;
    assert_eq!(app.wait_final(&quick).await["status"], "succeeded");
    app.stop().await;
}

#[tokio::test]
async fn exhausted_jobs_are_dead_lettered_and_a_retry_runs_them_again() {
    let mut app = spawn_app_with(Options {
        worker: false,
        ..Options::default()
    })
    .await;
    // A worker whose object store is unreachable: every attempt fails transiently.
    let broken = app
        .start_worker(|s| s.storage.endpoint = Some("http://127.0.0.1:1".into()))
        .await;
    let id = submit_id(
        &app,
        images::jpeg(64, 48),
        r#"{"max_attempts":1,"outputs":[{"name":"t","format":"jpeg"}]}"#,
    )
    .await;
    let job = app.wait_final(&id).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"]["code"], "retries_exhausted", "{job}");
    assert!(job["dead_lettered_at"].is_string(), "{job}");

    let dead = app.get_json("/v1/dead-letters").await;
    let ids: Vec<&str> = dead["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|j| j["id"].as_str())
        .collect();
    assert_eq!(ids, vec![id.as_str()], "{dead}");

    // With a healthy worker instead, a retry runs it to success and it leaves the dead letters.
    app.stop_service(broken).await;
    app.start_worker(|_| {}).await;
    let response = app.post(&format!("/v1/jobs/{id}/retry")).await;
    assert_eq!(response.status(), 202);
    let job = app.wait_final(&id).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let dead = app.get_json("/v1/dead-letters").await;
    assert!(dead["items"].as_array().unwrap().is_empty(), "{dead}");

    let again = app.post(&format!("/v1/jobs/{id}/retry")).await;
    assert_problem(again, 409, "conflict").await;
    app.stop().await;
}

#[tokio::test]
async fn an_idempotency_key_returns_the_same_job_refuses_another_body_and_expires() {
    let app = spawn_app_with(Options {
        worker: false,
        ..Options::default()
    })
    .await;
    let send = |recipe: &'static str| {
        let form = reqwest::multipart::Form::new()
            .part(
                "file",
                reqwest::multipart::Part::bytes(images::jpeg(64, 48))
                    .file_name("a.jpg")
                    .mime_str("image/jpeg")
                    .unwrap(),
            )
            .text("recipe", recipe);
        app.client
            .post(format!("{}/v1/jobs", app.address))
            .header("Idempotency-Key", "order-42")
            .multipart(form)
            .send()
    };
    let first = send(QUICK).await.unwrap();
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await.unwrap();
    let second = send(QUICK).await.unwrap();
    assert_eq!(second.status(), 200);
    let second: Value = second.json().await.unwrap();
    assert_eq!(first["id"], second["id"]);

    let other = send(r#"{"outputs":[{"name":"x","format":"png"}]}"#)
        .await
        .unwrap();
    assert_problem(other, 409, "conflict").await;

    // The key lives for the configured TTL (3600 s in these tests) ...
    let first_id = uuid::Uuid::parse_str(first["id"].as_str().unwrap()).unwrap();
    let (ttl,): (f64,) = sqlx::query_as(
        "SELECT EXTRACT(EPOCH FROM idempotency_expires_at - now())::float8 FROM jobs WHERE id = $1",
    )
    .bind(first_id)
    .fetch_one(&app.env.pool)
    .await
    .unwrap();
    assert!((3590.0..=3600.0).contains(&ttl), "key expires in {ttl} s");
    // ... and once it has expired, the same key submits a new job, whatever the body.
    sqlx::query(
        "UPDATE jobs SET idempotency_expires_at = now() - interval '1 second' WHERE id = $1",
    )
    .bind(first_id)
    .execute(&app.env.pool)
    .await
    .unwrap();
    let after = send(r#"{"outputs":[{"name":"x","format":"png"}]}"#)
        .await
        .unwrap();
    assert_eq!(after.status(), 202);
    let after: Value = after.json().await.unwrap();
    assert_ne!(after["id"], first["id"]);
    let replay = send(r#"{"outputs":[{"name":"x","format":"png"}]}"#)
        .await
        .unwrap();
    assert_eq!(replay.status(), 200);
    let replay: Value = replay.json().await.unwrap();
    assert_eq!(replay["id"], after["id"]);
    app.stop().await;
}

#[tokio::test]
async fn a_high_job_overtakes_a_backlog_of_low_ones() {
    let mut app = spawn_app_with(Options {
        worker: false,
        ..Options::default()
    })
    .await;
    let low_recipe = r#"{"priority":"low","outputs":[{"name":"t","format":"jpeg","operations":[{"op":"blur","sigma":2.0}]}]}"#;
    let mut lows = Vec::new();
    for _ in 0..100 {
        lows.push(submit_id(&app, images::jpeg(320, 240), low_recipe).await);
    }
    app.start_worker(|s| s.concurrency = 1).await;
    // Let the backlog start flowing, then submit the high job.
    app.wait_job(&lows[0], "the first low job done", |j| {
        j["status"] == "succeeded"
    })
    .await;
    let high = submit_id(
        &app,
        images::jpeg(320, 240),
        r#"{"priority":"high","outputs":[{"name":"t","format":"jpeg"}]}"#,
    )
    .await;
    let high_job = app.wait_final(&high).await;
    let high_started = high_job["started_at"].as_str().unwrap().to_owned();
    let mut started_before = 0;
    for id in &lows {
        let job: Value = app.get_job(id).await.json().await.unwrap();
        if let Some(at) = job["started_at"].as_str()
            && at < high_started.as_str()
        {
            started_before += 1;
        }
    }
    assert!(
        started_before <= 5,
        "{started_before} of 100 low jobs started before the high one"
    );
    app.stop().await;
}

#[tokio::test]
async fn workers_are_listed_with_their_queues_and_counts() {
    let mut app = spawn_app_with(Options {
        worker: false,
        ..Options::default()
    })
    .await;
    app.start_worker(|s| {
        s.worker_id = Some("pool-high-1".into());
        s.queues = vec![shared_protocol::Priority::High];
    })
    .await;
    let listed =
        tintype_testkit::eventually(Duration::from_secs(10), "the worker listed", || async {
            let workers = app.get_json("/v1/workers").await;
            workers["items"]
                .as_array()?
                .iter()
                .find(|w| w["id"] == "pool-high-1")
                .cloned()
        })
        .await;
    assert_eq!(listed["state"], "alive", "{listed}");
    assert_eq!(listed["queues"], json!(["high"]), "{listed}");
    assert_eq!(listed["concurrency"], 2, "{listed}");
    app.stop().await;
}
