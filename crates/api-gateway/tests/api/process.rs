//! The `api-gateway` binary as an operator runs it: `migrate` (idempotent), then serving from the
//! environment alone, and exiting 0 on SIGTERM.

use std::time::Duration;

use tintype_testkit::TestEnv;
use tintype_testkit::process::{ServiceProcess, Signal, free_port};

#[tokio::test]
async fn migrate_then_serve_from_the_environment_and_exit_cleanly_on_sigterm() {
    let env = TestEnv::new().await;
    let bin = env!("CARGO_BIN_EXE_api-gateway");

    // The test database is migrated already: a second run must be a no-op that succeeds.
    let mut migrate = ServiceProcess::spawn(bin, &["migrate"], &env, &[]).unwrap();
    let status = migrate.wait_exit(Duration::from_secs(60)).await;
    assert!(
        status.success(),
        "migrate: {status}:\n{}",
        migrate.log_text()
    );

    let port = free_port();
    let mut gateway = ServiceProcess::spawn(
        bin,
        &[],
        &env,
        &[("TINTYPE_HTTP_ADDR", format!("127.0.0.1:{port}"))],
    )
    .unwrap();
    gateway
        .wait_ready(
            &format!("http://127.0.0.1:{port}/readyz"),
            Duration::from_secs(30),
        )
        .await;
    gateway.signal(Signal::SIGTERM);
    let status = gateway.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "exit {status}:\n{}", gateway.log_text());
}
