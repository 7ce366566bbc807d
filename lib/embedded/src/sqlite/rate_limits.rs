//! [`RateLimiter`] on SQLite: one counter row per key and fixed window, counted with an
//! upsert so concurrent hits never lose a count. Rows of ended windows are deleted a few
//! at a time by later hits, so the table stays small without a sweeper.

use async_trait::async_trait;
use rusqlite::{TransactionBehavior, params};
use sentinel_core::UnixMs;
use sentinel_store::{RateDecision, RateLimiter, StoreResult};

use super::SqliteStore;
use super::error::DbError;

/// Most ended windows (of any key) one hit deletes.
const CLEANUP_BATCH: i64 = 32;

#[async_trait]
impl RateLimiter for SqliteStore {
    #[tracing::instrument(level = "debug", skip_all, fields(key, limit, window_ms, allowed))]
    async fn hit(
        &self,
        key: &str,
        limit: u32,
        window_ms: i64,
        now: UnixMs,
    ) -> StoreResult<RateDecision> {
        if window_ms <= 0 {
            return Err(DbError::Invalid(format!(
                "rate-limit window must be positive, got {window_ms} ms"
            ))
            .into());
        }
        let key = key.to_owned();
        let window_start = now - now.rem_euclid(window_ms);
        let window_end = window_start.saturating_add(window_ms);
        let count: i64 = self
            .write(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let count: i64 = tx
                    .prepare_cached(
                        "INSERT INTO rate_limits (key, window_start, window_end, count)
                         VALUES (?1, ?2, ?3, 1)
                         ON CONFLICT (key, window_start) DO UPDATE SET count = count + 1
                         RETURNING count",
                    )?
                    .query_row(params![key, window_start, window_end], |row| row.get(0))?;
                // This key's earlier windows, then a few ended windows of other keys.
                tx.prepare_cached("DELETE FROM rate_limits WHERE key = ?1 AND window_start < ?2")?
                    .execute(params![key, window_start])?;
                tx.prepare_cached(
                    "DELETE FROM rate_limits WHERE (key, window_start) IN (
                         SELECT key, window_start FROM rate_limits
                         WHERE window_end <= ?1 LIMIT ?2)",
                )?
                .execute(params![now, CLEANUP_BATCH])?;
                tx.commit()?;
                Ok(count)
            })
            .await?;
        let limit_i = i64::from(limit);
        let allowed = count <= limit_i;
        let remaining = u32::try_from((limit_i - count).max(0)).unwrap_or(0);
        tracing::Span::current().record("allowed", allowed);
        Ok(RateDecision {
            allowed,
            remaining,
            reset_at: window_end,
        })
    }
}
