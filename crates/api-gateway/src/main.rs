//! `api-gateway`: serve the HTTP API, or apply migrations.

use clap::{Parser, Subcommand};

// jemalloc returns a burst's upload buffers to the kernel within about a second (its decay is set
// in .cargo/config.toml); glibc's arenas kept them, and the gateway stayed at twice its idle size.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Debug, Parser)]
#[command(name = "api-gateway", version, about = "tintype's HTTP API")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    Serve(Box<api_gateway::Settings>),
    /// Apply database migrations and create the bucket, then exit.
    Migrate {
        /// PostgreSQL.
        #[command(flatten)]
        database: tintype_db::DatabaseArgs,
        /// Object storage.
        #[command(flatten)]
        storage: tintype_storage::StorageArgs,
    },
    /// Create, list and revoke API keys.
    Keys {
        /// PostgreSQL.
        #[command(flatten)]
        database: tintype_db::DatabaseArgs,
        /// What to do.
        #[command(subcommand)]
        command: api_gateway::admin::KeysCommand,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse_from(with_default_subcommand(std::env::args().collect()));
    let telemetry = tintype_telemetry::init("api-gateway")?;
    let result = match cli.command {
        Command::Migrate { database, storage } => {
            api_gateway::migrate(&database.database_url, &storage.config()).await
        }
        Command::Serve(settings) => serve(*settings).await,
        Command::Keys { database, command } => {
            api_gateway::admin::run(&database.database_url, command).await
        }
    };
    telemetry.shutdown().await;
    result
}

async fn serve(settings: api_gateway::Settings) -> anyhow::Result<()> {
    let app = api_gateway::Application::build(settings).await?;
    app.run_until_stopped(tintype_telemetry::shutdown_signal())
        .await
}

/// Inserts `serve` when no subcommand is named, so `api-gateway` and `api-gateway --http-addr …`
/// serve (the container's default command) while `--help` and `--version` still work.
fn with_default_subcommand(mut args: Vec<String>) -> Vec<String> {
    const OWN: [&str; 8] = [
        "serve",
        "migrate",
        "keys",
        "help",
        "-h",
        "--help",
        "-V",
        "--version",
    ];
    if !args
        .get(1)
        .is_some_and(|first| OWN.contains(&first.as_str()))
    {
        args.insert(args.len().min(1), "serve".to_owned());
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| (*a).to_owned()).collect()
    }

    #[test]
    fn serve_is_the_default_subcommand() {
        assert_eq!(
            with_default_subcommand(argv(&["gw"])),
            argv(&["gw", "serve"])
        );
        assert_eq!(
            with_default_subcommand(argv(&["gw", "--http-addr", "127.0.0.1:1"])),
            argv(&["gw", "serve", "--http-addr", "127.0.0.1:1"])
        );
        assert_eq!(
            with_default_subcommand(argv(&["gw", "migrate"])),
            argv(&["gw", "migrate"])
        );
        assert_eq!(
            with_default_subcommand(argv(&["gw", "--help"])),
            argv(&["gw", "--help"])
        );
    }

    #[test]
    fn serve_and_migrate_parse_from_flags() {
        let creds = [
            "--database-url",
            "postgres://db/x",
            "--aws-access-key-id",
            "k",
            "--aws-secret-access-key",
            "s",
        ];
        let serve = argv(&[&["gw", "--http-addr", "127.0.0.1:9"][..], &creds].concat());
        match Cli::try_parse_from(with_default_subcommand(serve))
            .unwrap()
            .command
        {
            Command::Serve(settings) => assert_eq!(settings.http_addr.port(), 9),
            other => panic!("expected serve, got {other:?}"),
        }
        let migrate = argv(&[&["gw", "migrate"][..], &creds].concat());
        match Cli::try_parse_from(with_default_subcommand(migrate))
            .unwrap()
            .command
        {
            Command::Migrate { database, .. } => {
                assert_eq!(database.database_url, "postgres://db/x")
            }
            other => panic!("expected migrate, got {other:?}"),
        }
    }
}
