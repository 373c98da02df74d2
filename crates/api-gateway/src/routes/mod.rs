//! HTTP routes, one module per resource.

pub mod health;
pub mod jobs;
pub mod metrics;

use actix_web::web;

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(metrics::metrics))
        .service(
            web::scope("/v1/jobs")
                .route("", web::post().to(jobs::create::create))
                .route("/{id}", web::get().to(jobs::get::get))
                .route("/{id}/events", web::get().to(jobs::get::events))
                .route(
                    "/{id}/outputs/{name}",
                    web::get().to(jobs::outputs::download),
                ),
        );
}
