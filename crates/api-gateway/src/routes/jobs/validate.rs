//! `POST /v1/jobs:validate`: a dry run. The same body as a submit; the recipe is checked (presets
//! expanded) and the image probed from its header, and the answer says what the image is and which
//! limit, if any, would refuse it — without storing anything or creating a job.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use shared_protocol::Recipe;

use super::{source, upload};
use crate::error::ApiError;
use crate::state::AppState;

/// What the image's header says.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProbedSource {
    /// Format name (`jpeg`, `png`, …).
    pub format: String,
    /// Width as stored (before EXIF orientation).
    pub width: u32,
    /// Height as stored.
    pub height: u32,
    /// Frames (1 for still images).
    pub frames: u32,
    /// Size of the source.
    pub bytes: u64,
}

/// The limit a source would trip.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TrippedLimit {
    /// Stable code (`image_too_large`, `payload_too_large`).
    pub code: String,
    /// Which limit and by how much.
    pub message: String,
}

/// The verdict of a dry run.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Validation {
    /// Whether a submit of the same body would be accepted.
    pub valid: bool,
    /// The probed source.
    pub source: ProbedSource,
    /// The limit it trips, when not valid.
    pub limit: Option<TrippedLimit>,
    /// The recipe as it would run (defaults filled in, preset expanded).
    #[schema(value_type = Object)]
    pub recipe: serde_json::Value,
}

/// Checks a submission without creating a job.
#[utoipa::path(
    post,
    path = "/v1/jobs:validate",
    tag = "jobs",
    summary = "Dry-run a submit",
    description = "The same body as `POST /v1/jobs` (a JSON recipe's `source` is fetched now, within the upload limit). Answers 200 with the probed source and the limit it would trip (`valid: false`), or a problem when the recipe is invalid or the bytes are not a readable image.",
    params(("recipe" = Option<String>, Query, description = "The recipe, for a raw image body")),
    request_body(content((crate::openapi::SubmitForm = "multipart/form-data"), (Vec<u8> = "application/octet-stream"), (shared_protocol::Recipe = "application/json"))),
    responses(
        (status = 200, description = "The verdict", body = Validation),
        (status = 400, description = "Malformed request", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API key", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the scope", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Upload too large", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a supported image or content type", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid recipe, broken image, or a source refused or unreadable", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the rate limit", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 503, description = "A dependency is unavailable", body = crate::openapi::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn validate(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let submission = upload::read(&req, payload, state.max_upload_bytes).await?;
    let document = crate::routes::presets::expand(&state, &submission.recipe).await?;
    let recipe = Recipe::parse(&document, &state.recipe_limits)?;
    let file = match (submission.file, &recipe.source) {
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
        (Some(file), None) => file,
        (None, Some(named)) => {
            let checked = source::check(&state, named).await?;
            source::fetch(&state, &checked, state.source_fetch_timeout).await?
        }
    };
    let limits = state.image_limits.clone();
    let bytes = file.len() as u64;
    // Header-only probes: once without limits to learn what the image is, once with them.
    let (info, verdict) = web::block(move || {
        let unlimited = image_engine::Limits {
            max_source_bytes: u64::MAX,
            max_pixels: u64::MAX,
            max_width: u32::MAX,
            max_height: u32::MAX,
            max_frames: u32::MAX,
            max_output_pixels: u64::MAX,
        };
        (
            image_engine::probe(&file, &unlimited),
            image_engine::probe(&file, &limits).map(|_| ()),
        )
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("probe task failed: {e}")))?;
    let info = info?;
    let limit = verdict.err().map(|err| TrippedLimit {
        code: err.code().as_str().to_owned(),
        message: err.to_string(),
    });
    Ok(HttpResponse::Ok().json(Validation {
        valid: limit.is_none(),
        source: ProbedSource {
            format: info.format.to_owned(),
            width: info.width,
            height: info.height,
            frames: info.frames,
            bytes,
        },
        limit,
        recipe: serde_json::to_value(&recipe).unwrap_or_default(),
    }))
}
