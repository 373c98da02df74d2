//! `image-worker`: consume and run jobs, or run a recipe on local files.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

// jemalloc, as in the gateway: every 12 MP job allocates and frees ~10 MB on blocking threads, and
// under glibc a 30-minute soak's RSS climbed 60 → 70 MB before it levelled (its per-thread arenas
// fragment); under jemalloc it stays flat. Freed pages go back to the kernel after a second
// (.cargo/config.toml); a 10 s decay measured the same worker CPU per job (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
