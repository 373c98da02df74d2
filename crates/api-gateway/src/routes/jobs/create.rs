//! `POST /v1/jobs`: validate the recipe, probe the image (refusing non-images, broken files and
//! bombs before any decoding), store the original, then insert the job and its outbox message in
//! one transaction and publish with confirms: together with concurrent submits ([`crate::submits`])
//! unless an `Idempotency-Key` binds it, alone otherwise. If RabbitMQ is down the job is still
//! accepted: the outbox row stays and the scheduler's relay publishes it later.

use actix_web::{HttpRequest, HttpResponse, web};
use shared_protocol::Recipe;
use shared_protocol::job::original_key;
use tintype_db::NewJob;
use tintype_telemetry::propagation;
use tracing::Instrument as _;
use uuid::Uuid;

use super::resource::{JobView, base_url};
use super::{source, upload};
use crate::error::ApiError;
use crate::metrics::{GatewayMetrics, PriorityLabel};
use crate::state::AppState;

/// Accepts a job.
#[utoipa::path(
    post,
    path = "/v1/jobs",
    tag = "jobs",
    summary = "Submit a job",
    description = "Three shapes: `multipart/form-data` (parts `file` and `recipe`); a raw image body with the recipe in the `recipe` query parameter; or `application/json`, the recipe itself with `source.url` (fetched by the worker through the outbound guard) or `source.object` (a key in the bucket). The recipe may name a preset.",
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Same key and body within the TTL answer with the original job"),
        ("recipe" = Option<String>, Query, description = "The recipe, for a raw image body"),
    ),
    request_body(content((crate::openapi::SubmitForm = "multipart/form-data"), (Vec<u8> = "application/octet-stream"), (shared_protocol::Recipe = "application/json")), description = "The image with its recipe, or a recipe naming its source"),
    responses(
        (status = 202, description = "Accepted; follow `links.self`", body = crate::routes::jobs::resource::JobView),
        (status = 200, description = "Replay of an `Idempotency-Key` with the same body: the original job", body = crate::routes::jobs::resource::JobView),
        (status = 400, description = "Malformed request", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`Idempotency-Key` reused with another body", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Upload too large", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a supported image or content type", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid recipe, broken image, image over a limit, or a source that is refused (`source_refused`) or missing (`source_unavailable`)", body = crate::openapi::Problem, content_type = "application/problem+json"),
        crate::openapi::CommonProblems,
    ),
)]
pub async fn create(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let idem_key = idempotency_key(&req)?;
    state.admission.admit(&state.pool).await?;
    // The body is read only once a permit is free, and the permit is held to the end of the
    // submit (the buffer lives until the original is stored).
    let _upload_permit = if upload::carries_image(&req) {
        Some(
            state
                .uploads
                .clone()
                .acquire_owned()
                .await
                .map_err(|e| ApiError::Internal(e.into()))?,
        )
    } else {
        None
    };
    let submission = upload::read(&req, payload, state.max_upload_bytes).await?;
    let document = crate::routes::presets::expand(&state, &submission.recipe).await?;
    let recipe = Recipe::parse(&document, &state.recipe_limits)?;
    // Hashing a large upload costs milliseconds: only a submit with a key needs it.
    let hash = idem_key.as_ref().map(|_| {
        request_hash(
            &submission.recipe,
            submission.file.as_deref().unwrap_or_default(),
        )
    });
    if let (Some(key), Some(hash)) = (&idem_key, &hash)
        && let Some(response) = replay(&req, &state, key, hash).await?
    {
        return Ok(response);
    }
    let id = Uuid::now_v7();
    let (source_key, source_url, source_info, upload_bytes) =
        match (submission.file, &recipe.source) {
            (Some(_), Some(_)) => {
                return Err(ApiError::BadRequest(
                    "`source` is for JSON submits; this request uploads the image".into(),
                ));
            }
            (None, None) => {
                return Err(ApiError::BadRequest(
                    "a JSON submit names its image in `source.url` or `source.object`".into(),
                ));
            }
            (None, Some(named)) => match source::check(&state, named).await? {
                source::Checked::Url(url) => (None, Some(url), None, 0),
                source::Checked::Object(key) => (Some(key), None, None, 0),
            },
            (Some(file), None) => {
                let info = store_upload(&state, id, file.clone()).await?;
                (Some(original_key(id)), None, Some(info), file.len() as u64)
            }
        };
    let job = NewJob {
        id,
        priority: recipe.priority,
        metadata: serde_json::Value::Object(recipe.metadata.clone()),
        max_attempts: recipe.max_attempts.unwrap_or(state.job_max_attempts) as i32,
        timeout_secs: recipe.timeout_secs.unwrap_or(state.job_timeout_secs) as i32,
        recipe: serde_json::to_value(&recipe).map_err(|e| ApiError::Internal(e.into()))?,
        source_key,
        source_url,
        source_info,
        trace_id: propagation::current_trace_id(),
    };
    let row = match idem_key.as_deref().zip(hash.as_deref()) {
        // Most submits: committed and published with whatever else is being submitted now.
        None => {
            state
                .submits
                .submit(job, propagation::current_headers_json())
                .instrument(propagation::db_span("INSERT", "jobs"))
                .await?
        }
        Some(idempotency) => {
            let Some((row, outbox_ids)) = insert_with_outbox(&state, &job, idempotency)
                .instrument(propagation::db_span("INSERT", "jobs"))
                .await?
            else {
                // A concurrent submit with the same key won; this original is nobody's.
                if upload_bytes > 0
                    && let Err(err) = state.storage.delete(&original_key(id)).await
                {
                    tracing::warn!(error = %err, "could not remove the original of a lost idempotent race");
                }
                let (key, hash) = idempotency;
                return replay(&req, &state, key, hash).await?.ok_or_else(|| {
                    ApiError::Conflict(format!("`Idempotency-Key` `{key}` is in use"))
                });
            };
            // Fast path: publish now. On failure the relay publishes later; the 202 stands.
            if let Err(err) =
                tintype_broker::outbox::publish_ids(&state.pool, &state.publisher, &outbox_ids)
                    .await
            {
                tracing::warn!(job.id = %id, error = %err, "publish deferred to the outbox relay");
            }
            row
        }
    };
    if let Some(metrics) = req.app_data::<web::Data<GatewayMetrics>>() {
        metrics
            .jobs_accepted
            .get_or_create(&PriorityLabel {
                priority: recipe.priority.as_str().to_owned(),
            })
            .inc();
        metrics.upload_bytes.inc_by(upload_bytes);
    }

    tracing::info!(job.id = %id, priority = %recipe.priority, size_bytes = upload_bytes, "job accepted");

    let base = base_url(&req, state.public_url.as_deref());
    let view = JobView::new(row, &base);
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", format!("{base}/v1/jobs/{id}")))
        .json(view))
}

