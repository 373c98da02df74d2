//! Pausing and resuming a schedule, and its run history.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::view::{RunPage, RunView, ScheduleView};
use crate::error::ApiError;
use crate::state::AppState;

/// Stops a schedule firing until it is resumed (again: harmless).
#[utoipa::path(
    post,
    path = "/v1/schedules/{id}/pause",
    operation_id = "pause_schedule",
    tag = "schedules",
    summary = "Pause a schedule",
    params(("id" = String, Path, description = "Schedule id")),
    responses(
        (status = 200, description = "Paused", body = ScheduleView),
        (status = 404, description = "No such schedule", body = crate::openapi::Problem, content_type = "application/problem+json"),
        crate::openapi::CommonProblems,
    ),
)]
pub async fn pause(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = super::parse_id(&path)?;
    let row = tintype_db::schedules::pause(&state.pool, id)
        .await?
        .ok_or_else(|| super::not_found(&path))?;
    Ok(HttpResponse::Ok().json(ScheduleView::new(row, Utc::now())))
}

/// Resumes a paused schedule from its next tick after now: ticks that passed while it was
/// paused do not fire (pausing is deliberate, unlike downtime).
#[utoipa::path(
    post,
    path = "/v1/schedules/{id}/resume",
    operation_id = "resume_schedule",
    tag = "schedules",
    summary = "Resume a schedule",
    params(("id" = String, Path, description = "Schedule id")),
    responses(
        (status = 200, description = "Active", body = ScheduleView),
        (status = 404, description = "No such schedule", body = crate::openapi::Problem, content_type = "application/problem+json"),
        crate::openapi::CommonProblems,
    ),
)]
pub async fn resume(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let current = super::require(&state, &path).await?;
    let now = Utc::now();
    let next = current
        .timing()
        .ok()
        .and_then(|(timing, tz, _)| timing.next_after(tz, now));
    let row = tintype_db::schedules::resume(&state.pool, current.id, next)
        .await?
        .ok_or_else(|| super::not_found(&path))?;
    Ok(HttpResponse::Ok().json(ScheduleView::new(row, now)))
}

/// Paging of the run history.
#[derive(Debug, Deserialize)]
pub struct RunsQuery {
    /// Page size (1–500, default 50).
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The ticks a schedule handled, most recent first, with the job each made.
#[utoipa::path(
    get,
    path = "/v1/schedules/{id}/runs",
    operation_id = "list_schedule_runs",
    tag = "schedules",
    summary = "Run history of a schedule",
    params(
        ("id" = String, Path, description = "Schedule id"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 500, description = "Page size (default 50)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "Most recent first", body = RunPage),
        (status = 400, description = "Bad `limit` or `cursor`", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such schedule", body = crate::openapi::Problem, content_type = "application/problem+json"),
        crate::openapi::CommonProblems,
    ),
)]
pub async fn runs(
    path: web::Path<String>,
    query: web::Query<RunsQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::BadRequest(
            "`limit` must be between 1 and 500".into(),
        ));
    }
    let before = query
        .cursor
        .as_deref()
        .map(|raw| {
            DateTime::parse_from_rfc3339(raw)
                .map(|at| at.with_timezone(&Utc))
                .map_err(|_| {
                    ApiError::BadRequest(format!("`cursor` is not one this API gave out: `{raw}`"))
                })
        })
        .transpose()?;
    let schedule = super::require(&state, &path).await?;
    let rows = tintype_db::schedules::runs(&state.pool, schedule.id, limit, before).await?;
    let next_cursor = match rows.last() {
        Some(last) if rows.len() as i64 == limit => Some(
            last.fire_at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        ),
        _ => None,
    };
    Ok(HttpResponse::Ok().json(RunPage {
        schedule_id: schedule.id,
        items: rows.into_iter().map(RunView::from).collect(),
        next_cursor,
    }))
}
