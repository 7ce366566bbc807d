//! [`EcsIncidentStore`] on DynamoDB: the history in one partition sorted by start, and
//! one pointer item per service with an open incident.
//!
//! # Items
//!
//! | what | `pk` | `sk` | other attributes |
//! |---|---|---|---|
//! | incident (history) | `ECS#INC` | [`sortable`]`(started_at)#<id>` | `incident` S (JSON of `EcsIncident`), `id` S, `started_at` N, `ended_at` N (absent while open) |
//! | open incident | `ECS#OPEN` | `<account>#<region>#<cluster>#<service>` | `incident` S (JSON), `history_sk` S (the history item's `sk`) |
//!
//! Opening writes both items in one transaction, the pointer with
//! `attribute_not_exists`: of two rounds that race, one opens and the other reads the
//! pointer back, so both agree on the id. Closing deletes the pointer (only if it still
//! names that incident) and ends the history item in one transaction, so the history
//! never shows an incident open that has no pointer, nor the reverse. Listing newest
//! first is a reverse `Query` on `ECS#INC`; the open ones, a `Query` on `ECS#OPEN`
//! (sorted by key).

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
use sentinel_core::UnixMs;
use sentinel_core::ecs::ServiceKey;
use sentinel_store::ecs::check_service_key;
use sentinel_store::{EcsIncident, EcsIncidentStore, StoreResult};

use super::DynamoTable;
use super::item::{Item, get_s, key, n, query_pages, s, sortable};
use crate::AwsError;

const HISTORY_PK: &str = "ECS#INC";
const OPEN_PK: &str = "ECS#OPEN";
const WHAT: &str = "ECS incident";
/// Opening retries when the open incident it lost to was closed before it was read.
const OPEN_ATTEMPTS: usize = 3;

fn open_sk(key: &ServiceKey) -> String {
    format!(
        "{}#{}#{}#{}",
        key.account_id, key.region, key.cluster, key.service
    )
}

fn history_sk(incident: &EcsIncident) -> String {
    format!("{}#{}", sortable(incident.started_at), incident.id)
}

fn encode(incident: &EcsIncident) -> Result<String, AwsError> {
    serde_json::to_string(incident).map_err(|e| AwsError::Invalid(format!("{WHAT}: {e}")))
}

fn decode(item: &Item) -> Result<EcsIncident, AwsError> {
    let json = get_s(item, "incident", WHAT)?;
    serde_json::from_str(json).map_err(|e| AwsError::Corrupt(format!("{WHAT}: {e}")))
}

fn invalid(message: String) -> AwsError {
    AwsError::Invalid(message)
}

fn transaction_conflict(e: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError>) -> bool {
    matches!(
        e.as_service_error(),
        Some(TransactWriteItemsError::TransactionCanceledException(_))
    )
}

impl DynamoTable {
    /// The open incident of `key`, strongly consistent.
    async fn open_ecs_pointer(&self, key_: &ServiceKey) -> Result<Option<Item>, AwsError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(OPEN_PK.to_owned(), &open_sk(key_))))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| AwsError::sdk("DynamoDB GetItem", e))?;
        Ok(out.item)
    }
}

#[async_trait]
impl EcsIncidentStore for DynamoTable {
    #[tracing::instrument(level = "debug", skip_all, fields(incident_id = %incident.id))]
    async fn open_ecs_incident(&self, incident: &EcsIncident) -> StoreResult<EcsIncident> {
        check_service_key(&incident.key).map_err(invalid)?;
        if incident.ended_at.is_some() {
            return Err(invalid(format!(
                "{WHAT} {}: an ended incident cannot be opened",
                incident.id
            ))
            .into());
        }
        let json = encode(incident)?;
        let history_sk = history_sk(incident);
        let mut pointer = key(OPEN_PK.to_owned(), &open_sk(&incident.key));
        pointer.extend([
            ("incident".to_owned(), s(&json)),
            ("history_sk".to_owned(), s(&history_sk)),
        ]);
        let mut history = key(HISTORY_PK.to_owned(), &history_sk);
        history.extend([
            ("incident".to_owned(), s(&json)),
            ("id".to_owned(), s(&incident.id)),
            ("started_at".to_owned(), n(incident.started_at)),
        ]);
        let put_pointer = Put::builder()
            .table_name(&self.table)
            .set_item(Some(pointer))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| invalid(format!("put: {e}")))?;
        let put_history = Put::builder()
            .table_name(&self.table)
            .set_item(Some(history))
            .build()
            .map_err(|e| invalid(format!("put: {e}")))?;

