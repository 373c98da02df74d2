//! `scheduler`: the outbox relay and the time-driven work of tintype.

use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "scheduler", version, about = "tintype's scheduler")]
struct Cli {
    #[command(flatten)]
    settings: scheduler::Settings,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let telemetry = tintype_telemetry::init("scheduler")?;
    let result = serve(cli.settings).await;
    telemetry.shutdown().await;
    result
}

async fn serve(settings: scheduler::Settings) -> anyhow::Result<()> {
    let app = scheduler::Application::build(settings).await?;
    app.run_until_stopped(tintype_telemetry::shutdown_signal())
        .await
}
