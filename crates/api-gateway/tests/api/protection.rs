//! Protection of the API: keys and scopes (401/403, revocation at once), the per-key request
//! rate (429 + `Retry-After`), admission control on submit (503 `queue_full`), the bound on
//! uploads held at once, and CORS.

use std::time::Duration;

use api_gateway::auth::{AuthMode, keys};
use tintype_testkit::images;

use crate::helpers::{Options, TestApp, accepted_id, assert_problem, spawn_app_with};

const QUICK: &str = r#"{"outputs":[{"name":"a","format":"png"}]}"#;

async fn key(app: &TestApp, scopes: &[&str]) -> String {
    let key = keys::generate();
    let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
    tintype_db::api_keys::insert(
        &app.env.pool,
        "test",
        &keys::prefix(&key),
        &keys::hash(&key),
        &scopes,
    )
    .await
    .unwrap();
    key
}

fn submit_with(app: &TestApp, key: &str) -> reqwest::RequestBuilder {
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(images::jpeg(32, 24))
                .file_name("a.jpg")
                .mime_str("image/jpeg")
                .unwrap(),
        )
        .text("recipe", QUICK);
    app.client
        .post(format!("{}/v1/jobs", app.address))
        .bearer_auth(key)
        .multipart(form)
}

#[tokio::test]
async fn every_route_needs_a_live_key_with_its_scope() {
    let app = spawn_app_with(Options {
        worker: false,
        scheduler: false,
        gateway: |s| s.auth = AuthMode::Required,
        ..Default::default()
    })
    .await;
    let (reader, writer, admin) = (
        key(&app, &["jobs:read"]).await,
        key(&app, &["jobs:write"]).await,
        key(&app, &["admin"]).await,
    );
    let url = |path: &str| format!("{}{path}", app.address);
    let unknown = format!("/v1/jobs/{}", uuid::Uuid::now_v7());

    // Public: health, readiness and metrics.
    for path in ["/healthz", "/readyz", "/metrics"] {
        let status = app.client.get(url(path)).send().await.unwrap().status();
        assert_eq!(status, 200, "{path}");
    }

    // No key, a malformed header, an unknown key: 401 with a challenge.
    let none = app.client.get(url(&unknown)).send().await.unwrap();
    assert_eq!(
        none.headers()["www-authenticate"],
        "Bearer realm=\"tintype\""
    );
    assert_problem(none, 401, "unauthorized").await;
    let basic = app
        .client
        .get(url(&unknown))
        .header("Authorization", "Basic dXNlcjpwdw==")
        .send()
        .await
        .unwrap();
    assert_problem(basic, 401, "unauthorized").await;
    let wrong = app
        .client
        .get(url(&unknown))
        .bearer_auth(keys::generate())
        .send()
        .await
        .unwrap();
    assert_problem(wrong, 401, "unauthorized").await;
    let unauthenticated_submit = app.client.post(url("/v1/jobs")).send().await.unwrap();
    assert_problem(unauthenticated_submit, 401, "unauthorized").await;

    // jobs:read reads, and nothing else.
    let read = app
        .client
        .get(url(&unknown))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_problem(read, 404, "not_found").await;
    let body = assert_problem(
        submit_with(&app, &reader).send().await.unwrap(),
        403,
        "forbidden",
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("jobs:write"),
        "{body}"
    );
    for path in ["/v1/dead-letters", "/v1/workers"] {
        let response = app
            .client
            .get(url(path))
            .bearer_auth(&reader)
            .send()
            .await
            .unwrap();
        assert_problem(response, 403, "forbidden").await;
    }

    // jobs:write submits and cancels, but does not read.
    let id = accepted_id(submit_with(&app, &writer).send().await.unwrap()).await;
    let cancel = app
        .client
        .post(url(&format!("/v1/jobs/{id}/cancel")))
        .bearer_auth(&writer)
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status(), 200);
    let peek = app
        .client
        .get(url(&format!("/v1/jobs/{id}")))
        .bearer_auth(&writer)
        .send()
        .await
        .unwrap();
    assert_problem(peek, 403, "forbidden").await;

    // admin does everything.
    for path in ["/v1/dead-letters", "/v1/workers", &format!("/v1/jobs/{id}")] {
        let response = app
            .client
            .get(url(path))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }

    // A revoked key stops at the very next request.
    let revoked = tintype_db::api_keys::revoke(&app.env.pool, &keys::prefix(&reader))
        .await
        .unwrap();
    assert_eq!(revoked.len(), 1);
    let after = app
        .client
        .get(url(&unknown))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_problem(after, 401, "unauthorized").await;
    app.stop().await;
}

