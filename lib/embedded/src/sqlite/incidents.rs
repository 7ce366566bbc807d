//! [`IncidentStore`] on SQLite.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};
use sentinel_core::{Incident, IncidentId, MonitorId, UnixMs};
use sentinel_store::{IncidentStore, StoreResult};

use super::error::{DbError, from_json, monitor_id, to_json};
use super::{SqliteStore, sql_limit};

const COLUMNS: &str = "id, monitor_id, started_at, ended_at, cause, proof";

struct RawIncident {
    id: String,
    monitor_id: String,
    started_at: UnixMs,
    ended_at: Option<UnixMs>,
    cause: String,
    proof: String,
}

impl RawIncident {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            monitor_id: row.get(1)?,
            started_at: row.get(2)?,
            ended_at: row.get(3)?,
            cause: row.get(4)?,
            proof: row.get(5)?,
        })
    }

    fn decode(self) -> Result<Incident, DbError> {
        Ok(Incident {
            id: IncidentId(self.id),
            monitor_id: monitor_id(self.monitor_id)?,
            started_at: self.started_at,
            ended_at: self.ended_at,
            cause: self.cause,
            proof: from_json("incident proof", &self.proof)?,
        })
    }
}

fn load(conn: &Connection, id: &str) -> Result<Option<Incident>, DbError> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM incidents WHERE id = ?1"))?
        .query_row([id], RawIncident::from_row)
        .optional()?
        .map(RawIncident::decode)
        .transpose()
}

#[async_trait]
impl IncidentStore for SqliteStore {
    #[tracing::instrument(level = "debug", skip_all, fields(monitor_id = %incident.monitor_id, incident_id = %incident.id))]
    async fn open_incident(&self, incident: &Incident) -> StoreResult<()> {
        let inc = incident.clone();
        let proof = to_json("incident proof", &incident.proof)?;
        self.write(move |conn| {
            // A redelivered open neither duplicates nor reopens: the first write stands.
            conn.prepare_cached(&format!(
                "INSERT INTO incidents ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO NOTHING"
            ))?
            .execute(params![
                inc.id.0,
                inc.monitor_id.as_str(),
                inc.started_at,
                inc.ended_at,
                inc.cause,
                proof
            ])?;
            Ok(())
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(incident_id = %id, ended_at))]
    async fn close_incident(&self, id: &IncidentId, ended_at: UnixMs) -> StoreResult<()> {
        let id = id.0.clone();
        let closed = self
            .write(move |conn| {
                Ok(conn
                    .prepare_cached(
                        "UPDATE incidents SET ended_at = ?2 WHERE id = ?1 AND ended_at IS NULL",
                    )?
                    .execute(params![id, ended_at])?)
            })
            .await?;
        if closed == 0 {
            tracing::debug!("incident already closed or unknown");
        }
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(incident_id = %id))]
    async fn get_incident(&self, id: &IncidentId) -> StoreResult<Option<Incident>> {
        let id = id.0.clone();
        self.read(move |conn| load(conn, &id)).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(monitor_id = %monitor, limit))]
    async fn list_incidents(
        &self,
        monitor: &MonitorId,
        limit: usize,
    ) -> StoreResult<Vec<Incident>> {
        let monitor = monitor.to_string();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM incidents WHERE monitor_id = ?1
                 ORDER BY started_at DESC, id DESC LIMIT ?2"
            ))?;
            let rows = stmt
                .query_map(params![monitor, sql_limit(limit)], RawIncident::from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().map(RawIncident::decode).collect()
        })
        .await
    }
}