        for _ in 0..OPEN_ATTEMPTS {
            let written = self
                .client
                .transact_write_items()
                .transact_items(
                    TransactWriteItem::builder()
                        .put(put_pointer.clone())
                        .build(),
                )
                .transact_items(
                    TransactWriteItem::builder()
                        .put(put_history.clone())
                        .build(),
                )
                .send()
                .await;
            match written {
                Ok(_) => return Ok(incident.clone()),
                Err(e) if transaction_conflict(&e) => {
                    // Another round opened one first (or the history write conflicted):
                    // the stored pointer is the answer.
                    if let Some(item) = self.open_ecs_pointer(&incident.key).await? {
                        tracing::debug!("an incident is open already");
                        return Ok(decode(&item)?);
                    }
                }
                Err(e) => return Err(AwsError::sdk("DynamoDB TransactWriteItems", e).into()),
            }
        }
        Err(AwsError::Corrupt(format!(
            "{WHAT} {}: the open incident kept changing while opening",
            incident.id
        ))
        .into())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(at))]
    async fn close_ecs_incident(
        &self,
        service: &ServiceKey,
        at: UnixMs,
    ) -> StoreResult<Option<EcsIncident>> {
        check_service_key(service).map_err(invalid)?;
        let Some(pointer) = self.open_ecs_pointer(service).await? else {
            return Ok(None);
        };
        let open = decode(&pointer)?;
        if open.started_at > at {
            return Ok(None);
        }
        let history_sk = get_s(&pointer, "history_sk", WHAT)?.to_owned();
        let closed = EcsIncident {
            ended_at: Some(at),
            ..open.clone()
        };
        let delete_pointer = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(OPEN_PK.to_owned(), &open_sk(service))))
            // Only the incident read above: a racing round may have closed it and
            // opened the next one.
            .condition_expression("incident = :open")
            .expression_attribute_values(":open", s(get_s(&pointer, "incident", WHAT)?))
            .build()
            .map_err(|e| invalid(format!("delete: {e}")))?;
        let end_history = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(HISTORY_PK.to_owned(), &history_sk)))
            .update_expression("SET ended_at = :e, incident = :i")
            .expression_attribute_values(":e", n(at))
            .expression_attribute_values(":i", s(encode(&closed)?))
            .build()
            .map_err(|e| invalid(format!("update: {e}")))?;
        let written = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(delete_pointer).build())
            .transact_items(TransactWriteItem::builder().update(end_history).build())
            .send()
            .await;
        match written {
            Ok(_) => Ok(Some(closed)),
            Err(e) if transaction_conflict(&e) => {
                tracing::debug!(incident_id = %open.id, "closed by another round");
                Ok(None)
            }
            Err(e) => Err(AwsError::sdk("DynamoDB TransactWriteItems", e).into()),
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(limit))]
    async fn list_ecs_incidents(&self, limit: usize) -> StoreResult<Vec<EcsIncident>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s(HISTORY_PK))
            .scan_index_forward(false)
            .consistent_read(true);
        let items = query_pages(query, Some(limit)).await?;
        Ok(items.iter().map(decode).collect::<Result<_, _>>()?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn open_ecs_incidents(&self) -> StoreResult<Vec<EcsIncident>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s(OPEN_PK))
            .consistent_read(true);
        let items = query_pages(query, None).await?;
        Ok(items.iter().map(decode).collect::<Result<_, _>>()?)
    }
}
