//! The [`PingLog`] port over the two collections.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::{Document, doc};
use sentinel_core::stats::{CheckCounts, Granularity, Rollup, WindowPlan};
use sentinel_core::{CheckResult, MonitorId, UnixMs};
use sentinel_store::{PingLog, StoreResult, plan_parts};

use crate::MongoPingLog;
use crate::append::bucket_range;
use crate::codec::{self, BUCKET_START, CHECKED_AT, CHECKS, GRANULARITY, MONITOR, SEEN, UP, bound};
use crate::error::backend;

/// Results fetched per cursor batch by `history`: a page of the UI, not the whole range.
const HISTORY_BATCH: u32 = 1_000;

#[async_trait]
impl PingLog for MongoPingLog {
    async fn append(&self, results: &[CheckResult]) -> StoreResult<()> {
        self.append_reporting(results).await.map(|_| ())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(monitor_id = %monitor, from, to, limit))]
    async fn history(
        &self,
        monitor: &MonitorId,
        from: UnixMs,
        to: UnixMs,
        limit: usize,
    ) -> StoreResult<Vec<CheckResult>> {
        if limit == 0 || from >= to {
            return Ok(Vec::new());
        }
        // Newest first, and within one checkedAt the oldest _id first, so skipping a
        // repeated key keeps the copy that was stored first. No server-side limit:
        // a (rare) duplicate must not cost a result, so we stop reading instead.
        let mut cursor = self
            .pings
            .find(doc! {
                MONITOR: monitor.as_str(),
                CHECKED_AT: { "$gte": bound(from), "$lt": bound(to) },
            })
            .sort(doc! { CHECKED_AT: -1, "_id": 1 })
            .batch_size(
                u32::try_from(limit)
                    .unwrap_or(u32::MAX)
                    .saturating_add(1)
                    .min(HISTORY_BATCH),
            )
            .await
            .map_err(backend)?;
        let mut out: Vec<CheckResult> = Vec::with_capacity(limit.min(HISTORY_BATCH as usize));
        while let Some(d) = cursor.try_next().await.map_err(backend)? {
            let result = codec::decode_check(&d)?;
            if out
                .last()
                .is_some_and(|prev| prev.checked_at == result.checked_at)
            {
                continue;
            }
            out.push(result);
            if out.len() == limit {
                break;
            }
        }
        Ok(out)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(monitor_id = %monitor, granularity = granularity.as_str(), from, to))]
    async fn rollups(
        &self,
        monitor: &MonitorId,
        granularity: Granularity,
        from: UnixMs,
        to: UnixMs,
    ) -> StoreResult<Vec<Rollup>> {
        if from >= to {
            return Ok(Vec::new());
        }
        let mut filter = bucket_range(granularity, from, to);
        filter.insert(MONITOR, monitor.as_str());
        self.find_rollups(filter).await
    }

    /// One query: the three ranges as an `$or`, sorted by bucket start, which is
    /// the plan's order (hours before < days < hours after, ranges disjoint).
    #[tracing::instrument(level = "debug", skip_all, fields(monitor_id = %monitor))]
    async fn window_rollups(
        &self,
        monitor: &MonitorId,
        plan: &WindowPlan,
    ) -> StoreResult<Vec<Rollup>> {
        let Some(ranges) = plan_filter(plan) else {
            return Ok(Vec::new());
        };
        let (start, end) = plan.span();
        self.find_rollups(doc! {
            MONITOR: monitor.as_str(),
            BUCKET_START: { "$gte": bound(start), "$lt": bound(end) },
            "$or": ranges,
        })
        .await
    }

    /// One aggregate over the `checks`/`up` fields of all monitors' rollups in the plan.
    #[tracing::instrument(level = "debug", skip_all, fields(monitors = monitors.len()))]
    async fn window_counts(
        &self,
        monitors: &[MonitorId],
        plan: &WindowPlan,
    ) -> StoreResult<HashMap<MonitorId, CheckCounts>> {
        let Some(ranges) = plan_filter(plan) else {
            return Ok(HashMap::new());
        };
        if monitors.is_empty() {
            return Ok(HashMap::new());
        }
        let (start, end) = plan.span();
        let ids: HashSet<&str> = monitors.iter().map(MonitorId::as_str).collect();
        let ids: Vec<&str> = ids.into_iter().collect();
        let pipeline = vec![
            // The span up front lets an index on (monitor, bucket) narrow the scan.
            doc! { "$match": {
                MONITOR: { "$in": ids },
                BUCKET_START: { "$gte": bound(start), "$lt": bound(end) },
                "$or": ranges,
            } },
            doc! { "$group": {
                "_id": format!("${MONITOR}"),
                CHECKS: { "$sum": format!("${CHECKS}") },
                UP: { "$sum": format!("${UP}") },
            } },
        ];
        let mut cursor = self.rollups.aggregate(pipeline).await.map_err(backend)?;
        let mut out = HashMap::new();
        while let Some(d) = cursor.try_next().await.map_err(backend)? {
            let raw = codec::str_field(&d, "_id", "window counts")?;
            let id = MonitorId::parse(raw).map_err(|e| {
                sentinel_store::StoreError::Corrupt(format!("rollup monitor id {raw:?}: {e}"))
            })?;
            let counts = CheckCounts {
                checks: codec::count_field(&d, CHECKS, "window counts")?,
                up: codec::count_field(&d, UP, "window counts")?,
            };
            if counts.checks > 0 {
                out.insert(id, counts);
            }
        }
        Ok(out)
    }

    /// Raw results only; rollups stay. Deleting by time from a time-series collection
    /// needs MongoDB 7.0+ (SecantusDB allows it).
    #[tracing::instrument(level = "debug", skip_all, fields(before))]
    async fn prune(&self, before: UnixMs) -> StoreResult<u64> {
        let deleted = self
            .pings
            .delete_many(doc! { CHECKED_AT: { "$lt": bound(before) } })
            .await
            .map_err(backend)?
            .deleted_count;
        tracing::debug!(deleted, "pruned check results");
        Ok(deleted)
    }
}

