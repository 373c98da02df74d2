//! `GET /v1/events/stream`: job events as server-sent events, live from the events exchange.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use bytes::Bytes;
use serde::Deserialize;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::error::ApiError;
use crate::live::{LiveEvent, LiveEvents};

/// How often an idle stream sends a comment, so proxies keep it open and dead clients are noticed.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// Query of the stream.
#[derive(Debug, Deserialize)]
pub struct StreamQuery {
    /// Only this job's events.
    job_id: Option<String>,
}

struct Subscription {
    events: broadcast::Receiver<Arc<LiveEvent>>,
    heartbeat: tokio::time::Interval,
    stopping: CancellationToken,
    job_id: Option<Uuid>,
    greeted: bool,
}

impl Subscription {
    /// The next chunk of the stream; `None` ends it (the gateway is stopping).
    async fn next(&mut self) -> Option<Bytes> {
        if !self.greeted {
            self.greeted = true;
            // Sent at once, so a client knows it is subscribed before it submits anything.
            return Some(Bytes::from_static(b"retry: 3000\n: connected\n\n"));
        }
        loop {
            tokio::select! {
                () = self.stopping.cancelled() => return None,
                _ = self.heartbeat.tick() => return Some(Bytes::from_static(b": heartbeat\n\n")),
                received = self.events.recv() => match received {
                    Ok(event) => {
                        if self.job_id.is_some_and(|id| id != event.job_id) {
                            continue;
                        }
                        return Some(Bytes::from(format!(
                            "event: {}\ndata: {}\n\n",
                            event.name, event.json
                        )));
                    }
                    // A slow client skips ahead; it says so, so the page can reload from the API.
                    Err(RecvError::Lagged(skipped)) => {
                        return Some(Bytes::from(format!(
                            "event: lagged\ndata: {{\"skipped\":{skipped}}}\n\n"
                        )));
                    }
                    Err(RecvError::Closed) => return None,
                },
            }
        }
    }
}

/// Streams job events (`text/event-stream`).
#[utoipa::path(
    get,
    path = "/v1/events/stream",
    tag = "jobs",
    summary = "Live job events (server-sent events)",
    description = "An endless `text/event-stream`: one event per job transition, named by its \
        routing key (`job.queued`, `job.started`, `job.progress`, `job.retrying`, \
        `job.succeeded`, `job.failed`, `job.cancelled`) with the event JSON as `data`, and a \
        `: heartbeat` comment every 15 s. An `event: lagged` says the client fell behind and \
        skipped events (reload from `GET /v1/jobs`). Events are live only: the history of a job \
        is `GET /v1/jobs/{id}/events`.",
    params(
        ("job_id" = Option<uuid::Uuid>, Query, description = "Only this job's events"),
    ),
    responses(
        (status = 200, description = "The stream", body = String, content_type = "text/event-stream",
            example = "event: job.started\ndata: {\"v\":1,\"kind\":\"started\",\"job_id\":\"…\",\"status\":\"running\",\"attempt\":1,\"at\":\"…\"}\n\n"),
        (status = 400, description = "`job_id` is not a UUID", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API key", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the scope", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the rate limit; see `Retry-After`", body = crate::openapi::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn stream(
    query: web::Query<StreamQuery>,
    live: web::Data<LiveEvents>,
) -> Result<HttpResponse, ApiError> {
    let job_id = query
        .job_id
        .as_deref()
        .map(|raw| {
            Uuid::parse_str(raw)
                .map_err(|_| ApiError::BadRequest(format!("`job_id` is not a UUID: `{raw}`")))
        })
        .transpose()?;
    let subscription = Subscription {
        events: live.subscribe(),
        heartbeat: tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT),
        stopping: live.stopping(),
        job_id,
        greeted: false,
    };
    let body = futures_util::stream::unfold(subscription, |mut sub| async move {
        sub.next()
            .await
            .map(|chunk| (Ok::<_, Infallible>(chunk), sub))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        // Tells nginx-style proxies not to buffer the stream.
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}
