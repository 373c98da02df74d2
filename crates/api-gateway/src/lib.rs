//! tintype's HTTP API.
//!
//! - [`config`]: settings from flags and the environment.
//! - [`routes`]: one module per resource (`routes/jobs/create.rs`, `get.rs`, `outputs.rs`, …).
//! - [`error`]: the one error type, rendered as problem+json with a stable code.
//! - [`state`]: what handlers share.
//! - [`metrics`]: what `/metrics` exports.
//! - [`live`]: job events from RabbitMQ fanned out to server-sent-event clients.
//! - [`dashboard`]: the operator dashboard (static files embedded in the binary) at `/`.
//!
//! [`Application::build`] binds the listener (port 0 allowed) and connects everything, so tests
//! run the real gateway in-process; [`Application::run_until_stopped`] serves until the shutdown
//! future resolves.

pub mod admin;
pub mod auth;
pub mod config;
pub mod cors;
pub mod dashboard;
pub mod error;
pub mod live;
pub mod memory;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod state;
pub mod submits;
pub mod throttle;

use std::future::Future;
use std::net::TcpListener;

use actix_web::{App, HttpServer, web};
use anyhow::Context;
use tintype_broker::Publisher;
use tintype_storage::Storage;
use utoipa_scalar::{Scalar, Servable as _};

pub use config::Settings;
use state::AppState;

/// A built, bound gateway.
pub struct Application {
    port: u16,
    server: actix_web::dev::Server,
    live: live::LiveEvents,
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
        // A quarter of the pool: each lane holds one connection at a time, and four transactions
        // in flight keep PostgreSQL's commits overlapping without starving reads.
        let submits = submits::SubmitLanes::start(
            pool.clone(),
            publisher.clone(),
            (settings.db_max_connections as usize / 4).max(1),
        );
        let state = AppState {
            pool,
            publisher,
            submits,
            storage,
            image_limits: settings.image_limits(),
            recipe_limits: settings.recipe_limits(),
            max_upload_bytes: settings.max_upload_bytes,
            public_url: settings.public_url.clone().filter(|u| !u.is_empty()),
            job_max_attempts: settings.job_max_attempts,
            job_timeout_secs: settings.job_timeout_secs,
            idempotency_ttl_secs: settings.idempotency_ttl_secs,
            auth_mode: settings.auth,
            rate_limit: throttle::RateLimit::new(
                settings.rate_limit_per_sec,
                settings.rate_limit_burst,
            ),
            admission: throttle::Admission::new(settings.max_waiting_jobs),
            outbound: tintype_outbound::Outbound::new(
                tintype_outbound::Guard::new(settings.outbound_allow.clone()),
                &tintype_outbound::ClientOptions {
                    user_agent: "tintype".into(),
                    ..Default::default()
                },
            )?,
            source_fetch_timeout: std::time::Duration::from_secs(u64::from(
                settings.source_fetch_timeout_secs.max(1),
            )),
            uploads: std::sync::Arc::new(tokio::sync::Semaphore::new(
                settings.upload_concurrency as usize,
            )),
        };
        match settings.auth {
            auth::AuthMode::Disabled => tracing::warn!(
                "authentication is DISABLED (TINTYPE_AUTH=disabled): anyone who reaches this port \
                 can submit, cancel and delete jobs; use it for local development only"
            ),
            auth::AuthMode::Required => {
                if !tintype_db::api_keys::any_live(&state.pool)
                    .await
                    .unwrap_or(true)
                {
                    tracing::warn!(
                        "authentication is required but no API key exists yet; create one with \
                         `api-gateway keys create --name NAME --scope admin`"
                    );
                }
            }
        }
        let live =
            live::LiveEvents::start(settings.broker.amqp_url.clone(), settings.broker.topology())
                .await;
        let live_data = web::Data::new(live.clone());
        let dashboard_config = web::Data::new(dashboard::DashboardConfig {
            jaeger_url: settings
                .jaeger_url
                .clone()
                .filter(|u| !u.trim().is_empty())
                .map(|u| u.trim_end_matches('/').to_owned()),
        });
        let cors_origins = settings.cors_origins.clone();
        let listener = TcpListener::bind(settings.http_addr)
            .with_context(|| format!("binding {}", settings.http_addr))?;
        let port = listener.local_addr()?.port();
        let data = web::Data::new(state);
        let openapi = openapi::document();
        let openapi_json = web::Data::new(openapi::OpenApiJson(
            serde_json::to_string(&openapi).context("rendering the OpenAPI document")?,
        ));
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
                    .app_data(openapi_json.clone())
                    .app_data(live_data.clone())
                    .app_data(dashboard_config.clone())
                    .route("/openapi.json", web::get().to(openapi::spec))
                    .service(Scalar::with_url("/docs", openapi.clone()))
                    .app_data(web::PathConfig::default().error_handler(|err, _| {
                        error::ApiError::BadRequest(err.to_string()).into()
                    }))
                    .app_data(web::QueryConfig::default().error_handler(|err, _| {
                        error::ApiError::BadRequest(format!("bad query string: {err}")).into()
                    }))
                    .app_data(
                        web::JsonConfig::default()
                            .limit(routes::MAX_JSON_BYTES)
                            .error_handler(|err, _| error::json_error(err).into()),
                    )
                    // Innermost first: rate limits need the caller auth found; CORS answers
                    // preflights before auth and decorates every answer, errors included.
                    .wrap(actix_web::middleware::from_fn(throttle::rate_limit))
                    .wrap(actix_web::middleware::from_fn(auth::authenticate))
                    .wrap(cors::layer(&cors_origins))
                    .wrap(actix_web::middleware::Logger::new("%r %s %Dms").log_target("http"))
                    // Outermost, so the request span covers the access log line and the handler.
                    .wrap(actix_web::middleware::from_fn(
                        tintype_telemetry::http::trace_requests,
                    ))
                    // First of all, while the request is still ours alone (see `memory`).
                    .wrap(actix_web::middleware::from_fn(memory::detach_headers))
                    .configure(routes::configure)
                    .configure(dashboard::configure)
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
        Ok(Self { port, server, live })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until `shutdown` resolves, then stops gracefully (in-flight requests finish).
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let server = self.server;
        let live = self.live;
        tokio::pin!(server);
        tokio::select! {
            result = &mut server => {
                live.stop();
                return result.context("http server");
            }
            () = shutdown => {}
        }
        // Event streams never end on their own: end them first, or stopping waits them out.
        live.stop();
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
