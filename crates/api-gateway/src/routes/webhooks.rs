//! A job's webhook deliveries: `GET /v1/jobs/{id}/webhooks` lists every delivery with each of its
//! attempts (time, status code, latency, error); `POST /v1/jobs/{id}/webhooks/redeliver` queues a
//! new delivery of the final state, which the scheduler sends like any other.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::error::ApiError;
use crate::routes::jobs::get::parse_id;
use crate::state::AppState;

/// Lists the job's deliveries, oldest first, each with its attempts.
#[utoipa::path(
    get,
    path = "/v1/jobs/{id}/webhooks",
    tag = "jobs",
    summary = "A job's webhook deliveries",
    params(
        ("id" = uuid::Uuid, Path, description = "Job id"),
    ),
    responses(
        (status = 200, description = "Deliveries with their attempts", body = crate::openapi::WebhookDeliveries),
        (status = 404, description = "No such job", body = crate::openapi::Problem, content_type = "application/problem+json"),
        crate::openapi::CommonProblems,
    ),
)]
pub async fn list(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    super::jobs::get::require_job(&state, id).await?;
    let deliveries = tintype_db::webhooks::list(&state.pool, id).await?;
    let attempts = tintype_db::webhooks::attempts(&state.pool, id).await?;
    let deliveries: Vec<_> = deliveries
        .into_iter()
        .map(|d| {
            let mine: Vec<_> = attempts
                .iter()
                .filter(|a| a.delivery_id == d.id)
                .map(|a| {
                    json!({"attempt": a.attempt, "at": a.at, "status_code": a.status_code,
                           "latency_ms": a.latency_ms, "error": a.error})
                })
                .collect();
            let next = (d.status == "pending").then_some(d.next_attempt_at);
            json!({"id": d.id, "event": d.event, "url": d.url, "status": d.status,
                   "attempts": mine, "next_attempt_at": next, "created_at": d.created_at,
                   "delivered_at": d.delivered_at})
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"job_id": id, "deliveries": deliveries})))
}

/// Queues the final state for delivery again.
#[utoipa::path(
    post,
    path = "/v1/jobs/{id}/webhooks/redeliver",
    tag = "jobs",
    summary = "Send the final state again",
    params(
        ("id" = uuid::Uuid, Path, description = "Job id"),
    ),
    responses(
        (status = 202, description = "Queued", body = crate::openapi::Redelivery),
        (status = 404, description = "No such job", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not final, or no webhook", body = crate::openapi::Problem, content_type = "application/problem+json"),
        crate::openapi::CommonProblems,
    ),
)]
pub async fn redeliver(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let job = crate::routes::jobs::get::fetch_job(&state, id).await?;
    match tintype_db::webhooks::redeliver(&state.pool, id).await? {
        Some(delivery) => {
            tracing::info!(job.id = %id, webhook.id = %delivery, "webhook redelivery queued");
            Ok(HttpResponse::Accepted().json(json!({"job_id": id, "delivery_id": delivery})))
        }
        None if job.recipe.pointer("/webhook/url").is_none() => {
            Err(ApiError::Conflict("the job's recipe has no webhook".into()))
        }
        None => Err(ApiError::Conflict(format!(
            "the job is {}; webhooks are sent for final states only",
            job.status
        ))),
    }
}
