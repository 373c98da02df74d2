//! `GET /v1/jobs/{id}` and `GET /v1/jobs/{id}/events`.

use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;

use super::resource::{JobView, base_url};
use crate::error::ApiError;
use crate::state::AppState;

/// Parses a job id from the path; anything that is not a UUID is simply an unknown job.
pub fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound(format!("no job `{raw}`")))
}

/// The 404 every job route answers for an unknown id.
pub fn no_job(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("no job `{id}`"))
}

/// The job's row, or 404.
pub async fn fetch_job(state: &AppState, id: Uuid) -> Result<tintype_db::jobs::JobRow, ApiError> {
    tintype_db::jobs::get(&state.pool, id)
        .await?
        .ok_or_else(|| no_job(id))
}

/// Answers 404 unless the job exists (for sub-resources that do not need the row itself).
pub async fn require_job(state: &AppState, id: Uuid) -> Result<(), ApiError> {
    fetch_job(state, id).await.map(|_| ())
}

/// The job resource.
#[utoipa::path(
    get,
    path = "/v1/jobs/{id}",
    tag = "jobs",
    summary = "A job",
    params(
        ("id" = uuid::Uuid, Path, description = "Job id"),
    ),
    responses(
        (status = 200, description = "The job", body = crate::routes::jobs::resource::JobView),
        (status = 404, description = "No such job", body = crate::openapi::Problem, content_type = "application/problem+json"),
        crate::openapi::CommonProblems,
    ),
)]
pub async fn get(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let row = fetch_job(&state, id).await?;
    let base = base_url(&req, state.public_url.as_deref());
    Ok(HttpResponse::Ok().json(JobView::new(row, &base)))
}

/// The job's history, oldest first.
#[utoipa::path(
    get,
    path = "/v1/jobs/{id}/events",
    tag = "jobs",
    summary = "A job's history",
    params(
        ("id" = uuid::Uuid, Path, description = "Job id"),
    ),
    responses(
        (status = 200, description = "Oldest first", body = crate::openapi::JobEvents),
        (status = 404, description = "No such job", body = crate::openapi::Problem, content_type = "application/problem+json"),
        crate::openapi::CommonProblems,
    ),
)]
pub async fn events(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    require_job(&state, id).await?;
    let events = tintype_db::events::list(&state.pool, id).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"job_id": id, "events": events})))
}
