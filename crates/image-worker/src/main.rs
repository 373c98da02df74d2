//! `image-worker`: consume and run jobs, or run a recipe on local files.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "image-worker", version, about = "tintype's image worker")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Consume jobs from RabbitMQ (the default).
    Serve(Box<image_worker::Settings>),
    /// Run a recipe on local files with the service's engine, limits and error codes.
    Process {
        /// The recipe JSON file.
        #[arg(long)]
        recipe: PathBuf,
        /// Directory the outputs are written to.
        #[arg(long)]
        out: PathBuf,
        /// Input images.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // No subcommand means `serve`: re-parse with it so its flags and env apply.
    let command = match Cli::parse().command {
        Some(command) => command,
        None => match Cli::parse_from(std::env::args().take(1).chain(["serve".to_owned()])).command
        {
            Some(command) => command,
            None => anyhow::bail!("no command"),
        },
    };
    match command {
        Command::Process {
            recipe,
            out,
            inputs,
        } => {
            tokio::task::spawn_blocking(move || {
                image_worker::local_run::run(&recipe, &out, &inputs)
            })
            .await?
        }
        Command::Serve(settings) => {
            let telemetry = tintype_telemetry::init("image-worker")?;
            let result = serve(*settings).await;
            telemetry.shutdown().await;
            result
        }
    }
}

async fn serve(settings: image_worker::Settings) -> anyhow::Result<()> {
    let app = image_worker::Application::build(settings).await?;
    app.run_until_stopped(tintype_telemetry::shutdown_signal())
        .await
}