#[tokio::test]
async fn a_caller_over_its_rate_gets_429_with_retry_after_and_then_passes_again() {
    let app = spawn_app_with(Options {
        worker: false,
        scheduler: false,
        gateway: |s| {
            s.rate_limit_per_sec = 2;
            s.rate_limit_burst = 3;
        },
        ..Default::default()
    })
    .await;
    let unknown = format!("{}/v1/jobs/{}", app.address, uuid::Uuid::now_v7());
    let mut limited = None;
    for _ in 0..10 {
        let response = app.client.get(&unknown).send().await.unwrap();
        if response.status() == 429 {
            limited = Some(response);
            break;
        }
        assert_eq!(response.status(), 404);
    }
    let limited = limited.expect("the 4th request within a second is over a burst of 3");
    let wait: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    assert_problem(limited, 429, "rate_limited").await;
    // Health stays reachable for probes while the caller is limited.
    let health = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let again = app.client.get(&unknown).send().await.unwrap();
    assert_eq!(again.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn submits_are_refused_while_too_many_jobs_wait_and_admitted_again_after() {
    let app = spawn_app_with(Options {
        worker: false,
        scheduler: false,
        gateway: |s| s.max_waiting_jobs = 2,
        ..Default::default()
    })
    .await;
    let first = accepted_id(app.submit(images::jpeg(32, 24), "image/jpeg", QUICK).await).await;
    accepted_id(app.submit(images::jpeg(32, 24), "image/jpeg", QUICK).await).await;
    // The waiting count is sampled at most once a second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let refused = app.submit(images::jpeg(32, 24), "image/jpeg", QUICK).await;
    assert_eq!(refused.headers()["retry-after"], "10");
    let body = assert_problem(refused, 503, "queue_full").await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("2 jobs are waiting"),
        "{body}"
    );
    // Work drains (here: a cancel), and submits are admitted again.
    assert_eq!(
        app.post(&format!("/v1/jobs/{first}/cancel")).await.status(),
        200
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    accepted_id(app.submit(images::jpeg(32, 24), "image/jpeg", QUICK).await).await;
    app.stop().await;
}

#[tokio::test]
async fn uploads_beyond_the_upload_concurrency_wait_their_turn_and_all_land() {
    let app = spawn_app_with(Options {
        worker: false,
        scheduler: false,
        gateway: |s| s.upload_concurrency = 1,
        ..Default::default()
    })
    .await;
    // Six uploads at once through one permit: each waits for the one before to be stored, and a
    // permit that was not given back would hang the rest (the timeout turns that into a failure).
    let submits = (0..6).map(|i| app.submit(images::jpeg(64 + i, 48), "image/jpeg", QUICK));
    let answers = tokio::time::timeout(
        Duration::from_secs(60),
        futures_util::future::join_all(submits),
    )
    .await
    .expect("uploads stalled behind the upload permit");
    for answer in answers {
        accepted_id(answer).await;
    }
    // A refused upload (not an image) gives its permit back too.
    let refused = app
        .submit(b"not an image".to_vec(), "image/jpeg", QUICK)
        .await;
    assert_eq!(refused.status().as_u16() / 100, 4);
    accepted_id(app.submit(images::jpeg(32, 24), "image/jpeg", QUICK).await).await;
    app.stop().await;
}

#[tokio::test]
async fn browsers_on_configured_origins_get_cors_headers_and_others_do_not() {
    let app = spawn_app_with(Options {
        worker: false,
        scheduler: false,
        gateway: |s| s.cors_origins = vec!["https://app.example".into()],
        ..Default::default()
    })
    .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, format!("{}/v1/jobs", app.address))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization, idempotency-key",
            )
            .send()
    };
    let allowed = preflight("https://app.example").await.unwrap();
    assert_eq!(allowed.status(), 200);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let methods = allowed.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(methods.contains("POST"), "{methods}");
    let other = preflight("https://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());

    let get = app
        .client
        .get(format!("{}/v1/jobs/{}", app.address, uuid::Uuid::now_v7()))
        .header("Origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 404);
    assert_eq!(
        get.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    app.stop().await;
}
