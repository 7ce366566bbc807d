//! [`RateLimiter`] on PostgreSQL: one counter row per key and fixed window, counted
//! with `INSERT … ON CONFLICT DO UPDATE … RETURNING` so concurrent hits queue on the
//! row and each sees its own count. The same statement deletes a few rows of ended
//! windows (skipping any another hit holds), so the table stays small without a
//! sweeper and a hit never waits on cleanup.

use async_trait::async_trait;
use sentinel_core::UnixMs;
use sentinel_store::{RateDecision, RateLimiter, StoreResult};

use crate::PgStore;
use crate::error::{PgError, column};

/// Most ended windows (of any key) one hit deletes.
const CLEANUP_BATCH: i64 = 32;

#[async_trait]
impl RateLimiter for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(key, limit, window_ms, allowed))]
    async fn hit(
        &self,
        key: &str,
        limit: u32,
        window_ms: i64,
        now: UnixMs,
    ) -> StoreResult<RateDecision> {
        if window_ms <= 0 {
            return Err(PgError::Invalid(format!(
                "rate-limit window must be positive, got {window_ms} ms"
            ))
            .into());
        }
        let window_start = now - now.rem_euclid(window_ms);
        let window_end = window_start.saturating_add(window_ms);
        let run = async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(
                    "WITH hit AS (
                         INSERT INTO rate_limits AS r (key, window_start, window_end, count)
                         VALUES ($1, $2, $3, 1)
                         ON CONFLICT (key, window_start) DO UPDATE SET count = r.count + 1
                         RETURNING r.count
                     ), ended AS (
                         DELETE FROM rate_limits WHERE ctid IN (
                             SELECT ctid FROM rate_limits WHERE window_end <= $4
                             LIMIT $5 FOR UPDATE SKIP LOCKED)
                     )
                     SELECT count FROM hit",
                )
                .await?;
            let row = client
                .query_one(
                    &stmt,
                    &[&key, &window_start, &window_end, &now, &CLEANUP_BATCH],
                )
                .await?;
            column::<i64>(&row, 0, "rate-limit count")
        };
        let count = run.await?;
        let limit = i64::from(limit);
        let allowed = count <= limit;
        let remaining = u32::try_from((limit - count).max(0)).unwrap_or(0);
        tracing::Span::current().record("allowed", allowed);
        Ok(RateDecision {
            allowed,
            remaining,
            reset_at: window_end,
        })
    }
}
