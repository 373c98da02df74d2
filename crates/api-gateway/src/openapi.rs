//! The OpenAPI 3.1 contract, generated from the handlers' `#[utoipa::path]` attributes and the
//! wire types; served at `/openapi.json`, rendered at `/docs`. Bodies the handlers assemble as
//! JSON are described by the shapes below, and the schemathesis contract test checks every
//! answer against them, so a drift fails `make test`.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde_json::Value;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use uuid::Uuid;

use crate::routes;

/// An RFC 9457 problem: every error answer.
#[derive(Debug, ToSchema)]
#[schema(example = json!({"type": "/problems/invalid_recipe", "title": "The recipe is invalid",
    "status": 422, "detail": "unknown format `bmp9`", "code": "invalid_recipe",
    "field": "outputs[0].format"}))]
pub struct Problem {
    /// `/problems/{code}`.
    #[schema(rename = "type")]
    pub kind: String,
    /// Short summary of the code.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What went wrong, for people.
    pub detail: String,
    /// Stable machine-readable code (see the README's error table).
    pub code: String,
    /// JSON path of the offending recipe field.
    pub field: Option<String>,
}

/// The problems every authenticated route can answer, listed once for all of them.
#[derive(Debug, utoipa::IntoResponses)]
pub enum CommonProblems {
    /// No valid API key.
    #[response(
        status = 401,
        description = "No valid API key",
        content_type = "application/problem+json"
    )]
    Unauthorized(Problem),
    /// The key lacks the route's scope.
    #[response(
        status = 403,
        description = "The key lacks the scope",
        content_type = "application/problem+json"
    )]
    Forbidden(Problem),
    /// Over the caller's request rate.
    #[response(
        status = 429,
        description = "Over the rate limit; see `Retry-After`",
        content_type = "application/problem+json"
    )]
    RateLimited(Problem),
    /// A dependency is down.
    #[response(
        status = 503,
        description = "A dependency is unavailable; see `Retry-After`",
        content_type = "application/problem+json"
    )]
    Unavailable(Problem),
}

/// `multipart/form-data` submit: the image and its recipe.
#[derive(Debug, ToSchema)]
pub struct SubmitForm {
    /// The image bytes.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// The recipe as JSON text (see `Recipe`), or `{"preset": "name", …}`.
    pub recipe: String,
}

/// `PUT /v1/presets/{name}` body.
#[derive(Debug, ToSchema)]
pub struct PresetInput {
    /// Free text.
    pub description: Option<String>,
    /// The recipe.
    pub recipe: shared_protocol::Recipe,
}

/// A stored preset.
#[derive(Debug, ToSchema)]
pub struct Preset {
    /// Name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// The recipe.
    pub recipe: Value,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
}

/// Every preset.
#[derive(Debug, ToSchema)]
pub struct PresetList {
    /// By name.
    pub presets: Vec<Preset>,
}

