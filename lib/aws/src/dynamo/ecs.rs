//! [`EcsSnapshotStore`] on DynamoDB: service snapshots in one partition, metric history
//! in one partition per service and metric, expired by the table's TTL.
//!
//! # Items
//!
//! | what | `pk` | `sk` | other attributes |
//! |---|---|---|---|
//! | snapshot | `ECS#SNAP` | `<account>#<region>#<cluster>#<service>` | `snapshot` S (JSON of `ServiceSnapshot`), `health` S, `at` N (the collection that wrote it), `account_id` S |
//! | metric point | `ECS#M#<account>#<region>#<cluster>#<service>#<metric>` | [`sortable`]`(period start)` | `at`, `average`, `maximum` N; `expires_at` |
//! | metric series | `ECS#MS#<account>` | `<region>#<cluster>#<service>#<metric>` | `series` S (the points' `pk`) |
//!
//! Listing every snapshot is one `Query` (paged); an account and region's snapshots are
//! a `begins_with` on the sort key. Key parts pass
//! [`check_service_key`](sentinel_store::ecs::check_service_key), so `#` never appears
//! inside one and the sort key's byte order is [`ServiceKey`] order. The series items
//! let `delete_account_data` find the history of services that have since vanished
//! without a `Scan`.
//!
//! # Write costs
//!
//! Collections fetch overlapping 24 h windows, so most points of a window are already
//! stored. [`append_metrics`](EcsSnapshotStore::append_metrics) reads the newest
//! stored period (a one-item reverse `Query`) and writes only that period (CloudWatch
//! may still have been filling it) and newer ones: periods before it are final. In
//! steady state a 5-minute collection of a 5-minute period writes 2 points per series,
//! not 288. The first write of a series also writes its series item. Writes go through
//! `BatchWriteItem` (25 per call), re-sending unprocessed items with backoff.
//!
//! Metric points carry `expires_at` = period start + [`ECS_METRIC_RETENTION_MS`], so
//! DynamoDB deletes them for free and `prune_metrics` does nothing here.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};
use sentinel_core::UnixMs;
use sentinel_core::ecs::{EcsMetric, Health, MetricPoint, ServiceKey, ServiceSnapshot};
use sentinel_store::ecs::{check_metric_points, check_service_key, check_snapshot_batch};
use sentinel_store::{ECS_METRIC_RETENTION_MS, EcsSnapshotStore, PreviousHealth, StoreResult};

use super::item::{Item, get_n, get_s, key, key_of, n, query_pages, s, sortable, ttl_seconds};
use super::{DynamoTable, TTL_ATTRIBUTE};
use crate::AwsError;

const SNAP_PK: &str = "ECS#SNAP";
const WHAT_SNAPSHOT: &str = "ECS snapshot";
const WHAT_POINT: &str = "ECS metric point";
const WHAT_SERIES: &str = "ECS metric series";
/// Most requests in one `BatchWriteItem`.
const BATCH: usize = 25;
/// Rounds of re-sending unprocessed writes before giving up.
const ROUNDS: u32 = 8;

fn metric_name(metric: EcsMetric) -> &'static str {
    match metric {
        EcsMetric::Cpu => "cpu",
        EcsMetric::Memory => "memory",
    }
}

fn snapshot_sk(key: &ServiceKey) -> String {
    format!(
        "{}#{}#{}#{}",
        key.account_id, key.region, key.cluster, key.service
    )
}

fn series_pk(key: &ServiceKey, metric: EcsMetric) -> String {
    format!(
        "ECS#M#{}#{}#{}#{}#{}",
        key.account_id,
        key.region,
        key.cluster,
        key.service,
        metric_name(metric)
    )
}

fn series_index_pk(account_id: &str) -> String {
    format!("ECS#MS#{account_id}")
}

