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

#[tokio::test]
async fn keys_made_with_the_admin_cli_open_the_api_and_revoking_closes_it_at_once() {
    let env = TestEnv::new().await;
    let bin = env!("CARGO_BIN_EXE_api-gateway");
    let run = |args: &'static [&'static str]| {
        std::process::Command::new(bin)
            .args(args)
            .envs(env.service_env())
            .output()
            .unwrap()
    };
    let created = run(&["keys", "create", "--name", "ci", "--scope", "jobs:read"]);
    assert!(created.status.success(), "{created:?}");
    let stdout = String::from_utf8(created.stdout).unwrap();
    let key = stdout
        .lines()
        .find(|l| l.starts_with("tt_"))
        .expect("the key on stdout")
        .to_owned();
    let bad = run(&["keys", "create", "--name", "x", "--scope", "root"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown scope `root`"));
    let listed = String::from_utf8(run(&["keys", "list"]).stdout).unwrap();
    assert!(
        listed.contains("\"jobs:read\"") && !listed.contains(&key),
        "{listed}"
    );

    // Auth is on by default.
    let port = free_port();
    let mut gateway = ServiceProcess::spawn(
        bin,
        &[],
        &env,
        &[("TINTYPE_HTTP_ADDR", format!("127.0.0.1:{port}"))],
    )
    .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    gateway
        .wait_ready(&format!("{base}/readyz"), Duration::from_secs(30))
        .await;
    let client = reqwest::Client::new();
    let job = format!("{base}/v1/jobs/{}", uuid::Uuid::now_v7());
    let status = |key: Option<String>| {
        let mut request = client.get(&job);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status(None).await, 401);
    assert_eq!(status(Some(key.clone())).await, 404);

    let prefix: String = key.chars().take(11).collect();
    let revoked = std::process::Command::new(bin)
        .args(["keys", "revoke", &prefix])
        .envs(env.service_env())
        .output()
        .unwrap();
    assert!(revoked.status.success(), "{revoked:?}");
    assert_eq!(status(Some(key)).await, 401);
    gateway.signal(Signal::SIGTERM);
    let exit = gateway.wait_exit(Duration::from_secs(30)).await;
    assert!(exit.success(), "exit {exit}:\n{}", gateway.log_text());
}