/// Probes an upload (refusing non-images, broken files and bombs from the header) and stores it
/// as the job's original; answers what the header said.
async fn store_upload(
    state: &AppState,
    id: Uuid,
    file: bytes::Bytes,
) -> Result<serde_json::Value, ApiError> {
    let limits = state.image_limits.clone();
    let probe_input = file.clone();
    // Probing reads headers and scans for the end marker: cheap, but not async work.
    let info = web::block(move || image_engine::probe(&probe_input, &limits))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("probe task failed: {e}")))??;
    state
        .storage
        .put(
            &original_key(id),
            file.clone(),
            &format!("image/{}", info.format),
        )
        .await?;
    Ok(serde_json::json!({
        "format": info.format, "width": info.width, "height": info.height,
        "frames": info.frames, "bytes": file.len(),
    }))
}

/// Inserts the job, its history entry and its outbox messages in one transaction with its
/// idempotency key; `None` when a racing submit took the key first.
async fn insert_with_outbox(
    state: &AppState,
    job: &NewJob,
    (key, hash): (&str, &str),
) -> Result<Option<(tintype_db::JobRow, Vec<i64>)>, ApiError> {
    let topology = state.publisher.topology();
    // Captured now, inside the request's span: the relay may publish these rows much later.
    let trace_headers = propagation::current_headers_json();
    let mut tx = state.pool.begin().await?;
    let (row, ids) =
        tintype_db::submit::queue_job(&mut tx, topology, job, None, &trace_headers).await?;
    if !tintype_db::idempotency::bind(
        &mut tx,
        job.id,
        key,
        hash,
        state.idempotency_ttl_secs as f64,
    )
    .await?
    {
        tx.rollback().await?;
        return Ok(None);
    }
    tx.commit().await?;
    Ok(Some((row, ids)))
}

/// The `Idempotency-Key` header, if sent; bounded so it stays an index key, not a payload.
fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get("Idempotency-Key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .ok_or_else(|| {
            ApiError::BadRequest(
                "`Idempotency-Key` must be 1 to 255 visible ASCII characters".into(),
            )
        })?;
    Ok(Some(key.to_owned()))
}

/// What identifies "the same request" for an idempotency key: the recipe and the image bytes.
fn request_hash(recipe: &[u8], file: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update((recipe.len() as u64).to_be_bytes());
    hasher.update(recipe);
    hasher.update(file);
    format!("{:x}", hasher.finalize())
}

/// Answers a repeated submit: the original job (200) for the same request, 409 for another.
async fn replay(
    req: &HttpRequest,
    state: &AppState,
    key: &str,
    hash: &str,
) -> Result<Option<HttpResponse>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let Some((id, stored_hash)) = tintype_db::idempotency::lookup(&mut conn, key).await? else {
        return Ok(None);
    };
    drop(conn);
    if stored_hash.as_deref() != Some(hash) {
        return Err(ApiError::Conflict(format!(
            "`Idempotency-Key` `{key}` was used for a different request (job `{id}`)"
        )));
    }
    let row = super::get::fetch_job(state, id).await?;
    let base = base_url(req, state.public_url.as_deref());
    Ok(Some(
        HttpResponse::Ok()
            .insert_header(("Location", format!("{base}/v1/jobs/{id}")))
            .json(JobView::new(row, &base)),
    ))
}
