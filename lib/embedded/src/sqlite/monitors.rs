//! [`MonitorStore`] and [`MonitorRecords`] on SQLite: one row per monitor, the spec as
//! JSON beside its owner, origin and timestamps. `upsert_monitor` (the YAML file) makes
//! new monitors `config` ones and leaves the owner, origin and `created_at` of existing
//! ones alone.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params};
use sentinel_core::account::UserId;
use sentinel_core::{MonitorId, MonitorSpec, UnixMs};
use sentinel_store::{MonitorOrigin, MonitorRecord, MonitorRecords, MonitorStore, StoreResult};

use super::error::{DbError, from_json, to_json, user_id};
use super::{SqliteStore, now_ms};

const COLUMNS: &str = "spec, owner, origin, created_at, updated_at";

fn origin_str(origin: MonitorOrigin) -> &'static str {
    match origin {
        MonitorOrigin::Config => "config",
        MonitorOrigin::Api => "api",
    }
}

struct RawRecord {
    spec: String,
    owner: Option<String>,
    origin: String,
    created_at: UnixMs,
    updated_at: UnixMs,
}

impl RawRecord {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            spec: row.get(0)?,
            owner: row.get(1)?,
            origin: row.get(2)?,
            created_at: row.get(3)?,
            updated_at: row.get(4)?,
        })
    }

    fn decode(self) -> Result<MonitorRecord, DbError> {
        let origin = match self.origin.as_str() {
            "config" => MonitorOrigin::Config,
            "api" => MonitorOrigin::Api,
            other => {
                return Err(DbError::decode(
                    "monitor origin",
                    format!("{other:?} is unknown"),
                ));
            }
        };
        Ok(MonitorRecord {
            spec: from_json("monitor", &self.spec)?,
            owner: self.owner.map(user_id),
            origin,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[async_trait]
impl MonitorStore for SqliteStore {
    #[tracing::instrument(level = "debug", skip_all, fields(monitor_id = %spec.id))]
    async fn upsert_monitor(&self, spec: &MonitorSpec) -> StoreResult<()> {
        let id = spec.id.to_string();
        let json = to_json("monitor", spec)?;
        let now = now_ms();
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO monitors (id, spec, owner, origin, created_at, updated_at)
                 VALUES (?1, ?2, NULL, 'config', ?3, ?3)
                 ON CONFLICT (id) DO UPDATE
                 SET spec = excluded.spec, updated_at = excluded.updated_at",
            )?
            .execute(params![id, json, now])?;
            Ok(())
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(monitor_id = %id))]
    async fn get_monitor(&self, id: &MonitorId) -> StoreResult<Option<MonitorSpec>> {
        let id = id.to_string();
        self.read(move |conn| {
            let json: Option<String> = conn
                .prepare_cached("SELECT spec FROM monitors WHERE id = ?1")?
                .query_row([id], |row| row.get(0))
                .optional()?;
            json.map(|j| from_json("monitor", &j)).transpose()
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_monitors(&self) -> StoreResult<Vec<MonitorSpec>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached("SELECT spec FROM monitors ORDER BY id")?;
            let rows = stmt
                .query_map([], |row| row.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            rows.iter()
                .map(|j| from_json("monitor", j))
                .collect::<Result<Vec<_>, DbError>>()
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(monitor_id = %id))]
    async fn delete_monitor(&self, id: &MonitorId) -> StoreResult<bool> {
        let id = id.to_string();
        // Everything recorded under the id goes with it: ids are reused, and the next
        // monitor with this id (maybe another user's) must not inherit its history.
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let deleted = tx
                .prepare_cached("DELETE FROM monitors WHERE id = ?1")?
                .execute([&id])?;
            for table in [
                "check_results",
                "rollups",
                "live_states",
                "incidents",
                "deliveries",
            ] {
                tx.execute(&format!("DELETE FROM {table} WHERE monitor_id = ?1"), [&id])?;
            }
            tx.commit()?;
            Ok(deleted > 0)
        })
        .await
    }
}

#[async_trait]
impl MonitorRecords for SqliteStore {
    #[tracing::instrument(level = "debug", skip_all, fields(monitor_id = %record.spec.id))]
    async fn save_monitor_record(&self, record: &MonitorRecord) -> StoreResult<()> {
        let id = record.spec.id.to_string();
        let json = to_json("monitor", &record.spec)?;
        let owner = record.owner.as_ref().map(|o| o.0.clone());
        let origin = origin_str(record.origin);
        let (created_at, updated_at) = (record.created_at, record.updated_at);
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO monitors (id, spec, owner, origin, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO UPDATE
                 SET spec = excluded.spec, owner = excluded.owner, origin = excluded.origin,
                     created_at = excluded.created_at, updated_at = excluded.updated_at",
            )?
            .execute(params![id, json, owner, origin, created_at, updated_at])?;
            Ok(())
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(monitor_id = %id))]
    async fn get_monitor_record(&self, id: &MonitorId) -> StoreResult<Option<MonitorRecord>> {
        let id = id.to_string();
        self.read(move |conn| {
            conn.prepare_cached(&format!("SELECT {COLUMNS} FROM monitors WHERE id = ?1"))?
                .query_row([id], RawRecord::from_row)
                .optional()?
                .map(RawRecord::decode)
                .transpose()
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(owner = ?owner.map(|o| &o.0)))]
    async fn list_monitor_records(
        &self,
        owner: Option<&UserId>,
    ) -> StoreResult<Vec<MonitorRecord>> {
        let owner = owner.map(|o| o.0.clone());
        self.read(move |conn| {
            let rows = match owner {
                Some(owner) => conn
                    .prepare_cached(&format!(
                        "SELECT {COLUMNS} FROM monitors WHERE owner = ?1 ORDER BY id"
                    ))?
                    .query_map([owner], RawRecord::from_row)?
                    .collect::<Result<Vec<_>, _>>()?,
                None => conn
                    .prepare_cached(&format!("SELECT {COLUMNS} FROM monitors ORDER BY id"))?
                    .query_map([], RawRecord::from_row)?
                    .collect::<Result<Vec<_>, _>>()?,
            };
            rows.into_iter().map(RawRecord::decode).collect()
        })
        .await
    }
}

/// As one part of split stores (self-hosted with PostgreSQL), SQLite keeps live state
/// and maybe pings: deleting a monitor clears them here too.
#[async_trait]
impl sentinel_store::split::PurgeMonitor for SqliteStore {
    async fn purge_monitor(&self, id: &MonitorId) -> StoreResult<()> {
        self.delete_monitor(id).await.map(|_| ())
    }
}
