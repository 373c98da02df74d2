//! tintype's scheduler: everything driven by time or sent outward.
//!
//! - [`config`]: settings from flags and the environment.
//! - [`relay`]: the outbox relay.
//! - [`webhooks`]: signed webhook delivery with retries, every attempt recorded.
//! - [`deadletters`]: records messages RabbitMQ dead-lettered as failed jobs.
//! - [`queues`]: queue depth and oldest-job age gauges, for autoscaling.
//! - [`schedules`]: fires due schedule ticks, exactly one job per tick across replicas.
//! - [`reaper`]: queues again (or fails) running jobs whose worker vanished.
//! - [`retention`]: deletes old jobs' objects in batches and marks the jobs `expired`.
//!
//! [`Application::build`] binds the operations port (port 0 allowed) so tests run it in-process.

pub mod config;
pub mod deadletters;
pub mod queues;
pub mod reaper;
pub mod relay;
pub mod retention;
pub mod schedules;
pub mod webhooks;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use prometheus_client::registry::Registry;
use tintype_broker::Publisher;
use tintype_telemetry::ops::{OpsServer, ReadinessCheck};
use tokio_util::sync::CancellationToken;

pub use config::{Retention, Settings};

/// A built scheduler.
pub struct Application {
    settings: Settings,
    pool: sqlx::PgPool,
    publisher: Publisher,
    relay_metrics: relay::RelayMetrics,
    deliverer: webhooks::Deliverer,
    queue_metrics: queues::QueueMetrics,
    storage: tintype_storage::Storage,
    housekeeping: HousekeepingMetrics,
    ops: OpsServer,
}

/// Counters of the schedule, reaper and retention loops.
#[derive(Clone, Default)]
struct HousekeepingMetrics {
    schedule_ticks: prometheus_client::metrics::counter::Counter,
    jobs_reaped: prometheus_client::metrics::counter::Counter,
    jobs_expired: prometheus_client::metrics::counter::Counter,
}

