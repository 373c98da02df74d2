//! Stable error codes. They appear in problem+json bodies and in failed jobs' `error.code`, so
//! clients can branch on them; the human message beside them may change, the code may not.

use serde::{Deserialize, Serialize};

/// A machine-readable error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request body is not a usable recipe.
    InvalidRecipe,
    /// The request is malformed (missing part, bad query, bad header).
    BadRequest,
    /// The uploaded bytes are not an image format we read.
    UnsupportedMediaType,
    /// The image is recognised but broken (truncated, corrupt).
    InvalidImage,
    /// The upload exceeds the configured byte limit.
    PayloadTooLarge,
    /// The image exceeds a pixel, dimension or frame limit.
    ImageTooLarge,
    /// The recipe cannot be applied to this image (e.g. a crop outside it).
    RecipeNotApplicable,
    /// No such resource.
    NotFound,
    /// The request conflicts with the resource's state.
    Conflict,
    /// A dependency (database, broker, storage) is unavailable.
    ServiceUnavailable,
    /// No valid API key was presented.
    Unauthorized,
    /// The API key lacks the scope the route needs.
    Forbidden,
    /// The client sent more requests than its rate allows.
    RateLimited,
    /// Too much work is waiting; submit again later.
    QueueFull,
    /// The source URL is refused by the outbound guard (private, loopback, metadata address…).
    SourceRefused,
    /// The source URL or object could not be read (HTTP error, unreachable, too slow, missing).
    SourceUnavailable,
    /// The job ran past its time limit.
    Timeout,
    /// The job was cancelled.
    Cancelled,
    /// A transient failure outlasted the job's attempts.
    RetriesExhausted,
    /// The job's worker vanished (its lease expired unclaimed) on the last allowed attempt.
    LeaseExpired,
    /// Something unexpected; details are in the service logs.
    Internal,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRecipe => "invalid_recipe",
            Self::BadRequest => "bad_request",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::InvalidImage => "invalid_image",
            Self::PayloadTooLarge => "payload_too_large",
            Self::ImageTooLarge => "image_too_large",
            Self::RecipeNotApplicable => "recipe_not_applicable",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::ServiceUnavailable => "service_unavailable",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::RateLimited => "rate_limited",
            Self::QueueFull => "queue_full",
            Self::SourceRefused => "source_refused",
            Self::SourceUnavailable => "source_unavailable",
            Self::Timeout => "timeout",
            Self::Cancelled => "cancelled",
            Self::RetriesExhausted => "retries_exhausted",
            Self::LeaseExpired => "lease_expired",
            Self::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_matches_as_str() {
        for code in [
            ErrorCode::InvalidRecipe,
            ErrorCode::ImageTooLarge,
            ErrorCode::Timeout,
        ] {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, serde_json::Value::String(code.as_str().to_owned()));
        }
    }
}
