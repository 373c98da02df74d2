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
    /// CIDRs, addresses or host names exempted from the outbound guard, comma-separated
    /// (e.g. `10.1.0.0/16,hooks.internal`); empty refuses every private address.
    #[arg(long, env = "TINTYPE_OUTBOUND_ALLOW", default_value = "", value_parser = tintype_outbound::Allowlist::parse)]
    pub outbound_allow: tintype_outbound::Allowlist,
    /// Webhook signing secrets, comma-separated, newest first (`whsec_<base64>` or raw, ≥ 16
    /// bytes); each one signs, so receivers verify through a rotation. Empty sends unsigned.
    #[arg(
        long,
        env = "TINTYPE_WEBHOOK_SECRETS",
        default_value = "",
        hide_env_values = true
    )]
    pub webhook_secrets: String,
    /// Attempts per webhook delivery, the first included.
    #[arg(long, env = "TINTYPE_WEBHOOK_MAX_ATTEMPTS", default_value_t = 8)]
    pub webhook_max_attempts: u32,
    /// Delay after a webhook's first failed attempt, in milliseconds; each further failure
    /// triples it (±20 % jitter): 8 attempts span about a day with the default.
    #[arg(long, env = "TINTYPE_WEBHOOK_BACKOFF_MS", default_value_t = 60_000)]
    pub webhook_backoff_ms: u64,
    /// Time a webhook receiver has to answer, in milliseconds.
    #[arg(long, env = "TINTYPE_WEBHOOK_TIMEOUT_MS", default_value_t = 10_000)]
    pub webhook_timeout_ms: u64,
    /// How often due webhook deliveries are looked for, in milliseconds.
    #[arg(long, env = "TINTYPE_WEBHOOK_INTERVAL_MS", default_value_t = 500)]
    pub webhook_interval_ms: u64,
    /// Base URL clients reach the gateway at, for download links in webhook payloads (links are
    /// null when unset).
    #[arg(long, env = "TINTYPE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Object storage: retention deletes expired jobs' originals and outputs.
    #[command(flatten)]
    pub storage: tintype_storage::StorageArgs,
    /// How often due schedule ticks are looked for, in milliseconds.
    #[arg(long, env = "TINTYPE_SCHEDULE_TICK_MS", default_value_t = 250)]
    pub schedule_tick_ms: u64,
    /// How late a schedule tick may fire and still count as on time, in seconds; older ticks
    /// were missed and follow the schedule's misfire policy (`fire_once` or `skip`).
    #[arg(long, env = "TINTYPE_MISFIRE_GRACE_SECS", default_value_t = 60)]
    pub misfire_grace_secs: u64,
    /// How often the stuck-job reaper looks for running jobs whose lease expired, in seconds.
    #[arg(long, env = "TINTYPE_REAPER_INTERVAL_SECS", default_value_t = 15)]
    pub reaper_interval_secs: u64,
    /// How long past its lease a running job waits for a worker to take it over before the
    /// reaper queues it again (or fails it on its last attempt), in seconds.
    #[arg(long, env = "TINTYPE_REAPER_GRACE_SECS", default_value_t = 60)]
    pub reaper_grace_secs: u64,
    /// Age after which a finished job's original and outputs are deleted and the job becomes
    /// `expired` (e.g. `30d`, `12h`); empty or `0` keeps everything.
    #[arg(long, env = "TINTYPE_RETENTION", default_value = "", value_parser = Retention::parse)]
    pub retention: Retention,
    /// How often retention runs, in seconds.
    #[arg(long, env = "TINTYPE_RETENTION_INTERVAL_SECS", default_value_t = 300)]
    pub retention_interval_secs: u64,
    /// Jobs expired per transaction.
    #[arg(long, env = "TINTYPE_RETENTION_BATCH", default_value_t = 100)]
    pub retention_batch: i64,
}

/// `TINTYPE_RETENTION`: how old a finished job gets before its objects go; `None` is off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention(pub Option<std::time::Duration>);

impl Retention {
    /// Parses `30d`, `12h`, …; empty or `0` is off.
    pub fn parse(text: &str) -> Result<Self, String> {
        crate::retention::parse_age(text).map(Self)
    }
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
        let cli = Cli::try_parse_from([
            "scheduler",
            "--database-url",
            "postgres://db/x",
            "--aws-access-key-id",
            "k",
            "--aws-secret-access-key",
            "s",
        ])
        .unwrap();
        assert_eq!(cli.settings.relay_interval_ms, 500);
        assert_eq!(cli.settings.database.database_url, "postgres://db/x");
        assert_eq!(cli.settings.webhook_max_attempts, 8);
        assert!(cli.settings.outbound_allow.is_empty());
        assert_eq!(cli.settings.retention, Retention(None));
        assert_eq!(cli.settings.misfire_grace_secs, 60);
        let bad = Cli::try_parse_from([
            "scheduler",
            "--database-url",
            "postgres://db/x",
            "--aws-access-key-id",
            "k",
            "--aws-secret-access-key",
            "s",
            "--outbound-allow",
            "10.0.0.0/99",
        ]);
        assert!(bad.is_err());
        let retention = |value: &str| {
            Cli::try_parse_from([
                "scheduler",
                "--database-url",
                "postgres://db/x",
                "--aws-access-key-id",
                "k",
                "--aws-secret-access-key",
                "s",
                "--retention",
                value,
            ])
            .map(|cli| cli.settings.retention)
        };
        assert_eq!(
            retention("30d").unwrap(),
            Retention(Some(std::time::Duration::from_secs(30 * 86_400)))
        );
        assert_eq!(retention("0").unwrap(), Retention(None));
        assert!(retention("soon").is_err());
    }
}
