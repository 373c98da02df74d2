//! Postgres access for tintype: the pool, the migrations (the only definition of the schema), the
//! schema check services run at start-up, and every statement that touches job state.
//!
//! - [`jobs`]: inserting, reading and transitioning jobs; each transition is one conditional
//!   `UPDATE … WHERE status IN (…) RETURNING`.
//! - [`outbox`]: messages written in the same transaction as the state they announce.
//! - [`events`]: the per-job history.
//! - [`listing`]: the filtered, keyset-paged job listing.
//! - [`stats`]: throughput, outcomes, latency percentiles and waiting work for operators.
//! - [`webhooks`]: webhook deliveries (queued by a trigger on final states) and their attempts.
//! - [`submit`]: inserting a queued job with its history and messages, for every producer.
//! - [`schedules`]: schedules, the claiming of their due ticks, and their run history.
//! - [`housekeeping`]: the stuck-job reaper's and retention's batch statements.

pub mod announce;
pub mod api_keys;
pub mod args;
pub mod events;
pub mod housekeeping;
pub mod idempotency;
pub mod jobs;
pub mod listing;
pub mod operator;
pub mod outbox;
pub mod presets;
pub mod schedules;
pub mod stats;
pub mod submit;
pub mod webhooks;
pub mod workers;

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};

pub use args::DatabaseArgs;
pub use jobs::{ClaimOutcome, JobRow, NewJob};
pub use outbox::OutboxMessage;

/// The embedded migrations from the workspace's `migrations/` directory.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// A database failure.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database has not been migrated to what this build expects.
    #[error(
        "the database schema is behind this build ({missing} migration(s) not applied); run `api-gateway migrate` first"
    )]
    SchemaBehind {
        /// How many migrations are missing.
        missing: usize,
    },
    /// The connection string is not usable.
    #[error("invalid DATABASE_URL: {0}")]
    InvalidUrl(String),
    /// A query or connection failed.
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    /// Applying migrations failed.
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl DbError {
    /// Whether the failure is likely to pass (connection lost, server restarting, pool timeout).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Sqlx(err) => {
                matches!(
                    err,
                    sqlx::Error::Io(_)
                        | sqlx::Error::PoolTimedOut
                        | sqlx::Error::PoolClosed
                        | sqlx::Error::WorkerCrashed
                        | sqlx::Error::Protocol(_)
                ) || err
                    .as_database_error()
                    .and_then(|e| e.code())
                    // Class 08: connection exception; 57P01-03: admin shutdown / crash / cannot connect now;
                    // 40001/40P01: serialization failure / deadlock.
                    .is_some_and(|code| {
                        code.starts_with("08")
                            || code.starts_with("57P0")
                            || code == "40001"
                            || code == "40P01"
                    })
            }
            _ => false,
        }
    }
}

/// Connects a pool. `max_connections` should cover the service's concurrency plus a little.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, DbError> {
    let options: PgConnectOptions = url
        .parse()
        .map_err(|e: sqlx::Error| DbError::InvalidUrl(e.to_string()))?;
    // Statement logging at INFO floods logs under load; keep it for slow statements only.
    let options = options
        .log_statements(log::LevelFilter::Trace)
        .log_slow_statements(log::LevelFilter::Warn, Duration::from_millis(500));
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await?;
    Ok(pool)
}

/// Applies every pending migration.
pub async fn migrate(pool: &PgPool) -> Result<(), DbError> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// Refuses to go on when the database lacks a migration this build knows.
pub async fn check_schema(pool: &PgPool) -> Result<(), DbError> {
    let table_exists: bool =
        sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(pool)
            .await?;
    let applied: Vec<i64> = if table_exists {
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(pool)
            .await?
    } else {
        Vec::new()
    };
    let missing = MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .filter(|m| !applied.contains(&m.version))
        .count();
    if missing > 0 {
        return Err(DbError::SchemaBehind { missing });
    }
    Ok(())
}

/// Cheap liveness query for readiness probes.
pub async fn ping(pool: &PgPool) -> Result<(), DbError> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}
