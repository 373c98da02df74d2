//! `api-gateway`: serve the HTTP API, or apply migrations.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "api-gateway", version, about = "tintype's HTTP API")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    Serve(Box<api_gateway::Settings>),
    /// Apply database migrations and create the bucket, then exit.
    Migrate {
        /// PostgreSQL connection URL.
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: String,
        /// Object storage.
        #[command(flatten)]
        storage: tintype_storage::StorageArgs,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // No subcommand means `serve`: re-parse with it so its flags and env apply.
    let cli = match Cli::try_parse() {
        Ok(cli) if cli.command.is_some() => cli,
        Ok(_) => Cli::parse_from(std::env::args().take(1).chain(["serve".to_owned()])),
        Err(err) => err.exit(),
    };
    tintype_telemetry::init("api-gateway")?;
    match cli.command {
        Some(Command::Migrate {
            database_url,
            storage,
        }) => api_gateway::migrate(&database_url, &storage.config()).await,
        Some(Command::Serve(settings)) => {
            let app = api_gateway::Application::build(*settings).await?;
            app.run_until_stopped(tintype_telemetry::shutdown_signal())
                .await
        }
        None => unreachable!("defaulted to serve above"),
    }
}
