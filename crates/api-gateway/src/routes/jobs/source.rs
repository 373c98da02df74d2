//! Sources named in a JSON submit (`source.url`, `source.object`): checked at submit time, so a
//! forbidden address or a missing object is a clear 422 now rather than a failed job later, and
//! read whole for a dry run.

use std::time::Duration;

use bytes::Bytes;
use shared_protocol::ErrorCode;
use shared_protocol::recipe::Source;
use tintype_outbound::OutboundError;

use crate::error::ApiError;
use crate::state::AppState;

/// Where a job's image comes from, once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// A URL the worker fetches (through the same guard).
    Url(String),
    /// An object in the bucket the worker reads.
    Object(String),
}

/// An outbound failure as the client's problem.
pub fn outbound_error(err: OutboundError) -> ApiError {
    let code = match err {
        OutboundError::Refused { .. } | OutboundError::InvalidUrl(_) => ErrorCode::SourceRefused,
        OutboundError::TooLarge { limit } => return ApiError::TooLarge { limit },
        _ => ErrorCode::SourceUnavailable,
    };
    ApiError::Source {
        code,
        message: format!("source.url: {err}"),
    }
}

/// Checks the source without reading it: a URL's scheme and resolved addresses against the guard,
/// an object's existence and size.
pub async fn check(state: &AppState, source: &Source) -> Result<Checked, ApiError> {
    match (&source.url, &source.object) {
        (Some(url), None) => {
            let parsed = state.outbound.precheck(url).await.map_err(outbound_error)?;
            Ok(Checked::Url(parsed.to_string()))
        }
        (None, Some(key)) => {
            let size = state
                .storage
                .head(key)
                .await?
                .ok_or_else(|| ApiError::Source {
                    code: ErrorCode::SourceUnavailable,
                    message: format!("source.object: there is no object `{key}` in the bucket"),
                })?;
            if size > state.max_upload_bytes {
                return Err(ApiError::TooLarge {
                    limit: state.max_upload_bytes,
                });
            }
            Ok(Checked::Object(key.clone()))
        }
        // The recipe validation admits exactly one of the two.
        _ => Err(ApiError::BadRequest(
            "`source` needs exactly one of `url` and `object`".into(),
        )),
    }
}

/// Reads a checked source whole, within the upload limit (for dry runs).
pub async fn fetch(
    state: &AppState,
    checked: &Checked,
    timeout: Duration,
) -> Result<Bytes, ApiError> {
    match checked {
        Checked::Url(url) => {
            let headers: Vec<(String, String)> = tintype_telemetry::propagation::current_headers()
                .into_iter()
                .collect();
            let fetched = state
                .outbound
                .get_limited_with_headers(url, &headers, state.max_upload_bytes, timeout)
                .await
                .map_err(outbound_error)?;
            Ok(fetched.bytes)
        }
        Checked::Object(key) => match state.storage.get(key, state.max_upload_bytes).await {
            Ok(bytes) => Ok(bytes),
            Err(tintype_storage::StorageError::TooLarge { limit, .. }) => {
                Err(ApiError::TooLarge { limit })
            }
            Err(tintype_storage::StorageError::NotFound { .. }) => Err(ApiError::Source {
                code: ErrorCode::SourceUnavailable,
                message: format!("source.object: there is no object `{key}` in the bucket"),
            }),
            Err(other) => Err(other.into()),
        },
    }
}
