//! What every job handler shares.

use std::sync::Arc;

use shared_protocol::topology::Topology;
use sqlx::PgPool;
use tintype_broker::Publisher;
use tintype_storage::Storage;

use crate::metrics::WorkerMetrics;
use crate::registry::Activity;

/// Shared by all in-flight jobs of one worker.
pub struct Context {
    /// Job state.
    pub pool: PgPool,
    /// Originals and outputs.
    pub storage: Storage,
    /// Confirmed publisher (events, retries).
    pub publisher: Publisher,
    /// Broker names.
    pub topology: Topology,
    /// This worker's identity.
    pub worker_id: String,
    /// Guarded HTTP client for source URLs.
    pub outbound: tintype_outbound::Outbound,
    /// Time a source URL gets to arrive.
    pub fetch_timeout: std::time::Duration,
    /// Decode limits.
    pub limits: image_engine::Limits,
    /// Lease length in seconds.
    pub lease_secs: u32,
    /// Metrics.
    pub metrics: WorkerMetrics,
    /// Running jobs and totals, for the worker registry.
    pub activity: Activity,
    /// Cancelled when the shutdown grace period is over: running jobs stop and are handed back.
    pub hand_back: tokio_util::sync::CancellationToken,
}

/// Shared handle.
pub type Ctx = Arc<Context>;
