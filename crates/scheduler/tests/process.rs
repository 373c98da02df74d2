//! The `scheduler` binary as an operator runs it: configured from the environment, ready on its
//! ops port, and exiting 0 on SIGTERM.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use tintype_testkit::TestEnv;
use tintype_testkit::process::{ServiceProcess, Signal, free_port};

#[tokio::test]
async fn the_binary_starts_from_the_environment_and_exits_cleanly_on_sigterm() {
    let env = TestEnv::new().await;
    let port = free_port();
    let mut scheduler = ServiceProcess::spawn(
        env!("CARGO_BIN_EXE_scheduler"),
        &[],
        &env,
        &[("TINTYPE_METRICS_ADDR", format!("127.0.0.1:{port}"))],
    )
    .unwrap();
    scheduler
        .wait_ready(
            &format!("http://127.0.0.1:{port}/readyz"),
            Duration::from_secs(30),
        )
        .await;
    scheduler.signal(Signal::SIGTERM);
    let status = scheduler.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "exit {status}:\n{}", scheduler.log_text());
}
