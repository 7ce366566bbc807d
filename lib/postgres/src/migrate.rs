//! Schema migrations: the SQL files in `migrations/`, applied in order.
//!
//! Each migration runs in its own transaction that first takes a transaction-level
//! advisory lock, so two processes migrating at once (two Lambdas cold-starting, a
//! deploy and a server) apply each file exactly once: the second waits, then finds it
//! recorded. `schema_migrations` keeps each file's version and SHA-256; a recorded
//! file whose text has since changed is refused, never re-run. Never edit a released
//! migration: add one.

use sha2::{Digest, Sha256};
use tokio_postgres::Client;

use crate::PgError;

/// One SQL file of `migrations/`.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub sql: &'static str,
}

impl Migration {
    /// SHA-256 of the SQL, hex.
    pub fn checksum(&self) -> String {
        Sha256::digest(self.sql.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Every migration this build knows, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "accounts",
        sql: include_str!("../migrations/0001_accounts.sql"),
    },
    Migration {
        version: 2,
        name: "pipeline",
        sql: include_str!("../migrations/0002_pipeline.sql"),
    },
    Migration {
        version: 3,
        name: "ecs",
        sql: include_str!("../migrations/0003_ecs.sql"),
    },
];

/// A migration this call applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    pub version: i32,
    pub name: &'static str,
}

/// Advisory-lock key of migrations ("sentinel" in ASCII); advisory locks are per
/// database, so other databases on the server are not held up.
const MIGRATION_LOCK: i64 = 0x7365_6e74_696e_656c;

const CREATE_LEDGER: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text        NOT NULL,
    checksum   text        NOT NULL,  -- SHA-256 (hex) of the SQL file
    applied_at timestamptz NOT NULL DEFAULT now()
)";

/// Brings the schema to the newest version and returns the migrations applied now
/// (empty when it was up to date). Safe to run concurrently and repeatedly.
///
/// Uses the simple protocol for the DDL and unnamed statements for the rest, so it
/// leaves no cached statement behind that the schema change could invalidate.
#[tracing::instrument(level = "info", skip_all)]
pub async fn migrate(client: &Client) -> Result<Vec<AppliedMigration>, PgError> {
    let mut applied = Vec::new();
    for migration in MIGRATIONS {
        client.batch_execute("BEGIN").await?;
        match apply_one(client, migration).await {
            Ok(done) => {
                client.batch_execute("COMMIT").await?;
                if done {
                    tracing::info!(
                        version = migration.version,
                        name = migration.name,
                        "applied PostgreSQL migration"
                    );
                    applied.push(AppliedMigration {
                        version: migration.version,
                        name: migration.name,
                    });
                }
            }
            Err(e) => {
                // The error is what matters; a failed rollback means the connection is
                // gone, which ends the transaction anyway.
                if let Err(rollback) = client.batch_execute("ROLLBACK").await {
                    tracing::debug!(error = %rollback, "rollback after a failed migration failed");
                }
                return Err(e);
            }
        }
    }
    Ok(applied)
}

/// Inside an open transaction: checks what is recorded, then applies `migration`
/// unless it is. Returns whether it applied it.
async fn apply_one(client: &Client, migration: &Migration) -> Result<bool, PgError> {
    client
        .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    // Under the lock: two first-ever migrations racing on CREATE TABLE IF NOT EXISTS
    // can otherwise both try to create it.
    client.batch_execute(CREATE_LEDGER).await?;
    let recorded = client
        .query(
            "SELECT version, name, checksum FROM schema_migrations ORDER BY version",
            &[],
        )
        .await?;
    let mut already = false;
    for row in &recorded {
        let version: i32 = crate::error::column(row, 0, "migration version")?;
        let name: String = crate::error::column(row, 1, "migration name")?;
        let checksum: String = crate::error::column(row, 2, "migration checksum")?;
        let Some(known) = MIGRATIONS.iter().find(|m| m.version == version) else {
            return Err(PgError::UnknownMigration { version, name });
        };
        let expected = known.checksum();
        if checksum != expected {
            return Err(PgError::ChecksumMismatch {
                version,
                name,
                recorded: checksum,
                expected,
            });
        }
        already |= version == migration.version;
    }
    if already {
        return Ok(false);
    }
    client.batch_execute(migration.sql).await?;
    client
        .execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            &[&migration.version, &migration.name, &migration.checksum()],
        )
        .await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_consecutive_from_one_and_files_are_named_after_them() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version as usize, i + 1, "{}", m.name);
            assert!(!m.sql.trim().is_empty(), "{} is empty", m.name);
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .expect("migrations dir")
            .map(|e| {
                e.expect("dir entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        files.sort();
        let expected: Vec<String> = MIGRATIONS
            .iter()
            .map(|m| format!("{:04}_{}.sql", m.version, m.name))
            .collect();
        assert_eq!(
            files, expected,
            "every file in migrations/ is listed, in order"
        );
    }

    #[test]
    fn checksum_is_sha256_hex_and_differs_per_file() {
        let sums: Vec<String> = MIGRATIONS.iter().map(Migration::checksum).collect();
        for sum in &sums {
            assert_eq!(sum.len(), 64);
            assert!(sum.chars().all(|c| c.is_ascii_hexdigit()));
        }
        assert_ne!(sums[0], sums[1]);
    }
}
