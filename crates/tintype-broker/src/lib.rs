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

/// Opens a connection with a bounded wait.
pub async fn connect(url: &str, name: &str) -> Result<Connection, BrokerError> {
    const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
    let props = ConnectionProperties::default().with_connection_name(name.to_owned().into());
    tokio::time::timeout(CONNECT_TIMEOUT, Connection::connect(url, props))
        .await
        .map_err(|_| BrokerError::ConnectTimeout(CONNECT_TIMEOUT))?
        .map_err(BrokerError::from)
}