fn parse_health(raw: &str) -> Result<Health, AwsError> {
    match raw {
        "healthy" => Ok(Health::Healthy),
        "degraded" => Ok(Health::Degraded),
        "failed" => Ok(Health::Failed),
        other => Err(AwsError::Corrupt(format!(
            "{WHAT_SNAPSHOT}: unknown health {other:?}"
        ))),
    }
}

fn decode_snapshot(item: &Item) -> Result<ServiceSnapshot, AwsError> {
    let json = get_s(item, "snapshot", WHAT_SNAPSHOT)?;
    serde_json::from_str(json).map_err(|e| AwsError::Corrupt(format!("{WHAT_SNAPSHOT}: {e}")))
}

fn decode_point(item: &Item) -> Result<MetricPoint, AwsError> {
    Ok(MetricPoint {
        at: get_n(item, "at", WHAT_POINT)?,
        average: get_n(item, "average", WHAT_POINT)?,
        maximum: get_n(item, "maximum", WHAT_POINT)?,
    })
}

fn put(item: Item) -> Result<WriteRequest, AwsError> {
    PutRequest::builder()
        .set_item(Some(item))
        .build()
        .map(|p| WriteRequest::builder().put_request(p).build())
        .map_err(|e| AwsError::Invalid(format!("put request: {e}")))
}

fn delete(key: Item) -> Result<WriteRequest, AwsError> {
    DeleteRequest::builder()
        .set_key(Some(key))
        .build()
        .map(|d| WriteRequest::builder().delete_request(d).build())
        .map_err(|e| AwsError::Invalid(format!("delete request: {e}")))
}

impl DynamoTable {
    /// Every item of partition `pk` (whose sort key starts with `sk_prefix`, if given),
    /// with the attributes named in `projection` (`#at` stands for `at`, a reserved
    /// word), consistently read, oldest sort key first.
    async fn query_all(
        &self,
        pk: &str,
        sk_prefix: Option<&str>,
        projection: Option<&str>,
    ) -> Result<Vec<Item>, AwsError> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .expression_attribute_values(":p", s(pk))
            .consistent_read(true);
        query = match sk_prefix {
            Some(prefix) => query
                .key_condition_expression("pk = :p AND begins_with(sk, :s)")
                .expression_attribute_values(":s", s(prefix)),
            None => query.key_condition_expression("pk = :p"),
        };
        if let Some(projection) = projection {
            query = query.projection_expression(projection);
            if projection.contains("#at") {
                query = query.expression_attribute_names("#at", "at");
            }
        }
        query_pages(query, None).await
    }

    /// Sends `requests` in `BatchWriteItem` calls of at most 25, re-sending unprocessed
    /// ones with backoff (they mean throttling).
    pub(super) async fn write_all(&self, requests: Vec<WriteRequest>) -> Result<(), AwsError> {
        let mut requests = requests.into_iter().peekable();
        while requests.peek().is_some() {
            let mut batch: Vec<WriteRequest> = requests.by_ref().take(BATCH).collect();
            for round in 0..ROUNDS {
                if batch.is_empty() {
                    break;
                }
                if round > 0 {
                    tokio::time::sleep(Duration::from_millis(50 << round)).await;
                }
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, batch)
                    .send()
                    .await
                    .map_err(|e| AwsError::sdk("DynamoDB BatchWriteItem", e))?;
                batch = out
                    .unprocessed_items
                    .and_then(|mut left| left.remove(&self.table))
                    .unwrap_or_default();
            }
            if !batch.is_empty() {
                return Err(AwsError::Sdk {
                    operation: "DynamoDB BatchWriteItem",
                    message: format!("{} writes still unprocessed after retries", batch.len()),
                    code: None,
                    retryable: true,
                    source: "unprocessed items".into(),
                });
            }
        }
        Ok(())
    }
}

