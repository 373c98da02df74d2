//! `api-gateway keys …`: the admin commands that create, list and revoke API keys. A new key is
//! printed once; only its hash is stored.

use anyhow::Context;

use crate::auth::{Scope, keys};

/// What `keys` can do.
#[derive(Debug, clap::Subcommand)]
pub enum KeysCommand {
    /// Create a key and print it (the only time it is shown).
    Create {
        /// What the key is for, e.g. the client's name.
        #[arg(long)]
        name: String,
        /// Scopes: `jobs:read`, `jobs:write`, `admin` (repeat the flag or separate with commas).
        #[arg(long = "scope", value_delimiter = ',', required = true)]
        scopes: Vec<String>,
    },
    /// List keys (never the keys themselves).
    List,
    /// Revoke a key by id or prefix; it stops working at once.
    Revoke {
        /// The key's id or its prefix (`tt_…`, as `list` shows).
        which: String,
    },
}

/// Runs a keys command against the database at `database_url`, printing to stdout.
pub async fn run(database_url: &str, command: KeysCommand) -> anyhow::Result<()> {
    let pool = tintype_db::connect(database_url, 1)
        .await
        .context("connecting to PostgreSQL")?;
    tintype_db::check_schema(&pool).await?;
    match command {
        KeysCommand::Create { name, scopes } => {
            let mut checked = Vec::new();
            for scope in &scopes {
                let scope = scope.trim();
                let parsed = Scope::parse(scope).with_context(|| {
                    format!("unknown scope `{scope}`; use jobs:read, jobs:write or admin")
                })?;
                checked.push(parsed.as_str().to_owned());
            }
            checked.dedup();
            let key = keys::generate();
            let row = tintype_db::api_keys::insert(
                &pool,
                &name,
                &keys::prefix(&key),
                &keys::hash(&key),
                &checked,
            )
            .await?;
            println!("{key}");
            eprintln!(
                "created key {} `{}` with scopes {}; store it now, it is not shown again",
                row.id,
                row.name,
                row.scopes.join(",")
            );
        }
        KeysCommand::List => {
            for key in tintype_db::api_keys::list(&pool).await? {
                println!("{}", serde_json::to_string(&key)?);
            }
        }
        KeysCommand::Revoke { which } => {
            let revoked = tintype_db::api_keys::revoke(&pool, &which).await?;
            anyhow::ensure!(!revoked.is_empty(), "no key with id or prefix `{which}`");
            for key in revoked {
                eprintln!("revoked key {} `{}`", key.id, key.name);
            }
        }
    }
    pool.close().await;
    Ok(())
}
