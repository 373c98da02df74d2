//! tintype's image worker.
//!
//! - [`config`]: settings from flags and the environment.
//! - [`consumer`]: the consume loop (reconnects, bounded concurrency, graceful shutdown).
//! - [`job`]: one delivery: claim, run under lease and time limit, record, ack.
//! - [`process`]: the work of one attempt: source, decode once, render and upload each output.
//! - [`error`]: retry-or-abort classification of failures.
//! - [`metrics`]: Prometheus metrics on the operations port.
//! - [`trace`]: the consume span, continuing the submitter's trace from the message headers.
//! - [`local_run`]: `image-worker process`, the same engine on local files.

#![recursion_limit = "256"]

pub mod config;
pub mod consumer;
pub mod context;
pub mod error;
pub mod job;
pub mod local_run;
pub mod metrics;
pub mod process;
pub mod registry;
pub mod trace;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tintype_broker::Publisher;
use tintype_storage::Storage;
use tintype_telemetry::ops::{OpsServer, ReadinessCheck};
use tokio_util::sync::CancellationToken;

pub use config::Settings;
use context::Context;

/// A built worker: connected to Postgres, its operations port bound.
pub struct Application {
    ctx: context::Ctx,
    options: consumer::ConsumeOptions,
    ops: OpsServer,
}

impl Application {
    /// Connects to Postgres (checking the schema) and binds the operations port.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let concurrency = settings.concurrency.max(1);
        // Each job holds at most one connection at a time, plus heartbeats and the outbox.
        let pool = tintype_db::connect(&settings.database.database_url, concurrency as u32 + 4)
            .await
            .context("connecting to PostgreSQL")?;
        tintype_db::check_schema(&pool).await?;
        let worker_id = settings.worker_id();
        let topology = settings.broker.topology();
        let publisher = Publisher::new(
            &settings.broker.amqp_url,
            &format!("image-worker {worker_id} publisher"),
            topology.clone(),
        );
        let storage = Storage::new(&settings.storage.config());
        let (metrics, registry) = metrics::WorkerMetrics::register();
        let ctx = Arc::new(Context {
            pool: pool.clone(),
            storage: storage.clone(),
            publisher: publisher.clone(),
            topology,
            worker_id: worker_id.clone(),
            outbound: tintype_outbound::Outbound::new(
                tintype_outbound::Guard::new(settings.outbound_allow.clone()),
                &tintype_outbound::ClientOptions {
                    user_agent: "tintype-worker".into(),
                    ..Default::default()
                },
            )?,
            fetch_timeout: std::time::Duration::from_secs(u64::from(
                settings.source_fetch_timeout_secs.max(1),
            )),
            limits: settings.image_limits(),
            lease_secs: settings.lease_secs.max(3),
            metrics,
            activity: registry::Activity::default(),
            hand_back: CancellationToken::new(),
        });
        let readiness: ReadinessCheck = Arc::new(move || {
            let (pool, publisher, storage) = (pool.clone(), publisher.clone(), storage.clone());
            Box::pin(async move {
                let mut failures = Vec::new();
                if let Err(e) = tintype_db::ping(&pool).await {
                    failures.push(("postgres", e.to_string()));
                }
                if let Err(e) = publisher.check().await {
                    failures.push(("rabbitmq", e.to_string()));
                }
                if let Err(e) = storage.check().await {
                    failures.push(("s3", e.to_string()));
                }
                failures
            })
        });
        let ops = OpsServer::bind(settings.metrics_addr, readiness, registry)?;
        tracing::info!(worker.id = %worker_id, metrics_port = ops.port(), queues = ?settings.queues, concurrency, "image-worker ready");
        Ok(Self {
            ctx,
            options: consumer::ConsumeOptions {
                amqp_url: settings.broker.amqp_url,
                queues: settings.queues,
                concurrency,
                shutdown_grace: Duration::from_secs(u64::from(settings.shutdown_grace_secs)),
            },
            ops,
        })
    }

    /// Port of `/healthz`, `/readyz` and `/metrics`.
    pub fn metrics_port(&self) -> u16 {
        self.ops.port()
    }

    /// This worker's identity.
    pub fn worker_id(&self) -> &str {
        &self.ctx.worker_id
    }

    /// Consumes jobs until `shutdown` resolves, then drains in-flight jobs and stops.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let ops = self.ops.spawn();
        let token = CancellationToken::new();
        let queues = self
            .options
            .queues
            .iter()
            .map(|q| q.as_str().to_owned())
            .collect();
        let concurrency = i32::try_from(self.options.concurrency).unwrap_or(i32::MAX);
        let registry_stop = CancellationToken::new();
        let registry = tokio::spawn(registry::run(
            self.ctx.clone(),
            queues,
            concurrency,
            registry_stop.clone(),
        ));
        let consuming = tokio::spawn(consumer::run(self.ctx.clone(), self.options, token.clone()));
        shutdown.await;
        token.cancel();
        consuming.await.context("consumer task")?;
        registry_stop.cancel();
        let _ = registry.await;
        ops.stop(true).await;
        self.ctx.pool.close().await;
        tracing::info!("image-worker stopped");
        Ok(())
    }
}
