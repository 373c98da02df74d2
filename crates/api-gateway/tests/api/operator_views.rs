//! What the dashboard reads: `GET /v1/stats`, `GET /v1/queues`, the live event stream, and the
//! dashboard's own public files.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use tintype_testkit::images;

use crate::helpers::{Options, TestApp, accepted_id, assert_problem, spawn_app, spawn_app_with};

const QUICK: &str =
    r#"{"outputs":[{"name":"t","format":"jpeg","operations":[{"op":"resize","width":16}]}]}"#;

#[tokio::test]
async fn stats_report_throughput_success_rate_latency_percentiles_and_counts_by_status() {
    let app = spawn_app().await;
    for _ in 0..2 {
        let id = accepted_id(app.submit(images::jpeg(64, 48), "image/jpeg", QUICK).await).await;
        assert_eq!(app.wait_final(&id).await["status"], "succeeded");
    }
    let stats = app.get_json("/v1/stats?window=15m").await;
    assert_eq!(stats["window_secs"], 900, "{stats}");
    assert_eq!(stats["bucket_secs"], 60);
    let buckets = stats["throughput"].as_array().unwrap();
    assert_eq!(buckets.len(), 15, "{stats}");
    let finished: i64 = buckets
        .iter()
        .map(|b| b["succeeded"].as_i64().unwrap())
        .sum();
    assert_eq!(finished, 2, "{stats}");
    assert_eq!(stats["finished"]["succeeded"], 2);
    assert_eq!(stats["finished"]["failed"], 0);
    assert_eq!(stats["success_rate"], 1.0);
    assert_eq!(stats["submitted"], 2);
    assert_eq!(stats["by_status"]["succeeded"], 2);
    for latency in ["queue_wait_ms", "processing_ms"] {
        assert_eq!(stats[latency]["samples"], 2, "{stats}");
        let p50 = stats[latency]["p50"].as_f64().unwrap();
        let p99 = stats[latency]["p99"].as_f64().unwrap();
        assert!((0.0..=p99).contains(&p50), "{stats}");
    }
    // The default window is an hour, in minute buckets.
    let default = app.get_json("/v1/stats").await;
    assert_eq!(default["window_secs"], 3600);
    assert_eq!(default["throughput"].as_array().unwrap().len(), 60);

    for bad in ["0m", "45s", "31d", "soon", "1w"] {
        let response = app
            .client
            .get(format!("{}/v1/stats?window={bad}", app.address))
            .send()
            .await
            .unwrap();
        assert_problem(response, 400, "bad_request").await;
    }
    app.stop().await;
}

#[tokio::test]
async fn queues_report_broker_depth_and_consumers_beside_the_waiting_jobs() {
    let mut app = spawn_app_with(Options {
        worker: false,
        ..Options::default()
    })
    .await;
    let high = QUICK.replace("\"outputs\"", "\"priority\":\"high\",\"outputs\"");
    for _ in 0..2 {
        accepted_id(app.submit(images::jpeg(8, 8), "image/jpeg", &high).await).await;
    }
    let queue = |list: &Value, priority: &str| {
        list["queues"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["priority"] == priority)
            .cloned()
            .unwrap()
    };
    let list = app.get_json("/v1/queues").await;
    assert_eq!(list["broker"], "ok", "{list}");
    assert_eq!(list["queues"].as_array().unwrap().len(), 3);
    let high_queue = queue(&list, "high");
    assert_eq!(
        high_queue["name"],
        app.env.topology.jobs_queue(shared_protocol::Priority::High)
    );
    assert_eq!(high_queue["depth"], 2, "{list}");
    assert_eq!(high_queue["consumers"], 0, "{list}");
    assert_eq!(high_queue["queued"], 2, "{list}");
    assert!(
        high_queue["oldest_age_secs"].as_f64().unwrap() >= 0.0,
        "{list}"
    );
    let low = queue(&list, "low");
    assert_eq!(
        (low["depth"].as_u64(), low["queued"].as_i64()),
        (Some(0), Some(0))
    );
    assert!(low["oldest_age_secs"].is_null(), "{list}");
    assert_eq!(list["dead_letters"]["depth"], 0);

    // A worker attaches to every queue and drains them.
    app.start_worker(|_| {}).await;
    tintype_testkit::eventually(
        Duration::from_secs(30),
        "the worker drained the queue",
        || {
            let app = &app;
            async move {
                let list = app.get_json("/v1/queues").await;
                let high = queue(&list, "high");
                (high["consumers"].as_u64() >= Some(1) && high["depth"] == 0 && high["queued"] == 0)
                    .then_some(())
            }
        },
    )
    .await;
    app.stop().await;
}

