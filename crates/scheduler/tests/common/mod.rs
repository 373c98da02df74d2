//! Shared by the scheduler's integration tests: settings for a [`TestEnv`] and a running app.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use clap::Parser;
use serde_json::{Value, json};
use tintype_testkit::TestEnv;
use uuid::Uuid;

#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    settings: scheduler::Settings,
}

/// Settings for `env` plus extra flags, parsed as the binary parses them.
pub fn settings(env: &TestEnv, extra: &[&str]) -> scheduler::Settings {
    let mut args = vec![
        "scheduler".to_owned(),
        "--metrics-addr".into(),
        "127.0.0.1:0".into(),
        "--database-url".into(),
        env.database_url.clone(),
        "--amqp-url".into(),
        env.amqp_url.clone(),
        "--amqp-prefix".into(),
        env.topology.prefix().to_owned(),
    ];
    let storage = env.storage_args();
    args.extend([
        "--s3-endpoint".to_owned(),
        storage.endpoint.unwrap_or_default(),
        "--s3-bucket".into(),
        storage.bucket,
        "--s3-region".into(),
        storage.region,
        "--aws-access-key-id".into(),
        storage.access_key_id,
        "--aws-secret-access-key".into(),
        storage.secret_access_key,
    ]);
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    Cli::try_parse_from(args).unwrap().settings
}

/// A running scheduler; stopped when dropped.
pub struct Running {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Stops the scheduler and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.unwrap().unwrap();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Builds and runs a scheduler with `settings`.
pub async fn start(settings: scheduler::Settings) -> Running {
    let app = scheduler::Application::build(settings).await.unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until_stopped(async move {
        let _ = rx.await;
    }));
    Running {
        stop: Some(tx),
        task,
    }
}

/// Inserts a queued job with `recipe` straight into the database.
pub async fn insert_job(env: &TestEnv, recipe: Value) -> Uuid {
    let id = Uuid::now_v7();
    let mut tx = env.pool.begin().await.unwrap();
    tintype_db::jobs::insert(
        &mut tx,
        &tintype_db::NewJob {
            id,
            priority: shared_protocol::Priority::Default,
            recipe,
            source_key: Some(format!("originals/{id}")),
            source_url: None,
            source_info: None,
            metadata: json!({"order": "A-1"}),
            max_attempts: 3,
            timeout_secs: 60,
            trace_id: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

/// A minimal valid recipe with a webhook.
pub fn recipe_with_webhook(url: &str) -> Value {
    json!({
        "outputs": [{"name": "thumb", "format": "webp", "quality": 80}],
        "webhook": {"url": url},
        "metadata": {"order": "A-1"}
    })
}

/// Stores an object at `key` in the test bucket and a schedule firing it (timing given as
/// `cron` or `every_secs`), due first at `next_fire_at`.
pub async fn insert_schedule(
    env: &TestEnv,
    cron: Option<&str>,
    every_secs: Option<i64>,
    misfire: &str,
    next_fire_at: chrono::DateTime<chrono::Utc>,
) -> Uuid {
    let key = "library/cat.jpg";
    env.storage
        .put(
            key,
            tintype_testkit::images::jpeg(16, 16).into(),
            "image/jpeg",
        )
        .await
        .unwrap();
    let id = Uuid::now_v7();
    tintype_db::schedules::insert(
        &env.pool,
        &tintype_db::schedules::NewSchedule {
            id,
            name: format!("test {misfire}"),
            recipe: json!({
                "outputs": [{"name": "thumb", "format": "webp", "quality": 80}],
                "metadata": {"from": "recipe"},
                "max_attempts": 2,
                "timeout_secs": 30
            }),
            source_url: None,
            source_key: Some(key.to_owned()),
            cron: cron.map(str::to_owned),
            every_secs,
            timezone: "Europe/Berlin".into(),
            misfire: misfire.into(),
            priority: shared_protocol::Priority::Low,
            metadata: json!({"team": "catalogue"}),
            next_fire_at: Some(next_fire_at),
        },
    )
    .await
    .unwrap();
    id
}

/// A publisher in the test's namespace.
pub fn publisher(env: &TestEnv) -> tintype_broker::Publisher {
    tintype_broker::Publisher::new(&env.amqp_url, "scheduler test", env.topology.clone())
}
