//! [`AlertLedger`] on PostgreSQL: the key's primary key decides who claims
//! (`INSERT … ON CONFLICT DO NOTHING`: exactly one concurrent insert inserts).

use async_trait::async_trait;
use sentinel_core::UnixMs;
use sentinel_store::{AlertLedger, Delivery, DeliveryStatus, StoreResult};
use tokio_postgres::Row;

use crate::error::{PgError, column, monitor_id};
use crate::{PgStore, sql_limit};

const COLUMNS: &str =
    "key, channel, monitor_id, event, status, attempts, last_error, created_at, updated_at";

fn decode(row: &Row) -> Result<Delivery, PgError> {
    let status_raw: String = column(row, 4, "delivery status")?;
    let attempts: i64 = column(row, 5, "delivery attempts")?;
    Ok(Delivery {
        key: column(row, 0, "delivery key")?,
        channel: column(row, 1, "delivery channel")?,
        monitor_id: monitor_id(column(row, 2, "delivery monitor")?)?,
        event: column(row, 3, "delivery event")?,
        status: status(&status_raw)?,
        attempts: u32::try_from(attempts).map_err(|_| {
            PgError::decode("delivery attempts", format!("{attempts} is out of range"))
        })?,
        last_error: column(row, 6, "delivery last_error")?,
        created_at: column(row, 7, "delivery created_at")?,
        updated_at: column(row, 8, "delivery updated_at")?,
    })
}

fn status(raw: &str) -> Result<DeliveryStatus, PgError> {
    [
        DeliveryStatus::Pending,
        DeliveryStatus::Sent,
        DeliveryStatus::Failed,
    ]
    .into_iter()
    .find(|s| s.as_str() == raw)
    .ok_or_else(|| PgError::decode("delivery status", format!("{raw:?} is unknown")))
}

#[async_trait]
impl AlertLedger for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(key = %delivery.key, monitor_id = %delivery.monitor_id))]
    async fn claim(&self, delivery: &Delivery) -> StoreResult<bool> {
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(&format!(
                    "INSERT INTO alert_deliveries ({COLUMNS})
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                     ON CONFLICT (key) DO NOTHING"
                ))
                .await?;
            let inserted = client
                .execute(
                    &stmt,
                    &[
                        &delivery.key,
                        &delivery.channel,
                        &delivery.monitor_id.as_str(),
                        &delivery.event,
                        &delivery.status.as_str(),
                        &i64::from(delivery.attempts),
                        &delivery.last_error,
                        &delivery.created_at,
                        &delivery.updated_at,
                    ],
                )
                .await?;
            Ok::<_, PgError>(inserted == 1)
        };
        Ok(run.await?)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(key, status = status.as_str(), attempts))]
    async fn finish(
        &self,
        key: &str,
        status: DeliveryStatus,
        attempts: u32,
        last_error: Option<&str>,
        now: UnixMs,
    ) -> StoreResult<()> {
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(
                    "UPDATE alert_deliveries
                     SET status = $2, attempts = $3, last_error = $4, updated_at = $5
                     WHERE key = $1",
                )
                .await?;
            Ok::<_, PgError>(
                client
                    .execute(
                        &stmt,
                        &[
                            &key,
                            &status.as_str(),
                            &i64::from(attempts),
                            &last_error,
                            &now,
                        ],
                    )
                    .await?,
            )
        };
        if run.await? == 0 {
            tracing::warn!("finish of a delivery that was never claimed");
        }
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(key))]
    async fn get_delivery(&self, key: &str) -> StoreResult<Option<Delivery>> {
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM alert_deliveries WHERE key = $1"
                ))
                .await?;
            client
                .query_opt(&stmt, &[&key])
                .await?
                .as_ref()
                .map(decode)
                .transpose()
        };
        Ok(run.await?)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(limit))]
    async fn list_deliveries(&self, limit: usize) -> StoreResult<Vec<Delivery>> {
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM alert_deliveries
                     ORDER BY created_at DESC, key DESC LIMIT $1"
                ))
                .await?;
            client
                .query(&stmt, &[&sql_limit(limit)])
                .await?
                .iter()
                .map(decode)
                .collect::<Result<Vec<_>, PgError>>()
        };
        Ok(run.await?)
    }
}
