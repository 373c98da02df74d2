//! JSON submits whose recipe names its source: a URL the worker fetches through the outbound
//! guard, or an object already in the bucket. Refusals at submit time, and fetches that go wrong
//! (too big, never finishing, redirected to a private address, not an image) failing the job with
//! a clear reason while the worker stays healthy.

use serde_json::{Value, json};
use tintype_testkit::images;
use tintype_testkit::stub::{Reply, StubServer};

use crate::helpers::{Options, TestApp, accepted_id, assert_problem, spawn_app_with};

fn recipe(source: Value) -> Value {
    json!({
        "source": source,
        "operations": [{"op": "resize", "width": 64, "height": 64, "fit": "inside"}],
        "outputs": [{"name": "small", "format": "png"}],
        "max_attempts": 1,
    })
}

async fn submit_json(app: &TestApp, body: &Value) -> reqwest::Response {
    app.client
        .post(format!("{}/v1/jobs", app.address))
        .json(body)
        .send()
        .await
        .unwrap()
}

/// A system whose gateway and worker both allow loopback, as an operator serving sources from
/// the same host would configure it.
async fn spawn_allowing_loopback() -> TestApp {
    let mut app = spawn_app_with(Options {
        worker: false,
        gateway: |s| s.outbound_allow = tintype_outbound::Allowlist::parse("127.0.0.1").unwrap(),
        ..Default::default()
    })
    .await;
    app.start_worker(|s| {
        s.outbound_allow = tintype_outbound::Allowlist::parse("127.0.0.1").unwrap();
        s.source_fetch_timeout_secs = 2;
    })
    .await;
    app
}

#[tokio::test]
async fn a_source_url_is_fetched_by_the_worker_and_sniffed_not_trusted() {
    let app = spawn_allowing_loopback().await;
    let png = images::png(200, 100);
    let stub = StubServer::start(move |path| match path {
        // The server lies about the type: what the bytes are is sniffed, not taken from headers.
        "/cat" => Reply::Body("text/plain", png.clone()),
        _ => Reply::Status(404),
    })
    .await;
    let response = submit_json(&app, &recipe(json!({"url": stub.url("/cat")}))).await;
    let id = accepted_id(response).await;
    let job = app.wait_final(&id).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["outputs"][0]["width"], 64);
    assert_eq!(job["outputs"][0]["height"], 32);
    // One request; the trace context it carries is checked where traces are exported
    // (observability.rs).
    assert_eq!(stub.requests().len(), 1);
    // Nothing of ours was stored as an original for a URL job.
    assert!(
        app.env
            .storage
            .list(&format!("originals/{id}"))
            .await
            .unwrap()
            .is_empty()
    );
    app.stop().await;
}

#[tokio::test]
async fn a_source_object_in_the_bucket_is_processed_and_survives_the_jobs_delete() {
    let app = spawn_allowing_loopback().await;
    let key = "library/cat.jpg";
    app.env
        .storage
        .put(key, images::jpeg(300, 200).into(), "image/jpeg")
        .await
        .unwrap();
    let id = accepted_id(submit_json(&app, &recipe(json!({"object": key}))).await).await;
    let job = app.wait_final(&id).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["outputs"][0]["width"], 64);

    // Deleting the job removes what the job made, never the object it was pointed at.
    let response = app
        .client
        .delete(format!("{}/v1/jobs/{id}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        app.env.storage.head(key).await.unwrap(),
        Some(images::jpeg(300, 200).len() as u64)
    );
    assert!(app.output_keys(&id).await.is_empty());

    // A missing object is refused at submit time.
    let response = submit_json(&app, &recipe(json!({"object": "library/nope.jpg"}))).await;
    let body = assert_problem(response, 422, "source_unavailable").await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("library/nope.jpg")
    );
    app.stop().await;
}

#[tokio::test]
async fn private_loopback_link_local_and_metadata_addresses_are_refused_at_submit() {
    // Nothing allowlisted: the production default.
    let app = spawn_app_with(Options {
        worker: false,
        scheduler: false,
        ..Default::default()
    })
    .await;
    for url in [
        "http://127.0.0.1:9/cat.jpg",
        "http://10.0.0.1/cat.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/cat.jpg",
        "http://localhost:9/cat.jpg",
    ] {
        let response = submit_json(&app, &recipe(json!({ "url": url }))).await;
        let body = assert_problem(response, 422, "source_refused").await;
        assert!(
            body["detail"].as_str().unwrap().contains("not allowed"),
            "{url}: {body}"
        );
    }
    let response = submit_json(&app, &recipe(json!({"url": "ftp://example.com/cat.jpg"}))).await;
    assert_problem(response, 422, "invalid_recipe").await;

    // A JSON submit must name its source; an upload must not.
    let mut no_source = recipe(json!({}));
    no_source.as_object_mut().unwrap().remove("source");
    assert_problem(submit_json(&app, &no_source).await, 400, "bad_request").await;
    let response = app
        .submit(
            images::png(8, 8),
            "image/png",
            &recipe(json!({"object": "x.png"})).to_string(),
        )
        .await;
    assert_problem(response, 400, "bad_request").await;
    app.stop().await;
}

