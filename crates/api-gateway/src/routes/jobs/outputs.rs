//! `GET /v1/jobs/{id}/outputs/{name}`: streams an output from storage through the gateway, so
//! clients need no access to the bucket and links never expire. Answers carry `Content-Type`,
//! `Content-Length` and `ETag`, honour `If-None-Match` (304) and single byte ranges (206; 416 when
//! unsatisfiable), so browsers cache and download managers resume.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use shared_protocol::job::OutputRecord;

use super::get::parse_id;
use crate::error::ApiError;
use crate::state::AppState;

/// A `Range` header resolved against the object's size.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeRequest {
    /// No range, or one we serve whole (several ranges, other units): answer 200.
    Whole,
    /// Bytes `first..=last`: answer 206.
    Part(u64, u64),
    /// Outside the object: answer 416.
    Unsatisfiable,
}

/// Resolves a `Range` header value for an object of `size` bytes.
pub fn parse_range(value: Option<&str>, size: u64) -> RangeRequest {
    let Some(spec) = value.and_then(|v| v.trim().strip_prefix("bytes=")) else {
        return RangeRequest::Whole;
    };
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((start, end)) = spec.trim().split_once('-') else {
        return RangeRequest::Whole;
    };
    let (start, end) = (start.trim(), end.trim());
    let last_byte = size.checked_sub(1);
    if start.is_empty() {
        // `bytes=-n`: the last n bytes.
        return match (end.parse::<u64>(), last_byte) {
            (Err(_), _) => RangeRequest::Whole,
            (Ok(0), _) | (_, None) => RangeRequest::Unsatisfiable,
            (Ok(n), Some(last)) => RangeRequest::Part(size.saturating_sub(n), last),
        };
    }
    let Ok(first) = start.parse::<u64>() else {
        return RangeRequest::Whole;
    };
    let last = if end.is_empty() {
        None
    } else {
        match end.parse::<u64>() {
            // A last position before the first makes the header invalid: it is ignored.
            Ok(last) if last >= first => Some(last),
            _ => return RangeRequest::Whole,
        }
    };
    match last_byte {
        Some(last_byte) if first <= last_byte => {
            RangeRequest::Part(first, last.map_or(last_byte, |l| l.min(last_byte)))
        }
        _ => RangeRequest::Unsatisfiable,
    }
}

/// Streams one output (or a byte range of it).
#[utoipa::path(
    get,
    path = "/v1/jobs/{id}/outputs/{name}",
    tag = "jobs",
    summary = "Download an output",
    params(
        ("id" = uuid::Uuid, Path, description = "Job id"),
        ("name" = String, Path, description = "Output name from the recipe"),
        ("Range" = Option<String>, Header, description = "One byte range, e.g. `bytes=0-1023`"),
        ("If-None-Match" = Option<String>, Header, description = "ETag of a cached copy"),
    ),
    responses(
        (status = 200, description = "The output", content_type = "image/*", body = Vec<u8>, headers(("ETag" = String), ("Content-Length" = u64))),
        (status = 206, description = "The requested byte range", content_type = "image/*", body = Vec<u8>, headers(("Content-Range" = String))),
        (status = 304, description = "Not modified (`If-None-Match`)"),
        (status = 416, description = "Range not satisfiable", headers(("Content-Range" = String))),
        (status = 404, description = "No such job or output", body = crate::openapi::Problem, content_type = "application/problem+json"),
        crate::openapi::CommonProblems,
    ),
)]
pub async fn download(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (raw_id, name) = path.into_inner();
    let id = parse_id(&raw_id)?;
    let row = super::get::fetch_job(&state, id).await?;
    let outputs: Vec<OutputRecord> = serde_json::from_value(row.outputs).unwrap_or_default();
    let output = outputs
        .into_iter()
        .find(|o| o.name == name)
        .ok_or_else(|| ApiError::NotFound(format!("job `{id}` has no output `{name}`")))?;
    let range_header = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok());
    let range = match parse_range(range_header, output.bytes) {
        RangeRequest::Unsatisfiable => {
            return Ok(HttpResponse::RangeNotSatisfiable()
                .insert_header((header::CONTENT_RANGE, format!("bytes */{}", output.bytes)))
                .finish());
        }
        RangeRequest::Part(first, last) => Some((first, last)),
        RangeRequest::Whole => None,
    };
    let object = state
        .storage
        .stream_range(&output.key, range)
        .await
        .map_err(|err| match err {
            tintype_storage::StorageError::NotFound { .. } => {
                ApiError::NotFound(format!("output `{name}` of job `{id}` is no longer stored"))
            }
            other => other.into(),
        })?;
    if let (Some(etag), Some(wanted)) = (
        object.etag.as_deref(),
        req.headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok()),
    ) && wanted
        .split(',')
        .any(|w| w.trim() == etag || w.trim() == "*")
    {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag.to_owned()))
            .finish());
    }
    let body = futures_util::stream::unfold(object.body, |mut body| async move {
        match body.try_next().await {
            Ok(Some(chunk)) => Some((Ok::<Bytes, std::io::Error>(chunk), body)),
            Ok(None) => None,
            Err(err) => Some((Err(std::io::Error::other(err)), body)),
        }
    });
    let mut response = match range {
        Some((first, last)) => {
            let mut partial = HttpResponse::PartialContent();
            partial.insert_header((
                header::CONTENT_RANGE,
                format!("bytes {first}-{last}/{}", output.bytes),
            ));
            partial
        }
        None => HttpResponse::Ok(),
    };
    response.content_type(output.content_type.as_str());
    response.insert_header((header::ACCEPT_RANGES, "bytes"));
    response.insert_header((
        header::CONTENT_DISPOSITION,
        format!(
            "inline; filename=\"{}\"",
            output.key.rsplit('/').next().unwrap_or("output")
        ),
    ));
    if let Some(etag) = object.etag {
        response.insert_header((header::ETAG, etag));
    }
    Ok(match object.content_length {
        Some(len) => response.no_chunking(len).streaming(body),
        None => response.streaming(body),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_resolve_like_rfc_9110_says() {
        use RangeRequest::*;
        assert_eq!(parse_range(None, 100), Whole);
        assert_eq!(parse_range(Some("bytes=0-9"), 100), Part(0, 9));
        assert_eq!(parse_range(Some("bytes=90-"), 100), Part(90, 99));
        assert_eq!(parse_range(Some("bytes=-10"), 100), Part(90, 99));
        assert_eq!(parse_range(Some("bytes=-500"), 100), Part(0, 99));
        assert_eq!(parse_range(Some("bytes=50-1000"), 100), Part(50, 99));
        assert_eq!(parse_range(Some("bytes=100-"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=9-3"), 100), Whole);
        assert_eq!(parse_range(Some("bytes=0-"), 0), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-1,5-6"), 100), Whole);
        assert_eq!(parse_range(Some("items=0-1"), 100), Whole);
        assert_eq!(parse_range(Some("bytes=x-y"), 100), Whole);
    }
}
