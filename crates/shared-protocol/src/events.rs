//! Job lifecycle events, published on the events topic exchange with routing key `job.<kind>`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::job::JobStatus;

/// Version of [`JobEvent`]'s schema.
pub const JOB_EVENT_VERSION: u32 = 1;

/// What happened to a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The job was accepted and enqueued.
    Queued,
    /// A worker started an attempt.
    Started,
    /// A step finished (decode, an output, an upload).
    Progress,
    /// A transient error; another attempt is scheduled.
    Retrying,
    /// Every output was written.
    Succeeded,
    /// The job failed for good.
    Failed,
    /// The job was cancelled.
    Cancelled,
    /// Retention removed the job's objects; the record stays.
    Expired,
}

impl EventKind {
    /// Routing key on the events exchange, e.g. `job.succeeded`.
    pub fn routing_key(self) -> &'static str {
        match self {
            Self::Queued => "job.queued",
            Self::Started => "job.started",
            Self::Progress => "job.progress",
            Self::Retrying => "job.retrying",
            Self::Succeeded => "job.succeeded",
            Self::Failed => "job.failed",
            Self::Cancelled => "job.cancelled",
            Self::Expired => "job.expired",
        }
    }

    /// The name stored in `job_events.kind`.
    pub fn as_str(self) -> &'static str {
        &self.routing_key()[4..]
    }
}

/// A job lifecycle event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobEvent {
    /// Schema version.
    pub v: u32,
    /// What happened.
    pub kind: EventKind,
    /// The job.
    pub job_id: Uuid,
    /// The job's status after the event.
    pub status: JobStatus,
    /// Attempt number (1-based; 0 before the first attempt).
    pub attempt: i32,
    /// Worker that caused the event, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_id: Option<String>,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Event-specific details (error, output names, …).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub detail: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_keys_follow_the_design() {
        assert_eq!(EventKind::Succeeded.routing_key(), "job.succeeded");
        assert_eq!(EventKind::Cancelled.as_str(), "cancelled");
    }

    #[test]
    fn events_round_trip() {
        let event = JobEvent {
            v: JOB_EVENT_VERSION,
            kind: EventKind::Started,
            job_id: Uuid::now_v7(),
            status: JobStatus::Running,
            attempt: 1,
            worker_id: Some("w-1".into()),
            at: Utc::now(),
            detail: serde_json::Value::Null,
        };
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(serde_json::from_str::<JobEvent>(&json).unwrap(), event);
    }
}
