//! [`AlertLedger`] on DynamoDB: a claim is a `PutItem` that only succeeds if the key was
//! never written; `gsi1` (`DELIVERIES`, created_at-ordered) lists them newest first.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use sentinel_core::{MonitorId, UnixMs};
use sentinel_store::{AlertLedger, Delivery, DeliveryStatus, StoreResult};

use super::item::{
    Item, get_n, get_s, key as item_key, n, opt_s, query_pages, s, sortable, ttl_seconds,
};
use super::{DynamoTable, GSI1, TTL_ATTRIBUTE};
use crate::AwsError;

const SK: &str = "IDEM";
pub(super) const GSI_PK: &str = "DELIVERIES";
const WHAT: &str = "delivery";

fn pk(key: &str) -> String {
    format!("IDEM#{key}")
}

fn status(raw: &str) -> Result<DeliveryStatus, AwsError> {
    [
        DeliveryStatus::Pending,
        DeliveryStatus::Sent,
        DeliveryStatus::Failed,
    ]
    .into_iter()
    .find(|s| s.as_str() == raw)
    .ok_or_else(|| AwsError::Corrupt(format!("delivery status {raw:?} is unknown")))
}

fn decode(item: &Item) -> Result<Delivery, AwsError> {
    Ok(Delivery {
        key: get_s(item, "key", WHAT)?.to_owned(),
        channel: get_s(item, "channel", WHAT)?.to_owned(),
        monitor_id: MonitorId::parse(get_s(item, "monitor_id", WHAT)?)
            .map_err(|e| AwsError::Corrupt(format!("{WHAT}: monitor id {e}")))?,
        event: get_s(item, "event", WHAT)?.to_owned(),
        status: status(get_s(item, "status", WHAT)?)?,
        attempts: get_n(item, "attempts", WHAT)?,
        last_error: opt_s(item, "last_error", WHAT)?.map(str::to_owned),
        created_at: get_n(item, "created_at", WHAT)?,
        updated_at: get_n(item, "updated_at", WHAT)?,
    })
}

#[async_trait]
impl AlertLedger for DynamoTable {
    #[tracing::instrument(level = "debug", skip_all, fields(key = %delivery.key, monitor_id = %delivery.monitor_id))]
    async fn claim(&self, delivery: &Delivery) -> StoreResult<bool> {
        let d = delivery;
        let retention_s = i64::try_from(self.delivery_retention.as_secs()).unwrap_or(i64::MAX);
        let mut item = item_key(pk(&d.key), SK);
        item.extend([
            ("key".to_owned(), s(&d.key)),
            ("channel".to_owned(), s(&d.channel)),
            ("monitor_id".to_owned(), s(d.monitor_id.as_str())),
            ("event".to_owned(), s(&d.event)),
            ("status".to_owned(), s(d.status.as_str())),
            ("attempts".to_owned(), n(d.attempts)),
            ("created_at".to_owned(), n(d.created_at)),
            ("updated_at".to_owned(), n(d.updated_at)),
            ("gsi1pk".to_owned(), s(GSI_PK)),
            (
                "gsi1sk".to_owned(),
                s(format!("{}#{}", sortable(d.created_at), d.key)),
            ),
            (
                TTL_ATTRIBUTE.to_owned(),
                n(ttl_seconds(d.created_at, retention_s)),
            ),
        ]);
        if let Some(error) = &d.last_error {
            item.insert("last_error".to_owned(), s(error));
        }
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                // Someone claimed it first: an outcome, not an error.
                Some(PutItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(AwsError::sdk("DynamoDB PutItem", e).into()),
            },
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(key, status = status.as_str(), attempts))]
    async fn finish(
        &self,
        key: &str,
        status: DeliveryStatus,
        attempts: u32,
        last_error: Option<&str>,
        now: UnixMs,
    ) -> StoreResult<()> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key(pk(key), SK)))
            // Never create a delivery that was not claimed.
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#s", "status")
            .expression_attribute_names("#a", "attempts")
            .expression_attribute_names("#u", "updated_at")
            .expression_attribute_names("#e", "last_error")
            .expression_attribute_values(":s", s(status.as_str()))
            .expression_attribute_values(":a", n(attempts))
            .expression_attribute_values(":u", n(now));
        let update = match last_error {
            Some(error) => update
                .update_expression("SET #s = :s, #a = :a, #u = :u, #e = :e")
                .expression_attribute_values(":e", s(error)),
            None => update.update_expression("SET #s = :s, #a = :a, #u = :u REMOVE #e"),
        };
        match update.send().await {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => {
                    tracing::warn!("finish of a delivery that was never claimed");
                    Ok(())
                }
                _ => Err(AwsError::sdk("DynamoDB UpdateItem", e).into()),
            },
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(key))]
    async fn get_delivery(&self, key: &str) -> StoreResult<Option<Delivery>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(item_key(pk(key), SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| AwsError::sdk("DynamoDB GetItem", e))?;
        Ok(out.item().map(decode).transpose()?)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(limit))]
    async fn list_deliveries(&self, limit: usize) -> StoreResult<Vec<Delivery>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .key_condition_expression("gsi1pk = :p")
            .expression_attribute_values(":p", s(GSI_PK))
            .scan_index_forward(false);
        let items = query_pages(query, Some(limit)).await?;
        Ok(items.iter().map(decode).collect::<Result<_, _>>()?)
    }
}
