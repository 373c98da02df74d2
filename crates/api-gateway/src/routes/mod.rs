//! HTTP routes, one module per resource.

pub mod health;
pub mod jobs;
pub mod metrics;
pub mod operations;
pub mod webhooks;

use actix_web::web;

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/v1/dead-letters", web::get().to(operations::dead_letters))
        .route("/v1/workers", web::get().to(operations::workers))
        .route("/metrics", web::get().to(metrics::metrics))
        .service(
            web::scope("/v1/jobs")
                .route("", web::post().to(jobs::create::create))
                .route("/{id}", web::get().to(jobs::get::get))
                .route("/{id}/events", web::get().to(jobs::get::events))
                .route("/{id}/cancel", web::post().to(jobs::actions::cancel))
                .route("/{id}/retry", web::post().to(jobs::actions::retry))
                .route("/{id}/webhooks", web::get().to(webhooks::list))
                .route(
                    "/{id}/webhooks/redeliver",
                    web::post().to(webhooks::redeliver),
                )
                .route(
                    "/{id}/outputs/{name}",
                    web::get().to(jobs::outputs::download),
                ),
        );
}
