//! Settings of the gateway, from flags or the environment (12-factor).

use std::net::SocketAddr;

use shared_protocol::recipe::RecipeLimits;
use tintype_storage::StorageArgs;

/// Everything the gateway needs to run.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Address the HTTP API listens on (port 0 picks a free port).
    #[arg(long, env = "TINTYPE_HTTP_ADDR", default_value = "0.0.0.0:8080")]
    pub http_addr: SocketAddr,
    /// PostgreSQL.
    #[command(flatten)]
    pub database: tintype_db::DatabaseArgs,
    /// RabbitMQ.
    #[command(flatten)]
    pub broker: tintype_broker::BrokerArgs,
    /// Object storage.
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Largest accepted upload, in bytes.
    #[arg(long, env = "TINTYPE_MAX_UPLOAD_BYTES", default_value_t = 50 * 1024 * 1024)]
    pub max_upload_bytes: u64,
    /// Largest accepted image, in pixels (frames counted); refused from the header, before decoding.
    #[arg(long, env = "TINTYPE_MAX_PIXELS", default_value_t = 50_000_000)]
    pub max_pixels: u64,
    /// Largest accepted width or height of a source image.
    #[arg(long, env = "TINTYPE_MAX_DIMENSION", default_value_t = 30_000)]
    pub max_dimension: u32,
    /// Base URL clients reach the gateway at, used in output links (default: from the request).
    #[arg(long, env = "TINTYPE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Attempts a job gets for transient failures unless its recipe says otherwise.
    #[arg(long, env = "TINTYPE_JOB_MAX_ATTEMPTS", default_value_t = 3)]
    pub job_max_attempts: u32,
    /// Time limit of one attempt, in seconds, unless the recipe says otherwise.
    #[arg(long, env = "TINTYPE_JOB_TIMEOUT_SECS", default_value_t = 120)]
    pub job_timeout_secs: u32,
    /// How long an `Idempotency-Key` keeps answering with its job, in seconds.
    #[arg(long, env = "TINTYPE_IDEMPOTENCY_TTL_SECS", default_value_t = 24 * 3600)]
    pub idempotency_ttl_secs: u64,
    /// `required`: every `/v1` route needs an API key; `disabled`: none (local development only).
    #[arg(long, env = "TINTYPE_AUTH", value_enum, default_value = "required")]
    pub auth: crate::auth::AuthMode,
    /// Requests a second per API key (or client address without auth); 0 turns the limit off.
    #[arg(long, env = "TINTYPE_RATE_LIMIT_PER_SEC", default_value_t = 100)]
    pub rate_limit_per_sec: u32,
    /// Burst above the rate a caller may send at once.
    #[arg(long, env = "TINTYPE_RATE_LIMIT_BURST", default_value_t = 200)]
    pub rate_limit_burst: u32,
    /// Submits are refused (503 `queue_full`) while this many jobs wait; 0 admits everything.
    #[arg(long, env = "TINTYPE_MAX_WAITING_JOBS", default_value_t = 100_000)]
    pub max_waiting_jobs: u64,
    /// Origins allowed to call the API from a browser (comma-separated, `*` for any); empty: none.
    #[arg(
        long,
        env = "TINTYPE_CORS_ORIGINS",
        value_delimiter = ',',
        default_value = ""
    )]
    pub cors_origins: Vec<String>,
    /// CIDRs, addresses or host names exempted from the outbound guard for source URLs,
    /// comma-separated (empty: only public addresses).
    #[arg(long, env = "TINTYPE_OUTBOUND_ALLOW", default_value = "", value_parser = tintype_outbound::Allowlist::parse)]
    pub outbound_allow: tintype_outbound::Allowlist,
    /// Time a dry run (`POST /v1/jobs:validate`) gives a source URL to arrive, in seconds.
    #[arg(long, env = "TINTYPE_SOURCE_FETCH_TIMEOUT_SECS", default_value_t = 30)]
    pub source_fetch_timeout_secs: u32,
    /// Jaeger's UI base URL (e.g. `http://jaeger:16686`); the dashboard links each job's trace
    /// to `{url}/trace/{trace_id}`. Unset: no trace links.
    #[arg(long, env = "TINTYPE_JAEGER_URL")]
    pub jaeger_url: Option<String>,
    /// Size of the Postgres pool.
    #[arg(long, env = "TINTYPE_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
    /// Uploads read, probed and stored at once; more wait with their bodies unread, so a burst of
    /// large uploads costs this many buffers of memory, not one per connection.
    #[arg(long, env = "TINTYPE_UPLOAD_CONCURRENCY", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    pub upload_concurrency: u32,
}

impl Settings {
    /// Engine limits used to refuse sources at upload time.
    pub fn image_limits(&self) -> image_engine::Limits {
        image_engine::Limits {
            max_source_bytes: self.max_upload_bytes,
            max_pixels: self.max_pixels,
            max_width: self.max_dimension,
            max_height: self.max_dimension,
            ..image_engine::Limits::default()
        }
    }

    /// Recipe bounds.
    pub fn recipe_limits(&self) -> RecipeLimits {
        RecipeLimits::default()
    }
}
