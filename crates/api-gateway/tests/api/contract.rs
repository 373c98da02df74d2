//! The contract test: schemathesis (installed by `scripts/contract-venv.sh`) attacks a live gateway
//! with the generated OpenAPI document — examples, boundary values and fuzzed requests for every
//! operation, with a valid admin key — and checks that nothing answers 5xx and that every answer
//! matches the documented status codes, content types and schemas. The endless live event stream
//! is the one documented route left out (see below).

use std::process::Command;

use api_gateway::auth::{AuthMode, keys};

use crate::helpers::{Options, spawn_app_with};

/// The venv the project's script installs schemathesis into.
fn schemathesis() -> std::path::PathBuf {
    let venv = std::env::var("TINTYPE_CONTRACT_VENV").unwrap_or_else(|_| {
        format!(
            "{}/.cache/tintype/venv-contract",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    let bin = std::path::PathBuf::from(venv).join("bin/schemathesis");
    assert!(
        bin.exists(),
        "schemathesis is not installed at {}: run `scripts/contract-venv.sh` (make test does)",
        bin.display()
    );
    bin
}

#[tokio::test]
async fn the_generated_contract_holds_under_schemathesis() {
    let bin = schemathesis();
    let app = spawn_app_with(Options {
        gateway: |s| s.auth = AuthMode::Required,
        ..Options::default()
    })
    .await;
    let key = keys::generate();
    tintype_db::api_keys::insert(
        &app.env.pool,
        "contract",
        &keys::prefix(&key),
        &keys::hash(&key),
        &["admin".to_owned()],
    )
    .await
    .unwrap();
    let spec = format!("{}/openapi.json", app.address);
    let reports = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("schemathesis");
    let address = app.address.clone();
    let run = move || {
        let (bin, spec, address, reports, key) = (
            bin.clone(),
            spec.clone(),
            address.clone(),
            reports.clone(),
            key.clone(),
        );
        tokio::task::spawn_blocking(move || {
            Command::new(bin)
                .args(["run", &spec, "--url", &address])
                .args([
                    "--checks",
                    "not_a_server_error,status_code_conformance,content_type_conformance,\
                     response_schema_conformance,response_headers_conformance",
                    "--max-examples",
                    "12",
                    "--seed",
                    "20261122",
                    // One worker: with two, hypothesis' lambda descriptions race between threads
                    // and CPython 3.11's ast module raises "AST constructor recursion depth
                    // mismatch" (a tool crash, not a finding).
                    "--workers",
                    "1",
                    "--request-timeout",
                    "20",
                    "--no-color",
                    "--generation-database",
                    "none",
                    "--report",
                    "junit",
                ])
                .arg("--report-dir")
                .arg(&reports)
                .args(["-H", &format!("Authorization: Bearer {key}")])
                // An event stream never ends, so no response to check would ever arrive; its
                // answers are tested in operator_views.rs instead.
                .args(["--exclude-path", "/v1/events/stream"])
                .output()
                .unwrap()
        })
    };
    let mut attempt = 0;
    let stdout = loop {
        attempt += 1;
        let output = run().await.unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if output.status.success() {
            break stdout;
        }
        // Should that ast crash still happen, the tool crashed, not the API: only such a run,
        // with no contract failure in it, is run again.
        let tool_crash_only =
            stdout.contains("recursion depth mismatch") && !stdout.contains("= FAILURES =");
        assert!(
            tool_crash_only && attempt < 3,
            "schemathesis found contract violations:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        eprintln!("schemathesis crashed inside CPython's ast module (not an API failure); again");
    };
    // It really ran: every documented operation was exercised.
    assert!(stdout.contains("passed"), "{stdout}");
    app.stop().await;
}
