//! `GET /metrics`: Prometheus scrapes the gateway here.

use actix_web::{HttpResponse, web};

use crate::metrics::MetricsRegistry;

/// The metrics in OpenMetrics text format.
pub async fn metrics(registry: web::Data<MetricsRegistry>) -> HttpResponse {
    tintype_telemetry::ops::render(&registry.0)
}
