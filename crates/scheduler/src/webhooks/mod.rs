//! Webhook delivery: the scheduler (never a worker) claims due deliveries with `SKIP LOCKED`, POSTs
//! the signed payload through the outbound guard, records every attempt, and schedules the next
//! one with exponential backoff and jitter until the receiver answers 2xx or the attempts run out.
//! Delivery is at least once: the `webhook-id` header is stable across retries for deduplication.

pub mod payload;
pub mod sign;

use std::time::{Duration, Instant};

use prometheus_client::metrics::counter::Counter;
use reqwest::Method;
use sqlx::PgPool;
use tintype_db::DbError;
use tintype_db::webhooks::{AttemptOutcome, DueDelivery};
use tintype_outbound::{Outbound, OutboundError};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

pub use sign::Signer;

/// How deliveries are paced.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Attempts per delivery, the first included.
    pub max_attempts: i32,
    /// Delay after the first failure; each further failure triples it (±20 % jitter).
    pub backoff_base: Duration,
    /// Time the receiver has to answer.
    pub timeout: Duration,
    /// How often due deliveries are looked for.
    pub interval: Duration,
    /// Base of download links in payloads.
    pub public_url: Option<String>,
}

impl Policy {
    /// Delay before attempt `attempt + 1`, or `None` once `attempt` was the last.
    pub fn retry_delay(&self, attempt: i32, jitter: f64) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let factor = 3f64.powi(attempt.clamp(1, 30) - 1);
        let secs = self.backoff_base.as_secs_f64() * factor * (0.8 + 0.4 * jitter.clamp(0.0, 1.0));
        Some(Duration::from_secs_f64(secs.min(7.0 * 86_400.0)))
    }
}

/// Delivery metrics.
#[derive(Clone, Default)]
pub struct WebhookMetrics {
    /// Attempts the receiver accepted.
    pub delivered: Counter,
    /// Attempts that failed.
    pub failed_attempts: Counter,
}

/// Everything a delivery needs.
#[derive(Clone)]
pub struct Deliverer {
    /// Job state and deliveries.
    pub pool: PgPool,
    /// Guarded client.
    pub outbound: Outbound,
    /// Signing keys.
    pub signer: Signer,
    /// Pacing.
    pub policy: Policy,
    /// Metrics.
    pub metrics: WebhookMetrics,
}

/// Deliveries attempted per pass.
const BATCH: i64 = 32;

/// Runs passes until cancelled.
pub async fn run(deliverer: Deliverer, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(deliverer.policy.interval) => {}
        }
        if let Err(err) = deliverer.pass().await {
            tracing::warn!(error = %err, "webhook pass failed");
        }
    }
}

impl Deliverer {
    /// Claims due deliveries and attempts each once, concurrently; returns how many.
    pub async fn pass(&self) -> Result<usize, DbError> {
        // The claim pushes each delivery past its attempt's timeout, so one whose scheduler dies
        // mid-attempt comes due again.
        let lease = self.policy.timeout.as_secs_f64() + 30.0;
        let due = tintype_db::webhooks::claim_due(&self.pool, BATCH, lease).await?;
        let count = due.len();
        let results =
            futures_util::future::join_all(due.into_iter().map(|d| self.deliver(d))).await;
        for result in results {
            result?;
        }
        Ok(count)
    }

