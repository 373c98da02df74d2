//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: Postgres, RabbitMQ and
//! S3 are reachable), for probes and load balancers.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::state::AppState;

const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// The process is up.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    summary = "Liveness",
    responses(
        (status = 200, description = "The process answers", body = crate::openapi::Health),
        (status = 503, description = "A dependency is unavailable; see `Retry-After`", body = crate::openapi::Problem, content_type = "application/problem+json"),
    ),
    security(()),
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

async fn probe<F, E>(fut: F) -> Result<(), String>
where
    F: std::future::Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    match tokio::time::timeout(CHECK_TIMEOUT, fut).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err(format!("no answer within {CHECK_TIMEOUT:?}")),
    }
}

/// Every dependency answers.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    summary = "Readiness",
    responses(
        (status = 200, description = "Every dependency answers", body = crate::openapi::Readiness),
        (status = 503, description = "A dependency is down", body = crate::openapi::Readiness),
    ),
    security(()),
)]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let (db, broker, storage) = tokio::join!(
        probe(tintype_db::ping(&state.pool)),
        probe(state.publisher.check()),
        probe(state.storage.check()),
    );
    let all_ok = db.is_ok() && broker.is_ok() && storage.is_ok();
    let show = |r: &Result<(), String>| match r {
        Ok(()) => json!("ok"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            json!("unavailable")
        }
    };
    let body = json!({
        "status": if all_ok { "ok" } else { "unavailable" },
        "checks": {"postgres": show(&db), "rabbitmq": show(&broker), "s3": show(&storage)},
    });
    if all_ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
