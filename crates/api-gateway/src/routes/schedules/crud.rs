//! Creating, reading, changing and deleting schedules.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use uuid::Uuid;

use super::input::{ScheduleInput, SchedulePatch, validate};
use super::view::{SchedulePage, ScheduleView};
use crate::error::ApiError;
use crate::state::AppState;

/// Creates a schedule; it fires from its next tick on.
#[utoipa::path(
    post,
    path = "/v1/schedules",
    operation_id = "create_schedule",
    tag = "schedules",
    summary = "Create a schedule",
    request_body(content = ScheduleInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Created; `next_fire_times` shows when it fires", body = ScheduleView),
        (status = 400, description = "Malformed body, bad `cron`/`every`, unknown `timezone`", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not `application/json`", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid recipe, or a source refused as a submit would refuse it: `source_refused` (URL), `source_unavailable` (missing object)", body = crate::openapi::Problem, content_type = "application/problem+json"),
        crate::openapi::CommonProblems,
    ),
)]
pub async fn create(
    body: web::Json<ScheduleInput>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let schedule = validate(&state, Uuid::now_v7(), body.into_inner()).await?;
    let row = tintype_db::schedules::insert(&state.pool, &schedule).await?;
    tracing::info!(schedule.id = %row.id, next_fire_at = ?row.next_fire_at, "schedule created");
    let location = format!("/v1/schedules/{}", row.id);
    Ok(HttpResponse::Created()
        .insert_header(("Location", location))
        .json(ScheduleView::new(row, Utc::now())))
}

/// Paging of the schedule list.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// Page size (1–500, default 50).
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Every schedule, newest first.
#[utoipa::path(
    get,
    path = "/v1/schedules",
    operation_id = "list_schedules",
    tag = "schedules",
    summary = "List schedules",
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 500, description = "Page size (default 50)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "Newest first", body = SchedulePage),
        (status = 400, description = "Bad `limit` or `cursor`", body = crate::openapi::Problem, content_type = "application/problem+json"),
        crate::openapi::CommonProblems,
    ),
)]
pub async fn list(
    query: web::Query<ListQuery>,
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
            Uuid::parse_str(raw).map_err(|_| {
                ApiError::BadRequest(format!("`cursor` is not one this API gave out: `{raw}`"))
            })
        })
        .transpose()?;
    let rows = tintype_db::schedules::list(&state.pool, limit, before).await?;
    let next_cursor = match rows.last() {
        Some(last) if rows.len() as i64 == limit => Some(last.id.to_string()),
        _ => None,
    };
    let now = Utc::now();
    let items = rows
        .into_iter()
        .map(|r| ScheduleView::new(r, now))
        .collect();
    Ok(HttpResponse::Ok().json(SchedulePage { items, next_cursor }))
}

/// One schedule.
#[utoipa::path(
    get,
    path = "/v1/schedules/{id}",
    operation_id = "get_schedule",
    tag = "schedules",
    summary = "A schedule",
    params(("id" = String, Path, description = "Schedule id")),
    responses(
        (status = 200, description = "The schedule", body = ScheduleView),
        (status = 404, description = "No such schedule", body = crate::openapi::Problem, content_type = "application/problem+json"),
        crate::openapi::CommonProblems,
    ),
)]
pub async fn get(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let row = super::require(&state, &path).await?;
    Ok(HttpResponse::Ok().json(ScheduleView::new(row, Utc::now())))
}

/// Changes some fields of a schedule; a new timing or zone starts from its next tick after now.
#[utoipa::path(
    patch,
    path = "/v1/schedules/{id}",
    operation_id = "update_schedule",
    tag = "schedules",
    summary = "Update a schedule",
    params(("id" = String, Path, description = "Schedule id")),
    request_body(content = SchedulePatch, content_type = "application/json"),
    responses(
        (status = 200, description = "Updated", body = ScheduleView),
        (status = 400, description = "Malformed body, bad `cron`/`every`, unknown `timezone`", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such schedule", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not `application/json`", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid recipe or source", body = crate::openapi::Problem, content_type = "application/problem+json"),
        crate::openapi::CommonProblems,
    ),
)]
pub async fn update(
    path: web::Path<String>,
    body: web::Json<SchedulePatch>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let current = super::require(&state, &path).await?;
    let patch = body.into_inner();
    let timing_changed = patch.cron.is_some() || patch.every.is_some() || patch.timezone.is_some();
    let mut schedule = validate(&state, current.id, patch.apply(&current)).await?;
    if !timing_changed {
        // Same timing: keep the tick the schedule is waiting for.
        schedule.next_fire_at = current.next_fire_at;
    }
    let row = tintype_db::schedules::replace(&state.pool, &schedule)
        .await?
        .ok_or_else(|| super::not_found(&path))?;
    Ok(HttpResponse::Ok().json(ScheduleView::new(row, Utc::now())))
}

/// Deletes a schedule and its run history; the jobs it made stay.
#[utoipa::path(
    delete,
    path = "/v1/schedules/{id}",
    operation_id = "delete_schedule",
    tag = "schedules",
    summary = "Delete a schedule",
    params(("id" = String, Path, description = "Schedule id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such schedule", body = crate::openapi::Problem, content_type = "application/problem+json"),
        crate::openapi::CommonProblems,
    ),
)]
pub async fn delete(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = super::parse_id(&path)?;
    if tintype_db::schedules::delete(&state.pool, id).await? {
        tracing::info!(schedule.id = %id, "schedule deleted");
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(super::not_found(&path))
    }
}
