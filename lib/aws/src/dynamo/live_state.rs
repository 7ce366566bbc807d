//! [`LiveStateStore`] on DynamoDB: one item per monitor, compare-and-set on `version`
//! with a conditional `PutItem`.
//!
//! States live in [`SHARDS`] partitions (`STATES#<n>`, sort key the monitor id) rather
//! than one item per partition plus an index: the scheduler lists them all every minute
//! with one `Query` per shard, and each write costs one write unit instead of two (a
//! GSI projection is billed as a second write).

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use sentinel_core::{LiveState, MonitorId};
use sentinel_store::{CasOutcome, LiveStateStore, StoreResult};

use super::DynamoTable;
use super::item::{Item, get_s, key, n, query_pages, s};
use crate::AwsError;

/// Partitions the states are spread over (a partition serves at most 1,000 writes and
/// 3,000 reads a second; eight keep even a large fleet's minute reads far below that).
pub const SHARDS: u64 = 8;
const WHAT: &str = "live state";

/// FNV-1a: stable across processes and releases, so a state is always found in the
/// shard it was written to.
fn shard_of(id: &MonitorId) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in id.as_str().bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash % SHARDS
}

fn partition(shard: u64) -> String {
    format!("STATES#{shard}")
}

/// The key of a monitor's state item.
pub(super) fn state_key(id: &MonitorId) -> Item {
    key(partition(shard_of(id)), id.as_str())
}

fn decode(item: &Item) -> Result<LiveState, AwsError> {
    let json = get_s(item, "state", WHAT)?;
    serde_json::from_str(json).map_err(|e| AwsError::Corrupt(format!("{WHAT}: {e}")))
}

impl DynamoTable {
    /// Every state in one shard, eventually consistent (half the read units; the
    /// scheduler's carried state is checked by compare-and-set anyway).
    async fn list_shard(&self, shard: u64) -> Result<Vec<LiveState>, AwsError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s(partition(shard)));
        query_pages(query, None).await?.iter().map(decode).collect()
    }

    async fn load_state(&self, id: &MonitorId) -> Result<Option<LiveState>, AwsError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(state_key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| AwsError::sdk("DynamoDB GetItem", e))?;
        out.item().map(decode).transpose()
    }
}

#[async_trait]
impl LiveStateStore for DynamoTable {
    #[tracing::instrument(level = "debug", skip_all, fields(monitor_id = %id))]
    async fn get_state(&self, id: &MonitorId) -> StoreResult<Option<LiveState>> {
        Ok(self.load_state(id).await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_states(&self) -> StoreResult<Vec<LiveState>> {
        let shards = (0..SHARDS).map(|shard| self.list_shard(shard));
        let mut states = Vec::new();
        for shard in futures::future::try_join_all(shards).await? {
            states.extend(shard);
        }
        Ok(states)
    }

    #[tracing::instrument(
        level = "debug",
        skip_all,
        fields(monitor_id = %state.monitor_id, version = state.version, expected = ?expected_version)
    )]
    async fn compare_and_set(
        &self,
        state: &LiveState,
        expected_version: Option<u64>,
    ) -> StoreResult<CasOutcome> {
        let json = serde_json::to_string(state)
            .map_err(|e| AwsError::Invalid(format!("{WHAT} does not serialise: {e}")))?;
        let mut item = state_key(&state.monitor_id);
        item.insert("version".to_owned(), n(state.version));
        item.insert("state".to_owned(), s(json));

        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            // The stored item comes back with a failed condition: no read on conflict.
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let put = match expected_version {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(expected) => put
                .condition_expression("#v = :expected")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":expected", n(expected)),
        };
        match put.send().await {
            Ok(_) => Ok(CasOutcome::Applied),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    let current = match failed.item() {
                        Some(item) if !item.is_empty() => Some(decode(item)?),
                        // Absent, or an emulator that does not return the old item:
                        // one consistent read tells which.
                        _ => self.load_state(&state.monitor_id).await?,
                    };
                    tracing::debug!(current = ?current.as_ref().map(|c| c.version), "conflict");
                    Ok(CasOutcome::Conflict(current))
                }
                _ => Err(AwsError::sdk("DynamoDB PutItem", e).into()),
            },
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(monitor_id = %id))]
    async fn delete_state(&self, id: &MonitorId) -> StoreResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(state_key(id)))
            .send()
            .await
            .map_err(|e| AwsError::sdk("DynamoDB DeleteItem", e))?;
        Ok(())
    }
}
