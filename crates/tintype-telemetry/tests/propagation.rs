//! Trace context survives a trip through message headers and HTTP requests, with spans recorded
//! by a real SDK provider into memory.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use actix_web::test as actix_test;
use actix_web::{App, HttpResponse, web};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use tintype_telemetry::http::{HttpMetrics, trace_requests};
use tintype_telemetry::propagation;
use tracing_subscriber::layer::SubscriberExt;

fn recording() -> (
    InMemorySpanExporter,
    SdkTracerProvider,
    impl tracing::Subscriber,
) {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    (exporter, provider, subscriber)
}

#[test]
fn a_span_continued_from_headers_joins_the_senders_trace() {
    let (exporter, provider, subscriber) = recording();
    let (headers, sender_trace) = tracing::subscriber::with_default(subscriber, || {
        let publish = tracing::info_span!("publish");
        let _entered = publish.enter();
        let headers = propagation::current_headers();
        let receiver = tracing::info_span!("consume");
        propagation::set_parent_from(&receiver, &headers);
        let receiver_trace = propagation::trace_id_of(&receiver);
        drop(receiver);
        (headers, receiver_trace)
    });
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    let publish = spans.iter().find(|s| s.name == "publish").unwrap();
    let consume = spans.iter().find(|s| s.name == "consume").unwrap();
    assert!(headers["traceparent"].contains(&publish.span_context.trace_id().to_string()));
    assert_eq!(
        sender_trace.unwrap(),
        publish.span_context.trace_id().to_string()
    );
    assert_eq!(
        consume.span_context.trace_id(),
        publish.span_context.trace_id()
    );
    assert_eq!(consume.parent_span_id, publish.span_context.span_id());
}

#[test]
fn without_a_carrier_a_span_starts_its_own_trace() {
    let (_exporter, _provider, subscriber) = recording();
    tracing::subscriber::with_default(subscriber, || {
        let a = tracing::info_span!("a");
        let b = tracing::info_span!("b");
        propagation::set_parent_from(&b, &Default::default());
        assert_ne!(propagation::trace_id_of(&a), propagation::trace_id_of(&b));
        assert!(propagation::trace_id_of(&b).is_some());
    });
}

#[actix_web::test]
async fn an_incoming_traceparent_becomes_the_parent_of_the_request_span() {
    let (exporter, provider, subscriber) = recording();
    let _guard = tracing::subscriber::set_default(subscriber);
    let mut registry = prometheus_client::registry::Registry::default();
    let metrics = HttpMetrics::register(&mut registry);
    let app = actix_test::init_service(
        App::new()
            .app_data(web::Data::new(metrics))
            .wrap(actix_web::middleware::from_fn(trace_requests))
            .route(
                "/v1/jobs/{id}",
                web::get().to(|| async {
                    HttpResponse::Ok().body(propagation::current_trace_id().unwrap_or_default())
                }),
            ),
    )
    .await;
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let req = actix_test::TestRequest::get()
        .uri("/v1/jobs/123")
        .insert_header(("traceparent", format!("00-{trace}-00f067aa0ba902b7-01")))
        .to_request();
    let body = actix_test::call_and_read_body(&app, req).await;
    assert_eq!(body, trace.as_bytes());
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    let server = spans
        .iter()
        .find(|s| s.name == "GET /v1/jobs/{id}")
        .unwrap();
    assert_eq!(server.span_context.trace_id().to_string(), trace);
    assert_eq!(server.parent_span_id.to_string(), "00f067aa0ba902b7");
    assert!(
        server
            .attributes
            .iter()
            .any(|kv| kv.key.as_str() == "http.response.status_code" && kv.value.as_str() == "200")
    );

    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    assert!(
        text.contains(
            r#"http_server_request_duration_seconds_count{method="GET",route="/v1/jobs/{id}",status="200"} 1"#
        ),
        "{text}"
    );
}