/// A page of dead letters.
#[derive(Debug, ToSchema)]
pub struct DeadLetterPage {
    /// Jobs, most recently dead-lettered first.
    pub items: Vec<routes::jobs::resource::JobView>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// A worker as the registry knows it.
#[derive(Debug, ToSchema)]
pub struct Worker {
    /// Worker id.
    pub id: String,
    /// Host name.
    pub host: String,
    /// Queues it consumes.
    pub queues: Vec<String>,
    /// Jobs at once.
    pub concurrency: i32,
    /// Registered at.
    pub started_at: DateTime<Utc>,
    /// Last heartbeat.
    pub last_seen_at: DateTime<Utc>,
    /// Clean stop.
    pub stopped_at: Option<DateTime<Utc>>,
    /// Jobs running at the last heartbeat.
    pub current_jobs: Vec<Uuid>,
    /// Attempts finished.
    pub processed: i64,
    /// Attempts failed.
    pub failed: i64,
    /// `alive`, `stopped` or `dead` (silent for more than 30 s).
    pub state: String,
}

/// Live and recently dead workers.
#[derive(Debug, ToSchema)]
pub struct WorkerList {
    /// Workers.
    pub items: Vec<Worker>,
}

/// One entry of a job's history.
#[derive(Debug, ToSchema)]
pub struct JobEvent {
    /// `queued`, `started`, `progress`, `retrying`, `succeeded`, `failed`, `cancelled`.
    pub kind: String,
    /// Status after it.
    pub status: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Attempt number.
    pub attempt: i32,
    /// Worker involved.
    pub worker_id: Option<String>,
    /// Details (error, outputs, queue wait …).
    pub detail: Option<Value>,
}

/// A job's history.
#[derive(Debug, ToSchema)]
pub struct JobEvents {
    /// The job.
    pub job_id: Uuid,
    /// Oldest first.
    pub events: Vec<JobEvent>,
}

/// One webhook attempt.
#[derive(Debug, ToSchema)]
pub struct WebhookAttempt {
    /// 1-based.
    pub attempt: i32,
    /// Sent at.
    pub at: DateTime<Utc>,
    /// Receiver's status code.
    pub status_code: Option<i32>,
    /// Round trip.
    pub latency_ms: Option<i64>,
    /// Why it failed.
    pub error: Option<String>,
}

/// One webhook delivery with its attempts.
#[derive(Debug, ToSchema)]
pub struct WebhookDelivery {
    /// Delivery id (the `webhook-id` header).
    pub id: Uuid,
    /// `job.succeeded`, `job.failed`, `job.cancelled`.
    pub event: String,
    /// Target.
    pub url: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// Attempts so far.
    pub attempts: Vec<WebhookAttempt>,
    /// Next try (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Queued at.
    pub created_at: DateTime<Utc>,
    /// Accepted by the receiver at.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A job's webhook deliveries.
#[derive(Debug, ToSchema)]
pub struct WebhookDeliveries {
    /// The job.
    pub job_id: Uuid,
    /// Oldest first.
    pub deliveries: Vec<WebhookDelivery>,
}

/// A queued redelivery.
#[derive(Debug, ToSchema)]
pub struct Redelivery {
    /// The job.
    pub job_id: Uuid,
    /// The new delivery.
    pub delivery_id: Uuid,
}

/// Jobs finished within one bucket of `GET /v1/stats`.
#[derive(Debug, ToSchema)]
pub struct ThroughputBucket {
    /// Bucket start.
    pub at: DateTime<Utc>,
    /// Succeeded in the bucket.
    pub succeeded: i64,
    /// Failed in the bucket.
    pub failed: i64,
    /// Cancelled in the bucket.
    pub cancelled: i64,
}

/// Percentiles of a duration in milliseconds; null without samples.
#[derive(Debug, ToSchema)]
pub struct Percentiles {
    /// Median.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Jobs measured.
    pub samples: i64,
}

/// `GET /v1/stats`.
#[derive(Debug, ToSchema)]
#[schema(example = json!({"window_secs": 3600, "from": "2026-12-05T09:00:00Z",
    "to": "2026-12-05T10:00:00Z", "bucket_secs": 60,
    "throughput": [{"at": "2026-12-05T09:00:00Z", "succeeded": 12, "failed": 1, "cancelled": 0}],
    "finished": {"succeeded": 12, "failed": 1, "cancelled": 0}, "success_rate": 0.923,
    "queue_wait_ms": {"p50": 40.0, "p90": 180.0, "p99": 950.0, "samples": 13},
    "processing_ms": {"p50": 310.0, "p90": 820.0, "p99": 1400.0, "samples": 13},
    "submitted": 14, "by_status": {"succeeded": 12, "failed": 1, "queued": 1}}))]
pub struct StatsView {
    /// Length of the window.
    pub window_secs: i64,
    /// Window start.
    pub from: DateTime<Utc>,
    /// Window end (now).
    pub to: DateTime<Utc>,
    /// Width of each throughput bucket.
    pub bucket_secs: i64,
    /// Jobs finished per bucket, oldest first, empty buckets included.
    pub throughput: Vec<ThroughputBucket>,
    /// Jobs finished in the window by outcome (`succeeded`, `failed`, `cancelled`).
    pub finished: std::collections::BTreeMap<String, i64>,
    /// succeeded / (succeeded + failed) in the window; null when none finished.
    pub success_rate: Option<f64>,
    /// Accepted → first attempt started, for jobs started in the window.
    pub queue_wait_ms: Percentiles,
    /// First attempt started → final state, for jobs that succeeded or failed in the window.
    pub processing_ms: Percentiles,
    /// Jobs accepted in the window.
    pub submitted: i64,
    /// Jobs accepted in the window, by their current status.
    pub by_status: std::collections::BTreeMap<String, i64>,
}

