//! The gateway's one error type. Every failure becomes an RFC 9457 problem+json body with a stable
//! `code`; internal causes are logged here, once, and never sent to the client.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use shared_protocol::{ErrorCode, RecipeError};

/// An error answered to a client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The recipe is invalid; `field` says where.
    #[error("invalid recipe: {0}")]
    Recipe(#[from] RecipeError),
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The body is larger than allowed.
    #[error("the upload is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The image was refused by the engine's probe.
    #[error(transparent)]
    Image(#[from] image_engine::EngineError),
    /// The media type of the body is not accepted.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// No such job or output.
    #[error("{0}")]
    NotFound(String),
    /// The request contradicts the resource's state (e.g. cancelling a finished job).
    #[error("{0}")]
    Conflict(String),
    /// No usable API key.
    #[error("{0}")]
    Unauthorized(String),
    /// The key lacks the route's scope.
    #[error("{0}")]
    Forbidden(String),
    /// Over the caller's request rate.
    #[error("too many requests; retry in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until a request would pass.
        retry_after_secs: u64,
    },
    /// Too many jobs wait already.
    #[error("{waiting} jobs are waiting (limit {limit}); submit again later")]
    QueueFull {
        /// Jobs waiting now.
        waiting: u64,
        /// The configured bound.
        limit: u64,
    },
    /// The named source cannot be used: refused by the outbound guard, missing or unreadable.
    #[error("{message}")]
    Source {
        /// `source_refused` or `source_unavailable`.
        code: ErrorCode,
        /// What is wrong with it.
        message: String,
    },
    /// A dependency is down; the client may retry.
    #[error("{what} is unavailable")]
    Unavailable {
        /// Which dependency.
        what: &'static str,
        /// The cause, logged only.
        source: anyhow::Error,
    },
    /// A bug or an unexpected failure.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<tintype_db::DbError> for ApiError {
    fn from(err: tintype_db::DbError) -> Self {
        if err.is_transient() {
            Self::Unavailable {
                what: "the database",
                source: err.into(),
            }
        } else {
            Self::Internal(err.into())
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        tintype_db::DbError::from(err).into()
    }
}

impl From<tintype_storage::StorageError> for ApiError {
    fn from(err: tintype_storage::StorageError) -> Self {
        Self::Unavailable {
            what: "object storage",
            source: err.into(),
        }
    }
}

/// The problem+json body.
#[derive(Debug, Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: String,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    /// The stable machine-readable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Recipe(_) => ErrorCode::InvalidRecipe,
            Self::BadRequest(_) => ErrorCode::BadRequest,
            Self::TooLarge { .. } => ErrorCode::PayloadTooLarge,
            Self::Image(err) => err.code(),
            Self::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::Unauthorized(_) => ErrorCode::Unauthorized,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::QueueFull { .. } => ErrorCode::QueueFull,
            Self::Source { code, .. } => *code,
            Self::Unavailable { .. } => ErrorCode::ServiceUnavailable,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }

    fn title(&self) -> &'static str {
        match self.code() {
            ErrorCode::InvalidRecipe => "The recipe is invalid",
            ErrorCode::BadRequest => "The request is malformed",
            ErrorCode::PayloadTooLarge => "The upload is too large",
            ErrorCode::UnsupportedMediaType => "Not a supported image",
            ErrorCode::InvalidImage => "The image is broken",
            ErrorCode::ImageTooLarge => "The image exceeds a limit",
            ErrorCode::RecipeNotApplicable => "The recipe cannot be applied to this image",
            ErrorCode::NotFound => "Not found",
            ErrorCode::Conflict => "Conflicts with the current state",
            ErrorCode::ServiceUnavailable => "Service unavailable",
            ErrorCode::Unauthorized => "An API key is needed",
            ErrorCode::Forbidden => "The API key lacks a scope",
            ErrorCode::RateLimited => "Too many requests",
            ErrorCode::QueueFull => "Too much work is waiting",
            ErrorCode::SourceRefused => "The source address is not allowed",
            ErrorCode::SourceUnavailable => "The source cannot be read",
            _ => "Internal error",
        }
    }
}

/// Status of each error code; the table clients can rely on.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidRecipe
        | ErrorCode::InvalidImage
        | ErrorCode::ImageTooLarge
        | ErrorCode::RecipeNotApplicable
        | ErrorCode::SourceRefused
        | ErrorCode::SourceUnavailable => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
        ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::ServiceUnavailable | ErrorCode::QueueFull => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        status_of(self.code())
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let detail = match self {
            Self::Unavailable { what, source } => {
                tracing::warn!(error = %format!("{source:#}"), "{what} unavailable");
                format!("{what} is unavailable; retry later")
            }
            Self::Internal(source) => {
                tracing::error!(error = %format!("{source:#}"), "internal error");
                "an unexpected error happened; it has been logged".to_owned()
            }
            Self::Recipe(err) => err.message.clone(),
            other => other.to_string(),
        };
        let code = self.code();
        let field = match self {
            Self::Recipe(err) => Some(err.field.as_str()),
            _ => None,
        };
        let body = Problem {
            kind: format!("/problems/{}", code.as_str()),
            title: self.title(),
            status: status.as_u16(),
            detail,
            code: code.as_str(),
            field,
        };
        let mut response = HttpResponse::build(status);
        response.content_type("application/problem+json");
        match self {
            Self::RateLimited { retry_after_secs } => {
                response.insert_header(("Retry-After", retry_after_secs.to_string()));
            }
            Self::QueueFull { .. } => {
                response.insert_header(("Retry-After", "10"));
            }
            Self::Unauthorized(_) => {
                response.insert_header(("WWW-Authenticate", "Bearer realm=\"tintype\""));
            }
            _ if status == StatusCode::SERVICE_UNAVAILABLE => {
                response.insert_header(("Retry-After", "5"));
            }
            _ => {}
        }
        response.json(body)
    }
}

/// A JSON body the extractor refused, as a problem: too large (413), not JSON or not the
/// expected shape (400), or another content type (415).
pub fn json_error(err: actix_web::error::JsonPayloadError) -> ApiError {
    use actix_web::error::JsonPayloadError as E;
    match err {
        E::OverflowKnownLength { limit, .. } | E::Overflow { limit } => ApiError::TooLarge {
            limit: limit as u64,
        },
        E::ContentType => {
            ApiError::UnsupportedMediaType("send the body as `application/json`".into())
        }
        other => ApiError::BadRequest(format!("invalid JSON body: {other}")),
    }
}
