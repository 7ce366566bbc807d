//! [`MonitorStore`] on SQLite: one row per monitor, the spec as JSON.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use sentinel_core::{MonitorId, MonitorSpec};
use sentinel_store::{MonitorStore, StoreResult};

use super::SqliteStore;
use super::error::{DbError, from_json, to_json};

#[async_trait]
impl MonitorStore for SqliteStore {
    #[tracing::instrument(level = "debug", skip_all, fields(monitor_id = %spec.id))]
    async fn upsert_monitor(&self, spec: &MonitorSpec) -> StoreResult<()> {
        let id = spec.id.to_string();
        let json = to_json("monitor", spec)?;
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO monitors (id, spec) VALUES (?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET spec = excluded.spec",
            )?
            .execute(params![id, json])?;
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
        self.write(move |conn| {
            let deleted = conn
                .prepare_cached("DELETE FROM monitors WHERE id = ?1")?
                .execute([id])?;
            Ok(deleted > 0)
        })
        .await
    }
}
