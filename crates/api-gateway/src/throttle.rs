//! Back-pressure: a request rate per API key (or per client address when auth is off), and
//! admission control on submit (no new work while too much waits). Both answer with `Retry-After`
//! so well-behaved clients slow down instead of failing.
//!
//! The rate is counted per gateway replica (in memory): with N replicas behind a balancer a client
//! gets up to N times the configured rate.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::ResponseError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::Mutex;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Keys remembered before idle ones are forgotten.
const MAX_TRACKED_CALLERS: usize = 10_000;

/// The per-caller request rate.
#[derive(Clone)]
pub struct RateLimit {
    limiter: Option<Arc<DefaultKeyedRateLimiter<String>>>,
}

impl std::fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimit")
            .field("enabled", &self.limiter.is_some())
            .finish()
    }
}

impl RateLimit {
    /// `per_sec` requests a second with bursts of `burst`; 0 turns the limit off.
    pub fn new(per_sec: u32, burst: u32) -> Self {
        let limiter = NonZeroU32::new(per_sec).map(|rate| {
            let burst = NonZeroU32::new(burst.max(per_sec)).unwrap_or(rate);
            Arc::new(RateLimiter::keyed(
                Quota::per_second(rate).allow_burst(burst),
            ))
        });
        Self { limiter }
    }

    /// How long `caller` must wait, if it is over its rate.
    pub fn check(&self, caller: &str) -> Option<Duration> {
        let limiter = self.limiter.as_ref()?;
        if limiter.len() > MAX_TRACKED_CALLERS {
            limiter.retain_recent();
        }
        limiter
            .check_key(&caller.to_owned())
            .err()
            .map(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// Applies the rate limit to `/v1` requests (after authentication, so keys are known).
pub async fn rate_limit<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    if req.path().starts_with("/v1/")
        && let Some(state) = req.app_data::<web::Data<AppState>>()
    {
        let caller = match req.extensions().get::<Caller>().and_then(|c| c.key_id) {
            Some(id) => format!("key:{id}"),
            None => format!(
                "addr:{}",
                req.peer_addr()
                    .map(|a| a.ip().to_string())
                    .unwrap_or_default()
            ),
        };
        if let Some(wait) = state.rate_limit.check(&caller) {
            let err = ApiError::RateLimited {
                retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
            };
            return Ok(req
                .into_response(err.error_response())
                .map_into_right_body());
        }
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// Admission control on submit: the number of waiting jobs, sampled at most once a second.
#[derive(Debug, Clone)]
pub struct Admission {
    max_waiting: u64,
    sample: Arc<Mutex<Option<(Instant, u64)>>>,
}

/// How long a sample of the waiting count is trusted.
const SAMPLE_TTL: Duration = Duration::from_secs(1);

impl Admission {
    /// Admits while fewer than `max_waiting` jobs wait; 0 admits everything.
    pub fn new(max_waiting: u64) -> Self {
        Self {
            max_waiting,
            sample: Arc::new(Mutex::new(None)),
        }
    }

    /// Refuses with `queue_full` (503, `Retry-After`) while the queues are over the bound.
    pub async fn admit(&self, pool: &sqlx::PgPool) -> Result<(), ApiError> {
        if self.max_waiting == 0 {
            return Ok(());
        }
        let mut sample = self.sample.lock().await;
        let waiting = match *sample {
            Some((at, n)) if at.elapsed() < SAMPLE_TTL => n,
            _ => {
                let (n,): (i64,) = sqlx::query_as(
                    "SELECT count(*) FROM jobs WHERE status IN ('queued', 'retrying')",
                )
                .fetch_one(pool)
                .await?;
                let n = n.max(0) as u64;
                *sample = Some((Instant::now(), n));
                n
            }
        };
        if waiting >= self.max_waiting {
            return Err(ApiError::QueueFull {
                waiting,
                limit: self.max_waiting,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_over_its_burst_waits_and_others_do_not() {
        let limit = RateLimit::new(2, 2);
        assert!(limit.check("a").is_none());
        assert!(limit.check("a").is_none());
        let wait = limit.check("a").expect("over the burst");
        assert!(wait <= Duration::from_secs(1));
        assert!(limit.check("b").is_none());
        assert!(RateLimit::new(0, 0).check("a").is_none());
    }
}
