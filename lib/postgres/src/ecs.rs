//! [`EcsAccountStore`] on PostgreSQL: the watched AWS accounts (`aws_accounts`, one
//! registration per role enforced by a unique index) and the ECS settings (a JSONB row
//! of `settings`).

use async_trait::async_trait;
use sentinel_core::UnixMs;
use sentinel_store::{EcsAccountRecord, EcsAccountStore, EcsSettings, SealedSecret, StoreResult};
use tokio_postgres::Row;

use crate::PgStore;
use crate::error::{PgError, column, conflict_as, from_json, to_json};

const COLUMNS: &str = "id, name, role_arn, role_account_id, regions, external_id_cipher, key_id, \
     account_id, alias, last_collected_at, last_error, created_at, updated_at";
const ROLE_TAKEN: &str =
    "this role (or the local account) is already registered, or the id is taken";
/// The `settings` row of the ECS settings.
const SETTINGS_KEY: &str = "ecs";

fn decode(row: &Row) -> Result<EcsAccountRecord, PgError> {
    let cipher: Option<Vec<u8>> = column(row, 5, "ECS account external id")?;
    let key_id: Option<String> = column(row, 6, "ECS account key id")?;
    let external_id = match (cipher, key_id) {
        (Some(ciphertext), Some(key_id)) => Some(SealedSecret { ciphertext, key_id }),
        (None, None) => None,
        _ => {
            return Err(PgError::decode(
                "ECS account external id",
                "ciphertext and key id must be both set or both absent",
            ));
        }
    };
    Ok(EcsAccountRecord {
        id: column(row, 0, "ECS account id")?,
        name: column(row, 1, "ECS account name")?,
        role_arn: column(row, 2, "ECS account role ARN")?,
        role_account_id: column(row, 3, "ECS account role account id")?,
        regions: column(row, 4, "ECS account regions")?,
        external_id,
        account_id: column(row, 7, "ECS account account id")?,
        alias: column(row, 8, "ECS account alias")?,
        last_collected_at: column(row, 9, "ECS account last_collected_at")?,
        last_error: column(row, 10, "ECS account last error")?,
        created_at: column(row, 11, "ECS account created_at")?,
        updated_at: column(row, 12, "ECS account updated_at")?,
    })
}

/// The external id as its two columns.
fn sealed_columns(account: &EcsAccountRecord) -> (Option<&[u8]>, Option<&str>) {
    match &account.external_id {
        Some(sealed) => (
            Some(sealed.ciphertext.as_slice()),
            Some(sealed.key_id.as_str()),
        ),
        None => (None, None),
    }
}

#[async_trait]
impl EcsAccountStore for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(ecs_account_id = %account.id))]
    async fn create_ecs_account(&self, account: &EcsAccountRecord) -> StoreResult<()> {
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(&format!(
                    "INSERT INTO aws_accounts ({COLUMNS})
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
                ))
                .await?;
            let (cipher, key_id) = sealed_columns(account);
            client
                .execute(
                    &stmt,
                    &[
                        &account.id,
                        &account.name,
                        &account.role_arn,
                        &account.role_account_id,
                        &account.regions,
                        &cipher,
                        &key_id,
                        &account.account_id,
                        &account.alias,
                        &account.last_collected_at,
                        &account.last_error,
                        &account.created_at,
                        &account.updated_at,
                    ],
                )
                .await
                .map_err(conflict_as(ROLE_TAKEN))?;
            Ok::<_, PgError>(())
        };
        Ok(run.await?)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(ecs_account_id = %id))]
    async fn get_ecs_account(&self, id: &str) -> StoreResult<Option<EcsAccountRecord>> {
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(&format!("SELECT {COLUMNS} FROM aws_accounts WHERE id = $1"))
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

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_ecs_accounts(&self) -> StoreResult<Vec<EcsAccountRecord>> {
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM aws_accounts ORDER BY created_at, id"
                ))
                .await?;
            client
                .query(&stmt, &[])
                .await?
                .iter()
                .map(decode)
                .collect::<Result<Vec<_>, PgError>>()
        };
        Ok(run.await?)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(ecs_account_id = %account.id))]
    async fn update_ecs_account(&self, account: &EcsAccountRecord) -> StoreResult<bool> {
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(
                    "UPDATE aws_accounts
                     SET name = $2, role_arn = $3, role_account_id = $4, regions = $5,
                         external_id_cipher = $6, key_id = $7, updated_at = $8
                     WHERE id = $1",
                )
                .await?;
            let (cipher, key_id) = sealed_columns(account);
            let updated = client
                .execute(
                    &stmt,
                    &[
                        &account.id,
                        &account.name,
                        &account.role_arn,
                        &account.role_account_id,
                        &account.regions,
                        &cipher,
                        &key_id,
                        &account.updated_at,
                    ],
                )
                .await
                .map_err(conflict_as(ROLE_TAKEN))?;
            Ok::<_, PgError>(updated > 0)
        };
        Ok(run.await?)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(ecs_account_id = %id))]
    async fn delete_ecs_account(&self, id: &str) -> StoreResult<bool> {
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached("DELETE FROM aws_accounts WHERE id = $1")
                .await?;
            Ok::<_, PgError>(client.execute(&stmt, &[&id]).await? > 0)
        };
        Ok(run.await?)
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
        let run = async {
            let client = self.client().await?;
            // Only the collection's columns: an edit made meanwhile stays.
            let stmt = client
                .prepare_cached(
                    "UPDATE aws_accounts
                     SET account_id = coalesce($2, account_id), alias = coalesce($3, alias),
                         last_collected_at = $4, last_error = $5
                     WHERE id = $1",
                )
                .await?;
            let updated = client
                .execute(&stmt, &[&id, &account_id, &alias, &at, &error])
                .await?;
            Ok::<_, PgError>(updated > 0)
        };
        Ok(run.await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn ecs_settings(&self) -> StoreResult<EcsSettings> {
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached("SELECT value FROM settings WHERE key = $1")
                .await?;
            match client.query_opt(&stmt, &[&SETTINGS_KEY]).await? {
                Some(row) => from_json("ECS settings", column(&row, 0, "ECS settings")?),
                None => Ok(EcsSettings::default()),
            }
        };
        Ok(run.await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn set_ecs_settings(&self, settings: &EcsSettings) -> StoreResult<()> {
        let run = async {
            let value = to_json("ECS settings", settings)?;
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(
                    "INSERT INTO settings (key, value) VALUES ($1, $2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )
                .await?;
            client.execute(&stmt, &[&SETTINGS_KEY, &value]).await?;
            Ok::<_, PgError>(())
        };
        Ok(run.await?)
    }
}
