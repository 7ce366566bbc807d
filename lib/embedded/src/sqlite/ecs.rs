//! The ECS ports on SQLite: [`EcsAccountStore`] (watched accounts, with the ECS
//! settings in the `settings` table) and [`EcsSnapshotStore`] (service snapshots and
//! CPU/memory history).

use std::collections::HashMap;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};
use sentinel_core::UnixMs;
use sentinel_core::ecs::{EcsMetric, Health, MetricPoint, ServiceKey, ServiceSnapshot};
use sentinel_store::ecs::{check_metric_points, check_service_key, check_snapshot_batch};
use sentinel_store::{
    EcsAccountRecord, EcsAccountStore, EcsIncident, EcsIncidentStore, EcsSettings,
    EcsSnapshotStore, PreviousHealth, SealedSecret, StoreResult,
};

use super::SqliteStore;
use super::error::{DbError, conflict_as, from_json, to_json};

const ACCOUNT_COLUMNS: &str = "id, name, role_arn, role_account_id, regions, external_id, \
     external_id_key_id, account_id, alias, last_collected_at, last_error, created_at, updated_at";
const ROLE_TAKEN: &str =
    "this role (or the local account) is already registered, or the id is taken";
/// The `settings` row of the ECS settings.
const SETTINGS_KEY: &str = "ecs";

struct RawAccount {
    id: String,
    name: Option<String>,
    role_arn: Option<String>,
    role_account_id: Option<String>,
    regions: String,
    external_id: Option<Vec<u8>>,
    external_id_key_id: Option<String>,
    account_id: Option<String>,
    alias: Option<String>,
    last_collected_at: Option<UnixMs>,
    last_error: Option<String>,
    created_at: UnixMs,
    updated_at: UnixMs,
}

