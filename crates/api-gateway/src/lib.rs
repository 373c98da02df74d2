//! tintype's HTTP API.
//!
//! - [`config`]: settings from flags and the environment.
//! - [`routes`]: one module per resource (`routes/jobs/create.rs`, `get.rs`, `outputs.rs`, …).
//! - [`error`]: the one error type, rendered as problem+json with a stable code.
//! - [`state`]: what handlers share.
//! - [`metrics`]: what `/metrics` exports.
//!
//! [`Application::build`] binds the listener (port 0 allowed) and connects everything, so tests
//! run the real gateway in-process; [`Application::run_until_stopped`] serves until the shutdown
//! future resolves.

pub mod config;
pub mod error;
pub mod metrics;
pub mod routes;
pub mod state;

use std::future::Future;
use std::net::TcpListener;

use actix_web::{App, HttpServer, web};
use anyhow::Context;
use tintype_broker::Publisher;
use tintype_storage::Storage;

pub use config::Settings;
use state::AppState;

/// A built, bound gateway.
pub struct Application {
    port: u16,
    server: actix_web::dev::Server,
}

impl Application {
    /// Connects to Postgres (checking the schema), prepares storage and the publisher, and binds.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let pool =
            tintype_db::connect(&settings.database.database_url, settings.db_max_connections)
                .await
                .context("connecting to PostgreSQL")?;
        tintype_db::check_schema(&pool).await?;
        let storage = Storage::new(&settings.storage.config());
        let publisher = Publisher::new(
            &settings.broker.amqp_url,
            "api-gateway",
            settings.broker.topology(),
        );
        // Not fatal: the gateway accepts jobs into the outbox while RabbitMQ is down.
        if let Err(err) = publisher.check().await {
            tracing::warn!(error = %err, "RabbitMQ unreachable at start; jobs wait in the outbox");
        }
        let state = AppState {
            pool,
            publisher,
            storage,
            image_limits: settings.image_limits(),
            recipe_limits: settings.recipe_limits(),
            max_upload_bytes: settings.max_upload_bytes,
            public_url: settings.public_url.clone().filter(|u| !u.is_empty()),
            job_max_attempts: settings.job_max_attempts,
            job_timeout_secs: settings.job_timeout_secs,
            idempotency_ttl_secs: settings.idempotency_ttl_secs,
        };
        let listener = TcpListener::bind(settings.http_addr)
            .with_context(|| format!("binding {}", settings.http_addr))?;
        let port = listener.local_addr()?.port();
        let data = web::Data::new(state);
        let (gateway_metrics, http_metrics, registry) = metrics::register();
        let (gateway_metrics, http_metrics, registry) = (
            web::Data::new(gateway_metrics),
            web::Data::new(http_metrics),
            web::Data::new(registry),
        );
        let server =
            HttpServer::new(move || {
                App::new()
                    .app_data(data.clone())
                    .app_data(gateway_metrics.clone())
                    .app_data(http_metrics.clone())
                    .app_data(registry.clone())
                    .app_data(web::PathConfig::default().error_handler(|err, _| {
                        error::ApiError::BadRequest(err.to_string()).into()
                    }))
                    .wrap(actix_web::middleware::Logger::new("%r %s %Dms").log_target("http"))
                    // Outermost, so the request span covers the access log line and the handler.
                    .wrap(actix_web::middleware::from_fn(
                        tintype_telemetry::http::trace_requests,
                    ))
                    .configure(routes::configure)
                    .default_service(web::to(|| async {
                        Err::<actix_web::HttpResponse, _>(error::ApiError::NotFound(
                            "no such route".into(),
                        ))
                    }))
            })
            .listen(listener)?
            .disable_signals()
            .shutdown_timeout(30)
            .run();
        tracing::info!(port, "api-gateway listening");
        Ok(Self { port, server })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until `shutdown` resolves, then stops gracefully (in-flight requests finish).
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let server = self.server;
        tokio::pin!(server);
        tokio::select! {
            result = &mut server => return result.context("http server"),
            () = shutdown => {}
        }
        // The server future must keep being polled while it stops, so drive both together.
        let ((), result) = tokio::join!(handle.stop(true), server);
        result.context("http server")
    }
}

/// Applies migrations and creates the bucket; what `api-gateway migrate` does.
pub async fn migrate(
    database_url: &str,
    storage: &tintype_storage::StorageConfig,
) -> anyhow::Result<()> {
    let pool = tintype_db::connect(database_url, 2)
        .await
        .context("connecting to PostgreSQL")?;
    tintype_db::migrate(&pool)
        .await
        .context("applying migrations")?;
    Storage::new(storage)
        .ensure_bucket()
        .await
        .context("creating the bucket")?;
    tracing::info!(bucket = %storage.bucket, "database migrated and bucket ready");
    Ok(())
}
