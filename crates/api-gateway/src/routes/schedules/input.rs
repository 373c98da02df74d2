//! Schedule request bodies and their validation. Everything is checked before anything is
//! stored: the recipe like a submitted one (a preset name is expanded now), the source (an object
//! must exist in the bucket), the timing and zone (it must fire at least once more).

use actix_web::web::Bytes;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Map, Value};
use shared_protocol::recipe::Source;
use shared_protocol::schedule::{self, Misfire, Timing, TimingError};
use shared_protocol::{Priority, Recipe, RecipeError};
use tintype_db::schedules::{NewSchedule, ScheduleRow};
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// Longest schedule name.
const MAX_NAME_CHARS: usize = 128;

/// `POST /v1/schedules` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleInput {
    /// A name for people (1–128 characters).
    pub name: String,
    /// The recipe each job runs, without a `source`; `{"preset": "name", …}` is expanded when
    /// the schedule is saved.
    #[schema(value_type = shared_protocol::Recipe)]
    pub recipe: Value,
    /// `{"url": …}` fetched by each job, or `{"object": …}`, a key that exists in the bucket.
    pub source: Source,
    /// Cron expression: 5 fields, or 6 with seconds first, read in `timezone`.
    #[serde(default)]
    pub cron: Option<String>,
    /// Interval instead of `cron`: `10s`, `5m`, `1h 30m` (1 s to 366 days).
    #[serde(default)]
    pub every: Option<String>,
    /// IANA time zone of `cron` (default `UTC`).
    #[serde(default)]
    pub timezone: Option<String>,
    /// Ticks missed while no scheduler ran: `fire_once` (default) or `skip`.
    #[serde(default)]
    pub misfire: Option<Misfire>,
    /// Priority of the jobs (default: the recipe's).
    #[serde(default)]
    pub priority: Option<Priority>,
    /// Merged into each job's metadata, with `schedule_id`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metadata: Option<Map<String, Value>>,
}

/// `PATCH /v1/schedules/{id}` body: the fields to change. Giving `cron` replaces an `every` and
/// the other way round.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SchedulePatch {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New recipe.
    #[serde(default)]
    #[schema(value_type = Option<shared_protocol::Recipe>)]
    pub recipe: Option<Value>,
    /// New source.
    #[serde(default)]
    pub source: Option<Source>,
    /// New cron expression.
    #[serde(default)]
    pub cron: Option<String>,
    /// New interval.
    #[serde(default)]
    pub every: Option<String>,
    /// New zone.
    #[serde(default)]
    pub timezone: Option<String>,
    /// New misfire policy.
    #[serde(default)]
    pub misfire: Option<Misfire>,
    /// New priority.
    #[serde(default)]
    pub priority: Option<Priority>,
    /// New metadata (replaces the old).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Map<String, Value>>,
}

impl SchedulePatch {
    /// The stored schedule with this patch laid over it, as a full input to validate again.
    pub fn apply(self, current: &ScheduleRow) -> ScheduleInput {
        let (cron, every) = match (self.cron, self.every) {
            (None, None) => (
                current.cron.clone(),
                current.every_secs.map(|s| format!("{s}s")),
            ),
            given => given,
        };
        let current_metadata = match &current.metadata {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        };
        ScheduleInput {
            name: self.name.unwrap_or_else(|| current.name.clone()),
            recipe: self.recipe.unwrap_or_else(|| current.recipe.clone()),
            source: self.source.unwrap_or_else(|| Source {
                url: current.source_url.clone(),
                object: current.source_key.clone(),
            }),
            cron,
            every,
            timezone: Some(self.timezone.unwrap_or_else(|| current.timezone.clone())),
            misfire: Some(
                self.misfire
                    .unwrap_or_else(|| Misfire::parse(&current.misfire).unwrap_or_default()),
            ),
            priority: Some(self.priority.unwrap_or_else(|| current.priority())),
            metadata: Some(self.metadata.unwrap_or(current_metadata)),
        }
    }
}

fn timing_error(err: TimingError) -> ApiError {
    ApiError::BadRequest(format!("`{}`: {}", err.field, err.message))
}

