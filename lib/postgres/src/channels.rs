//! [`ChannelStore`] on PostgreSQL: names are unique per owner; the config is JSONB and
//! the secret an opaque ciphertext (`bytea`).

use async_trait::async_trait;
use sentinel_core::account::UserId;
use sentinel_store::{ChannelRecord, ChannelStore, StoreResult};
use tokio_postgres::Row;

use crate::PgStore;
use crate::error::{PgError, column, conflict_as};

const COLUMNS: &str = "id, owner, name, kind, config, secret, key_id, created_at, updated_at";
const NAME_TAKEN: &str = "this owner already has a channel with this name (or the id is taken)";

fn decode(row: &Row) -> Result<ChannelRecord, PgError> {
    Ok(ChannelRecord {
        id: column(row, 0, "channel id")?,
        owner: UserId(column(row, 1, "channel owner")?),
        name: column(row, 2, "channel name")?,
        kind: column(row, 3, "channel kind")?,
        config: column(row, 4, "channel config")?,
        secret: column(row, 5, "channel secret")?,
        key_id: column(row, 6, "channel key id")?,
        created_at: column(row, 7, "channel created_at")?,
        updated_at: column(row, 8, "channel updated_at")?,
    })
}

#[async_trait]
impl ChannelStore for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(channel_id = %channel.id, owner = %channel.owner))]
    async fn create_channel(&self, channel: &ChannelRecord) -> StoreResult<()> {
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(&format!(
                    "INSERT INTO alert_channels ({COLUMNS})
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                ))
                .await?;
            client
                .execute(
                    &stmt,
                    &[
                        &channel.id,
                        &channel.owner.0,
                        &channel.name,
                        &channel.kind,
                        &channel.config,
                        &channel.secret,
                        &channel.key_id,
                        &channel.created_at,
                        &channel.updated_at,
                    ],
                )
                .await
                .map_err(conflict_as(NAME_TAKEN))?;
            Ok::<_, PgError>(())
        };
        Ok(run.await?)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(channel_id = %id))]
    async fn get_channel(&self, id: &str) -> StoreResult<Option<ChannelRecord>> {
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM alert_channels WHERE id = $1"
                ))
                .await?;
            client
                .query_opt(&stmt, &[&id])
                .await?
                .as_ref()
                .map(decode)
                .transpose()
        };
        Ok(run.await?)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(owner = ?owner.map(|o| &o.0)))]
    async fn list_channels(&self, owner: Option<&UserId>) -> StoreResult<Vec<ChannelRecord>> {
        let run = async {
            let client = self.client().await?;
            let owner = owner.map(|o| o.0.as_str());
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM alert_channels
                     WHERE $1::text IS NULL OR owner = $1
                     ORDER BY name, owner, id"
                ))
                .await?;
            client
                .query(&stmt, &[&owner])
                .await?
                .iter()
                .map(decode)
                .collect::<Result<Vec<_>, PgError>>()
        };
        Ok(run.await?)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(channel_id = %channel.id))]
    async fn update_channel(&self, channel: &ChannelRecord) -> StoreResult<bool> {
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(
                    "UPDATE alert_channels
                     SET owner = $2, name = $3, kind = $4, config = $5, secret = $6,
                         key_id = $7, created_at = $8, updated_at = $9
                     WHERE id = $1",
                )
                .await?;
            let updated = client
                .execute(
                    &stmt,
                    &[
                        &channel.id,
                        &channel.owner.0,
                        &channel.name,
                        &channel.kind,
                        &channel.config,
                        &channel.secret,
                        &channel.key_id,
                        &channel.created_at,
                        &channel.updated_at,
                    ],
                )
                .await
                .map_err(conflict_as(NAME_TAKEN))?;
            Ok::<_, PgError>(updated > 0)
        };
        Ok(run.await?)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(channel_id = %id))]
    async fn delete_channel(&self, id: &str) -> StoreResult<bool> {
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached("DELETE FROM alert_channels WHERE id = $1")
                .await?;
            Ok::<_, PgError>(client.execute(&stmt, &[&id]).await? > 0)
        };
        Ok(run.await?)
    }
}
