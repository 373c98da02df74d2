//! The shared services fail under load: RabbitMQ and PostgreSQL restart, SeaweedFS stops. Each
//! test takes a process-wide lock (they disrupt every test running at the same time), and a guard
//! brings the service back even when the test fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use tintype_testkit::{eventually, images};

use helpers::{Options, TestApp, spawn_app_with};

/// One disruptive test at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const QUICK: &str =
    r#"{"outputs":[{"name":"t","format":"jpeg","operations":[{"op":"resize","width":32}]}]}"#;

fn run(program: &str, args: &[&str]) {
    let status = Command::new(program).args(args).status();
    assert!(
        matches!(status, Ok(s) if s.success()),
        "{program} {args:?}: {status:?}"
    );
}

fn scripts_stack() -> String {
    format!("{}/../../scripts/stack.sh", env!("CARGO_MANIFEST_DIR"))
}

/// Runs `restore` when dropped, so a failing test still leaves the service running.
struct Restore(Box<dyn Fn()>);

impl Drop for Restore {
    fn drop(&mut self) {
        (self.0)();
    }
}

async fn submit_many(app: &TestApp, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        let response = app.submit(images::jpeg(64, 48), "image/jpeg", QUICK).await;
        assert_eq!(response.status(), 202);
        let job: Value = response.json().await.unwrap();
        ids.push(job["id"].as_str().unwrap().to_owned());
    }
    ids
}

/// Waits until every job succeeded; asserts each finished exactly once.
async fn all_succeed_once(app: &TestApp, ids: &[String], within: Duration) {
    for id in ids {
        let job = tintype_testkit::eventually(within, "every job final", || async {
            let job: Value = app.get_job(id).await.json().await.ok()?;
            matches!(
                job["status"].as_str()?,
                "succeeded" | "failed" | "cancelled"
            )
            .then_some(job)
        })
        .await;
        assert_eq!(job["status"], "succeeded", "{job}");
    }
    let twice: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT job_id FROM job_events WHERE kind = 'succeeded' \
         GROUP BY job_id HAVING count(*) > 1) t",
    )
    .fetch_one(&app.env.pool)
    .await
    .unwrap();
    assert_eq!(twice, 0, "jobs processed twice to completion");
}

#[tokio::test]
async fn a_rabbitmq_restart_with_200_jobs_in_flight_loses_none_and_runs_none_twice() {
    let _serial = SERIAL.lock().await;
    let app = spawn_app_with(Options::default()).await;
    let ids = submit_many(&app, 200).await;

    {
        let _restore = Restore(Box::new(|| {
            let _ = Command::new("rabbitmqctl").arg("start_app").status();
        }));
        run("rabbitmqctl", &["stop_app"]);
        tokio::time::sleep(Duration::from_secs(2)).await;
        run("rabbitmqctl", &["start_app"]);
    }
    run("rabbitmqctl", &["await_startup"]);

    all_succeed_once(&app, &ids, Duration::from_secs(120)).await;
    // The services reconnected by themselves: a new job still goes through.
    let after = submit_many(&app, 1).await;
    all_succeed_once(&app, &after, Duration::from_secs(60)).await;
    app.stop().await;
}

#[tokio::test]
async fn a_postgres_restart_during_a_batch_loses_no_job() {
    let _serial = SERIAL.lock().await;
    let app = spawn_app_with(Options::default()).await;
    let ids = submit_many(&app, 40).await;
    let version = std::fs::read_dir("/etc/postgresql")
        .ok()
        .and_then(|mut d| d.next())
        .and_then(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .expect("a PostgreSQL cluster under /etc/postgresql");
    {
        let v = version.clone();
        let _restore = Restore(Box::new(move || {
            let _ = Command::new("pg_ctlcluster")
                .args(["--skip-systemctl-redirect", &v, "main", "start"])
                .status();
        }));
        run(
            "pg_ctlcluster",
            &["--skip-systemctl-redirect", &version, "main", "restart"],
        );
    }
    all_succeed_once(&app, &ids, Duration::from_secs(120)).await;
    let after = submit_many(&app, 1).await;
    all_succeed_once(&app, &after, Duration::from_secs(60)).await;
    app.stop().await;
}

#[tokio::test]
async fn jobs_retry_through_an_s3_outage_and_succeed_once_it_is_back() {
    let _serial = SERIAL.lock().await;
    let mut app = spawn_app_with(Options {
        worker: false,
        ..Options::default()
    })
    .await;
    // Submitted while S3 is up (the gateway stores the originals); processed while it is down.
    let ids = submit_many(&app, 10).await;
    let stack = scripts_stack();
    {
        let up = stack.clone();
        let _restore = Restore(Box::new(move || {
            let _ = Command::new("bash").args([up.as_str(), "up"]).status();
        }));
        run("bash", &[stack.as_str(), "down"]);
        app.start_worker(|_| {}).await;
        // While it is down, at least one job goes `retrying` with its next attempt time shown.
        eventually(Duration::from_secs(30), "a job retrying", || async {
            for id in &ids {
                let job: Value = app.get_job(id).await.json().await.ok()?;
                if job["status"] == "retrying" && job["next_attempt_at"].is_string() {
                    return Some(());
                }
            }
            None
        })
        .await;
        run("bash", &[stack.as_str(), "up"]);
    }
    all_succeed_once(&app, &ids, Duration::from_secs(120)).await;
    app.stop().await;
}
