//! Removing everything this table holds for one monitor, for `delete_monitor` on AWS
//! (ids are reused; a new monitor must not inherit an old one's history).

use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
use sentinel_core::MonitorId;

use super::item::{Item, key_of, query_pages, s};
use super::{DynamoTable, GSI1, alert_ledger, incidents, live_state};
use crate::AwsError;

/// Most items in one `BatchWriteItem`.
const BATCH: usize = 25;

impl DynamoTable {
    /// Deletes the monitor's live state, incidents and alert deliveries. Returns how
    /// many items went. An admin operation: it queries the monitor's incident
    /// partition and walks the deliveries index, so it is not for the hot path.
    #[tracing::instrument(level = "debug", skip_all, fields(monitor_id = %monitor))]
    pub async fn purge_monitor(&self, monitor: &MonitorId) -> Result<usize, AwsError> {
        let mut keys = vec![live_state::state_key(monitor)];
        keys.extend(
            self.query_keys(None, "pk", &incidents::partition(monitor), None)
                .await?,
        );
        keys.extend(
            self.query_keys(
                Some(GSI1),
                "gsi1pk",
                alert_ledger::GSI_PK,
                Some(monitor.as_str()),
            )
            .await?,
        );
        let count = keys.len();
        for chunk in keys.chunks(BATCH) {
            self.delete_batch(chunk.to_vec()).await?;
        }
        Ok(count)
    }

    /// The keys of every item in one partition (of the table or an index), optionally
    /// only those whose `monitor_id` is `monitor`.
    async fn query_keys(
        &self,
        index: Option<&str>,
        partition_attr: &str,
        partition: &str,
        monitor: Option<&str>,
    ) -> Result<Vec<Item>, AwsError> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(index.map(str::to_owned))
            .key_condition_expression("#p = :p")
            .expression_attribute_names("#p", partition_attr)
            .expression_attribute_values(":p", s(partition))
            .projection_expression("pk, sk");
        if let Some(monitor) = monitor {
            query = query
                .filter_expression("monitor_id = :m")
                .expression_attribute_values(":m", s(monitor));
        }
        let items = query_pages(query, None).await?;
        Ok(items.iter().map(key_of).collect())
    }

    async fn delete_batch(&self, keys: Vec<Item>) -> Result<(), AwsError> {
        let requests = keys
            .into_iter()
            .map(|key| {
                DeleteRequest::builder()
                    .set_key(Some(key))
                    .build()
                    .map(|delete| WriteRequest::builder().delete_request(delete).build())
                    .map_err(|e| AwsError::Invalid(format!("delete request: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.write_all(requests).await
    }
}

#[async_trait::async_trait]
impl sentinel_store::split::PurgeMonitor for DynamoTable {
    async fn purge_monitor(&self, id: &MonitorId) -> sentinel_store::StoreResult<()> {
        DynamoTable::purge_monitor(self, id).await?;
        Ok(())
    }
}
