//! Test support against the real services. Each [`TestEnv`] owns a fresh Postgres database (with
//! migrations applied), a unique RabbitMQ namespace prefix and a fresh bucket, and removes all three
//! when dropped, so tests run in parallel and leave nothing behind.
//!
//! Connection settings come from the same variables the services read (`DATABASE_URL`, `AMQP_URL`,
//! `S3_ENDPOINT`, `AWS_ACCESS_KEY_ID`, …); the defaults match `scripts/stack.sh`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod images;
pub mod jobs;
pub mod openmetrics;
pub mod otlp;
pub mod process;
pub mod stub;

use std::time::Duration;

use shared_protocol::topology::Topology;
use sqlx::PgPool;
use tintype_storage::{Storage, StorageConfig};
use uuid::Uuid;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// The server-level Postgres URL (its database part is replaced per test).
pub fn database_url() -> String {
    env_or(
        "DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/postgres",
    )
}

/// The RabbitMQ URL.
pub fn amqp_url() -> String {
    env_or("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")
}

/// Storage settings for `bucket` on the local S3 store.
pub fn storage_config(bucket: &str) -> StorageConfig {
    StorageConfig {
        endpoint: Some(env_or("S3_ENDPOINT", "http://127.0.0.1:8333")),
        bucket: bucket.to_owned(),
        region: env_or("S3_REGION", "us-east-1"),
        access_key_id: env_or("AWS_ACCESS_KEY_ID", "tintype-dev"),
        secret_access_key: env_or("AWS_SECRET_ACCESS_KEY", "tintype-dev-secret"),
        force_path_style: true,
    }
}

/// Replaces the database name in a Postgres URL.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    // postgres://user@host:port/db → keep everything up to the last '/' after the authority.
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

/// An isolated database, namespace and bucket for one test.
pub struct TestEnv {
    /// Name of the test database.
    pub database: String,
    /// URL of the test database.
    pub database_url: String,
    /// Pool on the test database.
    pub pool: PgPool,
    /// RabbitMQ URL.
    pub amqp_url: String,
    /// Unique broker namespace.
    pub topology: Topology,
    /// Storage settings of the test bucket.
    pub storage_config: StorageConfig,
    /// Handle on the test bucket.
    pub storage: Storage,
}

impl TestEnv {
    /// Creates the database (migrated), the namespace and the bucket.
    pub async fn new() -> Self {
        let id = Uuid::new_v4().simple().to_string();
        let short = &id[..12];
        let database = format!("tintype_test_{short}");
        let admin = with_database(&database_url(), "postgres");
        let admin_pool = tintype_db::connect(&admin, 1)
            .await
            .expect("connect to Postgres (is it running? `scripts/stack.sh up`)");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE \"{database}\""
        )))
        .execute(&admin_pool)
        .await
        .expect("create test database");
        admin_pool.close().await;
        let database_url = with_database(&database_url(), &database);
        let pool = tintype_db::connect(&database_url, 10)
            .await
            .expect("connect test db");
        tintype_db::migrate(&pool).await.expect("migrate test db");

        let bucket = format!("tt-{short}");
        let storage_config = storage_config(&bucket);
        let storage = Storage::new(&storage_config);
        storage
            .ensure_bucket()
            .await
            .expect("create test bucket (is SeaweedFS running? `scripts/stack.sh up`)");

        Self {
            database,
            database_url,
            pool,
            amqp_url: amqp_url(),
            topology: Topology::new(format!("tt-{short}")),
            storage_config,
            storage,
        }
    }
}

impl TestEnv {
    /// Database settings as a service reads them, pointing at this test's database.
    pub fn database_args(&self) -> tintype_db::DatabaseArgs {
        tintype_db::DatabaseArgs {
            database_url: self.database_url.clone(),
        }
    }

    /// Broker settings as a service reads them, in this test's namespace.
    pub fn broker_args(&self) -> tintype_broker::BrokerArgs {
        tintype_broker::BrokerArgs {
            amqp_url: self.amqp_url.clone(),
            amqp_prefix: self.topology.prefix().to_owned(),
        }
    }

    /// The environment a service binary needs to run against this test's resources.
    pub fn service_env(&self) -> Vec<(&'static str, String)> {
        let s = &self.storage_config;
        vec![
            ("DATABASE_URL", self.database_url.clone()),
            ("AMQP_URL", self.amqp_url.clone()),
            ("TINTYPE_AMQP_PREFIX", self.topology.prefix().to_owned()),
            ("S3_ENDPOINT", s.endpoint.clone().unwrap_or_default()),
            ("S3_BUCKET", s.bucket.clone()),
            ("S3_REGION", s.region.clone()),
            ("S3_FORCE_PATH_STYLE", s.force_path_style.to_string()),
            ("AWS_ACCESS_KEY_ID", s.access_key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY", s.secret_access_key.clone()),
        ]
    }

    /// Storage settings as a service reads them, for this test's bucket.
    pub fn storage_args(&self) -> tintype_storage::StorageArgs {
        let c = &self.storage_config;
        tintype_storage::StorageArgs {
            endpoint: c.endpoint.clone(),
            bucket: c.bucket.clone(),
            region: c.region.clone(),
            force_path_style: c.force_path_style,
            access_key_id: c.access_key_id.clone(),
            secret_access_key: c.secret_access_key.clone(),
        }
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        let database = self.database.clone();
        let topology = self.topology.clone();
        let amqp = self.amqp_url.clone();
        // A client of its own: the test's client has connections bound to the test's runtime,
        // which would stall on this thread's runtime until a timeout.
        let storage_config = self.storage_config.clone();
        // Drop runs inside the test's runtime, which cannot block on itself: clean up on a
        // thread with its own runtime and wait for it.
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cleanup runtime");
            // The pool is not closed here: its connections belong to the test's runtime, which
            // is blocked on this thread. `DROP DATABASE … WITH (FORCE)` ends them instead.
            rt.block_on(async move {
                if let Ok(conn) = tintype_broker::connect(&amqp, "testkit-cleanup").await
                    && let Ok(channel) = conn.create_channel().await
                {
                    let _ = tintype_broker::topology::delete(&channel, &topology).await;
                    let _ = conn.close(200, "bye".into()).await;
                }
                let storage = Storage::new(&storage_config);
                let _ =
                    tokio::time::timeout(Duration::from_secs(30), storage.destroy_bucket()).await;
                let admin = with_database(&database_url(), "postgres");
                if let Ok(admin_pool) = tintype_db::connect(&admin, 1).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"
                    )))
                    .execute(&admin_pool)
                    .await;
                    admin_pool.close().await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

/// Sends service logs to the test output (shown for failing tests); `RUST_LOG` filters them.
pub fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,lapin=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// Polls `check` every 50 ms until it returns `Some`, or panics after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_swapped_in_urls() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/tintype", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }
}
