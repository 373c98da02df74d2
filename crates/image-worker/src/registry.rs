//! This worker in the worker registry (`GET /v1/workers`): registered at start, a heartbeat with
//! the jobs it runs and its totals every few seconds, and a goodbye on a clean stop.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::context::Ctx;

/// How often the registry row is refreshed; `GET /v1/workers` calls a worker dead after 30 s.
const BEAT: Duration = Duration::from_secs(5);

/// What the worker is doing, as reported in its heartbeats.
#[derive(Debug, Default)]
pub struct Activity {
    current: Mutex<HashSet<Uuid>>,
    processed: AtomicI64,
    failed: AtomicI64,
}

impl Activity {
    /// A job started on this worker.
    pub fn started(&self, id: Uuid) {
        if let Ok(mut current) = self.current.lock() {
            current.insert(id);
        }
    }

    /// A job's attempt ended here, `failed` or not.
    pub fn finished(&self, id: Uuid, failed: bool) {
        if let Ok(mut current) = self.current.lock() {
            current.remove(&id);
        }
        self.processed.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn snapshot(&self) -> (Vec<Uuid>, i64, i64) {
        let current = self
            .current
            .lock()
            .map(|c| c.iter().copied().collect())
            .unwrap_or_default();
        (
            current,
            self.processed.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }
}

/// Registers the worker, then heartbeats until `stop`, then records the clean stop.
pub async fn run(ctx: Ctx, queues: Vec<String>, concurrency: i32, stop: CancellationToken) {
    let host = crate::config::host_name();
    let mut registered = false;
    loop {
        let result = if registered {
            let (current, processed, failed) = ctx.activity.snapshot();
            tintype_db::workers::beat(&ctx.pool, &ctx.worker_id, &current, processed, failed).await
        } else {
            tintype_db::workers::register(&ctx.pool, &ctx.worker_id, &host, &queues, concurrency)
                .await
        };
        match result {
            Ok(()) => registered = true,
            // Not fatal: the registry is for people; jobs run without it.
            Err(err) => tracing::warn!(error = %err, "worker registry update failed"),
        }
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(BEAT) => {}
        }
    }
    if let Err(err) = tintype_db::workers::stopped(&ctx.pool, &ctx.worker_id).await {
        tracing::warn!(error = %err, "could not record the worker's stop");
    }
}
