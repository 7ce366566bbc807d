//! [`ApiKeyStore`] on PostgreSQL: keys are found by the hash of the key, never the key.

use async_trait::async_trait;
use sentinel_core::UnixMs;
use sentinel_core::account::{KeyScope, UserId};
use sentinel_store::{ApiKey, ApiKeyStore, StoreResult};
use tokio_postgres::Row;

use crate::PgStore;
use crate::error::{PgError, column, conflict_as};

const COLUMNS: &str =
    "id, user_id, name, prefix, key_hash, scope, created_at, expires_at, last_used_at";

fn decode(row: &Row) -> Result<ApiKey, PgError> {
    let scope: String = column(row, 5, "API key scope")?;
    Ok(ApiKey {
        id: column(row, 0, "API key id")?,
        user_id: UserId(column(row, 1, "API key user")?),
        name: column(row, 2, "API key name")?,
        prefix: column(row, 3, "API key prefix")?,
        key_hash: column(row, 4, "API key hash")?,
        scope: KeyScope::parse(&scope)
            .ok_or_else(|| PgError::decode("API key scope", format!("{scope:?} is unknown")))?,
        created_at: column(row, 6, "API key created_at")?,
        expires_at: column(row, 7, "API key expires_at")?,
        last_used_at: column(row, 8, "API key last_used_at")?,
    })
}

#[async_trait]
impl ApiKeyStore for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(key_id = %key.id, user_id = %key.user_id))]
    async fn create_key(&self, key: &ApiKey) -> StoreResult<()> {
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(&format!(
                    "INSERT INTO api_keys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                ))
                .await?;
            client
                .execute(
                    &stmt,
                    &[
                        &key.id,
                        &key.user_id.0,
                        &key.name,
                        &key.prefix,
                        &key.key_hash,
                        &key.scope.as_str(),
                        &key.created_at,
                        &key.expires_at,
                        &key.last_used_at,
                    ],
                )
                .await
                .map_err(conflict_as(
                    "an API key with this id or hash already exists",
                ))?;
            Ok::<_, PgError>(())
        };
        Ok(run.await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn find_key_by_hash(&self, key_hash: &str) -> StoreResult<Option<ApiKey>> {
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM api_keys WHERE key_hash = $1"
                ))
                .await?;
            client
                .query_opt(&stmt, &[&key_hash])
                .await?
                .as_ref()
                .map(decode)
                .transpose()
        };
        Ok(run.await?)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user_id = %user_id))]
    async fn list_keys(&self, user_id: &UserId) -> StoreResult<Vec<ApiKey>> {
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM api_keys WHERE user_id = $1
                     ORDER BY created_at DESC, id DESC"
                ))
                .await?;
            client
                .query(&stmt, &[&user_id.0])
                .await?
                .iter()
                .map(decode)
                .collect::<Result<Vec<_>, PgError>>()
        };
        Ok(run.await?)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(key_id = %id))]
    async fn delete_key(&self, id: &str, user_id: Option<&UserId>) -> StoreResult<bool> {
        let run = async {
            let client = self.client().await?;
            let owner = user_id.map(|u| u.0.as_str());
            let stmt = client
                .prepare_cached(
                    "DELETE FROM api_keys WHERE id = $1 AND ($2::text IS NULL OR user_id = $2)",
                )
                .await?;
            Ok::<_, PgError>(client.execute(&stmt, &[&id, &owner]).await? > 0)
        };
        Ok(run.await?)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(key_id = %id))]
    async fn touch_key(&self, id: &str, now: UnixMs) -> StoreResult<()> {
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached("UPDATE api_keys SET last_used_at = $2 WHERE id = $1")
                .await?;
            client.execute(&stmt, &[&id, &now]).await?;
            Ok::<_, PgError>(())
        };
        Ok(run.await?)
    }
}
