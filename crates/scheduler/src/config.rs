//! Settings of the scheduler, from flags or the environment.

use std::net::SocketAddr;

/// Everything the scheduler needs to run.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Address of `/healthz`, `/readyz` and `/metrics` (port 0 picks a free port).
    #[arg(long, env = "TINTYPE_METRICS_ADDR", default_value = "0.0.0.0:9092")]
    pub metrics_addr: SocketAddr,
    /// PostgreSQL.
    #[command(flatten)]
    pub database: tintype_db::DatabaseArgs,
    /// RabbitMQ.
    #[command(flatten)]
    pub broker: tintype_broker::BrokerArgs,
    /// How often the outbox relay looks for unpublished messages, in milliseconds.
    #[arg(long, env = "TINTYPE_RELAY_INTERVAL_MS", default_value_t = 500)]
    pub relay_interval_ms: u64,
    /// Age a message must reach before the relay publishes it, in milliseconds; writers publish
    /// their own messages right after commit, so the relay only picks up what they could not.
    #[arg(long, env = "TINTYPE_RELAY_MIN_AGE_MS", default_value_t = 2000)]
    pub relay_min_age_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(flatten)]
        settings: Settings,
    }

    #[test]
    fn settings_parse_from_flags_with_defaults() {
        use clap::Parser;
        let cli = Cli::try_parse_from(["scheduler", "--database-url", "postgres://db/x"]).unwrap();
        assert_eq!(cli.settings.relay_interval_ms, 500);
        assert_eq!(cli.settings.database.database_url, "postgres://db/x");
    }
}
