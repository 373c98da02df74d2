//! `GET /v1/jobs/{id}/outputs/{name}`: streams an output from storage through the gateway, so
//! clients need no access to the bucket and links never expire.

use actix_web::{HttpResponse, web};
use bytes::Bytes;
use shared_protocol::job::OutputRecord;

use super::get::parse_id;
use crate::error::ApiError;
use crate::state::AppState;

/// Streams one output.
pub async fn download(
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (raw_id, name) = path.into_inner();
    let id = parse_id(&raw_id)?;
    let row = tintype_db::jobs::get(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no job `{id}`")))?;
    let outputs: Vec<OutputRecord> = serde_json::from_value(row.outputs).unwrap_or_default();
    let output = outputs
        .into_iter()
        .find(|o| o.name == name)
        .ok_or_else(|| ApiError::NotFound(format!("job `{id}` has no output `{name}`")))?;
    let object = state
        .storage
        .stream(&output.key)
        .await
        .map_err(|err| match err {
            tintype_storage::StorageError::NotFound { .. } => {
                ApiError::NotFound(format!("output `{name}` of job `{id}` is no longer stored"))
            }
            other => other.into(),
        })?;
    let body = futures_util::stream::unfold(object.body, |mut body| async move {
        match body.try_next().await {
            Ok(Some(chunk)) => Some((Ok::<Bytes, std::io::Error>(chunk), body)),
            Ok(None) => None,
            Err(err) => Some((Err(std::io::Error::other(err)), body)),
        }
    });
    let mut response = HttpResponse::Ok();
    response.content_type(output.content_type.as_str());
    response.insert_header((
        "Content-Disposition",
        format!(
            "inline; filename=\"{}\"",
            output.key.rsplit('/').next().unwrap_or("output")
        ),
    ));
    if let Some(etag) = object.etag {
        response.insert_header(("ETag", etag));
    }
    Ok(match object.content_length {
        Some(len) => response.no_chunking(len).streaming(body),
        None => response.streaming(body),
    })
}
