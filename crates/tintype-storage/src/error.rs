//! Storage failures, classified where they happen so callers can decide: retry or give up.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// A storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The object does not exist.
    #[error("object `{key}` not found")]
    NotFound {
        /// The key asked for.
        key: String,
    },
    /// The object is larger than the caller accepts.
    #[error("object `{key}` is larger than {limit} bytes")]
    TooLarge {
        /// The key asked for.
        key: String,
        /// The limit.
        limit: u64,
    },
    /// The store refused our credentials or signature; retrying will not help.
    #[error("{op}: access denied ({code})")]
    Denied {
        /// What we were doing.
        op: &'static str,
        /// The store's error code.
        code: String,
    },
    /// The store could not be reached or failed; retrying later may help.
    #[error("{op}: storage unavailable: {message}")]
    Transient {
        /// What we were doing.
        op: &'static str,
        /// What went wrong.
        message: String,
    },
    /// The store answered with an error that retrying will not fix.
    #[error("{op}: {code}: {message}")]
    Service {
        /// What we were doing.
        op: &'static str,
        /// The store's error code.
        code: String,
        /// The store's message.
        message: String,
    },
}

impl StorageError {
    /// Whether a later retry may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }

    /// The store's error code, when it sent one.
    pub fn service_code(&self) -> Option<&str> {
        match self {
            Self::Service { code, .. } | Self::Denied { code, .. } => Some(code),
            _ => None,
        }
    }

    pub(crate) fn for_key(self, key: &str) -> Self {
        match self {
            Self::Service { ref code, .. } if code == "NoSuchKey" || code == "NotFound" => {
                Self::NotFound {
                    key: key.to_owned(),
                }
            }
            other => other,
        }
    }

    pub(crate) fn from_sdk<E>(op: &'static str, err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        match &err {
            SdkError::ServiceError(service) => {
                let code = service.err().code().unwrap_or("Unknown").to_owned();
                let message = service.err().message().unwrap_or_default().to_owned();
                let status = service.raw().status().as_u16();
                if (500..600).contains(&status) || code == "SlowDown" {
                    Self::Transient {
                        op,
                        message: format!("{code}: {message}"),
                    }
                } else if status == 403
                    || matches!(
                        code.as_str(),
                        "AccessDenied" | "SignatureDoesNotMatch" | "InvalidAccessKeyId"
                    )
                {
                    Self::Denied { op, code }
                } else if status == 404 && code == "Unknown" {
                    Self::Service {
                        op,
                        code: "NotFound".into(),
                        message,
                    }
                } else {
                    Self::Service { op, code, message }
                }
            }
            // Dispatch failures, timeouts and unparseable responses: the network or the store.
            _ => Self::Transient {
                op,
                message: error_chain(&err),
            },
        }
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
