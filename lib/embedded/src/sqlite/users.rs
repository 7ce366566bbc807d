//! [`UserStore`] on SQLite. Emails are unique (stored normalised); deleting a user
//! cascades to their refresh tokens, reset tokens and API keys (foreign keys).

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params};
use sentinel_core::UnixMs;
use sentinel_core::account::{Email, Role, UserId};
use sentinel_store::{StoreResult, User, UserStore};

use super::SqliteStore;
use super::error::{DbError, is_unique_violation, narrow, user_id};

const COLUMNS: &str = "id, email, role, password_hash, disabled, created_at, updated_at";

struct RawUser {
    id: String,
    email: String,
    role: String,
    password_hash: String,
    disabled: bool,
    created_at: UnixMs,
    updated_at: UnixMs,
}

impl RawUser {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            email: row.get(1)?,
            role: row.get(2)?,
            password_hash: row.get(3)?,
            disabled: row.get(4)?,
            created_at: row.get(5)?,
            updated_at: row.get(6)?,
        })
    }

    fn decode(self) -> Result<User, DbError> {
        Ok(User {
            id: user_id(self.id),
            email: Email::parse(&self.email)
                .map_err(|e| DbError::decode("user email", format!("{:?} {e}", self.email)))?,
            role: Role::parse(&self.role).ok_or_else(|| {
                DbError::decode("user role", format!("{:?} is unknown", self.role))
            })?,
            password_hash: self.password_hash,
            disabled: self.disabled,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// A uniqueness failure on `users`, told apart by the column SQLite names.
fn user_conflict(e: rusqlite::Error) -> DbError {
    if !is_unique_violation(&e) {
        return DbError::Sqlite(e);
    }
    if e.to_string().contains("users.email") {
        DbError::Conflict("a user with this email already exists".to_owned())
    } else {
        DbError::Conflict("a user with this id already exists".to_owned())
    }
}

#[async_trait]
impl UserStore for SqliteStore {
    #[tracing::instrument(level = "debug", skip_all, fields(user_id = %user.id))]
    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let u = user.clone();
        self.write(move |conn| {
            conn.prepare_cached(&format!(
                "INSERT INTO users ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
            ))?
            .execute(params![
                u.id.0,
                u.email.as_str(),
                u.role.as_str(),
                u.password_hash,
                u.disabled,
                u.created_at,
                u.updated_at,
            ])
            .map_err(user_conflict)?;
            Ok(())
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user_id = %id))]
    async fn get_user(&self, id: &UserId) -> StoreResult<Option<User>> {
        let id = id.0.clone();
        self.read(move |conn| {
            conn.prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE id = ?1"))?
                .query_row([id], RawUser::from_row)
                .optional()?
                .map(RawUser::decode)
                .transpose()
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn find_user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        let email = email.as_str().to_owned();
        self.read(move |conn| {
            conn.prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE email = ?1"))?
                .query_row([email], RawUser::from_row)
                .optional()?
                .map(RawUser::decode)
                .transpose()
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_users(&self) -> StoreResult<Vec<User>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM users ORDER BY created_at, id"
            ))?;
            let rows = stmt
                .query_map([], RawUser::from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().map(RawUser::decode).collect()
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user_id = %user.id))]
    async fn update_user(&self, user: &User) -> StoreResult<bool> {
        let u = user.clone();
        self.write(move |conn| {
            let updated = conn
                .prepare_cached(
                    "UPDATE users
                     SET email = ?2, role = ?3, password_hash = ?4, disabled = ?5,
                         created_at = ?6, updated_at = ?7
                     WHERE id = ?1",
                )?
                .execute(params![
                    u.id.0,
                    u.email.as_str(),
                    u.role.as_str(),
                    u.password_hash,
                    u.disabled,
                    u.created_at,
                    u.updated_at,
                ])
                .map_err(user_conflict)?;
            Ok(updated > 0)
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user_id = %id))]
    async fn delete_user(&self, id: &UserId) -> StoreResult<bool> {
        let id = id.0.clone();
        self.write(move |conn| {
            // Foreign keys cascade to refresh tokens, reset tokens and API keys.
            let deleted = conn
                .prepare_cached("DELETE FROM users WHERE id = ?1")?
                .execute([id])?;
            Ok(deleted > 0)
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn count_users(&self) -> StoreResult<u64> {
        self.read(|conn| {
            let n: i64 = conn
                .prepare_cached("SELECT COUNT(*) FROM users")?
                .query_row([], |row| row.get(0))?;
            narrow("user count", n)
        })
        .await
    }
}