impl RawAccount {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            name: row.get(1)?,
            role_arn: row.get(2)?,
            role_account_id: row.get(3)?,
            regions: row.get(4)?,
            external_id: row.get(5)?,
            external_id_key_id: row.get(6)?,
            account_id: row.get(7)?,
            alias: row.get(8)?,
            last_collected_at: row.get(9)?,
            last_error: row.get(10)?,
            created_at: row.get(11)?,
            updated_at: row.get(12)?,
        })
    }

    fn decode(self) -> Result<EcsAccountRecord, DbError> {
        let external_id = match (self.external_id, self.external_id_key_id) {
            (Some(ciphertext), Some(key_id)) => Some(SealedSecret { ciphertext, key_id }),
            (None, None) => None,
            _ => {
                return Err(DbError::decode(
                    "ECS account external id",
                    "ciphertext and key id must be both set or both absent",
                ));
            }
        };
        Ok(EcsAccountRecord {
            regions: from_json("ECS account regions", &self.regions)?,
            id: self.id,
            name: self.name,
            role_arn: self.role_arn,
            role_account_id: self.role_account_id,
            external_id,
            account_id: self.account_id,
            alias: self.alias,
            last_collected_at: self.last_collected_at,
            last_error: self.last_error,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

fn metric_name(metric: EcsMetric) -> &'static str {
    match metric {
        EcsMetric::Cpu => "cpu",
        EcsMetric::Memory => "memory",
    }
}

fn parse_health(raw: &str) -> Result<Health, DbError> {
    match raw {
        "healthy" => Ok(Health::Healthy),
        "degraded" => Ok(Health::Degraded),
        "failed" => Ok(Health::Failed),
        other => Err(DbError::decode("ECS service health", format!("{other:?}"))),
    }
}

#[async_trait]
impl EcsAccountStore for SqliteStore {
    #[tracing::instrument(level = "debug", skip_all, fields(ecs_account_id = %account.id))]
    async fn create_ecs_account(&self, account: &EcsAccountRecord) -> StoreResult<()> {
        let a = account.clone();
        let regions = to_json("ECS account regions", &a.regions)?;
        self.write(move |conn| {
            let (cipher, key_id) = match a.external_id {
                Some(sealed) => (Some(sealed.ciphertext), Some(sealed.key_id)),
                None => (None, None),
            };
            conn.prepare_cached(&format!(
                "INSERT INTO aws_accounts ({ACCOUNT_COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
            ))?
            .execute(params![
                a.id,
                a.name,
                a.role_arn,
                a.role_account_id,
                regions,
                cipher,
                key_id,
                a.account_id,
                a.alias,
                a.last_collected_at,
                a.last_error,
                a.created_at,
                a.updated_at,
            ])
            .map_err(conflict_as(ROLE_TAKEN))?;
            Ok(())
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(ecs_account_id = %id))]
    async fn get_ecs_account(&self, id: &str) -> StoreResult<Option<EcsAccountRecord>> {
        let id = id.to_owned();
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {ACCOUNT_COLUMNS} FROM aws_accounts WHERE id = ?1"
            ))?
            .query_row([id], RawAccount::from_row)
            .optional()?
            .map(RawAccount::decode)
            .transpose()
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_ecs_accounts(&self) -> StoreResult<Vec<EcsAccountRecord>> {
        self.read(move |conn| {
            let rows = conn
                .prepare_cached(&format!(
                    "SELECT {ACCOUNT_COLUMNS} FROM aws_accounts ORDER BY created_at, id"
                ))?
                .query_map([], RawAccount::from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().map(RawAccount::decode).collect()
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(ecs_account_id = %account.id))]
    async fn update_ecs_account(&self, account: &EcsAccountRecord) -> StoreResult<bool> {
        let a = account.clone();
        let regions = to_json("ECS account regions", &a.regions)?;
        self.write(move |conn| {
            let (cipher, key_id) = match a.external_id {
                Some(sealed) => (Some(sealed.ciphertext), Some(sealed.key_id)),
                None => (None, None),
            };
            let updated = conn
                .prepare_cached(
                    "UPDATE aws_accounts
                     SET name = ?2, role_arn = ?3, role_account_id = ?4, regions = ?5,
                         external_id = ?6, external_id_key_id = ?7, updated_at = ?8
                     WHERE id = ?1",
                )?
                .execute(params![
                    a.id,
                    a.name,
                    a.role_arn,
                    a.role_account_id,
                    regions,
                    cipher,
                    key_id,
                    a.updated_at,
                ])
                .map_err(conflict_as(ROLE_TAKEN))?;
            Ok(updated > 0)
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(ecs_account_id = %id))]
    async fn delete_ecs_account(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_owned();
        self.write(move |conn| {
            let deleted = conn
                .prepare_cached("DELETE FROM aws_accounts WHERE id = ?1")?
                .execute([id])?;
            Ok(deleted > 0)
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(ecs_account_id = %id, at = at, failed = error.is_some()))]
    async fn record_ecs_collection(
        &self,
        id: &str,
        account_id: Option<&str>,
        alias: Option<&str>,
        at: UnixMs,
        error: Option<&str>,
    ) -> StoreResult<bool> {
        let (id, account_id, alias, error) = (
            id.to_owned(),
            account_id.map(str::to_owned),
            alias.map(str::to_owned),
            error.map(str::to_owned),
        );
        self.write(move |conn| {
            // Only the collection's columns: an edit made meanwhile stays.
            let updated = conn
                .prepare_cached(
                    "UPDATE aws_accounts
                     SET account_id = COALESCE(?2, account_id), alias = COALESCE(?3, alias),
                         last_collected_at = ?4, last_error = ?5
                     WHERE id = ?1",
                )?
                .execute(params![id, account_id, alias, at, error])?;
            Ok(updated > 0)
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn ecs_settings(&self) -> StoreResult<EcsSettings> {
        self.read(move |conn| {
            let raw: Option<String> = conn
                .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
                .query_row([SETTINGS_KEY], |r| r.get(0))
                .optional()?;
            match raw {
                Some(raw) => from_json("ECS settings", &raw),
                None => Ok(EcsSettings::default()),
            }
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn set_ecs_settings(&self, settings: &EcsSettings) -> StoreResult<()> {
        let value = to_json("ECS settings", settings)?;
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![SETTINGS_KEY, value])?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl EcsIncidentStore for SqliteStore {
    #[tracing::instrument(level = "debug", skip_all, fields(id = %incident.id))]
    async fn open_ecs_incident(&self, incident: &EcsIncident) -> StoreResult<EcsIncident> {
        check_service_key(&incident.key).map_err(DbError::Invalid)?;
        if incident.ended_at.is_some() {
            return Err(DbError::Invalid("an incident to open must not have ended".into()).into());
        }
        let (incident, json) = (incident.clone(), to_json("ECS incident", incident)?);
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let k = &incident.key;
            let open: Option<String> = tx
                .prepare_cached(
                    "SELECT incident FROM ecs_incidents
                     WHERE account_id = ?1 AND region = ?2 AND cluster = ?3 AND service = ?4
                       AND ended_at IS NULL",
                )?
                .query_row(params![k.account_id, k.region, k.cluster, k.service], |r| {
                    r.get(0)
                })
                .optional()?;
            if let Some(raw) = open {
                return from_json("ECS incident", &raw);
            }
            tx.prepare_cached(
                "INSERT INTO ecs_incidents
                     (id, account_id, region, cluster, service, started_at, ended_at, incident)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7)",
            )?
            .execute(params![
                incident.id,
                k.account_id,
                k.region,
                k.cluster,
                k.service,
                incident.started_at,
                json
            ])
            .map_err(conflict_as("an ECS incident with this id exists"))?;
            tx.commit()?;
            Ok(incident)
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(cluster = %key.cluster, service = %key.service))]
    async fn close_ecs_incident(
        &self,
        key: &ServiceKey,
        at: UnixMs,
    ) -> StoreResult<Option<EcsIncident>> {
        check_service_key(key).map_err(DbError::Invalid)?;
        let key = key.clone();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let open: Option<String> = tx
                .prepare_cached(
                    "SELECT incident FROM ecs_incidents
                     WHERE account_id = ?1 AND region = ?2 AND cluster = ?3 AND service = ?4
                       AND ended_at IS NULL AND started_at <= ?5",
                )?
                .query_row(
                    params![key.account_id, key.region, key.cluster, key.service, at],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(raw) = open else { return Ok(None) };
            let mut incident: EcsIncident = from_json("ECS incident", &raw)?;
            incident.ended_at = Some(at);
            tx.prepare_cached(
                "UPDATE ecs_incidents SET ended_at = ?2, incident = ?3 WHERE id = ?1",
            )?
            .execute(params![
                incident.id,
                at,
                to_json("ECS incident", &incident)?
            ])?;
            tx.commit()?;
            Ok(Some(incident))
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(limit))]
    async fn list_ecs_incidents(&self, limit: usize) -> StoreResult<Vec<EcsIncident>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |conn| {
            let rows = conn
                .prepare_cached(
                    "SELECT incident FROM ecs_incidents
                     ORDER BY started_at DESC, id DESC LIMIT ?1",
                )?
                .query_map(params![limit], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            rows.iter()
                .map(|raw| from_json("ECS incident", raw))
                .collect()
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn open_ecs_incidents(&self) -> StoreResult<Vec<EcsIncident>> {
        self.read(move |conn| {
            let rows = conn
                .prepare_cached(
                    "SELECT incident FROM ecs_incidents WHERE ended_at IS NULL
                     ORDER BY account_id, region, cluster, service",
                )?
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            rows.iter()
                .map(|raw| from_json("ECS incident", raw))
                .collect()
        })
        .await
    }
}

#[async_trait]
impl EcsSnapshotStore for SqliteStore {
    #[tracing::instrument(level = "debug", skip_all, fields(%account_id, %region, services = snapshots.len(), at = at))]
    async fn replace_snapshots(
        &self,
        account_id: &str,
        region: &str,
        snapshots: &[ServiceSnapshot],
        at: UnixMs,
    ) -> StoreResult<Vec<PreviousHealth>> {
        check_snapshot_batch(account_id, region, snapshots).map_err(DbError::Invalid)?;
        let rows = snapshots
            .iter()
            .map(|s| Ok((s.key.clone(), s.health, to_json("ECS snapshot", s)?)))
            .collect::<Result<Vec<_>, DbError>>()?;
        let (account_id, region) = (account_id.to_owned(), region.to_owned());
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // (cluster, service) -> (health, replaced_at) of what is stored now.
            let mut stored: HashMap<(String, String), (String, i64)> = HashMap::new();
            {
                let mut select = tx.prepare_cached(
                    "SELECT cluster, service, health, replaced_at FROM ecs_snapshots
                     WHERE account_id = ?1 AND region = ?2",
                )?;
                let found = select.query_map(params![account_id, region], |r| {
                    Ok(((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?)))
                })?;
                for row in found {
                    let (key, value) = row?;
                    stored.insert(key, value);
                }
            }
            let mut previous = Vec::with_capacity(rows.len());
            {
                let mut upsert = tx.prepare_cached(
                    "INSERT INTO ecs_snapshots
                         (account_id, region, cluster, service, health, replaced_at, snapshot)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (account_id, region, cluster, service) DO UPDATE
                     SET health = excluded.health, replaced_at = excluded.replaced_at,
                         snapshot = excluded.snapshot",
                )?;
                for (key, health, json) in rows {
                    let before = stored.remove(&(key.cluster.clone(), key.service.clone()));
                    let before_health = match before {
                        // Written by a later collection: leave it.
                        Some((_, replaced_at)) if replaced_at > at => continue,
                        Some((health, _)) => Some(parse_health(&health)?),
                        None => None,
                    };
                    upsert.execute(params![
                        key.account_id,
                        key.region,
                        key.cluster,
                        key.service,
                        health.as_str(),
                        at,
                        json,
                    ])?;
                    previous.push((key, before_health));
                }
            }
            {
                // Services this collection did not see are gone, unless a later one did.
                let mut delete = tx.prepare_cached(
                    "DELETE FROM ecs_snapshots
                     WHERE account_id = ?1 AND region = ?2 AND cluster = ?3 AND service = ?4
                       AND replaced_at <= ?5",
                )?;
                for (cluster, service) in stored.into_keys() {
                    delete.execute(params![account_id, region, cluster, service, at])?;
                }
            }
            tx.commit()?;
            Ok(previous)
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_snapshots(&self) -> StoreResult<Vec<ServiceSnapshot>> {
        self.read(move |conn| {
            let rows = conn
                .prepare_cached(
                    "SELECT snapshot FROM ecs_snapshots
                     ORDER BY account_id, region, cluster, service",
                )?
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            rows.iter()
                .map(|raw| from_json("ECS snapshot", raw))
                .collect()
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(cluster = %key.cluster, service = %key.service))]
    async fn get_snapshot(&self, key: &ServiceKey) -> StoreResult<Option<ServiceSnapshot>> {
        let key = key.clone();
        self.read(move |conn| {
            conn.prepare_cached(
                "SELECT snapshot FROM ecs_snapshots
                 WHERE account_id = ?1 AND region = ?2 AND cluster = ?3 AND service = ?4",
            )?
            .query_row(
                params![key.account_id, key.region, key.cluster, key.service],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .map(|raw| from_json("ECS snapshot", &raw))
            .transpose()
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(cluster = %key.cluster, service = %key.service, ?metric, points = points.len()))]
    async fn append_metrics(
        &self,
        key: &ServiceKey,
        metric: EcsMetric,
        points: &[MetricPoint],
    ) -> StoreResult<()> {
        check_metric_points(key, points).map_err(DbError::Invalid)?;
        if points.is_empty() {
            return Ok(());
        }
        let (key, points) = (key.clone(), points.to_vec());
        self.write(move |conn| {
            let tx = conn.transaction()?;
            {
                // Writes are cheap here: every point is upserted, in input order, so
                // the last point of a period wins.
                let mut upsert = tx.prepare_cached(
                    "INSERT INTO ecs_metrics
                         (account_id, region, cluster, service, metric, at, average, maximum)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (account_id, region, cluster, service, metric, at) DO UPDATE
                     SET average = excluded.average, maximum = excluded.maximum",
                )?;
                for p in &points {
                    upsert.execute(params![
                        key.account_id,
                        key.region,
                        key.cluster,
                        key.service,
                        metric_name(metric),
                        p.at,
                        p.average,
                        p.maximum,
                    ])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(cluster = %key.cluster, service = %key.service, ?metric, from = from, to = to))]
    async fn metrics(
        &self,
        key: &ServiceKey,
        metric: EcsMetric,
        from: UnixMs,
        to: UnixMs,
    ) -> StoreResult<Vec<MetricPoint>> {
        check_service_key(key).map_err(DbError::Invalid)?;
        let key = key.clone();
        self.read(move |conn| {
            let points = conn
                .prepare_cached(
                    "SELECT at, average, maximum FROM ecs_metrics
                     WHERE account_id = ?1 AND region = ?2 AND cluster = ?3 AND service = ?4
                       AND metric = ?5 AND at >= ?6 AND at < ?7
                     ORDER BY at",
                )?
                .query_map(
                    params![
                        key.account_id,
                        key.region,
                        key.cluster,
                        key.service,
                        metric_name(metric),
                        from,
                        to
                    ],
                    |r| {
                        Ok(MetricPoint {
                            at: r.get(0)?,
                            average: r.get(1)?,
                            maximum: r.get(2)?,
                        })
                    },
                )?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(points)
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(before = before, pruned))]
    async fn prune_metrics(&self, before: UnixMs) -> StoreResult<u64> {
        let pruned = self
            .write(move |conn| {
                let n = conn
                    .prepare_cached("DELETE FROM ecs_metrics WHERE at < ?1")?
                    .execute([before])?;
                Ok(n as u64)
            })
            .await?;
        tracing::Span::current().record("pruned", pruned);
        Ok(pruned)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(%account_id))]
    async fn delete_account_data(&self, account_id: &str) -> StoreResult<()> {
        let account_id = account_id.to_owned();
        self.write(move |conn| {
            let tx = conn.transaction()?;
            tx.prepare_cached("DELETE FROM ecs_snapshots WHERE account_id = ?1")?
                .execute([&account_id])?;
            tx.prepare_cached("DELETE FROM ecs_metrics WHERE account_id = ?1")?
                .execute([&account_id])?;
            tx.commit()?;
            Ok(())
        })
        .await
    }
}