/// One priority queue of `GET /v1/queues`.
#[derive(Debug, ToSchema)]
pub struct QueueView {
    /// Queue name, e.g. `tintype.jobs.high`.
    pub name: String,
    /// Its priority.
    #[schema(value_type = shared_protocol::Priority)]
    pub priority: String,
    /// Messages ready in RabbitMQ (null when the broker is unavailable).
    pub depth: Option<u32>,
    /// Consumers attached (null when the broker is unavailable).
    pub consumers: Option<u32>,
    /// Jobs `queued` at this priority.
    pub queued: i64,
    /// Jobs `retrying` at this priority.
    pub retrying: i64,
    /// Jobs `running` at this priority.
    pub running: i64,
    /// Age of the oldest queued job in seconds; null when none waits.
    pub oldest_age_secs: Option<f64>,
}

/// The dead-letter queue of `GET /v1/queues`.
#[derive(Debug, ToSchema)]
pub struct DeadLetterQueueView {
    /// Queue name, e.g. `tintype.jobs.dead`.
    pub name: String,
    /// Messages ready (null when the broker is unavailable).
    pub depth: Option<u32>,
    /// Consumers attached (null when the broker is unavailable).
    pub consumers: Option<u32>,
}

/// `GET /v1/queues`.
#[derive(Debug, ToSchema)]
pub struct QueueList {
    /// `ok`, or `unavailable` when RabbitMQ did not answer (depths are null then).
    pub broker: String,
    /// High, default, low.
    pub queues: Vec<QueueView>,
    /// The dead-letter queue.
    pub dead_letters: DeadLetterQueueView,
}

/// Liveness.
#[derive(Debug, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
}

/// Readiness of each dependency.
#[derive(Debug, ToSchema)]
pub struct Readiness {
    /// `ok` or `unavailable`.
    pub status: String,
    /// `postgres`, `rabbitmq`, `s3`: `ok` or `unavailable`.
    pub checks: std::collections::BTreeMap<String, String>,
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key from `api-gateway keys create`, with the scope the route \
                         names (`admin` covers all).",
                    ))
                    .build(),
            ),
        );
    }
}

/// The contract.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "tintype",
        description = "Asynchronous image processing: submit an image and a recipe, follow the \
                       job, download the outputs. Errors are RFC 9457 problem+json with a stable \
                       `code`.",
    ),
    paths(
        routes::health::healthz,
        routes::health::readyz,
        routes::jobs::create::create,
        routes::jobs::list::list,
        routes::jobs::validate::validate,
        routes::jobs::get::get,
        routes::jobs::get::events,
        routes::jobs::actions::cancel,
        routes::jobs::actions::retry,
        routes::jobs::actions::delete,
        routes::jobs::outputs::download,
        routes::webhooks::list,
        routes::webhooks::redeliver,
        routes::operations::dead_letters,
        routes::operations::workers,
        routes::stats::stats,
        routes::queues::queues,
        routes::stream::stream,
        crate::dashboard::index,
        crate::dashboard::config,
        crate::dashboard::asset,
        routes::presets::list,
        routes::presets::get,
        routes::presets::put,
        routes::presets::delete,
        routes::schedules::crud::create,
        routes::schedules::crud::list,
        routes::schedules::crud::get,
        routes::schedules::crud::update,
        routes::schedules::crud::delete,
        routes::schedules::actions::pause,
        routes::schedules::actions::resume,
        routes::schedules::actions::runs,
    ),
    components(schemas(
        Problem,
        shared_protocol::Recipe,
        shared_protocol::JobStatus,
        shared_protocol::Priority,
    )),
    modifiers(&BearerAuth),
    security(("api_key" = [])),
    tags(
        (name = "jobs", description = "Submit, follow, cancel, retry and delete jobs"),
        (name = "presets", description = "Named recipes"),
        (name = "schedules", description = "Recipes fired as jobs on a cron expression or an interval"),
        (name = "operations", description = "Dead letters, workers, queues and statistics"),
        (name = "dashboard", description = "The operator dashboard (public; it holds no data)"),
        (name = "health", description = "Probes"),
    )
)]
pub struct ApiDoc;

/// The contract as served.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

/// `GET /openapi.json`.
pub async fn spec(doc: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.0.clone())
}

/// The rendered contract, built once.
#[derive(Debug, Clone)]
pub struct OpenApiJson(pub String);
