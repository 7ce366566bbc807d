//! [`IncidentStore`] on DynamoDB: one partition per monitor, sorted by start time, so
//! "newest first" is a reverse `Query`.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use sentinel_core::{Incident, IncidentId, MonitorId, UnixMs};
use sentinel_store::{IncidentStore, StoreResult};

use super::DynamoTable;
use super::item::{Item, get_n, get_n_list, get_s, n, opt_n, query_pages, s, sortable};
use crate::AwsError;

const WHAT: &str = "incident";

pub(super) fn partition(monitor: &MonitorId) -> String {
    format!("INC#{monitor}")
}

/// The item key of an incident, from its id (`<monitor>@<started_at>`, see
/// [`IncidentId::new`]). `None` for an id no incident can have.
fn incident_key(id: &IncidentId) -> Option<Item> {
    let (monitor, started) = parse_id(id)?;
    Some(Item::from([
        ("pk".to_owned(), s(partition(&monitor))),
        ("sk".to_owned(), s(format!("{}#{}", sortable(started), id))),
    ]))
}

fn parse_id(id: &IncidentId) -> Option<(MonitorId, i64)> {
    let (monitor, started) = id.0.rsplit_once('@')?;
    Some((MonitorId::parse(monitor).ok()?, started.parse().ok()?))
}

fn decode(item: &Item) -> Result<Incident, AwsError> {
    Ok(Incident {
        id: IncidentId(get_s(item, "id", WHAT)?.to_owned()),
        monitor_id: MonitorId::parse(get_s(item, "monitor_id", WHAT)?)
            .map_err(|e| AwsError::Corrupt(format!("{WHAT}: monitor id {e}")))?,
        started_at: get_n(item, "started_at", WHAT)?,
        ended_at: opt_n(item, "ended_at", WHAT)?,
        cause: get_s(item, "cause", WHAT)?.to_owned(),
        proof: get_n_list(item, "proof", WHAT)?,
    })
}

#[async_trait]
impl IncidentStore for DynamoTable {
    #[tracing::instrument(level = "debug", skip_all, fields(monitor_id = %incident.monitor_id, incident_id = %incident.id))]
    async fn open_incident(&self, incident: &Incident) -> StoreResult<()> {
        // The key comes from the id (so `get_incident` finds it); an id naming another
        // monitor would file the incident where `list_incidents` never looks.
        let mut item = match parse_id(&incident.id) {
            Some((monitor, _)) if monitor == incident.monitor_id => incident_key(&incident.id),
            _ => None,
        }
        .ok_or_else(|| {
            AwsError::Invalid(format!(
                "incident id {:?} is not {}@<started_at>",
                incident.id.0, incident.monitor_id
            ))
        })?;
        item.extend([
            ("id".to_owned(), s(&incident.id.0)),
            ("monitor_id".to_owned(), s(incident.monitor_id.as_str())),
            ("started_at".to_owned(), n(incident.started_at)),
            ("cause".to_owned(), s(&incident.cause)),
            (
                "proof".to_owned(),
                AttributeValue::L(incident.proof.iter().map(n).collect()),
            ),
        ]);
        if let Some(ended_at) = incident.ended_at {
            item.insert("ended_at".to_owned(), n(ended_at));
        }
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            // A redelivered open neither duplicates nor reopens: the first write stands.
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => {
                    tracing::debug!("incident already recorded");
                    Ok(())
                }
                _ => Err(AwsError::sdk("DynamoDB PutItem", e).into()),
            },
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(incident_id = %id, ended_at))]
    async fn close_incident(&self, id: &IncidentId, ended_at: UnixMs) -> StoreResult<()> {
        let Some(key) = incident_key(id) else {
            tracing::debug!("no incident can have this id");
            return Ok(());
        };
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression("SET ended_at = :e")
            // Only an existing, open incident: the first close wins, unknown ids are
            // not created.
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(ended_at)")
            .expression_attribute_values(":e", n(ended_at))
            .send()
            .await;
        match update {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => {
                    tracing::debug!("incident already closed or unknown");
                    Ok(())
                }
                _ => Err(AwsError::sdk("DynamoDB UpdateItem", e).into()),
            },
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(incident_id = %id))]
    async fn get_incident(&self, id: &IncidentId) -> StoreResult<Option<Incident>> {
        let Some(key) = incident_key(id) else {
            return Ok(None);
        };
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| AwsError::sdk("DynamoDB GetItem", e))?;
        Ok(out.item().map(decode).transpose()?)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(monitor_id = %monitor, limit))]
    async fn list_incidents(
        &self,
        monitor: &MonitorId,
        limit: usize,
    ) -> StoreResult<Vec<Incident>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s(partition(monitor)))
            .scan_index_forward(false)
            .consistent_read(true);
        let items = query_pages(query, Some(limit)).await?;
        Ok(items.iter().map(decode).collect::<Result<_, _>>()?)
    }
}
