//! [`ChannelStore`] on SQLite: names are unique per owner; the secret is an opaque
//! ciphertext stored as a BLOB.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params};
use sentinel_core::UnixMs;
use sentinel_core::account::UserId;
use sentinel_store::{ChannelRecord, ChannelStore, StoreResult};

use super::SqliteStore;
use super::error::{DbError, conflict_as, from_json, to_json, user_id};

const COLUMNS: &str = "id, owner, name, kind, config, secret, key_id, created_at, updated_at";
const NAME_TAKEN: &str = "this owner already has a channel with this name (or the id is taken)";

struct RawChannel {
    id: String,
    owner: String,
    name: String,
    kind: String,
    config: String,
    secret: Vec<u8>,
    key_id: String,
    created_at: UnixMs,
    updated_at: UnixMs,
}

impl RawChannel {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            owner: row.get(1)?,
            name: row.get(2)?,
            kind: row.get(3)?,
            config: row.get(4)?,
            secret: row.get(5)?,
            key_id: row.get(6)?,
            created_at: row.get(7)?,
            updated_at: row.get(8)?,
        })
    }

    fn decode(self) -> Result<ChannelRecord, DbError> {
        Ok(ChannelRecord {
            config: from_json("channel config", &self.config)?,
            id: self.id,
            owner: user_id(self.owner),
            name: self.name,
            kind: self.kind,
            secret: self.secret,
            key_id: self.key_id,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[async_trait]
impl ChannelStore for SqliteStore {
    #[tracing::instrument(level = "debug", skip_all, fields(channel_id = %channel.id, owner = %channel.owner))]
    async fn create_channel(&self, channel: &ChannelRecord) -> StoreResult<()> {
        let c = channel.clone();
        let config = to_json("channel config", &c.config)?;
        self.write(move |conn| {
            conn.prepare_cached(&format!(
                "INSERT INTO channels ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
            ))?
            .execute(params![
                c.id,
                c.owner.0,
                c.name,
                c.kind,
                config,
                c.secret,
                c.key_id,
                c.created_at,
                c.updated_at,
            ])
            .map_err(conflict_as(NAME_TAKEN))?;
            Ok(())
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(channel_id = %id))]
    async fn get_channel(&self, id: &str) -> StoreResult<Option<ChannelRecord>> {
        let id = id.to_owned();
        self.read(move |conn| {
            conn.prepare_cached(&format!("SELECT {COLUMNS} FROM channels WHERE id = ?1"))?
                .query_row([id], RawChannel::from_row)
                .optional()?
                .map(RawChannel::decode)
                .transpose()
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(owner = ?owner.map(|o| &o.0)))]
    async fn list_channels(&self, owner: Option<&UserId>) -> StoreResult<Vec<ChannelRecord>> {
        let owner = owner.map(|o| o.0.clone());
        self.read(move |conn| {
            let rows = match owner {
                Some(owner) => conn
                    .prepare_cached(&format!(
                        "SELECT {COLUMNS} FROM channels WHERE owner = ?1 ORDER BY name, id"
                    ))?
                    .query_map([owner], RawChannel::from_row)?
                    .collect::<Result<Vec<_>, _>>()?,
                None => conn
                    .prepare_cached(&format!(
                        "SELECT {COLUMNS} FROM channels ORDER BY name, owner, id"
                    ))?
                    .query_map([], RawChannel::from_row)?
                    .collect::<Result<Vec<_>, _>>()?,
            };
            rows.into_iter().map(RawChannel::decode).collect()
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(channel_id = %channel.id))]
    async fn update_channel(&self, channel: &ChannelRecord) -> StoreResult<bool> {
        let c = channel.clone();
        let config = to_json("channel config", &c.config)?;
        self.write(move |conn| {
            let updated = conn
                .prepare_cached(
                    "UPDATE channels
                     SET owner = ?2, name = ?3, kind = ?4, config = ?5, secret = ?6,
                         key_id = ?7, created_at = ?8, updated_at = ?9
                     WHERE id = ?1",
                )?
                .execute(params![
                    c.id,
                    c.owner.0,
                    c.name,
                    c.kind,
                    config,
                    c.secret,
                    c.key_id,
                    c.created_at,
                    c.updated_at,
                ])
                .map_err(conflict_as(NAME_TAKEN))?;
            Ok(updated > 0)
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(channel_id = %id))]
    async fn delete_channel(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_owned();
        self.write(move |conn| {
            let deleted = conn
                .prepare_cached("DELETE FROM channels WHERE id = ?1")?
                .execute([id])?;
            Ok(deleted > 0)
        })
        .await
    }
}
