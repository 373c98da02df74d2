//! One attempt's work: read the source, decode once and apply the shared operations, then render
//! and upload each output. Image work runs on blocking threads (never on the async reactor), and
//! the attempt checks between steps whether it still owns the job.

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use image_engine::{Overlays, Prepared, Recipe};
use shared_protocol::ErrorCode;
use shared_protocol::job::{OutputRecord, output_key};
use tintype_db::JobRow;
use tokio_util::task::AbortOnDropHandle;
use tracing::Instrument;

use crate::context::Ctx;
use crate::error::JobError;

/// Set when the worker loses the job (lease taken over, cancel requested). Steps check it at
/// their boundaries and race it while they run, so a stop takes effect within moments.
#[derive(Debug, Clone, Default)]
pub struct StopFlag(tokio_util::sync::CancellationToken);

impl StopFlag {
    /// Asks the attempt to stop.
    pub fn stop(&self) {
        self.0.cancel();
    }

    /// Fails with [`JobError::Stopped`] once stop was asked for.
    pub fn check(&self) -> Result<(), JobError> {
        if self.0.is_cancelled() {
            Err(JobError::Stopped)
        } else {
            Ok(())
        }
    }

    /// Runs a step unless stop is asked for first. A dropped upload never completes (S3 writes
    /// are all or nothing); a dropped image step finishes on its blocking thread and is discarded.
    pub async fn guard<T>(
        &self,
        step: impl Future<Output = Result<T, JobError>>,
    ) -> Result<T, JobError> {
        tokio::select! {
            biased;
            () = self.0.cancelled() => Err(JobError::Stopped),
            result = step => result,
        }
    }
}

/// Runs a CPU-bound closure on the blocking pool, in the current span; a panic becomes a
/// permanent failure of the job, never a dead worker.
async fn blocking<T, F>(what: &'static str, f: F) -> Result<T, JobError>
where
    F: FnOnce() -> Result<T, image_engine::EngineError> + Send + 'static,
    T: Send + 'static,
{
    let span = tracing::Span::current();
    match tokio::task::spawn_blocking(move || span.in_scope(f)).await {
        Ok(result) => result.map_err(JobError::from),
        Err(join) => Err(JobError::abort(
            ErrorCode::Internal,
            format!("{what} crashed: {join}"),
        )),
    }
}

/// The job's image: its stored original (or named object), or its source URL fetched through the
/// outbound guard — bounded in size and time, every redirect re-checked. What the bytes are is
/// decided by sniffing them in the engine, never by the server's `Content-Type`.
async fn read_source(ctx: &Ctx, job: &JobRow) -> Result<Bytes, JobError> {
    let max = ctx.limits.max_source_bytes;
    if let Some(key) = job.source_key.as_deref() {
        let download = ctx.storage.get(key, max);
        return Ok(download
            .instrument(tracing::info_span!("download original", key))
            .await?);
    }
    let url = job
        .source_url
        .as_deref()
        .ok_or_else(|| JobError::abort(ErrorCode::BadRequest, "the job names no source"))?;
    let span = tracing::info_span!(
        "GET",
        otel.name = "GET",
        otel.kind = "client",
        http.request.method = "GET",
        url.full = url,
        http.response.body.size = tracing::field::Empty,
    );
    let fetch = async {
        let headers: Vec<(String, String)> = tintype_telemetry::propagation::current_headers()
            .into_iter()
            .collect();
        let fetched = ctx
            .outbound
            .get_limited_with_headers(url, &headers, max, ctx.fetch_timeout)
            .await?;
        tracing::Span::current().record("http.response.body.size", fetched.bytes.len());
        Ok::<Bytes, JobError>(fetched.bytes)
    };
    fetch.instrument(span).await
}

/// A download of the job's source begun before the attempt (beside the claim).
pub type Prefetch = AbortOnDropHandle<Result<Bytes, tintype_storage::StorageError>>;

/// Produces and uploads every output of `job`; `prefetched` is its source's download, if begun.
pub async fn run(
    ctx: &Ctx,
    job: &JobRow,
    stop: &StopFlag,
    prefetched: Option<Prefetch>,
) -> Result<Vec<OutputRecord>, JobError> {
    let recipe: Recipe = serde_json::from_value(job.recipe.clone()).map_err(|e| {
        JobError::abort(
            ErrorCode::InvalidRecipe,
            format!("stored recipe unreadable: {e}"),
        )
    })?;
    // Awaited here, under the attempt's time limit and stop flag. A failed download is not the
    // job's failure yet: the attempt reads the source itself and reports what it finds.
    let downloaded = match prefetched {
        Some(download) => {
            stop.guard(async { Ok(download.await.ok().and_then(Result::ok)) })
                .await?
        }
        None => None,
    };
    let source = match downloaded {
        Some(bytes) => bytes,
        None => stop.guard(read_source(ctx, job)).await?,
    };
    ctx.metrics.bytes_in.inc_by(source.len() as u64);
    stop.check()?;

    let mut overlays = Overlays::new();
    for overlay in image_engine::overlay_keys(&recipe) {
        let bytes = ctx
            .storage
            .get(overlay, ctx.limits.max_source_bytes)
            .await?;
        overlays.insert(overlay, bytes.to_vec());
    }

    let recipe = Arc::new(recipe);
    let prepared = {
        let recipe = Arc::clone(&recipe);
        let limits = ctx.limits.clone();
        stop.guard(
            blocking("decode", move || {
                Prepared::prepare_with(&source, &recipe, &limits, overlays)
            })
            .instrument(tracing::info_span!("prepare")),
        )
        .await?
    };
    ctx.metrics.steps(prepared.timings(), None);
    let prepared = Arc::new(prepared);
    stop.check()?;

    let mut records = Vec::with_capacity(recipe.outputs.len());
    for (index, output) in recipe.outputs.iter().enumerate() {
        let encoded = {
            let prepared = Arc::clone(&prepared);
            let recipe = Arc::clone(&recipe);
            stop.guard(
                blocking("encode", move || prepared.render(&recipe, index))
                    .instrument(tracing::info_span!("render", output = %output.name)),
            )
            .await?
        };
        ctx.metrics
            .steps(&encoded.timings, Some(encoded.format.as_str()));
        stop.check()?;
        let key = output_key(job.id, &encoded.name, encoded.format.extension());
        let size = encoded.bytes.len() as u64;
        // The last moment to notice a cancel before writing: one cheap read per output.
        if matches!(
            tintype_db::jobs::cancel_requested(&ctx.pool, job.id).await,
            Ok(true)
        ) {
            stop.stop();
        }
        stop.check()?;
        let upload = async {
            ctx.storage
                .put(
                    &key,
                    Bytes::from(encoded.bytes),
                    encoded.format.content_type(),
                )
                .await?;
            Ok::<(), JobError>(())
        };
        stop.guard(
            upload.instrument(
                tracing::info_span!("upload", output = %encoded.name, size_bytes = size),
            ),
        )
        .await?;
        ctx.metrics.bytes_out.inc_by(size);
        records.push(OutputRecord {
            name: encoded.name,
            format: encoded.format.as_str().to_owned(),
            width: encoded.width,
            height: encoded.height,
            bytes: size,
            key,
            content_type: encoded.format.content_type().to_owned(),
        });
    }
    Ok(records)
}