/// Reads server-sent events until `done` says the collected ones are enough.
async fn read_events(
    stream: &mut (impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    buffer: &mut String,
    within: Duration,
    done: impl Fn(&[(String, Value)]) -> bool,
) -> Vec<(String, Value)> {
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    while !done(&events) {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .unwrap_or_else(|_| panic!("events so far: {events:?}"))
            .expect("the stream ended")
            .unwrap();
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let name = block
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .unwrap_or("comment")
                .to_owned();
            let data = block
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .map_or(Value::Null, |d| serde_json::from_str(d).unwrap());
            events.push((name, data));
        }
    }
    events
}

async fn open_stream(app: &TestApp, query: &str) -> reqwest::Response {
    let response = app
        .client
        .get(format!("{}/v1/events/stream{query}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.headers()["cache-control"], "no-cache");
    response
}

#[tokio::test]
async fn the_event_stream_delivers_a_submitted_jobs_events_live_and_filters_by_job() {
    let app = spawn_app().await;
    let mut all = open_stream(&app, "").await.bytes_stream();
    let other = uuid::Uuid::now_v7();
    let mut filtered = open_stream(&app, &format!("?job_id={other}"))
        .await
        .bytes_stream();
    let (mut all_buf, mut filtered_buf) = (String::new(), String::new());
    // The greeting says the subscription is in place before anything is submitted.
    let greeting = read_events(&mut all, &mut all_buf, Duration::from_secs(5), |e| {
        !e.is_empty()
    })
    .await;
    assert_eq!(greeting[0].0, "comment");

    let id = accepted_id(app.submit(images::jpeg(64, 48), "image/jpeg", QUICK).await).await;
    let events = read_events(&mut all, &mut all_buf, Duration::from_secs(30), |events| {
        events
            .iter()
            .any(|(name, data)| name == "job.succeeded" && data["job_id"] == id.as_str())
    })
    .await;
    let names: Vec<&str> = events
        .iter()
        .filter(|(_, data)| data["job_id"] == id.as_str())
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(names.first(), Some(&"job.queued"), "{names:?}");
    assert!(names.contains(&"job.started"), "{names:?}");
    assert_eq!(names.last(), Some(&"job.succeeded"), "{names:?}");
    let succeeded = &events.last().unwrap().1;
    assert_eq!(succeeded["status"], "succeeded");
    assert_eq!(succeeded["attempt"], 1);

    // The stream filtered on another job saw its greeting and nothing of this one.
    let seen = read_events(
        &mut filtered,
        &mut filtered_buf,
        Duration::from_secs(5),
        |e| !e.is_empty(),
    )
    .await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    let more = tokio::time::timeout(Duration::from_millis(500), filtered.next()).await;
    assert!(
        more.is_err(),
        "a filtered stream got another job's event: {more:?}"
    );

    let bad = app
        .client
        .get(format!("{}/v1/events/stream?job_id=nope", app.address))
        .send()
        .await
        .unwrap();
    assert_problem(bad, 400, "bad_request").await;

    // Open streams end when the gateway stops, so stopping does not wait for dashboards.
    tokio::time::timeout(Duration::from_secs(15), app.stop())
        .await
        .expect("stopping waited for the open event streams");
    drop((all, filtered));
}

#[tokio::test]
async fn the_dashboard_is_served_publicly_with_its_assets_and_config() {
    let app = spawn_app_with(Options {
        worker: false,
        scheduler: false,
        gateway: |s| {
            s.auth = api_gateway::auth::AuthMode::Required;
            s.jaeger_url = Some("http://jaeger.example:16686/".into());
        },
        ..Options::default()
    })
    .await;
    let get = |path: &str| app.client.get(format!("{}{path}", app.address)).send();
    let page = get("/").await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let html = page.text().await.unwrap();
    assert!(html.contains("/ui/app.js") && html.contains("/ui/app.css"));
    for (file, ctype) in [
        ("app.js", "text/javascript; charset=utf-8"),
        ("app.css", "text/css; charset=utf-8"),
        ("favicon.svg", "image/svg+xml"),
    ] {
        let asset = get(&format!("/ui/{file}")).await.unwrap();
        assert_eq!(asset.status(), 200, "{file}");
        assert_eq!(asset.headers()["content-type"], ctype);
    }
    let config: Value = get("/ui/config.json").await.unwrap().json().await.unwrap();
    assert_eq!(config["jaeger_url"], "http://jaeger.example:16686");
    assert_problem(get("/ui/secrets.txt").await.unwrap(), 404, "not_found").await;
    // The API behind it still needs a key.
    assert_problem(get("/v1/stats").await.unwrap(), 401, "unauthorized").await;
    assert_problem(get("/v1/events/stream").await.unwrap(), 401, "unauthorized").await;
    app.stop().await;
}
