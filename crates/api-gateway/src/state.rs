//! What every handler shares.

use shared_protocol::recipe::RecipeLimits;
use sqlx::PgPool;
use tintype_broker::Publisher;
use tintype_storage::Storage;

/// Shared handler state.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Postgres pool.
    pub pool: PgPool,
    /// Confirmed publisher.
    pub publisher: Publisher,
    /// Group commit for submits without an `Idempotency-Key`.
    pub submits: crate::submits::SubmitLanes,
    /// Originals and outputs.
    pub storage: Storage,
    /// Source image limits checked at upload.
    pub image_limits: image_engine::Limits,
    /// Recipe bounds.
    pub recipe_limits: RecipeLimits,
    /// Largest upload in bytes.
    pub max_upload_bytes: u64,
    /// Base URL for links, if configured.
    pub public_url: Option<String>,
    /// Default attempts per job.
    pub job_max_attempts: u32,
    /// Default time limit per attempt.
    pub job_timeout_secs: u32,
    /// How long an idempotency key answers with its job, in seconds.
    pub idempotency_ttl_secs: u64,
    /// Whether requests need an API key.
    pub auth_mode: crate::auth::AuthMode,
    /// Per-caller request rate.
    pub rate_limit: crate::throttle::RateLimit,
    /// Admission control on submit.
    pub admission: crate::throttle::Admission,
    /// Guarded HTTP client for source URLs (checked at submit, fetched by dry runs).
    pub outbound: tintype_outbound::Outbound,
    /// Time a dry run gives a source URL.
    pub source_fetch_timeout: std::time::Duration,
    /// Permits for uploads in memory at once (`TINTYPE_UPLOAD_CONCURRENCY`).
    pub uploads: std::sync::Arc<tokio::sync::Semaphore>,
}
