//! The operator's resources: `GET /v1/dead-letters` and `GET /v1/workers`.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::jobs::resource::{JobView, base_url};
use crate::error::ApiError;
use crate::state::AppState;

/// Paging of the dead letters.
#[derive(Debug, Deserialize)]
pub struct DeadLetterQuery {
    /// Page size (1–500, default 50).
    limit: Option<i64>,
    /// Opaque cursor from the previous page's `next_cursor`.
    cursor: Option<String>,
}

fn parse_cursor(raw: &str) -> Result<(DateTime<Utc>, Uuid), ApiError> {
    let bad = || ApiError::BadRequest(format!("`cursor` is not one this API gave out: `{raw}`"));
    let (at, id) = raw.split_once('_').ok_or_else(bad)?;
    let at = DateTime::parse_from_rfc3339(at).map_err(|_| bad())?;
    let id = Uuid::parse_str(id).map_err(|_| bad())?;
    Ok((at.with_timezone(&Utc), id))
}

/// Jobs whose messages were dead-lettered, most recent first; each can be retried.
#[utoipa::path(
    get,
    path = "/v1/dead-letters",
    tag = "operations",
    summary = "Dead letters",
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 500, description = "Page size (default 50)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "Most recent first", body = crate::openapi::DeadLetterPage),
        (status = 400, description = "Bad `limit` or `cursor`", body = crate::openapi::Problem, content_type = "application/problem+json"),
        crate::openapi::CommonProblems,
    ),
)]
pub async fn dead_letters(
    req: HttpRequest,
    query: web::Query<DeadLetterQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::BadRequest(
            "`limit` must be between 1 and 500".into(),
        ));
    }
    let before = query.cursor.as_deref().map(parse_cursor).transpose()?;
    let rows = tintype_db::operator::dead_letters(&state.pool, limit, before).await?;
    let next_cursor = match rows.last() {
        Some(last) if rows.len() as i64 == limit => last.dead_lettered_at.map(|at| {
            format!(
                "{}_{}",
                at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                last.id
            )
        }),
        _ => None,
    };
    let base = base_url(&req, state.public_url.as_deref());
    let items: Vec<JobView> = rows
        .into_iter()
        .map(|row| JobView::new(row, &base))
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({"items": items, "next_cursor": next_cursor})))
}

/// How long after its last heartbeat a worker is still listed (as dead once past its lease).
const WORKER_WINDOW_SECS: f64 = 3600.0;
/// A worker silent for longer than this is reported dead.
const WORKER_ALIVE_SECS: i64 = 30;

/// Live and recently dead workers.
#[utoipa::path(
    get,
    path = "/v1/workers",
    tag = "operations",
    summary = "Workers",
    responses(
        (status = 200, description = "Live and recently dead workers", body = crate::openapi::WorkerList),
        crate::openapi::CommonProblems,
    ),
)]
pub async fn workers(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let rows = tintype_db::workers::list(&state.pool, WORKER_WINDOW_SECS).await?;
    let now = Utc::now();
    let items: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|w| {
            let state = if w.stopped_at.is_some() {
                "stopped"
            } else if (now - w.last_seen_at).num_seconds() <= WORKER_ALIVE_SECS {
                "alive"
            } else {
                "dead"
            };
            let mut value = serde_json::to_value(&w).unwrap_or_default();
            value["state"] = state.into();
            value
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({"items": items})))
}
