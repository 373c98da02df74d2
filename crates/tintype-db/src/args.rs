//! Command-line and environment settings for the database, shared by every binary that uses it.

/// Where PostgreSQL is, read from `DATABASE_URL` (or a flag).
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// PostgreSQL connection URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
}
