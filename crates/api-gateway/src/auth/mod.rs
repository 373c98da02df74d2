//! API keys on the HTTP API: `Authorization: Bearer …`, looked up by hash on every request (so a
//! revoked key stops at once), each route needing one scope. Auth is on unless the operator turns
//! it off with `TINTYPE_AUTH=disabled`, and then the gateway says so loudly at start-up.
//!
//! - [`keys`]: making keys and their hashes.
//! - [`scope`]: the scopes and which route needs which.

pub mod keys;
pub mod scope;

use actix_web::ResponseError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};

use crate::error::ApiError;
use crate::state::AppState;
pub use scope::Scope;

/// Whether requests must carry an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMode {
    /// Every `/v1` route needs a key with the right scope.
    Required,
    /// No key is asked for: local development only.
    Disabled,
}

/// Who made a request: the key's id, set by the middleware for later layers (rate limits).
#[derive(Debug, Clone)]
pub struct Caller {
    /// The key id, when a key was presented.
    pub key_id: Option<uuid::Uuid>,
}

/// Checks the key and its scope for routes that need one; refusals are answered here, as
/// problem+json, so outer layers (tracing, metrics, CORS) see an ordinary response.
pub async fn authenticate<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    match check(&req).await {
        Ok(caller) => {
            req.extensions_mut().insert(caller);
            Ok(next.call(req).await?.map_into_left_body())
        }
        Err(err) => Ok(req
            .into_response(err.error_response())
            .map_into_right_body()),
    }
}

async fn check(req: &ServiceRequest) -> Result<Caller, ApiError> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Err(ApiError::Internal(anyhow::anyhow!("gateway state missing")));
    };
    let needed = scope::required(req.method(), req.path());
    let Some(needed) = needed.filter(|_| state.auth_mode == AuthMode::Required) else {
        return Ok(Caller { key_id: None });
    };
    let token = bearer(req)?;
    let key = tintype_db::api_keys::find_live(&state.pool, &keys::hash(token))
        .await?
        .ok_or_else(|| ApiError::Unauthorized("the API key is unknown or revoked".into()))?;
    let granted: Vec<Scope> = key.scopes.iter().filter_map(|s| Scope::parse(s)).collect();
    if !scope::allows(&granted, needed) {
        return Err(ApiError::Forbidden(format!(
            "this route needs the `{}` scope; the key has {}",
            needed.as_str(),
            if key.scopes.is_empty() {
                "none".to_owned()
            } else {
                key.scopes
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        )));
    }
    Ok(Caller {
        key_id: Some(key.id),
    })
}

fn bearer(req: &ServiceRequest) -> Result<&str, ApiError> {
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::Unauthorized(
                "this route needs an API key: send `Authorization: Bearer <key>`".into(),
            )
        })?;
    let value = header
        .to_str()
        .map_err(|_| ApiError::Unauthorized("the Authorization header is not text".into()))?;
    let (kind, token) = value.split_once(' ').unwrap_or((value, ""));
    if !kind.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::Unauthorized(
            "the Authorization header must be `Bearer <key>`".into(),
        ));
    }
    Ok(token.trim())
}
