//! `/v1/presets`: named recipes stored server-side. A submit whose recipe document says
//! `"preset": "thumbs"` gets that recipe, with any other fields of the document laid over it
//! (`priority`, `metadata`, `webhook`, even `outputs`).

use actix_web::{HttpResponse, web};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};
use shared_protocol::{Recipe, RecipeError};

use crate::error::ApiError;
use crate::state::AppState;

/// Longest preset name.
const MAX_NAME_LEN: usize = 64;
/// Longest description.
const MAX_DESCRIPTION_LEN: usize = 1024;

/// Body of `PUT /v1/presets/{name}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresetBody {
    /// Free text for people.
    #[serde(default)]
    pub description: String,
    /// The recipe, validated like a submitted one.
    pub recipe: Value,
}

fn check_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "a preset name is 1 to {MAX_NAME_LEN} characters of a-z, 0-9, `-` and `_`"
        )))
    }
}

/// Every preset.
#[utoipa::path(
    get,
    path = "/v1/presets",
    tag = "presets",
    summary = "Every preset",
    responses(
        (status = 200, description = "By name", body = crate::openapi::PresetList),
        crate::openapi::CommonProblems,
    ),
)]
pub async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let presets = tintype_db::presets::list(&state.pool).await?;
    Ok(HttpResponse::Ok().json(json!({ "presets": presets })))
}

/// One preset.
#[utoipa::path(
    get,
    path = "/v1/presets/{name}",
    tag = "presets",
    summary = "A preset",
    params(
        ("name" = String, Path),
    ),
    responses(
        (status = 200, description = "The preset", body = crate::openapi::Preset),
        (status = 404, description = "No such preset", body = crate::openapi::Problem, content_type = "application/problem+json"),
        crate::openapi::CommonProblems,
    ),
)]
pub async fn get(
    name: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let preset = tintype_db::presets::get(&state.pool, &name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no preset `{name}`")))?;
    Ok(HttpResponse::Ok().json(preset))
}

/// Creates (201) or replaces (200) a preset after validating its recipe.
#[utoipa::path(
    put,
    path = "/v1/presets/{name}",
    tag = "presets",
    summary = "Create or replace a preset",
    params(
        ("name" = String, Path, description = "1–64 of a-z, 0-9, `-`, `_`"),
    ),
    request_body(content = crate::openapi::PresetInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = crate::openapi::Preset),
        (status = 200, description = "Replaced", body = crate::openapi::Preset),
        (status = 400, description = "Bad name or body", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the JSON limit", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body not `application/json`", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid recipe", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not `application/json`", body = crate::openapi::Problem, content_type = "application/problem+json"),
        crate::openapi::CommonProblems,
    ),
)]
pub async fn put(
    name: web::Path<String>,
    body: web::Json<PresetBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    check_name(&name)?;
    let body = body.into_inner();
    if body.description.chars().count() > MAX_DESCRIPTION_LEN {
        return Err(ApiError::BadRequest(format!(
            "`description` is longer than {MAX_DESCRIPTION_LEN} characters"
        )));
    }
    if body.recipe.get("preset").is_some() {
        return Err(ApiError::Recipe(RecipeError {
            field: "preset".into(),
            message: "a preset cannot name another preset".into(),
        }));
    }
    let raw = serde_json::to_vec(&body.recipe)
        .map_err(|e| ApiError::BadRequest(format!("unreadable recipe: {e}")))?;
    Recipe::parse(&raw, &state.recipe_limits)?;
    let (row, created) =
        tintype_db::presets::upsert(&state.pool, &name, &body.description, &body.recipe).await?;
    Ok(if created {
        HttpResponse::Created()
            .insert_header(("Location", format!("/v1/presets/{name}")))
            .json(row)
    } else {
        HttpResponse::Ok().json(row)
    })
}

/// Deletes a preset (jobs made from it keep their recipe).
#[utoipa::path(
    delete,
    path = "/v1/presets/{name}",
    tag = "presets",
    summary = "Delete a preset",
    params(
        ("name" = String, Path),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such preset", body = crate::openapi::Problem, content_type = "application/problem+json"),
        crate::openapi::CommonProblems,
    ),
)]
pub async fn delete(
    name: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if tintype_db::presets::delete(&state.pool, &name).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound(format!("no preset `{name}`")))
    }
}

/// Replaces a recipe document naming a preset by the preset's recipe with the document's other
/// fields laid over it; any other document is returned as it is.
pub async fn expand(state: &AppState, document: &Bytes) -> Result<Bytes, ApiError> {
    let Ok(Value::Object(mut fields)) = serde_json::from_slice::<Value>(document) else {
        return Ok(document.clone());
    };
    let Some(name) = fields.remove("preset") else {
        return Ok(document.clone());
    };
    let preset_error = |message: String| {
        ApiError::Recipe(RecipeError {
            field: "preset".into(),
            message,
        })
    };
    let Value::String(name) = name else {
        return Err(preset_error("`preset` must be a preset's name".into()));
    };
    let preset = tintype_db::presets::get(&state.pool, &name)
        .await?
        .ok_or_else(|| preset_error(format!("no preset `{name}`; see GET /v1/presets")))?;
    let Value::Object(mut recipe) = preset.recipe else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "preset `{name}` holds a recipe that is not an object"
        )));
    };
    recipe.extend(fields);
    serde_json::to_vec(&Value::Object(recipe))
        .map(Bytes::from)
        .map_err(|e| ApiError::Internal(e.into()))
}