/// Validates `input` into the schedule to store under `id`.
pub async fn validate(
    state: &AppState,
    id: Uuid,
    input: ScheduleInput,
) -> Result<NewSchedule, ApiError> {
    let name = input.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::BadRequest(format!(
            "`name` must be 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    let timing = match (&input.cron, &input.every) {
        (Some(cron), None) => Timing::cron(cron).map_err(timing_error)?,
        (None, Some(every)) => Timing::every(every).map_err(timing_error)?,
        _ => {
            return Err(ApiError::BadRequest(
                "give exactly one of `cron` (e.g. `0 3 * * *`) or `every` (e.g. `10m`)".into(),
            ));
        }
    };
    let every_secs = match &timing {
        Timing::Every(interval) => Some(i64::try_from(interval.as_secs()).unwrap_or(i64::MAX)),
        Timing::Cron(_) => None,
    };
    let timezone = input.timezone.unwrap_or_else(|| "UTC".to_owned());
    let tz = schedule::timezone(&timezone).map_err(timing_error)?;
    let next_fire_at = timing.next_after(tz, Utc::now()).ok_or_else(|| {
        ApiError::BadRequest("`cron`: the expression matches no future time".into())
    })?;
    let metadata = input.metadata.unwrap_or_default();
    let metadata_len = serde_json::to_vec(&metadata).map_or(0, |v| v.len());
    if metadata_len > state.recipe_limits.max_metadata_bytes {
        return Err(ApiError::BadRequest(format!(
            "`metadata` is {metadata_len} bytes serialised; at most {} are allowed",
            state.recipe_limits.max_metadata_bytes
        )));
    }

    let recipe = recipe(state, input.recipe, &input.source).await?;
    let priority = input.priority.unwrap_or(recipe.priority);
    // Refused now, exactly as a submit naming it would be, rather than as a failed job at every
    // tick: a URL the outbound guard refuses, a missing or oversized object.
    crate::routes::jobs::source::check(state, &input.source).await?;
    Ok(NewSchedule {
        id,
        name,
        recipe: serde_json::to_value(&recipe).map_err(|e| ApiError::Internal(e.into()))?,
        source_url: input.source.url,
        source_key: input.source.object,
        cron: input.cron.map(|c| c.trim().to_owned()),
        every_secs,
        timezone,
        misfire: input.misfire.unwrap_or_default().as_str().to_owned(),
        priority,
        metadata: Value::Object(metadata),
        next_fire_at: Some(next_fire_at),
    })
}

/// The recipe to store: preset expanded, validated together with the source as a submit would
/// be, the gateway's default attempts and time limit filled in (the scheduler has no defaults of
/// its own), and the source taken out again (the schedule keeps it).
async fn recipe(state: &AppState, raw: Value, source: &Source) -> Result<Recipe, ApiError> {
    if raw.get("source").is_some() {
        return Err(ApiError::Recipe(RecipeError {
            field: "recipe.source".into(),
            message: "give the source as the schedule's `source`, not in the recipe".into(),
        }));
    }
    let document = serde_json::to_vec(&raw)
        .map(Bytes::from)
        .map_err(|e| ApiError::BadRequest(format!("unreadable recipe: {e}")))?;
    let document = crate::routes::presets::expand(state, &document).await?;
    let mut full: Value = serde_json::from_slice(&document)
        .map_err(|e| ApiError::BadRequest(format!("unreadable recipe: {e}")))?;
    if let Value::Object(fields) = &mut full {
        fields.insert(
            "source".into(),
            serde_json::to_value(source).map_err(|e| ApiError::Internal(e.into()))?,
        );
    }
    let bytes = serde_json::to_vec(&full).map_err(|e| ApiError::Internal(e.into()))?;
    let mut recipe = Recipe::parse(&bytes, &state.recipe_limits)?;
    recipe.source = None;
    recipe.max_attempts = Some(recipe.max_attempts.unwrap_or(state.job_max_attempts));
    recipe.timeout_secs = Some(recipe.timeout_secs.unwrap_or(state.job_timeout_secs));
    Ok(recipe)
}
