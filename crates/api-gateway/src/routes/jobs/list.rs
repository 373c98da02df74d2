//! `GET /v1/jobs`: the job history with filters, sorted by creation time, paged by an opaque
//! keyset cursor over `(created_at, id)` so a walk stays exact while jobs keep arriving.

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::Serialize;
use shared_protocol::{JobStatus, Priority};
use tintype_db::listing::{JobFilter, SortOrder};
use uuid::Uuid;

use super::resource::{JobView, base_url};
use crate::error::ApiError;
use crate::state::AppState;

/// Default page size.
const DEFAULT_LIMIT: i64 = 50;
/// Largest page size.
const MAX_LIMIT: i64 = 200;
/// Longest `q` accepted.
const MAX_TEXT_CHARS: usize = 200;
/// Most `metadata` filters in one request.
const MAX_METADATA_FILTERS: usize = 16;

/// A page of jobs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobPage {
    /// The jobs, in the requested order.
    pub jobs: Vec<JobView>,
    /// Pass as `cursor` (with the same filters) for the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// The parsed query.
#[derive(Debug, Default)]
struct ListQuery {
    filter: JobFilter,
    order: SortOrder,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
}

/// Encodes the position after `(at, id)` as an opaque cursor.
pub fn encode_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}.{id}", at.timestamp_micros()))
}

/// Decodes a cursor from [`encode_cursor`].
pub fn decode_cursor(raw: &str) -> Result<(DateTime<Utc>, Uuid), ApiError> {
    let bad = || ApiError::BadRequest("`cursor` is not one this API gave out".into());
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (micros, id) = text.split_once('.').ok_or_else(bad)?;
    let micros: i64 = micros.parse().map_err(|_| bad())?;
    let at = DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
    let id = Uuid::parse_str(id).map_err(|_| bad())?;
    Ok((at, id))
}

fn parse_time(name: &str, value: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            ApiError::BadRequest(format!(
                "`{name}` must be an RFC 3339 time such as 2026-12-05T10:00:00Z: {e}"
            ))
        })
}

/// Postgres text cannot hold NUL; refuse it here rather than fail in the database.
fn check_text(name: &str, value: &str) -> Result<(), ApiError> {
    if value.contains('\0') {
        return Err(ApiError::BadRequest(format!(
            "`{name}` must not contain NUL characters"
        )));
    }
    Ok(())
}

fn parse_query(raw: &str) -> Result<ListQuery, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw)
        .map_err(|e| ApiError::BadRequest(format!("bad query string: {e}")))?;
    let mut query = ListQuery {
        limit: DEFAULT_LIMIT,
        ..ListQuery::default()
    };
    let mut metadata = serde_json::Map::new();
    for (name, value) in pairs {
        match name.as_str() {
            "status" => {
                for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    let status = JobStatus::parse(part).ok_or_else(|| {
                        ApiError::BadRequest(format!("`status` has an unknown value `{part}`"))
                    })?;
                    query.filter.statuses.push(status.as_str().to_owned());
                }
            }
            "priority" => {
                for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    let priority = Priority::parse(part).ok_or_else(|| {
                        ApiError::BadRequest(format!(
                            "`priority` must be high, default or low, not `{part}`"
                        ))
                    })?;
                    query.filter.priorities.push(priority.as_str().to_owned());
                }
            }
            "created_from" => query.filter.created_from = Some(parse_time(&name, &value)?),
            "created_to" => query.filter.created_to = Some(parse_time(&name, &value)?),
            "metadata" => {
                check_text("metadata", &value)?;
                let (key, val) = value
                    .split_once(':')
                    .or_else(|| value.split_once('='))
                    .filter(|(k, _)| !k.is_empty())
                    .ok_or_else(|| {
                        ApiError::BadRequest(format!(
                            "`metadata` must be `key:value` (e.g. `order:A-1`), not `{value}`"
                        ))
                    })?;
                metadata.insert(key.to_owned(), serde_json::Value::String(val.to_owned()));
                if metadata.len() > MAX_METADATA_FILTERS {
                    return Err(ApiError::BadRequest(format!(
                        "at most {MAX_METADATA_FILTERS} `metadata` filters are allowed"
                    )));
                }
            }
            "q" => {
                check_text("q", &value)?;
                let text = value.trim();
                if text.chars().count() > MAX_TEXT_CHARS {
                    return Err(ApiError::BadRequest(format!(
                        "`q` is longer than {MAX_TEXT_CHARS} characters"
                    )));
                }
                query.filter.text = (!text.is_empty()).then(|| text.to_owned());
            }
            "order" => {
                query.order = match value.as_str() {
                    "desc" => SortOrder::Desc,
                    "asc" => SortOrder::Asc,
                    other => {
                        return Err(ApiError::BadRequest(format!(
                            "`order` must be `desc` or `asc`, not `{other}`"
                        )));
                    }
                }
            }
            "cursor" => query.after = Some(decode_cursor(&value)?),
            "limit" => {
                query.limit = value
                    .parse::<i64>()
                    .ok()
                    .filter(|l| (1..=MAX_LIMIT).contains(l))
                    .ok_or_else(|| {
                        ApiError::BadRequest(format!(
                            "`limit` must be an integer from 1 to {MAX_LIMIT}"
                        ))
                    })?;
            }
            other => {
                return Err(ApiError::BadRequest(format!(
                    "unknown query parameter `{other}`"
                )));
            }
        }
    }
    if !metadata.is_empty() {
        query.filter.metadata = Some(serde_json::Value::Object(metadata));
    }
    if let (Some(from), Some(to)) = (query.filter.created_from, query.filter.created_to)
        && from > to
    {
        return Err(ApiError::BadRequest(
            "`created_from` is after `created_to`".into(),
        ));
    }
    Ok(query)
}

