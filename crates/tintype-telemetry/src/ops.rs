//! The operations server of the worker and the scheduler: `/healthz` (the process answers),
//! `/readyz` (the service's own dependency checks) and `/metrics` (Prometheus text format).

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpResponse, HttpServer, web};
use prometheus_client::registry::Registry;

/// A readiness check: resolves to the names and failures of unhealthy dependencies.
pub type ReadinessCheck = Arc<
    dyn Fn() -> Pin<Box<dyn Future<Output = Vec<(&'static str, String)>> + Send>> + Send + Sync,
>;

struct OpsState {
    readiness: ReadinessCheck,
    registry: Arc<Mutex<Registry>>,
}

/// A bound operations server.
pub struct OpsServer {
    port: u16,
    server: actix_web::dev::Server,
}

impl OpsServer {
    /// Binds `addr` (port 0 allowed).
    pub fn bind(
        addr: SocketAddr,
        readiness: ReadinessCheck,
        registry: Arc<Mutex<Registry>>,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(addr)
            .map_err(|e| anyhow::anyhow!("binding the metrics address {addr}: {e}"))?;
        let port = listener.local_addr()?.port();
        let state = web::Data::new(OpsState {
            readiness,
            registry,
        });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .route("/healthz", web::get().to(healthz))
                .route("/readyz", web::get().to(readyz))
                .route("/metrics", web::get().to(metrics))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)?
        .run();
        Ok(Self { port, server })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs the server on the current runtime; stop it with the returned handle.
    pub fn spawn(self) -> actix_web::dev::ServerHandle {
        let handle = self.server.handle();
        tokio::spawn(self.server);
        handle
    }
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

async fn readyz(state: web::Data<OpsState>) -> HttpResponse {
    let failures = (state.readiness)().await;
    if failures.is_empty() {
        HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
    } else {
        for (what, why) in &failures {
            tracing::warn!(dependency = what, error = %why, "readiness check failed");
        }
        let checks: serde_json::Map<String, serde_json::Value> = failures
            .iter()
            .map(|(what, _)| ((*what).to_owned(), "unavailable".into()))
            .collect();
        HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({"status": "unavailable", "checks": checks}))
    }
}

async fn metrics(state: web::Data<OpsState>) -> HttpResponse {
    render(&state.registry)
}

/// `/metrics`: the registry in the OpenMetrics text format Prometheus scrapes.
pub fn render(registry: &Mutex<Registry>) -> HttpResponse {
    let mut body = String::new();
    let encoded = match registry.lock() {
        Ok(registry) => prometheus_client::encoding::text::encode(&mut body, &registry),
        Err(_) => return HttpResponse::InternalServerError().finish(),
    };
    match encoded {
        Ok(()) => HttpResponse::Ok()
            .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
            .body(body),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}
