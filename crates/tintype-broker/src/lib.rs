//! RabbitMQ for tintype: connecting, declaring the topology idempotently, publishing with
//! confirms and `mandatory` (an unroutable message is an error, not a silent drop), and flushing
//! the transactional outbox.
//!
//! - [`topology`]: exchange and queue declarations with their arguments.
//! - [`publisher`]: a lazily (re)connecting confirmed publisher.
//! - [`outbox`]: publishing outbox rows and deleting them once confirmed.

pub mod args;
pub mod outbox;
pub mod publisher;
pub mod topology;

use std::time::Duration;

use lapin::{Connection, ConnectionProperties};

pub use args::BrokerArgs;
pub use publisher::{Publisher, headers_from_amqp, headers_from_json};

/// A broker failure.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// Connecting or talking to RabbitMQ failed.
    #[error("rabbitmq: {0}")]
    Amqp(#[from] lapin::Error),
    /// The AMQP URL does not parse.
    #[error("invalid AMQP URL: {0}")]
    InvalidUrl(String),
    /// Connecting took too long.
    #[error("rabbitmq: connecting timed out after {0:?}")]
    ConnectTimeout(Duration),
    /// The broker refused the message (negative confirm).
    #[error("rabbitmq refused the message for `{exchange}` / `{routing_key}`")]
    Nacked {
        /// Exchange published to.
        exchange: String,
        /// Routing key.
        routing_key: String,
    },
    /// No queue is bound for the routing key; the message came back.
    #[error("no queue is bound to `{exchange}` for `{routing_key}` (message returned: {reply})")]
    Unroutable {
        /// Exchange published to.
        exchange: String,
        /// Routing key.
        routing_key: String,
        /// The broker's reply text.
        reply: String,
    },
    /// The outbox could not be read or updated.
    #[error(transparent)]
    Db(#[from] tintype_db::DbError),
}

/// Largest AMQP frame we offer unless the URL sets `frame_max`: our messages are small JSON, and
/// lapin zero-fills two buffers of 32 frames per connection, so RabbitMQ's default (128 KiB)
/// would cost 8 MiB of resident memory per connection for nothing.
pub const DEFAULT_FRAME_MAX: u32 = 32 * 1024;

/// Opens a connection with a bounded wait.
pub async fn connect(url: &str, name: &str) -> Result<Connection, BrokerError> {
    const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
    let mut uri: lapin::uri::AMQPUri = url.parse().map_err(BrokerError::InvalidUrl)?;
    uri.query.frame_max.get_or_insert(DEFAULT_FRAME_MAX);
    let props = ConnectionProperties::default().with_connection_name(name.to_owned().into());
    tokio::time::timeout(CONNECT_TIMEOUT, Connection::connect_uri(uri, props))
        .await
        .map_err(|_| BrokerError::ConnectTimeout(CONNECT_TIMEOUT))?
        .map_err(BrokerError::from)
}
