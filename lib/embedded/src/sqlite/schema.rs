//! Schema migrations, tracked in `PRAGMA user_version`.
//!
//! Each entry of [`MIGRATIONS`] moves the schema one version on; a database at version
//! `n` has had the first `n` applied. Never edit a released migration: add one.

use rusqlite::{Connection, TransactionBehavior};

use super::error::DbError;

const MIGRATIONS: &[&str] = &[V1];

/// Version 1: monitors, ping log with rollups, live state, incidents, alert ledger.
const V1: &str = r#"
CREATE TABLE monitors (
    id   TEXT PRIMARY KEY NOT NULL,
    spec TEXT NOT NULL                      -- MonitorSpec as JSON
) STRICT;

-- One row per check. The key makes a redelivered result a no-op, and is also the
-- index for history (one monitor, a time range, newest first).
CREATE TABLE check_results (
    monitor_id     TEXT    NOT NULL,
    checked_at     INTEGER NOT NULL,        -- Unix ms
    success        INTEGER NOT NULL CHECK (success IN (0, 1)),
    status_code    INTEGER,
    total_ms       REAL,                    -- NULL: NaN (SQLite stores NaN as NULL)
    dns_ms         REAL,
    connect_ms     REAL,
    tls_ms         REAL,
    first_byte_ms  REAL,
    failure_reason TEXT,
    detail         TEXT    NOT NULL,        -- JSON: ip, cert_expires_at, error, conditions
    PRIMARY KEY (monitor_id, checked_at)
) STRICT, WITHOUT ROWID;

-- For prune (all monitors, older than a time).
CREATE INDEX check_results_by_time ON check_results (checked_at);

-- Hourly and daily aggregates, updated in the transaction that inserts the checks.
CREATE TABLE rollups (
    monitor_id   TEXT    NOT NULL,
    granularity  TEXT    NOT NULL CHECK (granularity IN ('hour', 'day')),
    bucket_start INTEGER NOT NULL,          -- Unix ms, start of the UTC hour or day
    checks       INTEGER NOT NULL,          -- copies of rollup.checks / rollup.up for SQL
    up           INTEGER NOT NULL,
    rollup       TEXT    NOT NULL,          -- the whole Rollup as JSON
    PRIMARY KEY (monitor_id, granularity, bucket_start)
) STRICT, WITHOUT ROWID;

CREATE TABLE live_states (
    monitor_id TEXT PRIMARY KEY NOT NULL,
    version    INTEGER NOT NULL,            -- for compare-and-set
    state      TEXT    NOT NULL             -- LiveState as JSON
) STRICT;

CREATE TABLE incidents (
    id         TEXT PRIMARY KEY NOT NULL,
    monitor_id TEXT    NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at   INTEGER,
    cause      TEXT    NOT NULL,
    proof      TEXT    NOT NULL             -- JSON array of checked_at
) STRICT;

CREATE INDEX incidents_by_monitor ON incidents (monitor_id, started_at DESC, id DESC);

CREATE TABLE deliveries (
    key        TEXT PRIMARY KEY NOT NULL,
    channel    TEXT    NOT NULL,
    monitor_id TEXT    NOT NULL,
    event      TEXT    NOT NULL,
    status     TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts   INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX deliveries_by_created ON deliveries (created_at DESC, key DESC);
"#;

/// Brings the schema to the newest version in one immediate transaction, so two
/// processes opening the same file at once cannot both migrate.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    let known = MIGRATIONS.len() as i64;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > known {
        return Err(DbError::SchemaTooNew { found, known });
    }
    for (version, sql) in (1..)
        .zip(MIGRATIONS)
        .skip(usize::try_from(found).unwrap_or(0))
    {
        tracing::info!(version, "applying SQLite schema migration");
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", known)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_twice_is_a_no_op() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn).expect("first migration");
        migrate(&mut conn).expect("second migration");
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("user_version");
        assert_eq!(version, MIGRATIONS.len() as i64);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let mut conn = Connection::open_in_memory().expect("open");
        conn.pragma_update(None, "user_version", 99)
            .expect("set user_version");
        let err = migrate(&mut conn).expect_err("must refuse");
        assert!(matches!(err, DbError::SchemaTooNew { found: 99, .. }));
    }
}
