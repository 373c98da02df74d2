//! `POST /v1/jobs`: validate the recipe, probe the image (refusing non-images, broken files and
//! bombs before any decoding), store the original, then insert the job and its outbox message in
//! one transaction and publish with confirms. If RabbitMQ is down the job is still accepted: the
//! outbox row stays and the scheduler's relay publishes it later.

use actix_web::{HttpRequest, HttpResponse, web};
use shared_protocol::events::{EventKind, JOB_EVENT_VERSION, JobEvent};
use shared_protocol::job::{JobMessage, original_key};
use shared_protocol::topology::{MESSAGE_TYPE_EVENT, MESSAGE_TYPE_JOB};
use shared_protocol::{JobStatus, Recipe};
use tintype_db::NewJob;
use tintype_db::outbox::NewOutboxMessage;
use tintype_telemetry::propagation;
use tracing::Instrument as _;
use uuid::Uuid;

use super::resource::{JobView, base_url};
use super::upload;
use crate::error::ApiError;
use crate::metrics::{GatewayMetrics, PriorityLabel};
use crate::state::AppState;

/// Accepts a job.
pub async fn create(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let submission = upload::read(&req, payload, state.max_upload_bytes).await?;
    let recipe = Recipe::parse(&submission.recipe, &state.recipe_limits)?;
    if recipe.source.is_some() {
        return Err(ApiError::BadRequest(
            "`source` is for jobs without an upload; this request uploads the image".into(),
        ));
    }
    let file = submission.file;
    let limits = state.image_limits.clone();
    let probe_input = file.clone();
    // Probing reads headers and scans for the end marker: cheap, but not async work.
    let info = web::block(move || image_engine::probe(&probe_input, &limits))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("probe task failed: {e}")))??;

    let id = Uuid::now_v7();
    let key = original_key(id);
    state
        .storage
        .put(&key, file.clone(), &format!("image/{}", info.format))
        .await?;

    let source_info = serde_json::json!({
        "format": info.format, "width": info.width, "height": info.height,
        "frames": info.frames, "bytes": file.len(),
    });
    let job = NewJob {
        id,
        priority: recipe.priority,
        metadata: serde_json::Value::Object(recipe.metadata.clone()),
        max_attempts: recipe.max_attempts.unwrap_or(state.job_max_attempts) as i32,
        timeout_secs: recipe.timeout_secs.unwrap_or(state.job_timeout_secs) as i32,
        recipe: serde_json::to_value(&recipe).map_err(|e| ApiError::Internal(e.into()))?,
        source_key: Some(key),
        source_url: None,
        source_info: Some(source_info),
        trace_id: propagation::current_trace_id(),
    };
    let (row, outbox_ids) = insert_with_outbox(&state, &job)
        .instrument(propagation::db_span("INSERT", "jobs"))
        .await?;
    if let Some(metrics) = req.app_data::<web::Data<GatewayMetrics>>() {
        metrics
            .jobs_accepted
            .get_or_create(&PriorityLabel {
                priority: recipe.priority.as_str().to_owned(),
            })
            .inc();
        metrics.upload_bytes.inc_by(file.len() as u64);
    }

    // Fast path: publish now. On failure the relay publishes later; the client's 202 stands.
    if let Err(err) =
        tintype_broker::outbox::publish_ids(&state.pool, &state.publisher, &outbox_ids).await
    {
        tracing::warn!(job.id = %id, error = %err, "publish deferred to the outbox relay");
    }
    tracing::info!(job.id = %id, priority = %recipe.priority, size_bytes = file.len(), "job accepted");

    let base = base_url(&req, state.public_url.as_deref());
    let view = JobView::new(row, &base);
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", format!("{base}/v1/jobs/{id}")))
        .json(view))
}

async fn insert_with_outbox(
    state: &AppState,
    job: &NewJob,
) -> Result<(tintype_db::JobRow, Vec<i64>), ApiError> {
    let topology = state.publisher.topology();
    // Captured now, inside the request's span: the relay may publish these rows much later.
    let trace_headers = propagation::current_headers_json();
    let message =
        serde_json::to_vec(&JobMessage::new(job.id)).map_err(|e| ApiError::Internal(e.into()))?;
    let event = JobEvent {
        v: JOB_EVENT_VERSION,
        kind: EventKind::Queued,
        job_id: job.id,
        status: JobStatus::Queued,
        attempt: 0,
        worker_id: None,
        at: chrono::Utc::now(),
        detail: serde_json::Value::Null,
    };
    let event_payload = serde_json::to_vec(&event).map_err(|e| ApiError::Internal(e.into()))?;

    let mut tx = state.pool.begin().await?;
    let row = tintype_db::jobs::insert(&mut tx, job).await?;
    tintype_db::events::record(
        &mut tx,
        job.id,
        EventKind::Queued,
        JobStatus::Queued,
        0,
        None,
        None,
    )
    .await?;
    let job_msg = tintype_db::outbox::insert(
        &mut tx,
        &NewOutboxMessage {
            exchange: topology.jobs_exchange(),
            routing_key: job.priority.as_str().to_owned(),
            payload: message,
            message_type: MESSAGE_TYPE_JOB.to_owned(),
            headers: trace_headers.clone(),
        },
    )
    .await?;
    let event_msg = tintype_db::outbox::insert(
        &mut tx,
        &NewOutboxMessage {
            exchange: topology.events_exchange(),
            routing_key: EventKind::Queued.routing_key().to_owned(),
            payload: event_payload,
            message_type: MESSAGE_TYPE_EVENT.to_owned(),
            headers: trace_headers,
        },
    )
    .await?;
    tx.commit().await?;
    Ok((row, vec![job_msg, event_msg]))
}