impl MongoPingLog {
    async fn find_rollups(&self, filter: Document) -> StoreResult<Vec<Rollup>> {
        let mut cursor = self
            .rollups
            .find(filter)
            .projection(doc! { SEEN: 0 })
            .sort(doc! { BUCKET_START: 1, GRANULARITY: 1 })
            .await
            .map_err(backend)?;
        let mut out = Vec::new();
        while let Some(d) = cursor.try_next().await.map_err(backend)? {
            out.push(codec::decode_rollup(&d)?);
        }
        Ok(out)
    }

    /// Deletes every raw result and rollup of `monitor`: ids are reused, and a new
    /// monitor must not inherit an old one's history. Call it where the monitor itself
    /// is deleted. Returns how many documents went.
    #[tracing::instrument(level = "debug", skip_all, fields(monitor_id = %monitor))]
    pub async fn purge_monitor(&self, monitor: &MonitorId) -> StoreResult<u64> {
        let filter = doc! { MONITOR: monitor.as_str() };
        let pings = self
            .pings
            .delete_many(filter.clone())
            .await
            .map_err(backend)?
            .deleted_count;
        let rollups = self
            .rollups
            .delete_many(filter)
            .await
            .map_err(backend)?
            .deleted_count;
        Ok(pings.saturating_add(rollups))
    }
}

/// The plan's non-empty ranges as `$or` clauses; `None` when it selects nothing.
fn plan_filter(plan: &WindowPlan) -> Option<Vec<Document>> {
    let ranges: Vec<Document> = plan_parts(plan)
        .into_iter()
        .filter(|(_, (from, to))| from < to)
        .map(|(granularity, (from, to))| bucket_range(granularity, from, to))
        .collect();
    (!ranges.is_empty()).then_some(ranges)
}

#[async_trait::async_trait]
impl sentinel_store::split::PurgeMonitor for MongoPingLog {
    async fn purge_monitor(&self, id: &MonitorId) -> StoreResult<()> {
        MongoPingLog::purge_monitor(self, id).await?;
        Ok(())
    }
}
