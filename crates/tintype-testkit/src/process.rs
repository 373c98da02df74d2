//! Service binaries run as real processes, for tests that need what an in-process service cannot
//! show: start-up from the environment, signals, `kill -9`.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

pub use nix::sys::signal::Signal;
use nix::sys::signal::kill;
use nix::unistd::Pid;
use tokio::process::{Child, Command};

use crate::TestEnv;

/// A free TCP port on 127.0.0.1 (released before returning; good enough for tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A running service binary whose output goes to a log file, shown when the test fails.
pub struct ServiceProcess {
    name: String,
    child: Child,
    log: PathBuf,
}

impl ServiceProcess {
    /// Starts `bin` with `args`, the environment of `env` (database, broker namespace, bucket)
    /// and `extra` variables on top.
    pub fn spawn(
        bin: &str,
        args: &[&str],
        env: &TestEnv,
        extra: &[(&str, String)],
    ) -> std::io::Result<Self> {
        let name = std::path::Path::new(bin)
            .file_name()
            .map_or_else(|| bin.to_owned(), |n| n.to_string_lossy().into_owned());
        let log = std::env::temp_dir().join(format!(
            "tintype-{name}-{}.log",
            uuid::Uuid::new_v4().simple()
        ));
        let file = std::fs::File::create(&log)?;
        let mut command = Command::new(bin);
        command
            .args(args)
            .envs(env.service_env())
            .envs(extra.iter().map(|(k, v)| (*k, v.as_str())))
            .env("RUST_LOG", "info,sqlx=warn")
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .kill_on_drop(true);
        let child = command.spawn()?;
        Ok(Self { name, child, log })
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// Waits until `url` answers 200, panicking with the log after `timeout`.
    pub async fn wait_ready(&mut self, url: &str, timeout: Duration) {
        let client = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited early ({status}):\n{}",
                    self.name,
                    self.log_text()
                );
            }
            if let Ok(resp) = client.get(url).timeout(Duration::from_secs(2)).send().await
                && resp.status().is_success()
            {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "{} not ready at {url} after {timeout:?}:\n{}",
                    self.name,
                    self.log_text()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends a signal (SIGTERM for a graceful stop, SIGKILL for a crash).
    pub fn signal(&self, signal: Signal) {
        if let Ok(pid) = i32::try_from(self.pid()) {
            let _ = kill(Pid::from_raw(pid), signal);
        }
    }

    /// Waits for the process to exit, panicking with the log after `timeout`.
    pub async fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(Ok(status)) => status,
            Ok(Err(err)) => panic!("waiting for {}: {err}", self.name),
            Err(_) => panic!(
                "{} still running after {timeout:?}:\n{}",
                self.name,
                self.log_text()
            ),
        }
    }

    /// What the process printed so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if std::thread::panicking() {
            eprintln!("---- {} log ----\n{}", self.name, self.log_text());
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Another package's service binary beside `sibling` (a `CARGO_BIN_EXE_*` path of the calling
/// test), built or brought up to date first: cargo builds only the calling package's own binaries
/// for its tests, and a stale binary would test old code. `make test` runs
/// `cargo test --workspace`, which builds every service binary before any test starts, and says
/// so with `TINTYPE_TEST_BINARIES_BUILT=1`: then the (slow, differently feature-resolved) nested
/// build is skipped.
pub fn workspace_binary(sibling: &str, package: &str) -> PathBuf {
    let dir = std::path::Path::new(sibling)
        .parent()
        .expect("a binary path has a directory");
    if std::env::var("TINTYPE_TEST_BINARIES_BUILT").is_ok_and(|v| v == "1")
        && dir.join(package).exists()
    {
        return dir.join(package);
    }
    let cargo = std::env::var("CARGO")
        .ok()
        .or_else(|| option_env!("CARGO").map(str::to_owned))
        .unwrap_or_else(|| "cargo".to_owned());
    let mut command = std::process::Command::new(cargo);
    command.args(["build", "--quiet", "-p", package, "--bin", package]);
    // The binaries go where the calling test's own binary is.
    if dir.file_name().is_some_and(|profile| profile == "debug")
        && let Some(target_dir) = dir.parent()
    {
        command.arg("--target-dir").arg(target_dir);
    }
    let status = command.status().expect("running cargo build");
    assert!(status.success(), "cargo build -p {package} failed");
    let path = dir.join(package);
    assert!(path.exists(), "{} was not built", path.display());
    path
}
