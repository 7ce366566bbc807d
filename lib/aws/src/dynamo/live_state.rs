//! [`LiveStateStore`] on DynamoDB: one item per monitor, compare-and-set on `version`
//! with a conditional `PutItem`.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use sentinel_core::{LiveState, MonitorId};
use sentinel_store::{CasOutcome, LiveStateStore, StoreResult};

use super::item::{Item, get_s, key, n, s};
use super::{DynamoTable, GSI1};
use crate::AwsError;

const SK: &str = "STATE";
const GSI_PK: &str = "STATES";
const WHAT: &str = "live state";

fn pk(id: &MonitorId) -> String {
    format!("MON#{id}")
}

fn decode(item: &Item) -> Result<LiveState, AwsError> {
    let json = get_s(item, "state", WHAT)?;
    serde_json::from_str(json).map_err(|e| AwsError::Corrupt(format!("{WHAT}: {e}")))
}

impl DynamoTable {
    async fn load_state(&self, id: &MonitorId) -> Result<Option<LiveState>, AwsError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk(id), SK)))
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
        let mut states = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI1)
                .key_condition_expression("gsi1pk = :p")
                .expression_attribute_values(":p", s(GSI_PK))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| AwsError::sdk("DynamoDB Query", e))?;
            for item in page.items() {
                states.push(decode(item)?);
            }
            match page.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => break,
            }
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
        let mut item = key(pk(&state.monitor_id), SK);
        item.insert("version".to_owned(), n(state.version));
        item.insert("state".to_owned(), s(json));
        item.insert("gsi1pk".to_owned(), s(GSI_PK));
        item.insert("gsi1sk".to_owned(), s(state.monitor_id.as_str()));

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
            .set_key(Some(key(pk(id), SK)))
            .send()
            .await
            .map_err(|e| AwsError::sdk("DynamoDB DeleteItem", e))?;
        Ok(())
    }
}
