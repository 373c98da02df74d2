//! Trace context in and out of carriers: AMQP headers, outbox rows, HTTP requests. The W3C
//! propagator installed by [`crate::init`] decides the header names (`traceparent`,
//! `tracestate`).

use std::collections::BTreeMap;

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::TraceContextExt as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

struct MapInjector<'a>(&'a mut BTreeMap<String, String>);

impl Injector for MapInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}

struct MapExtractor<'a>(&'a BTreeMap<String, String>);

impl Extractor for MapExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

/// The trace-context headers of `span` (empty when it is not recorded).
pub fn headers_of(span: &tracing::Span) -> BTreeMap<String, String> {
    let context = span.context();
    let mut headers = BTreeMap::new();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut MapInjector(&mut headers));
    });
    headers
}

/// The trace-context headers of the current span.
pub fn current_headers() -> BTreeMap<String, String> {
    headers_of(&tracing::Span::current())
}

/// The current span's trace-context headers as a JSON object, the form the outbox stores.
pub fn current_headers_json() -> serde_json::Value {
    serde_json::Value::Object(
        current_headers()
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect(),
    )
}

/// Makes `span` a child of the trace context carried by `headers`, if they carry one.
pub fn set_parent_from(span: &tracing::Span, headers: &BTreeMap<String, String>) {
    let context = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&MapExtractor(headers))
    });
    if context.span().span_context().is_valid() {
        // Fails only when the span is disabled, in which case there is nothing to link.
        let _ = span.set_parent(context);
    }
}

/// The hex trace id of `span`, when it belongs to a trace.
pub fn trace_id_of(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    let span_context = context.span().span_context().clone();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

/// The hex trace id of the current span.
pub fn current_trace_id() -> Option<String> {
    trace_id_of(&tracing::Span::current())
}

/// A client span for one database statement or transaction, after the OpenTelemetry database
/// conventions (`db.system.name`, `db.operation.name`, `db.collection.name`).
pub fn db_span(operation: &'static str, collection: &'static str) -> tracing::Span {
    tracing::info_span!(
        "db",
        otel.name = %format!("{operation} {collection}"),
        otel.kind = "client",
        db.system.name = "postgresql",
        db.operation.name = operation,
        db.collection.name = collection,
    )
}
