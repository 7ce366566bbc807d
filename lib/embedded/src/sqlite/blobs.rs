//! [`BlobStore`] on SQLite: small files (CSV exports) as rows. Keys follow the same
//! rules as the folder store, so a key that works here works there.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use sentinel_store::{BlobStore, StoreResult};

use super::SqliteStore;
use super::error::DbError;
use sentinel_store::accounts::{
    check_blob_content_type as check_content_type, check_blob_key as check_key,
};

#[async_trait]
impl BlobStore for SqliteStore {
    #[tracing::instrument(level = "debug", skip_all, fields(key, bytes = bytes.len()))]
    async fn put_blob(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> StoreResult<()> {
        check_key(key).map_err(DbError::Invalid)?;
        check_content_type(content_type).map_err(DbError::Invalid)?;
        let key = key.to_owned();
        let content_type = content_type.to_owned();
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO blobs (key, content_type, bytes) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE
                 SET content_type = excluded.content_type, bytes = excluded.bytes",
            )?
            .execute(params![key, content_type, bytes])?;
            Ok(())
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(key))]
    async fn get_blob(&self, key: &str) -> StoreResult<Option<(Vec<u8>, String)>> {
        check_key(key).map_err(DbError::Invalid)?;
        let key = key.to_owned();
        self.read(move |conn| {
            Ok(conn
                .prepare_cached("SELECT bytes, content_type FROM blobs WHERE key = ?1")?
                .query_row([key], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()?)
        })
        .await
    }
}