/// The query string of the next page: the request's own parameters with the new cursor.
fn next_query(raw: &str, cursor: &str) -> String {
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw).unwrap_or_default();
    pairs.retain(|(name, _)| name != "cursor");
    pairs.push(("cursor".into(), cursor.to_owned()));
    serde_urlencoded::to_string(&pairs).unwrap_or_default()
}

/// Lists jobs.
#[utoipa::path(
    get,
    path = "/v1/jobs",
    tag = "jobs",
    summary = "List jobs",
    description = "Every job in Postgres, newest first by default. Filters combine with AND; \
        `status` and `priority` take several values (repeated or comma-separated). Pages are \
        linked by an opaque `cursor` (also in the `Link: rel=\"next\"` header); walking them \
        returns every job that existed when the walk began exactly once, however many jobs \
        arrive meanwhile.",
    params(
        ("status" = Option<Vec<shared_protocol::JobStatus>>, Query, style = Form, explode, description = "Only these statuses (repeat or comma-separate)"),
        ("priority" = Option<Vec<shared_protocol::Priority>>, Query, style = Form, explode, description = "Only these priorities"),
        ("created_from" = Option<DateTime<Utc>>, Query, description = "Created at or after (RFC 3339)"),
        ("created_to" = Option<DateTime<Utc>>, Query, description = "Created before (RFC 3339)"),
        ("metadata" = Option<Vec<String>>, Query, style = Form, explode, description = "`key:value` the job's metadata must contain (string values); repeat for several", example = "order:A-1"),
        ("q" = Option<String>, Query, max_length = 200, description = "Text search: a job id prefix, or text anywhere in the metadata (case-insensitive)"),
        ("order" = Option<String>, Query, description = "`desc` (newest first, default) or `asc`", example = "desc"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 200, description = "Page size (default 50)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of jobs", body = JobPage,
            headers(("Link" = String, description = "`<…?cursor=…>; rel=\"next\"` when there is a next page"))),
        (status = 400, description = "A bad filter, `limit` or `cursor`", body = crate::openapi::Problem, content_type = "application/problem+json"),
        crate::openapi::CommonProblems,
    ),
)]
pub async fn list(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let query = parse_query(req.query_string())?;
    // One row more than asked tells whether a next page exists without a second query.
    let mut rows = tintype_db::listing::list(
        &state.pool,
        &query.filter,
        query.order,
        query.after,
        query.limit + 1,
    )
    .await?;
    let more = rows.len() as i64 > query.limit;
    rows.truncate(query.limit as usize);
    let next_cursor = rows
        .last()
        .filter(|_| more)
        .map(|last| encode_cursor(last.created_at, last.id));
    let base = base_url(&req, state.public_url.as_deref());
    let mut response = HttpResponse::Ok();
    if let Some(cursor) = &next_cursor {
        let link = format!(
            "<{base}/v1/jobs?{}>; rel=\"next\"",
            next_query(req.query_string(), cursor)
        );
        response.insert_header(("Link", link));
    }
    let jobs = rows
        .into_iter()
        .map(|row| JobView::new(row, &base))
        .collect();
    Ok(response.json(JobPage { jobs, next_cursor }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_what_they_did_not_make() {
        let at = DateTime::from_timestamp_micros(1_780_000_000_123_456).unwrap();
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(at, id)).unwrap(), (at, id));
        assert!(decode_cursor("not base64!").is_err());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode("12.nope")).is_err());
    }

    #[test]
    fn filters_parse_repeated_and_comma_separated_values() {
        let q = parse_query(
            "status=queued,running&status=failed&priority=high&metadata=order:A-1&metadata=k=v&q=%20ab%20&order=asc&limit=5",
        )
        .unwrap();
        assert_eq!(q.filter.statuses, ["queued", "running", "failed"]);
        assert_eq!(q.filter.priorities, ["high"]);
        assert_eq!(
            q.filter.metadata,
            Some(serde_json::json!({"order": "A-1", "k": "v"}))
        );
        assert_eq!(q.filter.text.as_deref(), Some("ab"));
        assert_eq!(q.order, SortOrder::Asc);
        assert_eq!(q.limit, 5);
        for bad in [
            "status=nope",
            "limit=0",
            "limit=201",
            "order=sideways",
            "created_from=yesterday",
            "metadata=novalue",
            "q=a%00b",
            "bogus=1",
            "created_from=2026-12-02T00:00:00Z&created_to=2026-12-01T00:00:00Z",
        ] {
            assert!(parse_query(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_next_link_keeps_the_filters_and_replaces_the_cursor() {
        assert_eq!(
            next_query("status=queued&cursor=old&q=a+b", "new"),
            "status=queued&q=a+b&cursor=new"
        );
    }
}
