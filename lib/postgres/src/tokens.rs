//! [`TokenStore`] on PostgreSQL. A rotation spends the old token with one conditional
//! `UPDATE … WHERE spent_at IS NULL … RETURNING`: concurrent rotations of one token
//! queue on its row lock, and only the first finds it unspent. Reset tokens are spent
//! with `DELETE … RETURNING`, which only one caller can win.

use async_trait::async_trait;
use sentinel_core::UnixMs;
use sentinel_core::account::UserId;
use sentinel_store::{RefreshToken, RotateOutcome, StoreResult, TokenStore};

use crate::PgStore;
use crate::error::{PgError, column, conflict_as};

#[async_trait]
impl TokenStore for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(user_id = %token.user_id))]
    async fn insert_refresh(&self, token: &RefreshToken) -> StoreResult<()> {
        let run = async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            // Opportunistic cleanup: a user's expired tokens are of no use any more.
            let cleanup = tx
                .prepare_cached("DELETE FROM refresh_tokens WHERE user_id = $1 AND expires_at < $2")
                .await?;
            tx.execute(&cleanup, &[&token.user_id.0, &token.created_at])
                .await?;
            let insert = tx
                .prepare_cached(
                    "INSERT INTO refresh_tokens (token_hash, user_id, family_id, created_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .await?;
            tx.execute(
                &insert,
                &[
                    &token.token_hash,
                    &token.user_id.0,
                    &token.family_id,
                    &token.created_at,
                    &token.expires_at,
                ],
            )
            .await
            .map_err(conflict_as("this refresh token already exists"))?;
            tx.commit().await?;
            Ok::<_, PgError>(())
        };
        Ok(run.await?)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(outcome))]
    async fn rotate_refresh(
        &self,
        old_hash: &str,
        new: &RefreshToken,
        now: UnixMs,
    ) -> StoreResult<RotateOutcome> {
        let run = async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            let spend = tx
                .prepare_cached(
                    "UPDATE refresh_tokens SET spent_at = $2
                     WHERE token_hash = $1 AND spent_at IS NULL AND NOT revoked
                       AND expires_at > $2
                     RETURNING user_id, family_id",
                )
                .await?;
            let outcome = if let Some(row) = tx.query_opt(&spend, &[&old_hash, &now]).await? {
                let user_id: String = column(&row, 0, "refresh token user")?;
                let family_id: String = column(&row, 1, "refresh token family")?;
                // The new token joins the old one's family and user, whatever the caller
                // put there.
                let insert = tx
                    .prepare_cached(
                        "INSERT INTO refresh_tokens
                             (token_hash, user_id, family_id, created_at, expires_at)
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .await?;
                tx.execute(
                    &insert,
                    &[
                        &new.token_hash,
                        &user_id,
                        &family_id,
                        &new.created_at,
                        &new.expires_at,
                    ],
                )
                .await
                .map_err(conflict_as("the new refresh token already exists"))?;
                RotateOutcome::Rotated {
                    user_id: UserId(user_id),
                }
            } else {
                // Not spendable: tell unknown, expired and revoked (invalid) from spent
                // (reuse). The row is locked so a concurrent revoke cannot interleave.
                let lookup = tx
                    .prepare_cached(
                        "SELECT user_id, family_id, spent_at IS NOT NULL, revoked
                         FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE",
                    )
                    .await?;
                match tx.query_opt(&lookup, &[&old_hash]).await? {
                    Some(row)
                        if column::<bool>(&row, 2, "refresh token spent")?
                            && !column::<bool>(&row, 3, "refresh token revoked")? =>
                    {
                        let user_id: String = column(&row, 0, "refresh token user")?;
                        let family_id: String = column(&row, 1, "refresh token family")?;
                        // A spent token came back: someone holds a copy. Revoke the
                        // family, including the token that replaced this one.
                        let revoke = tx
                            .prepare_cached(
                                "UPDATE refresh_tokens SET revoked = true WHERE family_id = $1",
                            )
                            .await?;
                        tx.execute(&revoke, &[&family_id]).await?;
                        RotateOutcome::Reused {
                            user_id: UserId(user_id),
                            family_id,
                        }
                    }
                    _ => RotateOutcome::Invalid,
                }
            };
            tx.commit().await?;
            Ok::<_, PgError>(outcome)
        };
        let outcome = run.await?;
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
        let run = async {
            let client = self.client().await?;
            // A found token's family has at least that token, so rows > 0 iff found.
            let stmt = client
                .prepare_cached(
                    "UPDATE refresh_tokens SET revoked = true
                     WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1)",
                )
                .await?;
            Ok::<_, PgError>(client.execute(&stmt, &[&token_hash]).await? > 0)
        };
        Ok(run.await?)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user_id = %user_id))]
    async fn revoke_user_refresh(&self, user_id: &UserId) -> StoreResult<u64> {
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(
                    "UPDATE refresh_tokens SET revoked = true WHERE user_id = $1 AND NOT revoked",
                )
                .await?;
            Ok::<_, PgError>(client.execute(&stmt, &[&user_id.0]).await?)
        };
        Ok(run.await?)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user_id = %user_id))]
    async fn insert_reset(
        &self,
        token_hash: &str,
        user_id: &UserId,
        expires_at: UnixMs,
    ) -> StoreResult<()> {
        let run = async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            // Only the newest link works: earlier ones of the user go.
            let drop_older = tx
                .prepare_cached("DELETE FROM password_reset_tokens WHERE user_id = $1")
                .await?;
            tx.execute(&drop_older, &[&user_id.0]).await?;
            let insert = tx
                .prepare_cached(
                    "INSERT INTO password_reset_tokens (token_hash, user_id, expires_at)
                     VALUES ($1, $2, $3)",
                )
                .await?;
            tx.execute(&insert, &[&token_hash, &user_id.0, &expires_at])
                .await
                .map_err(conflict_as("this reset token already exists"))?;
            tx.commit().await?;
            Ok::<_, PgError>(())
        };
        Ok(run.await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn peek_reset(&self, token_hash: &str, now: UnixMs) -> StoreResult<Option<UserId>> {
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(
                    "SELECT user_id FROM password_reset_tokens
                     WHERE token_hash = $1 AND expires_at > $2",
                )
                .await?;
            client
                .query_opt(&stmt, &[&token_hash, &now])
                .await?
                .map(|row| column(&row, 0, "reset token user").map(UserId))
                .transpose()
        };
        Ok(run.await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn consume_reset(&self, token_hash: &str, now: UnixMs) -> StoreResult<Option<UserId>> {
        let run = async {
            let client = self.client().await?;
            // One statement: whoever deletes the row owns the reset; expired tokens of
            // anyone go in the same round trip.
            let stmt = client
                .prepare_cached(
                    "WITH spent AS (
                         DELETE FROM password_reset_tokens
                         WHERE token_hash = $1 AND expires_at > $2
                         RETURNING user_id
                     ), expired AS (
                         DELETE FROM password_reset_tokens WHERE expires_at <= $2
                     )
                     SELECT user_id FROM spent",
                )
                .await?;
            client
                .query_opt(&stmt, &[&token_hash, &now])
                .await?
                .map(|row| column(&row, 0, "reset token user").map(UserId))
                .transpose()
        };
        Ok(run.await?)
    }
}
