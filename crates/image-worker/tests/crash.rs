//! Workers dying and stopping mid-job, as real processes: `kill -9` hands the job to another
//! worker once the lease runs out; SIGTERM past the grace period hands it back at once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{Value, json};
use shared_protocol::JobStatus;
use tintype_testkit::process::{ServiceProcess, Signal, free_port};
use tintype_testkit::{TestEnv, eventually, images};
use uuid::Uuid;

/// Keeps a worker busy for a few seconds: big blurs, each output on its own.
fn slow_recipe() -> Value {
    let outputs: Vec<Value> = (0..6)
        .map(|i| {
            json!({"name": format!("o{i}"), "format": "png",
                        "operations": [{"op": "blur", "sigma": 60.0}]})
        })
        .collect();
    json!({"outputs": outputs})
}

async fn worker(env: &TestEnv, id: &str, extra: &[(&str, &str)]) -> ServiceProcess {
    let port = free_port();
    let mut vars = vec![
        ("TINTYPE_METRICS_ADDR", format!("127.0.0.1:{port}")),
        ("TINTYPE_WORKER_ID", id.to_owned()),
        ("TINTYPE_WORKER_CONCURRENCY", "1".to_owned()),
        ("TINTYPE_LEASE_SECS", "3".to_owned()),
    ];
    vars.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let mut process =
        ServiceProcess::spawn(env!("CARGO_BIN_EXE_image-worker"), &[], env, &vars).unwrap();
    process
        .wait_ready(
            &format!("http://127.0.0.1:{port}/readyz"),
            Duration::from_secs(30),
        )
        .await;
    process
}

async fn wait_status(env: &TestEnv, id: Uuid, what: &str, ok: impl Fn(JobStatus) -> bool) {
    eventually(Duration::from_secs(50), what, || async {
        ok(env.job(id).await.status()).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_job_survives_kill_9_of_its_worker_and_finishes_once_elsewhere() {
    let env = TestEnv::new().await;
    let mut first = worker(&env, "worker-a", &[]).await;
    let id = env.submit(images::jpeg(1600, 1200), &slow_recipe()).await;
    wait_status(&env, id, "the job running on worker-a", |s| {
        s == JobStatus::Running
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    first.signal(Signal::SIGKILL);
    first.wait_exit(Duration::from_secs(10)).await;

    let _second = worker(&env, "worker-b", &[]).await;
    wait_status(&env, id, "the job finished", |s| s.is_final()).await;
    let job = env.job(id).await;
    assert_eq!(job.status(), JobStatus::Succeeded, "{job:?}");
    assert_eq!(job.worker_id.as_deref(), Some("worker-b"));
    // One set of outputs: keys are per job and output name, so the rerun overwrote, never added.
    let keys = env.storage.list(&format!("outputs/{id}/")).await.unwrap();
    assert_eq!(keys.len(), 6, "{keys:?}");
    let starts: Vec<Option<String>> = env
        .history(id)
        .await
        .into_iter()
        .filter(|(kind, _)| kind == "started")
        .map(|(_, worker)| worker)
        .collect();
    assert_eq!(
        starts,
        vec![Some("worker-a".to_owned()), Some("worker-b".to_owned())],
        "the history shows the takeover"
    );
}

#[tokio::test]
async fn sigterm_past_the_grace_period_hands_the_job_back_and_exits_0() {
    let env = TestEnv::new().await;
    let mut first = worker(&env, "worker-a", &[("TINTYPE_SHUTDOWN_GRACE_SECS", "1")]).await;
    let id = env.submit(images::jpeg(1600, 1200), &slow_recipe()).await;
    wait_status(&env, id, "the job running on worker-a", |s| {
        s == JobStatus::Running
    })
    .await;
    first.signal(Signal::SIGTERM);
    let status = first.wait_exit(Duration::from_secs(15)).await;
    assert!(status.success(), "exit {status}:\n{}", first.log_text());
    let job = env.job(id).await;
    assert!(
        matches!(job.status(), JobStatus::Queued | JobStatus::Succeeded),
        "left {:?} after shutdown:\n{}",
        job.status(),
        first.log_text()
    );

    let _second = worker(&env, "worker-b", &[]).await;
    wait_status(&env, id, "the job finished", |s| s.is_final()).await;
    assert_eq!(env.job(id).await.status(), JobStatus::Succeeded);
}
