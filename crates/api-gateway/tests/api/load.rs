//! The load tool against a live gateway, worker and storage: every job followed to the end, and
//! URL-source submits in the shape the gateway takes.

use std::time::Duration;

use loadgen::{Arrival, Source, Workload};
use tintype_testkit::images;

use crate::helpers::{Options, spawn_app, spawn_app_with};

#[tokio::test]
async fn loadgen_follows_every_job_and_counts_failures_by_kind() {
    let app = spawn_app().await;
    let recipe = serde_json::json!({
        "operations": [{"op": "resize", "width": 64, "height": 64, "fit": "inside"}],
        "outputs": [{"name": "t", "format": "jpeg", "quality": 85}]
    });
    let files = vec![
        (
            "a.jpg".to_owned(),
            images::jpeg(320, 240).into(),
            "image/jpeg".to_owned(),
        ),
        (
            "b.png".to_owned(),
            images::png(200, 100).into(),
            "image/png".to_owned(),
        ),
        // Not an image: refused at submit, counted as a submit error, not lost.
        (
            "c.jpg".to_owned(),
            bytes::Bytes::from_static(b"not an image"),
            "image/jpeg".to_owned(),
        ),
    ];
    let mut w = Workload::new(app.address.clone(), recipe.clone(), Source::Upload(files));
    w.arrival = Arrival::Concurrency(3);
    w.jobs = Some(9);
    w.processes = vec![("this test".into(), std::process::id())];
    let report = loadgen::run(w).await.expect("run");
    assert_eq!(report.submitted, 9, "{report:?}");
    assert_eq!(
        (report.accepted, report.succeeded, report.failed),
        (6, 6, 0),
        "{}",
        report.table()
    );
    assert_eq!(
        report.errors.values().sum::<u64>(),
        3,
        "{:?}",
        report.errors
    );
    assert!(
        report
            .errors
            .keys()
            .all(|k| k.starts_with("submit: HTTP 4")),
        "{:?}",
        report.errors
    );
    assert_eq!(report.unaccounted(), 0);
    assert_eq!(report.end_to_end_latency.count, 6);
    // tintype's job resource carries finished_at: every end is the server's, not a poll's.
    assert_eq!(report.server_timed, 6, "{}", report.table());
    assert!(report.end_to_end_latency.p50_ms >= report.submit_latency.p50_ms);
    assert!(report.processes[0].peak_rss_mb > 1.0);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["succeeded"], 6);

    // Open loop: a fixed rate for a fixed time submits about rate × duration jobs.
    let mut w = Workload::new(
        app.address.clone(),
        recipe,
        Source::Upload(vec![(
            "a.jpg".into(),
            images::jpeg(64, 48).into(),
            "image/jpeg".into(),
        )]),
    );
    w.arrival = Arrival::Rate(20.0);
    w.jobs = None;
    w.duration = Some(Duration::from_millis(500));
    let report = loadgen::run(w).await.expect("run");
    assert!((8..=12).contains(&report.submitted), "{}", report.table());
    assert_eq!(report.succeeded, report.submitted, "{}", report.table());
    app.stop().await;
}

#[tokio::test]
async fn loadgen_url_submits_use_the_json_shape_the_gateway_accepts() {
    // No worker: the submit path alone, as `make bench` measures it. The gateway only checks the
    // URL at submit (the worker fetches it), so nothing needs to serve it.
    let app = spawn_app_with(Options::submit_only()).await;
    let recipe = serde_json::json!({
        "operations": [{"op": "resize", "width": 64, "height": 64, "fit": "inside"}],
        "outputs": [{"name": "t", "format": "jpeg", "quality": 85}]
    });
    let mut w = Workload::new(
        app.address.clone(),
        recipe,
        Source::Url(vec!["http://127.0.0.1:9/a.jpg".into()]),
    );
    w.arrival = Arrival::Concurrency(4);
    w.jobs = Some(12);
    w.follow = false;
    let report = loadgen::run(w).await.expect("run");
    assert_eq!(
        (report.submitted, report.accepted),
        (12, 12),
        "{}",
        report.table()
    );
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE source_url IS NOT NULL")
        .fetch_one(&app.env.pool)
        .await
        .unwrap();
    assert_eq!(rows, 12);
    app.stop().await;
}
