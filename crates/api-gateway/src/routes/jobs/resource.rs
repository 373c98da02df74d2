//! The job resource as clients see it.

use actix_web::HttpRequest;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use shared_protocol::job::OutputRecord;
use tintype_db::JobRow;
use uuid::Uuid;

/// An output with its download link.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OutputView {
    /// Name from the recipe.
    pub name: String,
    /// Encoded format.
    pub format: String,
    /// MIME type.
    pub content_type: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Size in bytes.
    pub bytes: u64,
    /// Where to download it (streamed by the gateway).
    pub url: String,
}

/// A failure reason.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorView {
    /// Stable code.
    pub code: String,
    /// Human message.
    pub message: String,
}

/// The job resource.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobView {
    /// Job id.
    pub id: Uuid,
    /// Lifecycle status.
    #[schema(value_type = shared_protocol::JobStatus)]
    pub status: String,
    /// Queue priority.
    #[schema(value_type = shared_protocol::Priority)]
    pub priority: String,
    /// Attempts started.
    pub attempts: i32,
    /// Attempts allowed.
    pub max_attempts: i32,
    /// Why it failed (or why the last attempt failed, while retrying).
    pub error: Option<ErrorView>,
    /// Outputs once succeeded.
    pub outputs: Vec<OutputView>,
    /// The source: for an upload what its header said (format, width, height, frames, bytes);
    /// for a JSON submit the `url` or `object` it named.
    pub source: Option<Value>,
    /// Client metadata.
    pub metadata: Value,
    /// Worker that ran (or runs) it.
    pub worker_id: Option<String>,
    /// Accepted at.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// First attempt started at.
    pub started_at: Option<DateTime<Utc>>,
    /// Final state reached at.
    pub finished_at: Option<DateTime<Utc>>,
    /// Next attempt due at (retrying jobs).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Trace id of the submission.
    pub trace_id: Option<String>,
    /// When cancellation was asked for (a running job ends `cancelled` shortly after).
    pub cancel_requested_at: Option<DateTime<Utc>>,
    /// When its message was dead-lettered (listed by `GET /v1/dead-letters`).
    pub dead_lettered_at: Option<DateTime<Utc>>,
    /// Related resources.
    pub links: Value,
}

/// Base URL for links: the configured public URL, or the scheme and host the client used.
pub fn base_url(req: &HttpRequest, public_url: Option<&str>) -> String {
    match public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            let info = req.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        }
    }
}

/// The header facts of an upload, or the URL or object a JSON submit named.
fn source_view(
    id: uuid::Uuid,
    info: Option<Value>,
    url: Option<String>,
    key: Option<String>,
) -> Option<Value> {
    match (info, url, key) {
        (Some(info), _, _) => Some(info),
        (None, Some(url), _) => Some(serde_json::json!({ "url": url })),
        (None, None, Some(key)) if key != shared_protocol::job::original_key(id) => {
            Some(serde_json::json!({ "object": key }))
        }
        _ => None,
    }
}

impl JobView {
    /// Builds the view of a stored job.
    pub fn new(row: JobRow, base: &str) -> Self {
        let status = row.status().as_str().to_owned();
        let job_url = format!("{base}/v1/jobs/{}", row.id);
        let outputs: Vec<OutputRecord> = serde_json::from_value(row.outputs).unwrap_or_default();
        let outputs = outputs
            .into_iter()
            .map(|o| OutputView {
                url: format!("{job_url}/outputs/{}", o.name),
                name: o.name,
                format: o.format,
                content_type: o.content_type,
                width: o.width,
                height: o.height,
                bytes: o.bytes,
            })
            .collect();
        let error = match (row.error_code, row.error_message) {
            (Some(code), message) => Some(ErrorView {
                code,
                message: message.unwrap_or_default(),
            }),
            _ => None,
        };
        Self {
            id: row.id,
            priority: row.priority,
            status,
            attempts: row.attempts,
            max_attempts: row.max_attempts,
            error,
            outputs,
            source: source_view(row.id, row.source_info, row.source_url, row.source_key),
            metadata: row.metadata,
            worker_id: row.worker_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
            next_attempt_at: row.next_attempt_at,
            trace_id: row.trace_id,
            cancel_requested_at: row.cancel_requested_at,
            dead_lettered_at: row.dead_lettered_at,
            links: serde_json::json!({
                "self": job_url,
                "events": format!("{job_url}/events"),
                "cancel": format!("{job_url}/cancel"),
                "retry": format!("{job_url}/retry"),
            }),
        }
    }
}
