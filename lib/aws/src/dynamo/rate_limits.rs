//! [`RateLimiter`] on DynamoDB: one counter item per key and fixed window, counted with
//! an atomic `ADD`; DynamoDB's TTL removes ended windows.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use sentinel_core::UnixMs;
use sentinel_store::{RateDecision, RateLimiter, StoreResult};

use super::DynamoTable;
use super::item::{get_n, key as item_key, n, ttl_seconds};
use crate::AwsError;

const SK: &str = "RL";
/// TTL deletion runs late anyway; the margin only keeps a window's item alive for
/// clock skew between Lambdas.
const TTL_MARGIN_S: i64 = 60;

#[async_trait]
impl RateLimiter for DynamoTable {
    #[tracing::instrument(level = "debug", skip_all, fields(key, limit, window_ms, allowed))]
    async fn hit(
        &self,
        key: &str,
        limit: u32,
        window_ms: i64,
        now: UnixMs,
    ) -> StoreResult<RateDecision> {
        if window_ms <= 0 {
            return Err(AwsError::Invalid(format!(
                "rate-limit window must be positive, got {window_ms} ms"
            ))
            .into());
        }
        let window_start = now - now.rem_euclid(window_ms);
        let window_end = window_start.saturating_add(window_ms);
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key(format!("RL#{key}#{window_start}"), SK)))
            .update_expression("ADD #c :one SET #t = :ttl")
            .expression_attribute_names("#c", "count")
            .expression_attribute_names("#t", super::TTL_ATTRIBUTE)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":ttl", n(ttl_seconds(window_end, TTL_MARGIN_S)))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| AwsError::sdk("DynamoDB UpdateItem", e))?;
        let attributes = out.attributes.unwrap_or_default();
        let count: i64 = get_n(&attributes, "count", "rate-limit counter")?;
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
