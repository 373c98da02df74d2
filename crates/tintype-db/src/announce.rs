//! Writing what happened to a job where others will learn of it: the job's history, and the
//! outbox (a job message for the queues, an event for the events exchange), all inside the
//! caller's transaction so they commit with the state change or not at all. `headers` carry the
//! trace context (W3C `traceparent`) captured where the change happened, so the message that is
//! published later, maybe by the relay, continues that trace.

use serde_json::Value;
use shared_protocol::Priority;
use shared_protocol::events::{EventKind, JOB_EVENT_VERSION, JobEvent};
use shared_protocol::job::JobMessage;
use shared_protocol::topology::{MESSAGE_TYPE_EVENT, MESSAGE_TYPE_JOB, Topology};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::DbError;
use crate::events::NewEvent;
use crate::jobs::JobRow;
use crate::outbox::{self, NewOutboxMessage};

/// Appends `kind` to the job's history and queues the event for the events exchange; returns the
/// outbox row id to publish after commit.
pub async fn event(
    conn: &mut PgConnection,
    topology: &Topology,
    job: &JobRow,
    kind: EventKind,
    worker_id: Option<&str>,
    detail: Option<Value>,
    headers: &Value,
) -> Result<i64, DbError> {
    crate::events::record(
        conn,
        job.id,
        kind,
        job.status(),
        job.attempts,
        worker_id,
        detail.as_ref(),
    )
    .await?;
    outbox::insert(
        conn,
        &event_message(topology, job, kind, worker_id, detail, headers),
    )
    .await
}

/// Queues the job's message for its priority queue; returns the outbox row id.
pub async fn enqueue(
    conn: &mut PgConnection,
    topology: &Topology,
    job_id: Uuid,
    priority: Priority,
    headers: &Value,
) -> Result<i64, DbError> {
    message(
        conn,
        topology.jobs_exchange(),
        priority.as_str().to_owned(),
        job_id,
        headers,
    )
    .await
}

/// Queues the job's message and its `queued` event: what every (re)submission announces.
pub async fn queued(
    conn: &mut PgConnection,
    topology: &Topology,
    job: &JobRow,
    detail: Option<Value>,
    headers: &Value,
) -> Result<Vec<i64>, DbError> {
    queued_many(
        conn,
        topology,
        std::slice::from_ref(job),
        detail,
        std::slice::from_ref(headers),
    )
    .await
}

/// [`queued`] for many jobs in two statements (a group commit's batch); `headers[i]` belongs to
/// `jobs[i]`. Returns every outbox id, each job's message before its event.
pub async fn queued_many(
    conn: &mut PgConnection,
    topology: &Topology,
    jobs: &[JobRow],
    detail: Option<Value>,
    headers: &[Value],
) -> Result<Vec<i64>, DbError> {
    let history: Vec<NewEvent<'_>> = jobs
        .iter()
        .map(|job| NewEvent {
            job_id: job.id,
            kind: EventKind::Queued,
            status: job.status(),
            attempt: job.attempts,
            worker_id: None,
            detail: detail.as_ref(),
        })
        .collect();
    crate::events::record_many(conn, &history).await?;
    let messages: Vec<NewOutboxMessage> = jobs
        .iter()
        .zip(headers)
        .flat_map(|(job, headers)| {
            [
                job_message(
                    topology.jobs_exchange(),
                    job.priority().as_str().to_owned(),
                    job.id,
                    headers,
                ),
                event_message(
                    topology,
                    job,
                    EventKind::Queued,
                    None,
                    detail.clone(),
                    headers,
                ),
            ]
        })
        .collect();
    outbox::insert_many(conn, &messages).await
}

/// Queues the job's message for `exchange` / `routing_key` (a delay tier, the dead letters).
pub async fn message(
    conn: &mut PgConnection,
    exchange: String,
    routing_key: String,
    job_id: Uuid,
    headers: &Value,
) -> Result<i64, DbError> {
    outbox::insert(conn, &job_message(exchange, routing_key, job_id, headers)).await
}

/// The job message for `exchange` / `routing_key`.
fn job_message(
    exchange: String,
    routing_key: String,
    job_id: Uuid,
    headers: &Value,
) -> NewOutboxMessage {
    NewOutboxMessage {
        exchange,
        routing_key,
        payload: serde_json::to_vec(&JobMessage::new(job_id)).unwrap_or_default(),
        message_type: MESSAGE_TYPE_JOB.to_owned(),
        headers: headers.clone(),
    }
}

/// The lifecycle event `kind` of `job` for the events exchange.
fn event_message(
    topology: &Topology,
    job: &JobRow,
    kind: EventKind,
    worker_id: Option<&str>,
    detail: Option<Value>,
    headers: &Value,
) -> NewOutboxMessage {
    let event = JobEvent {
        v: JOB_EVENT_VERSION,
        kind,
        job_id: job.id,
        status: job.status(),
        attempt: job.attempts,
        worker_id: worker_id.map(str::to_owned),
        at: chrono::Utc::now(),
        detail: detail.unwrap_or_default(),
    };
    NewOutboxMessage {
        exchange: topology.events_exchange(),
        routing_key: kind.routing_key().to_owned(),
        payload: serde_json::to_vec(&event).unwrap_or_default(),
        message_type: MESSAGE_TYPE_EVENT.to_owned(),
        headers: headers.clone(),
    }
}
