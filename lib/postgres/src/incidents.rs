//! [`IncidentStore`] on PostgreSQL: the id's primary key makes a redelivered open a
//! no-op, and `ended_at IS NULL` makes close keep the first end.

use async_trait::async_trait;
use sentinel_core::{Incident, IncidentId, MonitorId, UnixMs};
use sentinel_store::{IncidentStore, StoreResult};
use tokio_postgres::Row;

use crate::error::{PgError, column, monitor_id};
use crate::{PgStore, sql_limit};

const COLUMNS: &str = "id, monitor_id, started_at, ended_at, cause, proof";

fn decode(row: &Row) -> Result<Incident, PgError> {
    Ok(Incident {
        id: IncidentId(column(row, 0, "incident id")?),
        monitor_id: monitor_id(column(row, 1, "incident monitor")?)?,
        started_at: column(row, 2, "incident started_at")?,
        ended_at: column(row, 3, "incident ended_at")?,
        cause: column(row, 4, "incident cause")?,
        proof: column(row, 5, "incident proof")?,
    })
}

#[async_trait]
impl IncidentStore for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(monitor_id = %incident.monitor_id, incident_id = %incident.id))]
    async fn open_incident(&self, incident: &Incident) -> StoreResult<()> {
        let run = async {
            let client = self.client().await?;
            // A redelivered open neither duplicates nor reopens: the first write stands.
            let stmt = client
                .prepare_cached(&format!(
                    "INSERT INTO incidents ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (id) DO NOTHING"
                ))
                .await?;
            client
                .execute(
                    &stmt,
                    &[
                        &incident.id.0,
                        &incident.monitor_id.as_str(),
                        &incident.started_at,
                        &incident.ended_at,
                        &incident.cause,
                        &incident.proof,
                    ],
                )
                .await?;
            Ok::<_, PgError>(())
        };
        Ok(run.await?)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(incident_id = %id, ended_at))]
    async fn close_incident(&self, id: &IncidentId, ended_at: UnixMs) -> StoreResult<()> {
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(
                    "UPDATE incidents SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL",
                )
                .await?;
            Ok::<_, PgError>(client.execute(&stmt, &[&id.0, &ended_at]).await?)
        };
        if run.await? == 0 {
            tracing::debug!("incident already closed or unknown");
        }
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(incident_id = %id))]
    async fn get_incident(&self, id: &IncidentId) -> StoreResult<Option<Incident>> {
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(&format!("SELECT {COLUMNS} FROM incidents WHERE id = $1"))
                .await?;
            client
                .query_opt(&stmt, &[&id.0])
                .await?
                .as_ref()
                .map(decode)
                .transpose()
        };
        Ok(run.await?)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(monitor_id = %monitor, limit))]
    async fn list_incidents(
        &self,
        monitor: &MonitorId,
        limit: usize,
    ) -> StoreResult<Vec<Incident>> {
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM incidents WHERE monitor_id = $1
                     ORDER BY started_at DESC, id DESC LIMIT $2"
                ))
                .await?;
            client
                .query(&stmt, &[&monitor.as_str(), &sql_limit(limit)])
                .await?
                .iter()
                .map(decode)
                .collect::<Result<Vec<_>, PgError>>()
        };
        Ok(run.await?)
    }
}
