//! How an attempt can end badly, classified where it happens: transient failures are retried
//! through the delay queues, permanent ones fail the job at once.

use shared_protocol::ErrorCode;

/// Why an attempt did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Storage, network or database trouble; another attempt may succeed.
    #[error("{message}")]
    Retry {
        /// Stable code recorded on the job.
        code: ErrorCode,
        /// Human message.
        message: String,
    },
    /// The input or recipe cannot work; fail the job now.
    #[error("{message}")]
    Abort {
        /// Stable code recorded on the job.
        code: ErrorCode,
        /// Human message.
        message: String,
    },
    /// The worker no longer owns the job (lease lost or cancel requested): stop quietly.
    #[error("the job was taken from this worker")]
    Stopped,
}

impl JobError {
    /// A permanent failure.
    pub fn abort(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Abort {
            code,
            message: message.into(),
        }
    }
}

impl From<image_engine::EngineError> for JobError {
    fn from(err: image_engine::EngineError) -> Self {
        // Every engine error is about this image and recipe; retrying cannot help.
        Self::Abort {
            code: err.code(),
            message: err.to_string(),
        }
    }
}

impl From<tintype_storage::StorageError> for JobError {
    fn from(err: tintype_storage::StorageError) -> Self {
        match err {
            tintype_storage::StorageError::NotFound { .. } => Self::Abort {
                code: ErrorCode::InvalidImage,
                message: format!("the source is missing from storage: {err}"),
            },
            tintype_storage::StorageError::TooLarge { .. } => Self::Abort {
                code: ErrorCode::ImageTooLarge,
                message: err.to_string(),
            },
            other => Self::Retry {
                code: ErrorCode::ServiceUnavailable,
                message: other.to_string(),
            },
        }
    }
}

impl From<tintype_db::DbError> for JobError {
    fn from(err: tintype_db::DbError) -> Self {
        Self::Retry {
            code: ErrorCode::ServiceUnavailable,
            message: format!("database: {err}"),
        }
    }
}

impl From<tintype_outbound::OutboundError> for JobError {
    fn from(err: tintype_outbound::OutboundError) -> Self {
        use tintype_outbound::OutboundError as E;
        let message = format!("fetching the source URL: {err}");
        match err {
            E::Refused { .. } | E::InvalidUrl(_) => Self::Abort {
                code: ErrorCode::SourceRefused,
                message,
            },
            E::TooLarge { .. } => Self::Abort {
                code: ErrorCode::ImageTooLarge,
                message,
            },
            ref other if other.is_transient() => Self::Retry {
                code: ErrorCode::SourceUnavailable,
                message,
            },
            // Redirect loops and 4xx answers will not change on their own.
            _ => Self::Abort {
                code: ErrorCode::SourceUnavailable,
                message,
            },
        }
    }
}
