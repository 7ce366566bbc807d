//! [`UserStore`] on PostgreSQL. Emails are unique case-insensitively (stored
//! normalised, indexed on `lower(email)`); deleting a user cascades to their refresh
//! tokens, reset tokens and API keys (foreign keys).

use async_trait::async_trait;
use sentinel_core::account::{Email, Role, UserId};
use sentinel_store::{StoreResult, User, UserStore};
use tokio_postgres::Row;

use crate::PgStore;
use crate::error::{PgError, column, unique_violation};

const COLUMNS: &str = "id, email, role, password_hash, disabled, created_at, updated_at";

fn decode(row: &Row) -> Result<User, PgError> {
    let email: String = column(row, 1, "user email")?;
    let role: String = column(row, 2, "user role")?;
    Ok(User {
        id: UserId(column(row, 0, "user id")?),
        email: Email::parse(&email)
            .map_err(|e| PgError::decode("user email", format!("{email:?} {e}")))?,
        role: Role::parse(&role)
            .ok_or_else(|| PgError::decode("user role", format!("{role:?} is unknown")))?,
        password_hash: column(row, 3, "user password hash")?,
        disabled: column(row, 4, "user disabled")?,
        created_at: column(row, 5, "user created_at")?,
        updated_at: column(row, 6, "user updated_at")?,
    })
}

/// A unique violation on `users`, told apart by its constraint.
fn user_conflict(e: tokio_postgres::Error) -> PgError {
    match unique_violation(&e) {
        Some("users_email_key") => {
            PgError::Conflict("a user with this email already exists".into())
        }
        Some(_) => PgError::Conflict("a user with this id already exists".into()),
        None => PgError::Postgres(e),
    }
}

#[async_trait]
impl UserStore for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(user_id = %user.id))]
    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(&format!(
                    "INSERT INTO users ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                ))
                .await?;
            client
                .execute(
                    &stmt,
                    &[
                        &user.id.0,
                        &user.email.as_str(),
                        &user.role.as_str(),
                        &user.password_hash,
                        &user.disabled,
                        &user.created_at,
                        &user.updated_at,
                    ],
                )
                .await
                .map_err(user_conflict)?;
            Ok::<_, PgError>(())
        };
        Ok(run.await?)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user_id = %id))]
    async fn get_user(&self, id: &UserId) -> StoreResult<Option<User>> {
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
                .await?;
            client
                .query_opt(&stmt, &[&id.0])
                .await?
                .as_ref()
                .map(decode)
                .transpose()
        };
        Ok(run.await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn find_user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM users WHERE lower(email) = lower($1)"
                ))
                .await?;
            client
                .query_opt(&stmt, &[&email.as_str()])
                .await?
                .as_ref()
                .map(decode)
                .transpose()
        };
        Ok(run.await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_users(&self) -> StoreResult<Vec<User>> {
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM users ORDER BY created_at, id"
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

    #[tracing::instrument(level = "debug", skip_all, fields(user_id = %user.id))]
    async fn update_user(&self, user: &User) -> StoreResult<bool> {
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(
                    "UPDATE users
                     SET email = $2, role = $3, password_hash = $4, disabled = $5,
                         created_at = $6, updated_at = $7
                     WHERE id = $1",
                )
                .await?;
            let updated = client
                .execute(
                    &stmt,
                    &[
                        &user.id.0,
                        &user.email.as_str(),
                        &user.role.as_str(),
                        &user.password_hash,
                        &user.disabled,
                        &user.created_at,
                        &user.updated_at,
                    ],
                )
                .await
                .map_err(user_conflict)?;
            Ok::<_, PgError>(updated > 0)
        };
        Ok(run.await?)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user_id = %id))]
    async fn delete_user(&self, id: &UserId) -> StoreResult<bool> {
        let run = async {
            let client = self.client().await?;
            // Foreign keys cascade to refresh tokens, reset tokens and API keys.
            let stmt = client
                .prepare_cached("DELETE FROM users WHERE id = $1")
                .await?;
            Ok::<_, PgError>(client.execute(&stmt, &[&id.0]).await? > 0)
        };
        Ok(run.await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn count_users(&self) -> StoreResult<u64> {
        let run = async {
            let client = self.client().await?;
            let stmt = client.prepare_cached("SELECT count(*) FROM users").await?;
            let n: i64 = column(&client.query_one(&stmt, &[]).await?, 0, "user count")?;
            u64::try_from(n).map_err(|_| PgError::decode("user count", n))
        };
        Ok(run.await?)
    }
}
