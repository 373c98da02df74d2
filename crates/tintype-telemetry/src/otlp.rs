//! The OTLP span exporter, configured by the standard OpenTelemetry variables:
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `…_TRACES_ENDPOINT`) turns export on;
//! `OTEL_EXPORTER_OTLP_PROTOCOL` (or `…_TRACES_PROTOCOL`) picks `grpc` or `http/protobuf`
//! (the default, as the specification says); `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`
//! override the resource; `OTEL_SDK_DISABLED=true` turns export off.

use opentelemetry::KeyValue;
use opentelemetry_otlp::{SpanExporter, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;

/// The OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP/gRPC (collector port 4317).
    Grpc,
    /// OTLP/HTTP with protobuf bodies (collector port 4318).
    HttpProtobuf,
}

impl Protocol {
    /// Parses the value of `OTEL_EXPORTER_OTLP_PROTOCOL`; empty means the default, HTTP/protobuf.
    pub fn parse(value: &str) -> anyhow::Result<Self> {
        match value.trim() {
            "" | "http/protobuf" => Ok(Self::HttpProtobuf),
            "grpc" => Ok(Self::Grpc),
            other => anyhow::bail!(
                "OTEL_EXPORTER_OTLP_PROTOCOL must be `grpc` or `http/protobuf`, not `{other}`"
            ),
        }
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Whether spans should be exported, from the environment.
pub fn enabled() -> bool {
    let disabled = var("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    !disabled
        && (var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some()
            || var("OTEL_EXPORTER_OTLP_ENDPOINT").is_some())
}

/// The transport chosen by the environment (the traces-specific variable wins).
pub fn protocol() -> anyhow::Result<Protocol> {
    Protocol::parse(
        &var("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            .or_else(|| var("OTEL_EXPORTER_OTLP_PROTOCOL"))
            .unwrap_or_default(),
    )
}

/// The resource of `service`: `service.name` (unless `OTEL_SERVICE_NAME` names it) and version.
pub fn resource(service: &'static str) -> Resource {
    let builder = Resource::builder()
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")));
    if var("OTEL_SERVICE_NAME").is_some() {
        builder.build()
    } else {
        builder.with_service_name(service).build()
    }
}

/// A tracer provider for `service`, exporting in batches when the environment asks for it;
/// returns whether it exports.
pub fn tracer_provider(service: &'static str) -> anyhow::Result<(SdkTracerProvider, bool)> {
    let builder = SdkTracerProvider::builder().with_resource(resource(service));
    if !enabled() {
        return Ok((builder.build(), false));
    }
    // Endpoint, headers and timeout come from the OTEL_EXPORTER_OTLP_* variables, read by the
    // exporter itself (for HTTP it appends `/v1/traces` to the generic endpoint). The HTTP client
    // is reqwest's blocking one: the batch processor exports from a thread of its own.
    let exporter = match protocol()? {
        Protocol::Grpc => SpanExporter::builder().with_tonic().build(),
        Protocol::HttpProtobuf => SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .build(),
    }
    .map_err(|e| anyhow::anyhow!("configuring the OTLP exporter: {e}"))?;
    Ok((builder.with_batch_exporter(exporter).build(), true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_defaults_to_http_protobuf_and_refuses_what_it_cannot_send() {
        assert_eq!(Protocol::parse("").unwrap(), Protocol::HttpProtobuf);
        assert_eq!(
            Protocol::parse("http/protobuf").unwrap(),
            Protocol::HttpProtobuf
        );
        assert_eq!(Protocol::parse("grpc").unwrap(), Protocol::Grpc);
        assert!(Protocol::parse("http/json").is_err());
    }
}
