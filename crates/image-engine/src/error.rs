//! The engine's error type and how each kind maps onto the shared error codes.

use shared_protocol::ErrorCode;

/// Why the engine refused or failed an image. Every variant is permanent: retrying the same bytes
/// with the same recipe fails the same way.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The bytes are not an image format the engine reads.
    #[error("unsupported image format: {0}")]
    UnsupportedFormat(String),
    /// The format is recognised but the file is broken (truncated, corrupt, inconsistent).
    #[error("invalid image: {0}")]
    InvalidImage(String),
    /// A byte, pixel, dimension or frame limit was exceeded.
    #[error("image too large: {0}")]
    TooLarge(String),
    /// The recipe cannot be applied to this image (e.g. a crop outside it).
    #[error("recipe not applicable: {0}")]
    NotApplicable(String),
    /// The output could not be encoded.
    #[error("encoding failed: {0}")]
    Encode(String),
    /// A decoder or encoder panicked; the panic was caught.
    #[error("codec panicked: {0}")]
    Panic(String),
}

impl EngineError {
    /// The stable error code this failure is reported with.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::UnsupportedFormat(_) => ErrorCode::UnsupportedMediaType,
            Self::InvalidImage(_) => ErrorCode::InvalidImage,
            Self::TooLarge(_) => ErrorCode::ImageTooLarge,
            Self::NotApplicable(_) => ErrorCode::RecipeNotApplicable,
            Self::Encode(_) => ErrorCode::Internal,
            // A codec only panics on input it cannot cope with: the file is the problem, and the
            // client should hear so rather than see an internal error.
            Self::Panic(_) => ErrorCode::InvalidImage,
        }
    }

    /// Whether the failure is the client's (4xx) rather than ours.
    pub fn is_client_error(&self) -> bool {
        !matches!(self, Self::Encode(_))
    }
}

/// Maps an `image` crate error that happened while reading a source.
pub(crate) fn from_decode(err: image::ImageError) -> EngineError {
    use image::ImageError as E;
    match err {
        E::Limits(l) => EngineError::TooLarge(l.to_string()),
        E::Unsupported(u) => match u.kind() {
            image::error::UnsupportedErrorKind::Format(_) => {
                EngineError::UnsupportedFormat(u.to_string())
            }
            // A recognised format using a feature we cannot decode: the client cannot fix that
            // by retrying, and "unsupported media type" tells them what to do (convert it).
            _ => EngineError::UnsupportedFormat(u.to_string()),
        },
        E::IoError(e) if e.kind() == std::io::ErrorKind::OutOfMemory => {
            EngineError::TooLarge(e.to_string())
        }
        other => EngineError::InvalidImage(other.to_string()),
    }
}

/// Runs a codec call, turning a panic into [`EngineError::Panic`] so it never unwinds into the
/// caller (a worker thread must survive any file).
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, EngineError>) -> Result<T, EngineError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(EngineError::Panic(message))
        }
    }
}
