//! Request middleware for actix-web: one server span per request, named and attributed after the
//! OpenTelemetry HTTP conventions (`http.request.method`, `http.route`,
//! `http.response.status_code`), continuing the caller's trace when the request carries a
//! `traceparent`; and the request-duration histogram by method, route pattern and status.
//!
//! Install with `App::new().app_data(web::Data::new(metrics)).wrap(from_fn(http::trace_requests))`.

use std::collections::BTreeMap;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tracing::Instrument as _;

use crate::propagation;

/// Paths scraped or probed every few seconds: counted, but no span (they would drown the traces).
const UNTRACED: [&str; 3] = ["/metrics", "/healthz", "/readyz"];

/// Labels of one request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// HTTP method.
    pub method: String,
    /// Matched route pattern (`/v1/jobs/{id}`), or `unmatched`: never the raw path, which would
    /// make one series per job.
    pub route: String,
    /// Response status code.
    pub status: u16,
}

/// Request metrics of an HTTP server.
#[derive(Clone, Debug)]
pub struct HttpMetrics {
    /// `http_server_request_duration_seconds`: duration by method, route and status; its `_count`
    /// is the request count.
    pub duration: Family<RequestLabels, Histogram>,
}

impl HttpMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let duration = Family::<RequestLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 16))
        });
        registry.register(
            "http_server_request_duration_seconds",
            "Duration of HTTP requests by method, route pattern and status",
            duration.clone(),
        );
        Self { duration }
    }
}

fn request_headers(req: &ServiceRequest) -> BTreeMap<String, String> {
    ["traceparent", "tracestate"]
        .into_iter()
        .filter_map(|name| {
            let value = req.headers().get(name)?.to_str().ok()?;
            Some((name.to_owned(), value.to_owned()))
        })
        .collect()
}

/// The middleware: spans and metrics for every request.
pub async fn trace_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let metrics = req.app_data::<web::Data<HttpMetrics>>().cloned();
    let span = if UNTRACED.contains(&req.path()) {
        tracing::Span::none()
    } else {
        let span = tracing::info_span!(
            "HTTP request",
            otel.name = %format!("{method} {route}"),
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            http.request.method = %method,
            http.route = %route,
            url.path = %req.path(),
            url.scheme = %req.connection_info().scheme(),
            user_agent.original = req
                .headers()
                .get("user-agent")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default(),
            http.response.status_code = tracing::field::Empty,
        );
        propagation::set_parent_from(&span, &request_headers(&req));
        span
    };
    let result = next.call(req).instrument(span.clone()).await;
    let status = match &result {
        Ok(response) => response.status().as_u16(),
        Err(err) => err.as_response_error().status_code().as_u16(),
    };
    span.record("http.response.status_code", status);
    if status >= 500 {
        span.record("otel.status_code", "ERROR");
    }
    if let Some(metrics) = metrics {
        metrics
            .duration
            .get_or_create(&RequestLabels {
                method,
                route,
                status,
            })
            .observe(started.elapsed().as_secs_f64());
    }
    result
}
