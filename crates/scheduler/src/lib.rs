//! tintype's scheduler: everything driven by time or sent outward.
//!
//! - [`config`]: settings from flags and the environment.
//! - [`relay`]: the outbox relay.
//! - [`webhooks`]: signed webhook delivery with retries, every attempt recorded.
//! - [`queues`]: queue depth and oldest-job age gauges, for autoscaling.
//!
//! [`Application::build`] binds the operations port (port 0 allowed) so tests run it in-process.

pub mod config;
pub mod queues;
pub mod relay;
pub mod webhooks;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use prometheus_client::registry::Registry;
use tintype_broker::Publisher;
use tintype_telemetry::ops::{OpsServer, ReadinessCheck};
use tokio_util::sync::CancellationToken;

pub use config::Settings;

/// A built scheduler.
pub struct Application {
    settings: Settings,
    pool: sqlx::PgPool,
    publisher: Publisher,
    relay_metrics: relay::RelayMetrics,
    deliverer: webhooks::Deliverer,
    queue_metrics: queues::QueueMetrics,
    ops: OpsServer,
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
        Ok(Self {
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
        shutdown.await;
        token.cancel();
        relay.await.context("relay task")?;
        webhooks.await.context("webhook task")?;
        queues.await.context("queue sampling task")?;
        ops.stop(true).await;
        self.pool.close().await;
        tracing::info!("scheduler stopped");
        Ok(())
    }
}