#[tokio::test]
async fn fetches_that_go_wrong_fail_the_job_with_a_reason_and_the_worker_carries_on() {
    let app = spawn_allowing_loopback().await;
    let png = images::png(40, 40);
    let stub = StubServer::start(move |path| match path {
        "/huge" => Reply::Endless(100 * 1024 * 1024),
        "/never" => Reply::Trickle,
        "/hang" => Reply::Hang,
        "/to-private" => Reply::Redirect("http://10.0.0.1/cat.png".into()),
        "/html" => Reply::Body("image/jpeg", b"<!doctype html><p>not an image".to_vec()),
        "/gone" => Reply::Status(404),
        "/ok" => Reply::Body("image/png", png.clone()),
        _ => Reply::Status(500),
    })
    .await;
    let cases = [
        ("/huge", "image_too_large", "larger than"),
        // Slow sources are transient failures: with one attempt allowed, retries are exhausted.
        (
            "/never",
            "retries_exhausted",
            "no complete response within 2.0s",
        ),
        (
            "/hang",
            "retries_exhausted",
            "no complete response within 2.0s",
        ),
        ("/to-private", "source_refused", "10.0.0.1"),
        ("/html", "unsupported_media_type", ""),
        ("/gone", "source_unavailable", "HTTP 404"),
    ];
    let started = std::time::Instant::now();
    let mut ids = Vec::new();
    for (path, _, _) in &cases {
        let response = submit_json(&app, &recipe(json!({"url": stub.url(path)}))).await;
        ids.push(accepted_id(response).await);
    }
    for ((path, code, words), id) in cases.iter().zip(&ids) {
        let job = app.wait_final(id).await;
        assert_eq!(job["status"], "failed", "{path}: {job}");
        let message = job["error"]["message"].as_str().unwrap_or_default();
        assert_eq!(job["error"]["code"], *code, "{path}: {job}");
        assert!(message.contains(words), "{path}: {message}");
    }
    // Bounded by the 2 s fetch limit (two workers' slots, six jobs), not by the sources.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );

    // The worker is healthy: the next job runs.
    let id = accepted_id(submit_json(&app, &recipe(json!({"url": stub.url("/ok")}))).await).await;
    assert_eq!(app.wait_final(&id).await["status"], "succeeded");
    app.stop().await;
}

#[tokio::test]
async fn a_dry_run_probes_a_named_source_without_creating_a_job() {
    let app = spawn_allowing_loopback().await;
    let key = "library/wide.png";
    app.env
        .storage
        .put(key, images::png(640, 10).into(), "image/png")
        .await
        .unwrap();
    let png = images::png(30, 20);
    let stub = StubServer::start(move |_| Reply::Body("image/png", png.clone())).await;
    for (source, width) in [
        (json!({"object": key}), 640),
        (json!({"url": stub.url("/x.png")}), 30),
    ] {
        let response = app
            .client
            .post(format!("{}/v1/jobs:validate", app.address))
            .json(&recipe(source))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let verdict: Value = response.json().await.unwrap();
        assert_eq!(verdict["valid"], true, "{verdict}");
        assert_eq!(verdict["source"]["format"], "png");
        assert_eq!(verdict["source"]["width"], width);
    }
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs")
        .fetch_one(&app.env.pool)
        .await
        .unwrap();
    assert_eq!(jobs, 0);
    app.stop().await;
}

#[tokio::test]
async fn an_upload_is_read_while_the_job_is_claimed_and_a_vanished_original_fails_it_cleanly() {
    // No worker yet: both jobs wait in the queue while one original is taken away.
    let mut app = spawn_app_with(Options {
        worker: false,
        ..Options::default()
    })
    .await;
    let recipe =
        r#"{"outputs":[{"name":"t","format":"png","operations":[{"op":"resize","width":64}]}]}"#;
    let kept = accepted_id(
        app.submit(images::jpeg(300, 200), "image/jpeg", recipe)
            .await,
    )
    .await;
    let gone = accepted_id(
        app.submit(images::jpeg(300, 200), "image/jpeg", recipe)
            .await,
    )
    .await;
    let key = shared_protocol::job::original_key(gone.parse().unwrap());
    app.env.storage.delete(&key).await.unwrap();

    app.start_worker(|_| {}).await;
    let job = app.wait_final(&kept).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["outputs"][0]["width"], 64);
    // The download begun beside the claim failed; the attempt's own read reports why.
    let job = app.wait_final(&gone).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"]["code"], "invalid_image", "{job}");
    let message = job["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("missing from storage"), "{job}");
    app.stop().await;
}
