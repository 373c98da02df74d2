//! Whether a service serves a path, asked of its real routing code rather than of a list.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use actix_web::{App, test};
use anyhow::Context;
use prometheus_client::registry::Registry;
use tintype_telemetry::ops::{OpsServer, ReadinessCheck};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::services::Service;

/// Whether `service` answers GET `path` with anything but 404 (`Migrate` serves nothing).
///
/// Runs on actix's runtime (`#[actix_web::test]`): the gateway's routes are mounted without their
/// state, so a route that exists may answer 500, but only an unknown one answers 404; the worker and
/// scheduler operations server is bound on 127.0.0.1:0 for real and asked over TCP.
pub async fn serves(service: Service, path: &str) -> anyhow::Result<bool> {
    match service {
        Service::Gateway => {
            let app =
                test::init_service(App::new().configure(api_gateway::routes::configure)).await;
            let response =
                test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
            Ok(response.status() != actix_web::http::StatusCode::NOT_FOUND)
        }
        Service::Worker | Service::Scheduler => {
            let readiness: ReadinessCheck = Arc::new(|| Box::pin(async { Vec::new() }));
            let server = OpsServer::bind(
                SocketAddr::from(([127, 0, 0, 1], 0)),
                readiness,
                Arc::new(Mutex::new(Registry::default())),
            )?;
            let port = server.port();
            let handle = server.spawn();
            let status = get_status(port, path).await;
            handle.stop(false).await;
            Ok(status? != 404)
        }
        Service::Migrate => Ok(false),
    }
}

/// The status code of a plain HTTP/1.0 GET on 127.0.0.1:`port`.
async fn get_status(port: u16, path: &str) -> anyhow::Result<u16> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes())
        .await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let response = String::from_utf8_lossy(&response);
    response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("no HTTP status line in {response:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn an_unknown_path_is_not_served_and_a_known_one_is() {
        assert!(serves(Service::Gateway, "/healthz").await.unwrap());
        assert!(serves(Service::Gateway, "/readyz").await.unwrap());
        assert!(!serves(Service::Gateway, "/no-such-path").await.unwrap());
        assert!(serves(Service::Worker, "/metrics").await.unwrap());
        assert!(!serves(Service::Scheduler, "/no-such-path").await.unwrap());
    }
}
