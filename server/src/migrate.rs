//! `sentinel migrate`: applies PostgreSQL migrations (for the AWS deployment and for
//! `serve` on PostgreSQL, which also migrates at start).

use clap::Args;
use sentinel_postgres::{PgSettings, PgStore};

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The database, as a `postgres://` URL (`sslmode=require` etc. in its query).
    #[arg(long, env = "POSTGRES_URL", hide_env_values = true)]
    database_url: Option<String>,
}

/// Why `migrate` stopped: bad input (exit 2) or the database failed (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

pub async fn run(args: MigrateArgs) -> Result<(), MigrateError> {
    let url = args
        .database_url
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| {
            MigrateError::Usage(
                "sentinel migrate: no database: set POSTGRES_URL or pass --database-url".into(),
            )
        })?;
    let settings = PgSettings::from_url(&url)
        .map_err(|e| MigrateError::Usage(format!("sentinel migrate: POSTGRES_URL: {e}")))?;
    let store = PgStore::connect(&settings)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to PostgreSQL: {e}"))?;
    let applied = store
        .migrate()
        .await
        .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
    if applied.is_empty() {
        println!("database is up to date");
    }
    for m in &applied {
        println!("applied {:04} {}", m.version, m.name);
    }
    Ok(())
}
