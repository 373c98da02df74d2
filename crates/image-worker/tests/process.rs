//! The `image-worker` binary as an operator runs it: configured from the environment, ready on
//! its ops port, and exiting 0 on SIGTERM.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use tintype_testkit::TestEnv;
use tintype_testkit::process::{ServiceProcess, Signal, free_port};

#[tokio::test]
async fn the_binary_starts_from_the_environment_and_exits_cleanly_on_sigterm() {
    let env = TestEnv::new().await;
    let port = free_port();
    let mut worker = ServiceProcess::spawn(
        env!("CARGO_BIN_EXE_image-worker"),
        &[],
        &env,
        &[
            ("TINTYPE_METRICS_ADDR", format!("127.0.0.1:{port}")),
            ("TINTYPE_WORKER_QUEUES", "high,default".into()),
            ("TINTYPE_WORKER_CONCURRENCY", "2".into()),
        ],
    )
    .unwrap();
    worker
        .wait_ready(
            &format!("http://127.0.0.1:{port}/readyz"),
            Duration::from_secs(30),
        )
        .await;
    let metrics = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("tintype_worker"), "{metrics}");

    worker.signal(Signal::SIGTERM);
    let status = worker.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "exit {status}:\n{}", worker.log_text());
}