    async fn deliver(&self, delivery: DueDelivery) -> Result<(), DbError> {
        let payload = match delivery.payload.clone() {
            Some(payload) => payload,
            None => {
                let Some(job) = tintype_db::jobs::get(&self.pool, delivery.job_id).await? else {
                    return Ok(());
                };
                let built =
                    payload::build(&delivery.event, &job, self.policy.public_url.as_deref());
                tintype_db::webhooks::fix_payload(&self.pool, delivery.id, &built).await?
            }
        };
        let body = serde_json::to_vec(&payload).unwrap_or_default();
        let started = Instant::now();
        let span = tracing::info_span!(
            "webhook",
            otel.name = "POST",
            otel.kind = "client",
            http.request.method = "POST",
            url.full = %delivery.url,
            webhook.id = %delivery.id,
            webhook.attempt = delivery.attempts,
            http.response.status_code = tracing::field::Empty,
        );
        // The job's trace, as the writer of its final state left it on the delivery.
        let parent: std::collections::BTreeMap<String, String> =
            serde_json::from_value(delivery.trace_headers.clone()).unwrap_or_default();
        tintype_telemetry::propagation::set_parent_from(&span, &parent);
        let result = tokio::time::timeout(self.policy.timeout, self.send(&delivery, body))
            .instrument(span.clone())
            .await;
        if let Ok(Ok(status)) = &result {
            span.record("http.response.status_code", status);
        }
        let latency_ms = started.elapsed().as_millis().min(i32::MAX as u128) as i32;
        let (status_code, error, permanent) = match result {
            Ok(Ok(status)) if (200..300).contains(&status) => (Some(status), None, false),
            Ok(Ok(status)) => (
                Some(status),
                Some(format!("the receiver answered HTTP {status}")),
                false,
            ),
            Ok(Err(err)) => {
                // A refused or malformed URL will not get better by waiting.
                let permanent = matches!(
                    err,
                    OutboundError::Refused { .. } | OutboundError::InvalidUrl(_)
                );
                (None, Some(err.to_string()), permanent)
            }
            Err(_) => (
                None,
                Some(format!(
                    "no answer within {:.1}s",
                    self.policy.timeout.as_secs_f64()
                )),
                false,
            ),
        };
        let delivered = error.is_none();
        let retry_in = if delivered || permanent {
            None
        } else {
            self.policy
                .retry_delay(delivery.attempts, rand::random::<f64>())
        };
        if delivered {
            self.metrics.delivered.inc();
            tracing::info!(job.id = %delivery.job_id, webhook.id = %delivery.id, attempt = delivery.attempts, latency_ms, "webhook delivered");
        } else {
            self.metrics.failed_attempts.inc();
            tracing::warn!(
                job.id = %delivery.job_id, webhook.id = %delivery.id, attempt = delivery.attempts,
                error = error.as_deref().unwrap_or_default(),
                retry_in_secs = retry_in.map(|d| d.as_secs_f64()),
                "webhook attempt failed"
            );
        }
        tintype_db::webhooks::record_attempt(
            &self.pool,
            delivery.id,
            &AttemptOutcome {
                attempt: delivery.attempts,
                status_code: status_code.map(i32::from),
                latency_ms,
                error,
                delivered,
                retry_in_secs: retry_in.map(|d| d.as_secs_f64()),
            },
        )
        .await
    }

    async fn send(&self, delivery: &DueDelivery, body: Vec<u8>) -> Result<u16, OutboundError> {
        let url = self.outbound.parse_url(&delivery.url)?;
        let id = delivery.id.to_string();
        let timestamp = chrono::Utc::now().timestamp();
        let mut request = self
            .outbound
            .request(Method::POST, url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string());
        if !self.signer.is_empty() {
            request = request.header("webhook-signature", self.signer.sign(&id, timestamp, &body));
        }
        for (name, value) in tintype_telemetry::propagation::current_headers() {
            request = request.header(name, value);
        }
        let response = self.outbound.send(request.body(body)).await?;
        Ok(response.status().as_u16())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn policy() -> Policy {
        Policy {
            max_attempts: 8,
            backoff_base: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
            interval: Duration::from_millis(500),
            public_url: None,
        }
    }

    #[test]
    fn the_default_backoff_spreads_eight_attempts_over_about_a_day() {
        let p = policy();
        let total: f64 = (1..8)
            .map(|a| p.retry_delay(a, 0.5).unwrap().as_secs_f64())
            .sum();
        assert!((16.0 * 3600.0..30.0 * 3600.0).contains(&total), "{total}");
        assert!(p.retry_delay(8, 0.5).is_none());
        assert_eq!(p.retry_delay(1, 0.5).unwrap(), Duration::from_secs(60));
        assert_eq!(p.retry_delay(2, 0.5).unwrap(), Duration::from_secs(180));
        // Jitter stays within ±20 %.
        assert_eq!(p.retry_delay(1, 0.0).unwrap(), Duration::from_secs(48));
        assert_eq!(p.retry_delay(1, 1.0).unwrap(), Duration::from_secs(72));
    }
}