impl Application {
    /// Connects to Postgres (checking the schema) and binds the operations port.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let pool = tintype_db::connect(&settings.database.database_url, 4)
            .await
            .context("connecting to PostgreSQL")?;
        tintype_db::check_schema(&pool).await?;
        let publisher = Publisher::new(
            &settings.broker.amqp_url,
            "scheduler",
            settings.broker.topology(),
        );
        let relay_metrics = relay::RelayMetrics::default();
        let mut root = Registry::with_prefix("tintype");
        let queue_metrics = queues::QueueMetrics::register(&mut root);
        let registry = root.sub_registry_with_prefix("scheduler");
        registry.register(
            "outbox_published",
            "Messages published by the outbox relay",
            relay_metrics.published.clone(),
        );
        registry.register(
            "outbox_relay_failures",
            "Failed outbox relay passes",
            relay_metrics.failures.clone(),
        );
        registry.register(
            "outbox_pending",
            "Messages waiting in the outbox",
            relay_metrics.pending.clone(),
        );
        let signer = webhooks::Signer::parse(&settings.webhook_secrets)
            .map_err(|e| anyhow::anyhow!("TINTYPE_WEBHOOK_SECRETS: {e}"))?;
        if signer.is_empty() {
            tracing::warn!("TINTYPE_WEBHOOK_SECRETS is empty: webhooks go out unsigned");
        }
        // Webhook receivers answer directly; a redirect is a failed attempt, not a detour.
        let outbound = tintype_outbound::Outbound::new(
            tintype_outbound::Guard::new(settings.outbound_allow.clone()),
            &tintype_outbound::ClientOptions {
                max_redirects: 0,
                user_agent: "tintype-webhooks".into(),
                ..Default::default()
            },
        )?;
        let webhook_metrics = webhooks::WebhookMetrics::default();
        registry.register(
            "webhooks_delivered",
            "Webhook attempts the receiver accepted",
            webhook_metrics.delivered.clone(),
        );
        registry.register(
            "webhook_attempts_failed",
            "Webhook attempts that failed",
            webhook_metrics.failed_attempts.clone(),
        );
        let deliverer = webhooks::Deliverer {
            pool: pool.clone(),
            outbound,
            signer,
            policy: webhooks::Policy {
                max_attempts: settings.webhook_max_attempts.clamp(1, 100) as i32,
                backoff_base: Duration::from_millis(settings.webhook_backoff_ms),
                timeout: Duration::from_millis(settings.webhook_timeout_ms.max(1)),
                interval: Duration::from_millis(settings.webhook_interval_ms.max(10)),
                public_url: settings.public_url.clone().filter(|u| !u.is_empty()),
            },
            metrics: webhook_metrics,
        };
        let housekeeping = HousekeepingMetrics::default();
        registry.register(
            "schedule_ticks",
            "Schedule ticks handled (jobs fired, or misfires recorded)",
            housekeeping.schedule_ticks.clone(),
        );
        registry.register(
            "jobs_reaped",
            "Running jobs taken back from vanished workers",
            housekeeping.jobs_reaped.clone(),
        );
        registry.register(
            "jobs_expired",
            "Jobs whose objects retention deleted",
            housekeeping.jobs_expired.clone(),
        );
        let readiness: ReadinessCheck = {
            let (pool, publisher) = (pool.clone(), publisher.clone());
            Arc::new(move || {
                let (pool, publisher) = (pool.clone(), publisher.clone());
                Box::pin(async move {
                    let mut failures = Vec::new();
                    if let Err(e) = tintype_db::ping(&pool).await {
                        failures.push(("postgres", e.to_string()));
                    }
                    if let Err(e) = publisher.check().await {
                        failures.push(("rabbitmq", e.to_string()));
                    }
                    failures
                })
            })
        };
        let ops = OpsServer::bind(settings.metrics_addr, readiness, Arc::new(Mutex::new(root)))?;
        tracing::info!(metrics_port = ops.port(), "scheduler ready");
        let storage = tintype_storage::Storage::new(&settings.storage.config());
        Ok(Self {
            storage,
            housekeeping,
            settings,
            pool,
            publisher,
            relay_metrics,
            deliverer,
            queue_metrics,
            ops,
        })
    }

    /// Port of `/healthz`, `/readyz` and `/metrics`.
    pub fn metrics_port(&self) -> u16 {
        self.ops.port()
    }

    /// Runs every loop until `shutdown` resolves.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let ops = self.ops.spawn();
        let token = CancellationToken::new();
        let relay = tokio::spawn(relay::run(
            self.pool.clone(),
            self.publisher.clone(),
            Duration::from_millis(self.settings.relay_interval_ms.max(10)),
            Duration::from_millis(self.settings.relay_min_age_ms),
            self.relay_metrics.clone(),
            token.clone(),
        ));
        let webhooks = tokio::spawn(webhooks::run(self.deliverer.clone(), token.clone()));
        let queues = tokio::spawn(queues::run(
            self.pool.clone(),
            self.publisher.clone(),
            self.queue_metrics.clone(),
            token.clone(),
        ));
        let dead_letters = tokio::spawn(deadletters::run(
            self.pool.clone(),
            self.settings.broker.amqp_url.clone(),
            self.publisher.topology().clone(),
            token.clone(),
        ));
        let schedules = tokio::spawn(schedules::run(
            self.pool.clone(),
            self.publisher.clone(),
            Duration::from_millis(self.settings.schedule_tick_ms.max(10)),
            Duration::from_secs(self.settings.misfire_grace_secs),
            self.housekeeping.schedule_ticks.clone(),
            token.clone(),
        ));
        let reaper = tokio::spawn(reaper::run(
            self.pool.clone(),
            self.publisher.clone(),
            Duration::from_secs(self.settings.reaper_interval_secs.max(1)),
            Duration::from_secs(self.settings.reaper_grace_secs),
            self.housekeeping.jobs_reaped.clone(),
            token.clone(),
        ));
        let retention = match self.settings.retention.0 {
            Some(age) => Some(tokio::spawn(retention::run(
                self.pool.clone(),
                self.storage.clone(),
                self.publisher.clone(),
                retention::Policy {
                    age,
                    interval: Duration::from_secs(self.settings.retention_interval_secs.max(1)),
                    batch: self.settings.retention_batch,
                },
                self.housekeeping.jobs_expired.clone(),
                token.clone(),
            ))),
            None => None,
        };
        shutdown.await;
        token.cancel();
        schedules.await.context("schedule task")?;
        reaper.await.context("reaper task")?;
        if let Some(retention) = retention {
            retention.await.context("retention task")?;
        }
        relay.await.context("relay task")?;
        webhooks.await.context("webhook task")?;
        queues.await.context("queue sampling task")?;
        dead_letters.await.context("dead-letter task")?;
        ops.stop(true).await;
        self.pool.close().await;
        tracing::info!("scheduler stopped");
        Ok(())
    }
}
