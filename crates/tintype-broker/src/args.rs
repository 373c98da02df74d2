//! Command-line and environment settings for RabbitMQ, shared by every binary that uses it.

use shared_protocol::topology::{DEFAULT_PREFIX, Topology};

/// Where RabbitMQ is and which namespace of exchanges and queues to use.
#[derive(Debug, Clone, clap::Args)]
pub struct BrokerArgs {
    /// RabbitMQ connection URL.
    #[arg(
        long,
        env = "AMQP_URL",
        hide_env_values = true,
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f"
    )]
    pub amqp_url: String,
    /// Namespace of every exchange and queue.
    #[arg(long, env = "TINTYPE_AMQP_PREFIX", default_value = DEFAULT_PREFIX)]
    pub amqp_prefix: String,
}

impl BrokerArgs {
    /// The exchange and queue names in this namespace.
    pub fn topology(&self) -> Topology {
        Topology::new(self.amqp_prefix.clone())
    }
}
