//! HTTP routes, one module per resource.

pub mod health;
pub mod jobs;
pub mod metrics;
pub mod operations;
pub mod presets;
pub mod queues;
pub mod schedules;
pub mod stats;
pub mod stream;
pub mod webhooks;

use actix_web::web;

/// Largest JSON request body (presets, schedules, JSON submits).
pub const MAX_JSON_BYTES: usize = 256 * 1024;

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/v1/dead-letters", web::get().to(operations::dead_letters))
        .route("/v1/workers", web::get().to(operations::workers))
        .route("/v1/stats", web::get().to(stats::stats))
        .route("/v1/queues", web::get().to(queues::queues))
        .route("/v1/events/stream", web::get().to(stream::stream))
        .route("/metrics", web::get().to(metrics::metrics))
        .service(
            web::scope("/v1/presets")
                .route("", web::get().to(presets::list))
                .route("/{name}", web::get().to(presets::get))
                .route("/{name}", web::put().to(presets::put))
                .route("/{name}", web::delete().to(presets::delete)),
        )
        .service(
            web::scope("/v1/schedules")
                .route("", web::post().to(schedules::crud::create))
                .route("", web::get().to(schedules::crud::list))
                .route("/{id}", web::get().to(schedules::crud::get))
                .route("/{id}", web::patch().to(schedules::crud::update))
                .route("/{id}", web::delete().to(schedules::crud::delete))
                .route("/{id}/pause", web::post().to(schedules::actions::pause))
                .route("/{id}/resume", web::post().to(schedules::actions::resume))
                .route("/{id}/runs", web::get().to(schedules::actions::runs)),
        )
        .route(
            "/v1/jobs:validate",
            web::post().to(jobs::validate::validate),
        )
        .service(
            web::scope("/v1/jobs")
                .route("", web::post().to(jobs::create::create))
                .route("", web::get().to(jobs::list::list))
                .route("/{id}", web::get().to(jobs::get::get))
                .route("/{id}", web::delete().to(jobs::actions::delete))
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
