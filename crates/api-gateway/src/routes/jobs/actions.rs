//! `POST /v1/jobs/{id}/cancel`, `POST /v1/jobs/{id}/retry` and `DELETE /v1/jobs/{id}`: durable
//! state changes, announced through the outbox like every other transition.

use actix_web::{HttpRequest, HttpResponse, web};
use shared_protocol::events::EventKind;
use shared_protocol::job::original_key;
use tintype_db::operator::{CancelOutcome, DeleteOutcome, RetryOutcome};
use tintype_telemetry::propagation;

use super::get::parse_id;
use super::resource::{JobView, base_url};
use crate::error::ApiError;
use crate::state::AppState;

/// Cancels a queued or retrying job at once (200), or asks the worker running it to stop (202:
/// it ends `cancelled` within a second or two). A finished job answers 409.
#[utoipa::path(
    post,
    path = "/v1/jobs/{id}/cancel",
    tag = "jobs",
    summary = "Cancel a job",
    params(
        ("id" = uuid::Uuid, Path, description = "Job id"),
    ),
    responses(
        (status = 200, description = "Cancelled at once (it was waiting)", body = crate::routes::jobs::resource::JobView),
        (status = 202, description = "Running: it stops within a second or two", body = crate::routes::jobs::resource::JobView),
        (status = 404, description = "No such job", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already final", body = crate::openapi::Problem, content_type = "application/problem+json"),
        crate::openapi::CommonProblems,
    ),
)]
pub async fn cancel(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let topology = state.publisher.topology();
    let mut tx = state.pool.begin().await?;
    // A webhook this cancel queues continues the cancelling request's trace.
    tintype_db::webhooks::set_trace_context(&mut tx, &propagation::current_headers()).await?;
    let (row, done) = match tintype_db::operator::cancel(&mut tx, id).await? {
        CancelOutcome::Cancelled(row) => (row, true),
        CancelOutcome::Requested(row) => (row, false),
        CancelOutcome::AlreadyFinal(status) => {
            return Err(ApiError::Conflict(format!(
                "job `{id}` is already {status}; only queued, retrying or running jobs can be cancelled"
            )));
        }
        CancelOutcome::NotFound => return Err(super::get::no_job(id)),
    };
    // A running job's `cancelled` event comes from its worker once it has stopped.
    let ids = if done {
        vec![
            tintype_db::announce::event(
                &mut tx,
                topology,
                &row,
                EventKind::Cancelled,
                None,
                None,
                &propagation::current_headers_json(),
            )
            .await?,
        ]
    } else {
        Vec::new()
    };
    tx.commit().await?;
    publish(&state, &ids).await;
    tracing::info!(job.id = %id, at_once = done, "cancel requested");
    let view = JobView::new(*row, &base_url(&req, state.public_url.as_deref()));
    Ok(if done {
        HttpResponse::Ok().json(view)
    } else {
        HttpResponse::Accepted().json(view)
    })
}

/// Queues a failed job again as a new attempt with a fresh attempt budget (202).
#[utoipa::path(
    post,
    path = "/v1/jobs/{id}/retry",
    tag = "jobs",
    summary = "Run a failed job again",
    params(
        ("id" = uuid::Uuid, Path, description = "Job id"),
    ),
    responses(
        (status = 202, description = "Queued again", body = crate::routes::jobs::resource::JobView),
        (status = 404, description = "No such job", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not failed", body = crate::openapi::Problem, content_type = "application/problem+json"),
        crate::openapi::CommonProblems,
    ),
)]
pub async fn retry(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let topology = state.publisher.topology();
    let mut tx = state.pool.begin().await?;
    let budget = i32::try_from(state.job_max_attempts).unwrap_or(i32::MAX);
    let row = match tintype_db::operator::retry(&mut tx, id, budget).await? {
        RetryOutcome::Queued(row) => row,
        RetryOutcome::NotRetryable(status) => {
            return Err(ApiError::Conflict(format!(
                "job `{id}` is {status}; only failed jobs can be retried"
            )));
        }
        RetryOutcome::NotFound => return Err(super::get::no_job(id)),
    };
    let detail = serde_json::json!({"retried_by": "api"});
    let headers = propagation::current_headers_json();
    let ids = tintype_db::announce::queued(&mut tx, topology, &row, Some(detail), &headers).await?;
    tx.commit().await?;
    publish(&state, &ids).await;
    tracing::info!(job.id = %id, "failed job queued again");
    Ok(HttpResponse::Accepted().json(JobView::new(
        *row,
        &base_url(&req, state.public_url.as_deref()),
    )))
}

/// Publishes now; on failure the scheduler's relay does it later.
pub async fn publish(state: &AppState, ids: &[i64]) {
    if ids.is_empty() {
        return;
    }
    if let Err(err) = tintype_broker::outbox::publish_ids(&state.pool, &state.publisher, ids).await
    {
        tracing::warn!(error = %err, "publish deferred to the outbox relay");
    }
}

/// Deletes a finished job's original and outputs from storage; the record stays, `deleted`.
/// A job still waiting or running answers 409 (cancel it first).
#[utoipa::path(
    delete,
    path = "/v1/jobs/{id}",
    tag = "jobs",
    summary = "Delete a finished job's objects",
    params(
        ("id" = uuid::Uuid, Path, description = "Job id"),
    ),
    responses(
        (status = 200, description = "Objects removed; the record stays `deleted`", body = crate::routes::jobs::resource::JobView),
        (status = 404, description = "No such job", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Still waiting or running", body = crate::openapi::Problem, content_type = "application/problem+json"),
        crate::openapi::CommonProblems,
    ),
)]
pub async fn delete(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let mut conn = state.pool.acquire().await?;
    // The state changes first, so no retry can start the job while its objects go away.
    let row = match tintype_db::operator::delete(&mut conn, id).await? {
        DeleteOutcome::Deleted(row) => row,
        DeleteOutcome::NotFinal(status) => {
            return Err(ApiError::Conflict(format!(
                "job `{id}` is {status}; cancel it or wait until it has finished"
            )));
        }
        DeleteOutcome::NotFound => return Err(super::get::no_job(id)),
    };
    drop(conn);
    let mut keys = state.storage.list(&format!("outputs/{id}/")).await?;
    keys.push(original_key(id));
    for key in &keys {
        state.storage.delete(key).await?;
    }
    tracing::info!(job.id = %id, objects = keys.len(), "job deleted");
    Ok(HttpResponse::Ok().json(JobView::new(
        *row,
        &base_url(&req, state.public_url.as_deref()),
    )))
}
