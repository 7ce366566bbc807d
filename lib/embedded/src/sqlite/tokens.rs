//! [`TokenStore`] on SQLite: refresh tokens rotated inside one immediate transaction
//! (so two rotations of one token cannot both win), and single-use reset tokens.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use sentinel_core::UnixMs;
use sentinel_core::account::UserId;
use sentinel_store::{RefreshToken, RotateOutcome, StoreResult, TokenStore};

use super::SqliteStore;
use super::error::{conflict_as, user_id};

/// What rotation needs to know about the old token.
struct Stored {
    user_id: String,
    family_id: String,
    expires_at: UnixMs,
    spent: bool,
    revoked: bool,
}

#[async_trait]
impl TokenStore for SqliteStore {
    #[tracing::instrument(level = "debug", skip_all, fields(user_id = %token.user_id))]
    async fn insert_refresh(&self, token: &RefreshToken) -> StoreResult<()> {
        let t = token.clone();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // Opportunistic cleanup: a user's expired tokens are of no use any more.
            tx.prepare_cached("DELETE FROM refresh_tokens WHERE user_id = ?1 AND expires_at < ?2")?
                .execute(params![t.user_id.0, t.created_at])?;
            tx.prepare_cached(
                "INSERT INTO refresh_tokens (token_hash, user_id, family_id, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                t.token_hash,
                t.user_id.0,
                t.family_id,
                t.created_at,
                t.expires_at
            ])
            .map_err(conflict_as("this refresh token already exists"))?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(outcome))]
    async fn rotate_refresh(
        &self,
        old_hash: &str,
        new: &RefreshToken,
        now: UnixMs,
    ) -> StoreResult<RotateOutcome> {
        let old_hash = old_hash.to_owned();
        let new = new.clone();
        let outcome = self
            .write(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let stored = tx
                    .prepare_cached(
                        "SELECT user_id, family_id, expires_at, spent_at IS NOT NULL, revoked
                         FROM refresh_tokens WHERE token_hash = ?1",
                    )?
                    .query_row([&old_hash], |row| {
                        Ok(Stored {
                            user_id: row.get(0)?,
                            family_id: row.get(1)?,
                            expires_at: row.get(2)?,
                            spent: row.get(3)?,
                            revoked: row.get(4)?,
                        })
                    })
                    .optional()?;
                let outcome = match stored {
                    None => RotateOutcome::Invalid,
                    Some(s) if s.revoked => RotateOutcome::Invalid,
                    Some(s) if s.spent => {
                        // A spent token came back: someone holds a copy. Revoke the family,
                        // including the token that replaced this one.
                        tx.prepare_cached(
                            "UPDATE refresh_tokens SET revoked = 1 WHERE family_id = ?1",
                        )?
                        .execute([&s.family_id])?;
                        RotateOutcome::Reused {
                            user_id: user_id(s.user_id),
                            family_id: s.family_id,
                        }
                    }
                    Some(s) if s.expires_at <= now => RotateOutcome::Invalid,
                    Some(s) => {
                        tx.prepare_cached(
                            "UPDATE refresh_tokens SET spent_at = ?2 WHERE token_hash = ?1",
                        )?
                        .execute(params![old_hash, now])?;
                        // The new token joins the old one's family and user, whatever the
                        // caller put there.
                        tx.prepare_cached(
                            "INSERT INTO refresh_tokens
                                 (token_hash, user_id, family_id, created_at, expires_at)
                             VALUES (?1, ?2, ?3, ?4, ?5)",
                        )?
                        .execute(params![
                            new.token_hash,
                            s.user_id,
                            s.family_id,
                            new.created_at,
                            new.expires_at
                        ])
                        .map_err(conflict_as("the new refresh token already exists"))?;
                        RotateOutcome::Rotated {
                            user_id: user_id(s.user_id),
                        }
                    }
                };
                tx.commit()?;
                Ok(outcome)
            })
            .await?;
        let name = match &outcome {
            RotateOutcome::Rotated { .. } => "rotated",
            RotateOutcome::Reused { .. } => "reused",
            RotateOutcome::Invalid => "invalid",
        };
        tracing::Span::current().record("outcome", name);
        if let RotateOutcome::Reused { user_id, family_id } = &outcome {
            tracing::warn!(%user_id, %family_id, "refresh token reused; family revoked");
        }
        Ok(outcome)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn revoke_refresh_family(&self, token_hash: &str) -> StoreResult<bool> {
        let token_hash = token_hash.to_owned();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let family: Option<String> = tx
                .prepare_cached("SELECT family_id FROM refresh_tokens WHERE token_hash = ?1")?
                .query_row([token_hash], |row| row.get(0))
                .optional()?;
            if let Some(family) = &family {
                tx.prepare_cached("UPDATE refresh_tokens SET revoked = 1 WHERE family_id = ?1")?
                    .execute([family])?;
            }
            tx.commit()?;
            Ok(family.is_some())
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user_id = %user_id))]
    async fn revoke_user_refresh(&self, user_id: &UserId) -> StoreResult<u64> {
        let id = user_id.0.clone();
        self.write(move |conn| {
            let n = conn
                .prepare_cached(
                    "UPDATE refresh_tokens SET revoked = 1 WHERE user_id = ?1 AND revoked = 0",
                )?
                .execute([id])?;
            Ok(u64::try_from(n).unwrap_or(u64::MAX))
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user_id = %user_id))]
    async fn insert_reset(
        &self,
        token_hash: &str,
        user_id: &UserId,
        expires_at: UnixMs,
    ) -> StoreResult<()> {
        let token_hash = token_hash.to_owned();
        let id = user_id.0.clone();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.prepare_cached("DELETE FROM reset_tokens WHERE user_id = ?1")?
                .execute([&id])?;
            tx.prepare_cached(
                "INSERT INTO reset_tokens (token_hash, user_id, expires_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![token_hash, id, expires_at])
            .map_err(conflict_as("this reset token already exists"))?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn peek_reset(&self, token_hash: &str, now: UnixMs) -> StoreResult<Option<UserId>> {
        let token_hash = token_hash.to_owned();
        self.read(move |conn| {
            let id: Option<String> = conn
                .prepare_cached(
                    "SELECT user_id FROM reset_tokens WHERE token_hash = ?1 AND expires_at > ?2",
                )?
                .query_row(params![token_hash, now], |row| row.get(0))
                .optional()?;
            Ok(id.map(user_id))
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn consume_reset(&self, token_hash: &str, now: UnixMs) -> StoreResult<Option<UserId>> {
        let token_hash = token_hash.to_owned();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // One statement: whoever deletes the row owns the reset.
            let id: Option<String> = tx
                .prepare_cached(
                    "DELETE FROM reset_tokens WHERE token_hash = ?1 AND expires_at > ?2
                     RETURNING user_id",
                )?
                .query_row(params![token_hash, now], |row| row.get(0))
                .optional()?;
            // Expired ones go too, whoever they belong to.
            tx.prepare_cached("DELETE FROM reset_tokens WHERE expires_at <= ?1")?
                .execute([now])?;
            tx.commit()?;
            Ok(id.map(user_id))
        })
        .await
    }
}