#[async_trait]
impl EcsSnapshotStore for DynamoTable {
    #[tracing::instrument(level = "debug", skip_all, fields(%account_id, %region, services = snapshots.len(), at = at))]
    async fn replace_snapshots(
        &self,
        account_id: &str,
        region: &str,
        snapshots: &[ServiceSnapshot],
        at: UnixMs,
    ) -> StoreResult<Vec<PreviousHealth>> {
        check_snapshot_batch(account_id, region, snapshots).map_err(AwsError::Invalid)?;
        let prefix = format!("{account_id}#{region}#");
        // sk -> (health, at) of what is stored now.
        let mut stored: HashMap<String, (Health, i64)> = HashMap::new();
        for item in self
            .query_all(SNAP_PK, Some(&prefix), Some("pk, sk, health, #at"))
            .await?
        {
            let sk = get_s(&item, "sk", WHAT_SNAPSHOT)?.to_owned();
            let health = parse_health(get_s(&item, "health", WHAT_SNAPSHOT)?)?;
            stored.insert(sk, (health, get_n(&item, "at", WHAT_SNAPSHOT)?));
        }

        let mut requests = Vec::with_capacity(snapshots.len());
        let mut previous = Vec::with_capacity(snapshots.len());
        for snapshot in snapshots {
            let sk = snapshot_sk(&snapshot.key);
            let before = match stored.remove(&sk) {
                // Written by a later collection: leave it.
                Some((_, stored_at)) if stored_at > at => continue,
                Some((health, _)) => Some(health),
                None => None,
            };
            let json = serde_json::to_string(snapshot)
                .map_err(|e| AwsError::Invalid(format!("{WHAT_SNAPSHOT} does not encode: {e}")))?;
            let mut item = key(SNAP_PK.to_owned(), &sk);
            item.extend([
                ("snapshot".to_owned(), s(json)),
                ("health".to_owned(), s(snapshot.health.as_str())),
                ("at".to_owned(), n(at)),
                ("account_id".to_owned(), s(account_id)),
            ]);
            requests.push(put(item)?);
            previous.push((snapshot.key.clone(), before));
        }
        // Services this collection did not see are gone, unless a later one saw them.
        for (sk, (_, stored_at)) in stored {
            if stored_at <= at {
                requests.push(delete(key(SNAP_PK.to_owned(), &sk))?);
            }
        }
        self.write_all(requests).await?;
        Ok(previous)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_snapshots(&self) -> StoreResult<Vec<ServiceSnapshot>> {
        let mut snapshots = self
            .query_all(SNAP_PK, None, None)
            .await?
            .iter()
            .map(decode_snapshot)
            .collect::<Result<Vec<_>, _>>()?;
        // Already in this order (see the module docs); sorting is cheap insurance.
        snapshots.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(snapshots)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(cluster = %key.cluster, service = %key.service))]
    async fn get_snapshot(&self, key: &ServiceKey) -> StoreResult<Option<ServiceSnapshot>> {
        check_service_key(key).map_err(AwsError::Invalid)?;
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(super::item::key(
                SNAP_PK.to_owned(),
                &snapshot_sk(key),
            )))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| AwsError::sdk("DynamoDB GetItem", e))?;
        Ok(out.item().map(decode_snapshot).transpose()?)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(cluster = %key.cluster, service = %key.service, ?metric, points = points.len(), written))]
    async fn append_metrics(
        &self,
        key: &ServiceKey,
        metric: EcsMetric,
        points: &[MetricPoint],
    ) -> StoreResult<()> {
        check_metric_points(key, points).map_err(AwsError::Invalid)?;
        if points.is_empty() {
            return Ok(());
        }
        let pk = series_pk(key, metric);
        let newest = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s(&pk))
            .expression_attribute_names("#at", "at")
            .projection_expression("#at")
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| AwsError::sdk("DynamoDB Query", e))?;
        let newest_stored: Option<i64> = newest
            .items()
            .first()
            .map(|item| get_n(item, "at", WHAT_POINT))
            .transpose()?;

        // One point per period, the last given winning; periods before the newest
        // stored one are final and already stored.
        let mut by_period: BTreeMap<i64, MetricPoint> = BTreeMap::new();
        for p in points {
            if newest_stored.is_none_or(|newest| p.at >= newest) {
                by_period.insert(p.at, *p);
            }
        }
        let mut requests = Vec::with_capacity(by_period.len() + 1);
        if newest_stored.is_none() {
            // A new series (or one whose points all expired): make it findable by
            // `delete_account_data`.
            let mut series = super::item::key(
                series_index_pk(&key.account_id),
                &format!(
                    "{}#{}#{}#{}",
                    key.region,
                    key.cluster,
                    key.service,
                    metric_name(metric)
                ),
            );
            series.insert("series".to_owned(), s(&pk));
            requests.push(put(series)?);
        }
        for p in by_period.values() {
            let mut item = super::item::key(pk.clone(), &sortable(p.at));
            item.extend([
                ("at".to_owned(), n(p.at)),
                ("average".to_owned(), n(p.average)),
                ("maximum".to_owned(), n(p.maximum)),
                (
                    TTL_ATTRIBUTE.to_owned(),
                    n(ttl_seconds(p.at.saturating_add(ECS_METRIC_RETENTION_MS), 0)),
                ),
            ]);
            requests.push(put(item)?);
        }
        tracing::Span::current().record("written", requests.len());
        self.write_all(requests).await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(cluster = %key.cluster, service = %key.service, ?metric, from = from, to = to))]
    async fn metrics(
        &self,
        key: &ServiceKey,
        metric: EcsMetric,
        from: UnixMs,
        to: UnixMs,
    ) -> StoreResult<Vec<MetricPoint>> {
        check_service_key(key).map_err(AwsError::Invalid)?;
        if from >= to {
            return Ok(Vec::new());
        }
        let pk = series_pk(key, metric);
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :p AND sk BETWEEN :from AND :last")
            .expression_attribute_values(":p", s(&pk))
            .expression_attribute_values(":from", s(sortable(from)))
            .expression_attribute_values(":last", s(sortable(to - 1)))
            .consistent_read(true);
        let items = query_pages(query, None).await?;
        Ok(items.iter().map(decode_point).collect::<Result<_, _>>()?)
    }

    /// DynamoDB's TTL expires points [`ECS_METRIC_RETENTION_MS`] after their period.
    async fn prune_metrics(&self, _before: UnixMs) -> StoreResult<u64> {
        Ok(0)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(%account_id, deleted))]
    async fn delete_account_data(&self, account_id: &str) -> StoreResult<()> {
        if !sentinel_core::ecs::is_account_id(account_id) {
            return Err(AwsError::Invalid(format!(
                "ECS account id {account_id:?} is not 12 digits"
            ))
            .into());
        }
        let mut keys: Vec<Item> = self
            .query_all(SNAP_PK, Some(&format!("{account_id}#")), Some("pk, sk"))
            .await?
            .iter()
            .map(key_of)
            .collect();
        for series in self
            .query_all(&series_index_pk(account_id), None, None)
            .await?
        {
            let pk = get_s(&series, "series", WHAT_SERIES)?;
            keys.extend(
                self.query_all(pk, None, Some("pk, sk"))
                    .await?
                    .iter()
                    .map(key_of),
            );
            keys.push(key_of(&series));
        }
        tracing::Span::current().record("deleted", keys.len());
        let requests = keys
            .into_iter()
            .map(delete)
            .collect::<Result<Vec<_>, _>>()?;
        self.write_all(requests).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_documented_layout() {
        let key = ServiceKey {
            account_id: "123456789012".to_owned(),
            region: "eu-west-1".to_owned(),
            cluster: "prod".to_owned(),
            service: "web".to_owned(),
        };
        assert_eq!(snapshot_sk(&key), "123456789012#eu-west-1#prod#web");
        assert_eq!(
            series_pk(&key, EcsMetric::Memory),
            "ECS#M#123456789012#eu-west-1#prod#web#memory"
        );
        assert_eq!(series_index_pk("123456789012"), "ECS#MS#123456789012");
    }
}
