//! Job states, priorities, the job message on the broker, and the output record of a finished job.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Version of [`JobMessage`]'s schema; a worker refuses messages of a version it does not know.
pub const JOB_MESSAGE_VERSION: u32 = 1;

/// Where a job is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Accepted, waiting for a worker.
    Queued,
    /// A worker holds the job's lease and is processing it.
    Running,
    /// A transient error happened; the job waits in a delay queue for its next attempt.
    Retrying,
    /// Every output was written.
    Succeeded,
    /// The job failed for good; `error` says why.
    Failed,
    /// The job was cancelled before it finished.
    Cancelled,
    /// Retention removed the job's objects; the record stays.
    Expired,
    /// A client deleted the job's objects; the record stays.
    Deleted,
}

impl JobStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [JobStatus; 8] = [
        Self::Queued,
        Self::Running,
        Self::Retrying,
        Self::Succeeded,
        Self::Failed,
        Self::Cancelled,
        Self::Expired,
        Self::Deleted,
    ];

    /// The status as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Retrying => "retrying",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
            Self::Deleted => "deleted",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }

    /// Whether no further processing will happen.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Queued | Self::Running | Self::Retrying)
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which queue a job waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Served first.
    High,
    /// The normal queue.
    #[default]
    Default,
    /// Served when nothing else waits.
    Low,
}

impl Priority {
    /// Every priority, highest first.
    pub const ALL: [Priority; 3] = [Self::High, Self::Default, Self::Low];

    /// The priority as stored, and as the routing key of its queue.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::High => "high",
            Self::Default => "default",
            Self::Low => "low",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl std::fmt::Display for Priority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The message a worker receives. It names the job; the job's recipe and state live in Postgres,
/// which is the source of truth, so a stale or duplicated message can never carry stale work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobMessage {
    /// Schema version, [`JOB_MESSAGE_VERSION`] when written by this code.
    pub v: u32,
    /// The job to run.
    pub job_id: Uuid,
    /// When the message was first enqueued (queue-wait measurements).
    pub enqueued_at: DateTime<Utc>,
}

impl JobMessage {
    /// A message for `job_id` written now.
    pub fn new(job_id: Uuid) -> Self {
        Self {
            v: JOB_MESSAGE_VERSION,
            job_id,
            enqueued_at: Utc::now(),
        }
    }
}

/// One encoded output of a finished job, as recorded in the job's `outputs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputRecord {
    /// The output's name from the recipe.
    pub name: String,
    /// Encoded format (`jpeg`, `png`, `webp`, …).
    pub format: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Encoded size.
    pub bytes: u64,
    /// Object key in storage.
    pub key: String,
    /// MIME type of the encoded bytes.
    pub content_type: String,
}

/// Object key of a job's original upload.
pub fn original_key(job_id: Uuid) -> String {
    format!("originals/{job_id}")
}

/// Object key of one output; derived from job and output name so a rerun overwrites, never
/// duplicates.
pub fn output_key(job_id: Uuid, name: &str, extension: &str) -> String {
    format!("outputs/{job_id}/{name}.{extension}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_message_round_trips_with_its_version() {
        let msg = JobMessage::new(Uuid::now_v7());
        let json = serde_json::to_string(&msg).unwrap();
        assert!(json.contains("\"v\":1"));
        let back: JobMessage = serde_json::from_str(&json).unwrap();
        assert_eq!(back, msg);
    }

    #[test]
    fn statuses_parse_their_own_names() {
        for status in JobStatus::ALL {
            assert_eq!(JobStatus::parse(status.as_str()), Some(status));
            let json = serde_json::to_value(status).unwrap();
            assert_eq!(json.as_str(), Some(status.as_str()));
        }
        assert!(JobStatus::Succeeded.is_final());
        assert!(!JobStatus::Retrying.is_final());
    }

    #[test]
    fn output_keys_derive_from_job_and_name() {
        let id = Uuid::nil();
        assert_eq!(
            output_key(id, "thumb", "webp"),
            "outputs/00000000-0000-0000-0000-000000000000/thumb.webp"
        );
        assert_eq!(
            original_key(id),
            "originals/00000000-0000-0000-0000-000000000000"
        );
    }
}
