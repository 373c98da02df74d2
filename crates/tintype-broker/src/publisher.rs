//! A confirmed publisher that connects lazily and reconnects after a broker restart. Every publish
//! is persistent, `mandatory` (except lifecycle events, which may have no subscriber), and waits for the broker's confirm; a returned (unroutable) message
//! is an error even though the broker acks it.
//!
//! Each publish is a producer span (OpenTelemetry messaging conventions) whose context travels in
//! the message's `traceparent`/`tracestate` headers. Headers that already carry a trace context
//! (outbox rows, written inside the request that caused them) make the span a child of that
//! context, so a message published later by the relay still continues the submitter's trace.

use std::collections::BTreeMap;
use std::sync::Arc;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection};
use shared_protocol::topology::Topology;
use tokio::sync::Mutex;
use tracing::Instrument as _;

use crate::{BrokerError, connect, topology};

/// Persistent delivery mode.
const PERSISTENT: u8 = 2;

/// Converts a JSON object of string values (as stored in the outbox) into AMQP headers.
pub fn headers_from_json(value: &serde_json::Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// The string-valued headers of a delivery (trace context, …); other header types are skipped.
pub fn headers_from_amqp(table: Option<&FieldTable>) -> BTreeMap<String, String> {
    table
        .map(|table| {
            table
                .inner()
                .iter()
                .filter_map(|(k, v)| {
                    let text = match v {
                        AMQPValue::LongString(s) => {
                            String::from_utf8_lossy(s.as_bytes()).into_owned()
                        }
                        AMQPValue::ShortString(s) => s.as_str().to_owned(),
                        _ => return None,
                    };
                    Some((k.as_str().to_owned(), text))
                })
                .collect()
        })
        .unwrap_or_default()
}

struct Link {
    // Kept so the connection lives as long as the channel.
    _connection: Connection,
    channel: Channel,
}

/// Publishes with confirms on one shared channel.
#[derive(Clone)]
pub struct Publisher {
    url: Arc<str>,
    name: Arc<str>,
    topology: Topology,
    link: Arc<Mutex<Option<Link>>>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("name", &self.name)
            .field("topology", &self.topology)
            .finish_non_exhaustive()
    }
}

impl Publisher {
    /// A publisher for `url`; nothing is opened until the first publish or [`Publisher::check`].
    pub fn new(url: &str, connection_name: &str, topology: Topology) -> Self {
        Self {
            url: url.into(),
            name: connection_name.into(),
            topology,
            link: Arc::new(Mutex::new(None)),
        }
    }

    /// The topology this publisher declares.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// A live confirm-mode channel, reconnecting (and re-declaring the topology) if needed.
    pub async fn channel(&self) -> Result<Channel, BrokerError> {
        let mut link = self.link.lock().await;
        if let Some(current) = link.as_ref()
            && current.channel.status().connected()
        {
            return Ok(current.channel.clone());
        }
        *link = None;
        let connection = connect(&self.url, &self.name).await?;
        let channel = connection.create_channel().await?;
        topology::declare(&channel, &self.topology).await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        *link = Some(Link {
            _connection: connection,
            channel: channel.clone(),
        });
        tracing::info!(connection = %self.name, "connected to rabbitmq");
        Ok(channel)
    }

    /// Readiness: the broker is reachable and the topology declared.
    pub async fn check(&self) -> Result<(), BrokerError> {
        self.channel().await.map(|_| ())
    }

    /// Publishes one message and waits for its confirm.
    pub async fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        payload: &[u8],
        message_type: &str,
        headers: &BTreeMap<String, String>,
    ) -> Result<(), BrokerError> {
        let span = tracing::info_span!(
            "publish",
            otel.name = %format!("publish {exchange}"),
            otel.kind = "producer",
            otel.status_code = tracing::field::Empty,
            messaging.system = "rabbitmq",
            messaging.operation.type = "send",
            messaging.operation.name = "publish",
            messaging.destination.name = exchange,
            messaging.rabbitmq.destination.routing_key = routing_key,
            messaging.message.body.size = payload.len(),
            messaging.message.type = message_type,
        );
        tintype_telemetry::propagation::set_parent_from(&span, headers);
        let mut headers = headers.clone();
        headers.extend(tintype_telemetry::propagation::headers_of(&span));
        let result = self
            .publish_traced(exchange, routing_key, payload, message_type, &headers)
            .instrument(span.clone())
            .await;
        if let Err(err) = &result {
            span.record("otel.status_code", "ERROR");
            tracing::debug!(parent: &span, error = %err, "publish failed");
        }
        result
    }

    async fn publish_traced(
        &self,
        exchange: &str,
        routing_key: &str,
        payload: &[u8],
        message_type: &str,
        headers: &BTreeMap<String, String>,
    ) -> Result<(), BrokerError> {
        let channel = self.channel().await?;
        let mut table = FieldTable::default();
        for (k, v) in headers {
            table.insert(
                ShortString::from(k.clone()),
                AMQPValue::LongString(LongString::from(v.as_bytes().to_vec())),
            );
        }
        let properties = BasicProperties::default()
            .with_delivery_mode(PERSISTENT)
            .with_content_type(ShortString::from("application/json".to_owned()))
            .with_type(ShortString::from(message_type.to_owned()))
            .with_headers(table);
        let result = async {
            channel
                .basic_publish(
                    ShortString::from(exchange.to_owned()),
                    ShortString::from(routing_key.to_owned()),
                    BasicPublishOptions {
                        // Events may have no subscriber yet; every other message must reach a queue.
                        mandatory: exchange != self.topology.events_exchange(),
                        ..BasicPublishOptions::default()
                    },
                    payload,
                    properties,
                )
                .await?
                .await
        }
        .await;
        let confirmation = match result {
            Ok(confirmation) => confirmation,
            Err(err) => {
                // Drop the link so the next publish reconnects.
                *self.link.lock().await = None;
                return Err(err.into());
            }
        };
        if confirmation.is_nack() {
            return Err(BrokerError::Nacked {
                exchange: exchange.to_owned(),
                routing_key: routing_key.to_owned(),
            });
        }
        if let Some(returned) = confirmation.take_message() {
            return Err(BrokerError::Unroutable {
                exchange: exchange.to_owned(),
                routing_key: routing_key.to_owned(),
                reply: returned.reply_text.to_string(),
            });
        }
        Ok(())
    }
}
