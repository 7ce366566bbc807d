//! [`LiveStateStore`] on SQLite: one row per monitor, compare-and-set on `version`.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sentinel_core::{LiveState, MonitorId};
use sentinel_store::{CasOutcome, LiveStateStore, StoreResult};

use super::SqliteStore;
use super::error::{DbError, from_json, to_json};

fn version(v: u64) -> Result<i64, DbError> {
    i64::try_from(v).map_err(|_| DbError::OutOfRange {
        what: "live state version",
        value: v,
    })
}

fn load(conn: &Connection, id: &str) -> Result<Option<LiveState>, DbError> {
    let json: Option<String> = conn
        .prepare_cached("SELECT state FROM live_states WHERE monitor_id = ?1")?
        .query_row([id], |row| row.get(0))
        .optional()?;
    json.map(|j| from_json("live state", &j)).transpose()
}

#[async_trait]
impl LiveStateStore for SqliteStore {
    #[tracing::instrument(level = "debug", skip_all, fields(monitor_id = %id))]
    async fn get_state(&self, id: &MonitorId) -> StoreResult<Option<LiveState>> {
        let id = id.to_string();
        self.read(move |conn| load(conn, &id)).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_states(&self) -> StoreResult<Vec<LiveState>> {
        self.read(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT state FROM live_states ORDER BY monitor_id")?;
            let rows = stmt
                .query_map([], |row| row.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            rows.iter().map(|j| from_json("live state", j)).collect()
        })
        .await
    }

    #[tracing::instrument(
        level = "debug",
        skip_all,
        fields(monitor_id = %state.monitor_id, version = state.version, expected = ?expected_version)
    )]
    async fn compare_and_set(
        &self,
        state: &LiveState,
        expected_version: Option<u64>,
    ) -> StoreResult<CasOutcome> {
        let id = state.monitor_id.to_string();
        let new_version = version(state.version)?;
        let expected = expected_version.map(version).transpose()?;
        let json = to_json("live state", state)?;
        self.write(move |conn| {
            // Immediate: the conditional write and the read of a conflict see one state.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let changed = match expected {
                None => tx
                    .prepare_cached(
                        "INSERT INTO live_states (monitor_id, version, state) VALUES (?1, ?2, ?3)
                         ON CONFLICT (monitor_id) DO NOTHING",
                    )?
                    .execute(params![id, new_version, json])?,
                Some(expected) => tx
                    .prepare_cached(
                        "UPDATE live_states SET version = ?2, state = ?3
                         WHERE monitor_id = ?1 AND version = ?4",
                    )?
                    .execute(params![id, new_version, json, expected])?,
            };
            let outcome = if changed == 1 {
                CasOutcome::Applied
            } else {
                CasOutcome::Conflict(load(&tx, &id)?)
            };
            tx.commit()?;
            Ok(outcome)
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(monitor_id = %id))]
    async fn delete_state(&self, id: &MonitorId) -> StoreResult<()> {
        let id = id.to_string();
        self.write(move |conn| {
            conn.prepare_cached("DELETE FROM live_states WHERE monitor_id = ?1")?
                .execute([id])?;
            Ok(())
        })
        .await
    }
}
