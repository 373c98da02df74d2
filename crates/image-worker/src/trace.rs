//! The consumer side of the job trace: a delivery's span continues the trace whose context came in
//! the message headers (the submitter's, through the publish span), after the OpenTelemetry
//! messaging conventions.

use lapin::message::Delivery;
use shared_protocol::job::JobMessage;

/// The span one delivery is processed in, parented on the context in its headers.
pub fn consume_span(delivery: &Delivery, message: &JobMessage, worker_id: &str) -> tracing::Span {
    let queue = delivery.routing_key.as_str();
    let span = tracing::info_span!(
        "job",
        otel.name = %format!("process {}", delivery.exchange.as_str()),
        otel.kind = "consumer",
        otel.status_code = tracing::field::Empty,
        messaging.system = "rabbitmq",
        messaging.operation.type = "process",
        messaging.operation.name = "process",
        messaging.destination.name = delivery.exchange.as_str(),
        messaging.rabbitmq.destination.routing_key = queue,
        messaging.rabbitmq.message.delivery_tag = delivery.delivery_tag,
        messaging.message.body.size = delivery.data.len(),
        job.id = %message.job_id,
        worker.id = %worker_id,
    );
    let headers = tintype_broker::headers_from_amqp(delivery.properties.headers().as_ref());
    tintype_telemetry::propagation::set_parent_from(&span, &headers);
    span
}
