//! [`AlertLedger`] on SQLite: the key's primary-key constraint decides who claims.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params};
use sentinel_core::UnixMs;
use sentinel_store::{AlertLedger, Delivery, DeliveryStatus, StoreResult};

use super::error::{DbError, monitor_id, narrow};
use super::{SqliteStore, sql_limit};

const COLUMNS: &str =
    "key, channel, monitor_id, event, status, attempts, last_error, created_at, updated_at";

struct RawDelivery {
    key: String,
    channel: String,
    monitor_id: String,
    event: String,
    status: String,
    attempts: i64,
    last_error: Option<String>,
    created_at: UnixMs,
    updated_at: UnixMs,
}

impl RawDelivery {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            key: row.get(0)?,
            channel: row.get(1)?,
            monitor_id: row.get(2)?,
            event: row.get(3)?,
            status: row.get(4)?,
            attempts: row.get(5)?,
            last_error: row.get(6)?,
            created_at: row.get(7)?,
            updated_at: row.get(8)?,
        })
    }

    fn decode(self) -> Result<Delivery, DbError> {
        Ok(Delivery {
            key: self.key,
            channel: self.channel,
            monitor_id: monitor_id(self.monitor_id)?,
            event: self.event,
            status: status(&self.status)?,
            attempts: narrow("delivery attempts", self.attempts)?,
            last_error: self.last_error,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

fn status(raw: &str) -> Result<DeliveryStatus, DbError> {
    [
        DeliveryStatus::Pending,
        DeliveryStatus::Sent,
        DeliveryStatus::Failed,
    ]
    .into_iter()
    .find(|s| s.as_str() == raw)
    .ok_or_else(|| DbError::decode("delivery status", format!("{raw:?} is unknown")))
}

#[async_trait]
impl AlertLedger for SqliteStore {
    #[tracing::instrument(level = "debug", skip_all, fields(key = %delivery.key, monitor_id = %delivery.monitor_id))]
    async fn claim(&self, delivery: &Delivery) -> StoreResult<bool> {
        let d = delivery.clone();
        self.write(move |conn| {
            let inserted = conn
                .prepare_cached(&format!(
                    "INSERT INTO deliveries ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                     ON CONFLICT (key) DO NOTHING"
                ))?
                .execute(params![
                    d.key,
                    d.channel,
                    d.monitor_id.as_str(),
                    d.event,
                    d.status.as_str(),
                    d.attempts,
                    d.last_error,
                    d.created_at,
                    d.updated_at,
                ])?;
            Ok(inserted == 1)
        })
        .await
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
        let key = key.to_owned();
        let last_error = last_error.map(str::to_owned);
        let updated = self
            .write(move |conn| {
                Ok(conn
                    .prepare_cached(
                        "UPDATE deliveries
                         SET status = ?2, attempts = ?3, last_error = ?4, updated_at = ?5
                         WHERE key = ?1",
                    )?
                    .execute(params![key, status.as_str(), attempts, last_error, now])?)
            })
            .await?;
        if updated == 0 {
            tracing::warn!("finish of a delivery that was never claimed");
        }
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(key))]
    async fn get_delivery(&self, key: &str) -> StoreResult<Option<Delivery>> {
        let key = key.to_owned();
        self.read(move |conn| {
            conn.prepare_cached(&format!("SELECT {COLUMNS} FROM deliveries WHERE key = ?1"))?
                .query_row([key], RawDelivery::from_row)
                .optional()?
                .map(RawDelivery::decode)
                .transpose()
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(limit))]
    async fn list_deliveries(&self, limit: usize) -> StoreResult<Vec<Delivery>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM deliveries ORDER BY created_at DESC, key DESC LIMIT ?1"
            ))?;
            let rows = stmt
                .query_map([sql_limit(limit)], RawDelivery::from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().map(RawDelivery::decode).collect()
        })
        .await
    }
}
