//! [`MonitorStore`] and [`MonitorRecords`] on PostgreSQL: one row per monitor, the spec
//! as JSONB beside its owner, origin and timestamps. `upsert_monitor` (the YAML file)
//! makes new monitors `config` ones and leaves the owner, origin and `created_at` of
//! existing ones alone.

use async_trait::async_trait;
use sentinel_core::account::UserId;
use sentinel_core::{MonitorId, MonitorSpec};
use sentinel_store::{MonitorOrigin, MonitorRecord, MonitorRecords, MonitorStore, StoreResult};
use tokio_postgres::Row;

use crate::error::{PgError, column, from_json, to_json};
use crate::{PgStore, now_ms};

const COLUMNS: &str = "spec, owner, origin, created_at, updated_at";

fn origin_str(origin: MonitorOrigin) -> &'static str {
    match origin {
        MonitorOrigin::Config => "config",
        MonitorOrigin::Api => "api",
    }
}

fn decode_spec(row: &Row) -> Result<MonitorSpec, PgError> {
    from_json("monitor", column(row, 0, "monitor spec")?)
}

fn decode_record(row: &Row) -> Result<MonitorRecord, PgError> {
    let origin: String = column(row, 2, "monitor origin")?;
    let origin = match origin.as_str() {
        "config" => MonitorOrigin::Config,
        "api" => MonitorOrigin::Api,
        other => {
            return Err(PgError::decode(
                "monitor origin",
                format!("{other:?} is unknown"),
            ));
        }
    };
    Ok(MonitorRecord {
        spec: decode_spec(row)?,
        owner: column::<Option<String>>(row, 1, "monitor owner")?.map(UserId),
        origin,
        created_at: column(row, 3, "monitor created_at")?,
        updated_at: column(row, 4, "monitor updated_at")?,
    })
}

#[async_trait]
impl MonitorStore for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(monitor_id = %spec.id))]
    async fn upsert_monitor(&self, spec: &MonitorSpec) -> StoreResult<()> {
        let run = async {
            let json = to_json("monitor", spec)?;
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(
                    "INSERT INTO monitors (id, spec, owner, origin, created_at, updated_at)
                     VALUES ($1, $2, NULL, 'config', $3, $3)
                     ON CONFLICT (id) DO UPDATE
                     SET spec = excluded.spec, updated_at = excluded.updated_at",
                )
                .await?;
            client
                .execute(&stmt, &[&spec.id.as_str(), &json, &now_ms()])
                .await?;
            Ok::<_, PgError>(())
        };
        Ok(run.await?)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(monitor_id = %id))]
    async fn get_monitor(&self, id: &MonitorId) -> StoreResult<Option<MonitorSpec>> {
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached("SELECT spec FROM monitors WHERE id = $1")
                .await?;
            client
                .query_opt(&stmt, &[&id.as_str()])
                .await?
                .as_ref()
                .map(decode_spec)
                .transpose()
        };
        Ok(run.await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_monitors(&self) -> StoreResult<Vec<MonitorSpec>> {
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached("SELECT spec FROM monitors ORDER BY id")
                .await?;
            client
                .query(&stmt, &[])
                .await?
                .iter()
                .map(decode_spec)
                .collect::<Result<Vec<_>, PgError>>()
        };
        Ok(run.await?)
    }

    /// Deletes the monitor with its incidents and alert deliveries (the parts of its
    /// history this store holds); check results and live state live in other stores,
    /// whose deletes the composition layer adds.
    #[tracing::instrument(level = "debug", skip_all, fields(monitor_id = %id))]
    async fn delete_monitor(&self, id: &MonitorId) -> StoreResult<bool> {
        let run = async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            let monitor = tx
                .prepare_cached("DELETE FROM monitors WHERE id = $1")
                .await?;
            let deleted = tx.execute(&monitor, &[&id.as_str()]).await?;
            // Ids are reused: the next monitor with this id must not inherit these.
            for sql in [
                "DELETE FROM incidents WHERE monitor_id = $1",
                "DELETE FROM alert_deliveries WHERE monitor_id = $1",
            ] {
                let stmt = tx.prepare_cached(sql).await?;
                tx.execute(&stmt, &[&id.as_str()]).await?;
            }
            tx.commit().await?;
            Ok::<_, PgError>(deleted > 0)
        };
        Ok(run.await?)
    }
}

#[async_trait]
impl MonitorRecords for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(monitor_id = %record.spec.id))]
    async fn save_monitor_record(&self, record: &MonitorRecord) -> StoreResult<()> {
        let run = async {
            let json = to_json("monitor", &record.spec)?;
            let owner = record.owner.as_ref().map(|o| o.0.as_str());
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(
                    "INSERT INTO monitors (id, spec, owner, origin, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (id) DO UPDATE
                     SET spec = excluded.spec, owner = excluded.owner,
                         origin = excluded.origin, created_at = excluded.created_at,
                         updated_at = excluded.updated_at",
                )
                .await?;
            client
                .execute(
                    &stmt,
                    &[
                        &record.spec.id.as_str(),
                        &json,
                        &owner,
                        &origin_str(record.origin),
                        &record.created_at,
                        &record.updated_at,
                    ],
                )
                .await?;
            Ok::<_, PgError>(())
        };
        Ok(run.await?)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(monitor_id = %id))]
    async fn get_monitor_record(&self, id: &MonitorId) -> StoreResult<Option<MonitorRecord>> {
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(&format!("SELECT {COLUMNS} FROM monitors WHERE id = $1"))
                .await?;
            client
                .query_opt(&stmt, &[&id.as_str()])
                .await?
                .as_ref()
                .map(decode_record)
                .transpose()
        };
        Ok(run.await?)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(owner = ?owner.map(|o| &o.0)))]
    async fn list_monitor_records(
        &self,
        owner: Option<&UserId>,
    ) -> StoreResult<Vec<MonitorRecord>> {
        let run = async {
            let client = self.client().await?;
            let owner = owner.map(|o| o.0.as_str());
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM monitors WHERE $1::text IS NULL OR owner = $1
                     ORDER BY id"
                ))
                .await?;
            client
                .query(&stmt, &[&owner])
                .await?
                .iter()
                .map(decode_record)
                .collect::<Result<Vec<_>, PgError>>()
        };
        Ok(run.await?)
    }
}
