//! [`ApiKeyStore`] on SQLite: keys found by the hash of the key, never the key.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params};
use sentinel_core::UnixMs;
use sentinel_core::account::{KeyScope, UserId};
use sentinel_store::{ApiKey, ApiKeyStore, StoreResult};

use super::SqliteStore;
use super::error::{DbError, conflict_as, user_id};

const COLUMNS: &str =
    "id, user_id, name, prefix, key_hash, scope, created_at, expires_at, last_used_at";

struct RawKey {
    id: String,
    user_id: String,
    name: String,
    prefix: String,
    key_hash: String,
    scope: String,
    created_at: UnixMs,
    expires_at: Option<UnixMs>,
    last_used_at: Option<UnixMs>,
}

impl RawKey {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            user_id: row.get(1)?,
            name: row.get(2)?,
            prefix: row.get(3)?,
            key_hash: row.get(4)?,
            scope: row.get(5)?,
            created_at: row.get(6)?,
            expires_at: row.get(7)?,
            last_used_at: row.get(8)?,
        })
    }

    fn decode(self) -> Result<ApiKey, DbError> {
        Ok(ApiKey {
            scope: KeyScope::parse(&self.scope).ok_or_else(|| {
                DbError::decode("API key scope", format!("{:?} is unknown", self.scope))
            })?,
            id: self.id,
            user_id: user_id(self.user_id),
            name: self.name,
            prefix: self.prefix,
            key_hash: self.key_hash,
            created_at: self.created_at,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
        })
    }
}

#[async_trait]
impl ApiKeyStore for SqliteStore {
    #[tracing::instrument(level = "debug", skip_all, fields(key_id = %key.id, user_id = %key.user_id))]
    async fn create_key(&self, key: &ApiKey) -> StoreResult<()> {
        let k = key.clone();
        self.write(move |conn| {
            conn.prepare_cached(&format!(
                "INSERT INTO api_keys ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
            ))?
            .execute(params![
                k.id,
                k.user_id.0,
                k.name,
                k.prefix,
                k.key_hash,
                k.scope.as_str(),
                k.created_at,
                k.expires_at,
                k.last_used_at,
            ])
            .map_err(conflict_as(
                "an API key with this id or hash already exists",
            ))?;
            Ok(())
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn find_key_by_hash(&self, key_hash: &str) -> StoreResult<Option<ApiKey>> {
        let key_hash = key_hash.to_owned();
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM api_keys WHERE key_hash = ?1"
            ))?
            .query_row([key_hash], RawKey::from_row)
            .optional()?
            .map(RawKey::decode)
            .transpose()
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user_id = %user_id))]
    async fn list_keys(&self, user_id: &UserId) -> StoreResult<Vec<ApiKey>> {
        let id = user_id.0.clone();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM api_keys WHERE user_id = ?1
                 ORDER BY created_at DESC, id DESC"
            ))?;
            let rows = stmt
                .query_map([id], RawKey::from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().map(RawKey::decode).collect()
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(key_id = %id))]
    async fn delete_key(&self, id: &str, user_id: Option<&UserId>) -> StoreResult<bool> {
        let id = id.to_owned();
        let owner = user_id.map(|u| u.0.clone());
        self.write(move |conn| {
            let deleted = conn
                .prepare_cached(
                    "DELETE FROM api_keys WHERE id = ?1 AND (?2 IS NULL OR user_id = ?2)",
                )?
                .execute(params![id, owner])?;
            Ok(deleted > 0)
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(key_id = %id))]
    async fn touch_key(&self, id: &str, now: UnixMs) -> StoreResult<()> {
        let id = id.to_owned();
        self.write(move |conn| {
            // Never moves back: concurrent requests may finish out of order.
            conn.prepare_cached(
                "UPDATE api_keys SET last_used_at = MAX(COALESCE(last_used_at, ?2), ?2)
                 WHERE id = ?1",
            )?
            .execute(params![id, now])?;
            Ok(())
        })
        .await
    }
}
