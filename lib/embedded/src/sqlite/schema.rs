//! Schema migrations, tracked in `PRAGMA user_version`.
//!
//! Each entry of [`MIGRATIONS`] moves the schema one version on; a database at version
//! `n` has had the first `n` applied. Never edit a released migration: add one.

use rusqlite::{Connection, TransactionBehavior};

use super::error::DbError;

const MIGRATIONS: &[&str] = &[V1, V2, V3, V4];

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

/// Version 2: accounts. Users, refresh and reset tokens, API keys, alert channels made
/// through the API, monitor ownership, rate-limit counters and blobs. Monitors already
/// stored came from the YAML file: they become `config` monitors without an owner.
const V2: &str = r#"
ALTER TABLE monitors ADD COLUMN owner TEXT;
ALTER TABLE monitors ADD COLUMN origin TEXT NOT NULL DEFAULT 'config'
    CHECK (origin IN ('config', 'api'));
ALTER TABLE monitors ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;   -- Unix ms
ALTER TABLE monitors ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
UPDATE monitors
SET created_at = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER),
    updated_at = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER);
CREATE INDEX monitors_by_owner ON monitors (owner, id);

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    email         TEXT    NOT NULL UNIQUE,  -- normalised (trimmed, lowercase)
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'monitor', 'user')),
    password_hash TEXT    NOT NULL,         -- PHC string
    disabled      INTEGER NOT NULL CHECK (disabled IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE INDEX users_by_created ON users (created_at, id);

-- Only SHA-256 hashes of tokens are stored.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id  TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    spent_at   INTEGER,                     -- set when rotated
    revoked    INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
) STRICT;

CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at);

CREATE TABLE reset_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX reset_tokens_by_user ON reset_tokens (user_id);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY NOT NULL,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    prefix       TEXT    NOT NULL,
    key_hash     TEXT    NOT NULL UNIQUE,   -- SHA-256 (hex) of the key
    scope        TEXT    NOT NULL CHECK (scope IN ('read', 'write')),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER
) STRICT;

CREATE INDEX api_keys_by_user ON api_keys (user_id, created_at DESC, id DESC);

-- No foreign key on owner: what happens to a deleted user's channels is the API's call.
CREATE TABLE channels (
    id         TEXT PRIMARY KEY NOT NULL,
    owner      TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    config     TEXT    NOT NULL,            -- JSON, nothing secret
    secret     BLOB    NOT NULL,            -- AES-256-GCM ciphertext
    key_id     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (owner, name)
) STRICT;

CREATE INDEX channels_by_name ON channels (name, owner, id);

-- Fixed windows; rows of ended windows are deleted as later hits pass by.
CREATE TABLE rate_limits (
    key          TEXT    NOT NULL,
    window_start INTEGER NOT NULL,
    window_end   INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
) STRICT, WITHOUT ROWID;

CREATE INDEX rate_limits_by_end ON rate_limits (window_end);

CREATE TABLE blobs (
    key          TEXT PRIMARY KEY NOT NULL,
    content_type TEXT NOT NULL,
    bytes        BLOB NOT NULL
) STRICT;
"#;

/// Version 3: ECS. The watched AWS accounts, app settings (JSON per key), service
/// snapshots (one row per service, replaced per account and region by each collection)
/// and CPU/memory history (one row per service, metric and period).
const V3: &str = r#"
CREATE TABLE aws_accounts (
    id                 TEXT PRIMARY KEY NOT NULL,
    name               TEXT,
    role_arn           TEXT,                -- NULL: the local account
    role_account_id    TEXT,
    regions            TEXT    NOT NULL,    -- JSON array of region names
    external_id        BLOB,                -- AES-256-GCM ciphertext, NULL: none
    external_id_key_id TEXT,
    account_id         TEXT,                -- learned by collections
    alias              TEXT,
    last_collected_at  INTEGER,
    last_error         TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    CHECK ((external_id IS NULL) = (external_id_key_id IS NULL))
) STRICT;

-- One registration per role, and one local account ('' stands for NULL).
CREATE UNIQUE INDEX aws_accounts_by_role ON aws_accounts (COALESCE(role_arn, ''));
CREATE INDEX aws_accounts_by_created ON aws_accounts (created_at, id);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY NOT NULL,        -- e.g. 'ecs'
    value TEXT NOT NULL                     -- JSON
) STRICT;

CREATE TABLE ecs_snapshots (
    account_id  TEXT    NOT NULL,
    region      TEXT    NOT NULL,
    cluster     TEXT    NOT NULL,
    service     TEXT    NOT NULL,
    health      TEXT    NOT NULL CHECK (health IN ('healthy', 'degraded', 'failed')),
    replaced_at INTEGER NOT NULL,           -- `at` of the collection that wrote it
    snapshot    TEXT    NOT NULL,           -- ServiceSnapshot as JSON
    PRIMARY KEY (account_id, region, cluster, service)
) STRICT, WITHOUT ROWID;

CREATE TABLE ecs_metrics (
    account_id TEXT    NOT NULL,
    region     TEXT    NOT NULL,
    cluster    TEXT    NOT NULL,
    service    TEXT    NOT NULL,
    metric     TEXT    NOT NULL CHECK (metric IN ('cpu', 'memory')),
    at         INTEGER NOT NULL,            -- Unix ms, period start
    average    REAL    NOT NULL,
    maximum    REAL    NOT NULL,
    PRIMARY KEY (account_id, region, cluster, service, metric, at)
) STRICT, WITHOUT ROWID;

-- For prune (all services, older than a time).
CREATE INDEX ecs_metrics_by_time ON ecs_metrics (at);
"#;

/// ECS health incidents: at most one open (`ended_at IS NULL`) per service.
const V4: &str = r#"
CREATE TABLE ecs_incidents (
    id         TEXT    PRIMARY KEY NOT NULL,
    account_id TEXT    NOT NULL,
    region     TEXT    NOT NULL,
    cluster    TEXT    NOT NULL,
    service    TEXT    NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at   INTEGER,
    incident   TEXT    NOT NULL             -- EcsIncident as JSON
) STRICT;

CREATE UNIQUE INDEX ecs_incidents_open
    ON ecs_incidents (account_id, region, cluster, service) WHERE ended_at IS NULL;
CREATE INDEX ecs_incidents_by_start ON ecs_incidents (started_at, id);
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
    fn monitors_stored_before_accounts_become_config_monitors() {
        let mut conn = Connection::open_in_memory().expect("open");
        {
            let tx = conn.transaction().expect("tx");
            tx.execute_batch(V1).expect("v1");
            tx.pragma_update(None, "user_version", 1)
                .expect("user_version");
            tx.execute("INSERT INTO monitors (id, spec) VALUES ('api', '{}')", [])
                .expect("insert v1 monitor");
            tx.commit().expect("commit");
        }
        migrate(&mut conn).expect("migrate to the newest version");
        let (owner, origin, created_at): (Option<String>, String, i64) = conn
            .query_row(
                "SELECT owner, origin, created_at FROM monitors WHERE id = 'api'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .expect("migrated monitor");
        assert_eq!(owner, None);
        assert_eq!(origin, "config");
        assert!(
            created_at > 1_700_000_000_000,
            "created_at is set: {created_at}"
        );
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
