//! The three idempotent steps of `append` (see the crate docs for why they are safe to
//! repeat after a crash at any point).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use futures::TryStreamExt;
use mongodb::bson::{Document, doc};
use sentinel_core::stats::{DAY_MS, Granularity, Rollup};
use sentinel_core::{CheckResult, MonitorId, UnixMs};
use sentinel_store::{StoreError, StoreResult};

use crate::codec::{
    self, BUCKET_START, CHECKED_AT, GRANULARITY, MONITOR, SEEN, SOURCE, SUCCESS, TOTAL_MS, VERSION,
    bound, date, rollup_id,
};
use crate::error::{DUPLICATE_KEY, backend};
use crate::{MongoPingLog, ROLLUPS};

/// Statements per `update` command: far below the server's 100,000 and 16 MB limits
/// even with full hourly `seen` sets (1.4 KB at a 10 s interval).
const STATEMENTS_PER_COMMAND: usize = 1_000;
/// Version conflicts on one hourly rollup before giving up (a retryable error).
const MAX_FOLD_ATTEMPTS: usize = 16;

type Key = (MonitorId, UnixMs);

/// What an append did, for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AppendReport {
    /// Raw results written (new keys).
    pub inserted: usize,
    /// Hourly rollups that folded in at least one check.
    pub hours_written: usize,
    /// Daily rollups re-derived and written.
    pub days_written: usize,
    /// Hourly folds redone because another append wrote the same hour in between.
    pub hour_conflicts: usize,
}

impl MongoPingLog {
    /// Appends a batch (see the crate docs) and says what it wrote. The same as
    /// [`PingLog::append`](sentinel_store::PingLog::append) with a report.
    #[tracing::instrument(level = "debug", skip_all, fields(results = results.len()))]
    pub async fn append_reporting(&self, results: &[CheckResult]) -> StoreResult<AppendReport> {
        if results.is_empty() {
            return Ok(AppendReport::default());
        }
        // First occurrence of a key inside the batch wins.
        let mut keys: HashSet<Key> = HashSet::with_capacity(results.len());
        let batch: Vec<&CheckResult> = results
            .iter()
            .filter(|r| keys.insert((r.monitor_id.clone(), r.checked_at)))
            .collect();

        // Step 1: raw pings, insert-if-absent.
        let stored = self.stored_pings(&batch).await?;
        let fresh: Vec<Document> = batch
            .iter()
            .filter(|r| !stored.contains_key(&(r.monitor_id.clone(), r.checked_at)))
            .map(|r| codec::encode_check(r))
            .collect();
        let inserted = fresh.len();
        if !fresh.is_empty() {
            self.pings.insert_many(fresh).await.map_err(backend)?;
        }

        // Step 2: fold into hourly rollups what each hour has not seen yet, using the
        // stored version of a key where one exists ("the first stored result wins").
        let mut hours: BTreeMap<Key, Vec<CheckResult>> = BTreeMap::new();
        for r in &batch {
            let key = (r.monitor_id.clone(), r.checked_at);
            let ping = stored.get(&key).cloned().unwrap_or_else(|| {
                codec::ping(
                    r.monitor_id.clone(),
                    r.checked_at,
                    r.success,
                    r.timings.total_ms,
                )
            });
            hours
                .entry((
                    r.monitor_id.clone(),
                    Granularity::Hour.bucket_start(r.checked_at),
                ))
                .or_default()
                .push(ping);
        }
        let days: BTreeSet<Key> = hours
            .keys()
            .map(|(m, start)| (m.clone(), Granularity::Day.bucket_start(*start)))
            .collect();
        let (hours_written, hour_conflicts) = self.fold_hours(hours).await?;

        // Step 3: re-derive every touched day from its hours.
        let days_written = self.refresh_days(&days).await?;

        let report = AppendReport {
            inserted,
            hours_written,
            days_written,
            hour_conflicts,
        };
        tracing::debug!(?report, "appended check results");
        Ok(report)
    }

    /// The stored results among `batch`'s keys (only what rollups need), the oldest
    /// copy of each if a race ever stored two. One index-friendly query (monitors ×
    /// the batch's time span, which is about a minute for a prober batch); the exact
    /// keys are picked out here.
    async fn stored_pings(&self, batch: &[&CheckResult]) -> StoreResult<HashMap<Key, CheckResult>> {
        let monitors: BTreeSet<&str> = batch.iter().map(|r| r.monitor_id.as_str()).collect();
        let (Some(first), Some(last)) = (
            batch.iter().map(|r| r.checked_at).min(),
            batch.iter().map(|r| r.checked_at).max(),
        ) else {
            return Ok(HashMap::new());
        };
        let wanted: HashSet<(&str, UnixMs)> = batch
            .iter()
            .map(|r| (r.monitor_id.as_str(), r.checked_at))
            .collect();
        let mut cursor = self
            .pings
            .find(doc! {
                MONITOR: { "$in": monitors.into_iter().collect::<Vec<_>>() },
                CHECKED_AT: { "$gte": date(first), "$lte": date(last) },
            })
            .projection(doc! { MONITOR: 1, CHECKED_AT: 1, SUCCESS: 1, TOTAL_MS: 1, "_id": 1 })
            .sort(doc! { "_id": 1 })
            .await
            .map_err(backend)?;
        let mut stored = HashMap::new();
        while let Some(d) = cursor.try_next().await.map_err(backend)? {
            let ping = codec::decode_ping(&d)?;
            if wanted.contains(&(ping.monitor_id.as_str(), ping.checked_at)) {
                stored
                    .entry((ping.monitor_id.clone(), ping.checked_at))
                    .or_insert(ping);
            }
        }
        Ok(stored)
    }

    /// Folds each bucket's checks into its hourly rollup; returns how many it wrote
    /// and how many folds it had to redo.
    ///
    /// All buckets go in one multi-statement `update` command, each statement a
    /// replacement conditional on the version read (`{_id, v}`) with upsert: a bucket
    /// that moved under us fails alone with a duplicate key on `_id`, and only those
    /// are re-read and folded again.
    async fn fold_hours(
        &self,
        hours: BTreeMap<Key, Vec<CheckResult>>,
    ) -> StoreResult<(usize, usize)> {
        let mut pending: Vec<(String, UnixMs, Vec<CheckResult>)> = hours
            .into_iter()
            .map(|((monitor, start), pings)| {
                (rollup_id(&monitor, Granularity::Hour, start), start, pings)
            })
            .collect();
        let (mut written, mut redone) = (0, 0);
        for _ in 0..MAX_FOLD_ATTEMPTS {
            let ids: Vec<&str> = pending.iter().map(|(id, _, _)| id.as_str()).collect();
            let current = self.rollups_by_id(&ids).await?;
            let mut statements = Vec::new();
            let mut owners = Vec::new();
            for (i, (id, start, pings)) in pending.iter().enumerate() {
                if let Some(next) = fold(id, *start, pings, current.get(id.as_str()))? {
                    statements.push(next);
                    owners.push(i);
                }
            }
            let conflicts = self.update_statements(statements).await?;
            written += owners.len() - conflicts.len();
            if conflicts.is_empty() {
                return Ok((written, redone));
            }
            redone += conflicts.len();
            tracing::debug!(
                conflicts = conflicts.len(),
                "hourly rollups moved under us; folding again"
            );
            let retry: HashSet<usize> = conflicts.into_iter().map(|c| owners[c]).collect();
            pending = pending
                .into_iter()
                .enumerate()
                .filter(|(i, _)| retry.contains(i))
                .map(|(_, p)| p)
                .collect();
        }
        Err(StoreError::Backend {
            message: format!(
                "{} hourly rollups kept changing; gave up after {MAX_FOLD_ATTEMPTS} attempts",
                pending.len()
            ),
            source: None,
        })
    }

    async fn rollups_by_id(&self, ids: &[&str]) -> StoreResult<HashMap<String, Document>> {
        let mut current = HashMap::with_capacity(ids.len());
        let mut cursor = self
            .rollups
            .find(doc! { "_id": { "$in": ids } })
            .await
            .map_err(backend)?;
        while let Some(d) = cursor.try_next().await.map_err(backend)? {
            let id = codec::str_field(&d, "_id", "rollup")?.to_owned();
            current.insert(id, d);
        }
        Ok(current)
    }

    /// Re-derives each day from its hourly rollups; returns how many days it wrote.
    async fn refresh_days(&self, days: &BTreeSet<Key>) -> StoreResult<usize> {
        let (Some(first), Some(last)) = (
            days.iter().map(|(_, d)| *d).min(),
            days.iter().map(|(_, d)| *d).max(),
        ) else {
            return Ok(0);
        };
        let monitors: BTreeSet<&str> = days.iter().map(|(m, _)| m.as_str()).collect();
        // One read: the rollups (hourly and daily) of the touched monitors over the
        // touched days; days not touched for a monitor are skipped below.
        let mut cursor = self
            .rollups
            .find(doc! {
                MONITOR: { "$in": monitors.into_iter().collect::<Vec<_>>() },
                BUCKET_START: { "$gte": bound(first), "$lt": bound(last.saturating_add(DAY_MS)) },
            })
            .projection(doc! { SEEN: 0 })
            .sort(doc! { BUCKET_START: 1 })
            .await
            .map_err(backend)?;
        struct Day {
            merged: Rollup,
            source: i64,
            hours: usize,
            stored_source: Option<i64>,
        }
        let mut merged: BTreeMap<Key, Day> = days
            .iter()
            .map(|(m, day)| {
                let d = Day {
                    merged: Rollup::empty(m.clone(), Granularity::Day, *day),
                    source: 0,
                    hours: 0,
                    stored_source: None,
                };
                ((m.clone(), *day), d)
            })
            .collect();
        while let Some(d) = cursor.try_next().await.map_err(backend)? {
            let rollup = codec::decode_rollup(&d)?;
            let key = (
                rollup.monitor_id.clone(),
                Granularity::Day.bucket_start(rollup.bucket_start),
            );
            let Some(day) = merged.get_mut(&key) else {
                continue;
            };
            match rollup.granularity {
                Granularity::Hour => {
                    day.merged.merge(&rollup);
                    day.source = day.source.saturating_add(codec::version_of(&d, VERSION)?);
                    day.hours += 1;
                }
                Granularity::Day => day.stored_source = Some(codec::version_of(&d, SOURCE)?),
            }
        }
        // `$set` unless a newer derivation (larger `src`) is stored: then the filter
        // misses, the upsert meets the `_id`, and that duplicate key is the answer.
        let statements: Vec<Document> = merged
            .into_values()
            .filter(|d| d.hours > 0 && d.stored_source != Some(d.source))
            .map(|d| {
                let id = rollup_id(
                    &d.merged.monitor_id,
                    Granularity::Day,
                    d.merged.bucket_start,
                );
                let mut fields = codec::encode_rollup(&d.merged);
                fields.insert(SOURCE, d.source);
                doc! {
                    "q": { "_id": id, SOURCE: { "$lt": d.source } },
                    "u": { "$set": fields },
                    "upsert": true,
                }
            })
            .collect();
        let total = statements.len();
        let newer = self.update_statements(statements).await?;
        Ok(total - newer.len())
    }

    /// Runs `update` statements against `rollups` in as few commands as possible
    /// (unordered, so one failure does not stop the rest). Returns the indexes of the
    /// statements that failed with a duplicate key; any other failure is an error.
    async fn update_statements(&self, statements: Vec<Document>) -> StoreResult<Vec<usize>> {
        let mut duplicates = Vec::new();
        let mut offset = 0;
        let mut rest = statements.into_iter().peekable();
        while rest.peek().is_some() {
            let chunk: Vec<Document> = rest.by_ref().take(STATEMENTS_PER_COMMAND).collect();
            let len = chunk.len();
            let reply = self
                .db
                .run_command(doc! { "update": ROLLUPS, "updates": chunk, "ordered": false })
                .await
                .map_err(backend)?;
            if let Ok(errors) = reply.get_array("writeErrors") {
                for e in errors {
                    let e = e.as_document().ok_or_else(|| {
                        StoreError::Corrupt("a write error is not a document".to_owned())
                    })?;
                    let index = e
                        .get("index")
                        .and_then(codec::int)
                        .and_then(|i| usize::try_from(i).ok());
                    let code = e.get("code").and_then(codec::int);
                    match (index, code) {
                        (Some(i), Some(c)) if c == i64::from(DUPLICATE_KEY) => {
                            duplicates.push(offset + i)
                        }
                        _ => {
                            return Err(StoreError::Backend {
                                message: format!("rollup update failed: {e}"),
                                source: None,
                            });
                        }
                    }
                }
            }
            if let Ok(wce) = reply.get_document("writeConcernError") {
                return Err(StoreError::Backend {
                    message: format!("rollup update write concern failed: {wce}"),
                    source: None,
                });
            }
            offset += len;
        }
        Ok(duplicates)
    }
}

/// The replacement of one hourly rollup with `pings` folded in, as an `update`
/// statement conditional on the version in `current`; `None` when every ping was
/// already folded in.
fn fold(
    id: &str,
    start: UnixMs,
    pings: &[CheckResult],
    current: Option<&Document>,
) -> StoreResult<Option<Document>> {
    let (mut rollup, mut seen, version) = match current {
        Some(d) => (
            codec::decode_rollup(d)?,
            codec::decode_seen(d)?,
            codec::version_of(d, VERSION)?,
        ),
        None => {
            let Some(first) = pings.first() else {
                return Ok(None);
            };
            (
                Rollup::empty(first.monitor_id.clone(), Granularity::Hour, start),
                BTreeSet::new(),
                0,
            )
        }
    };
    let mut changed = false;
    for ping in pings {
        let offset = u32::try_from(ping.checked_at - start).map_err(|_| {
            StoreError::Corrupt(format!(
                "check at {} is outside hour {start}",
                ping.checked_at
            ))
        })?;
        if seen.insert(offset) {
            rollup.record(ping);
            changed = true;
        }
    }
    if !changed {
        return Ok(None);
    }
    let mut next = codec::encode_rollup(&rollup);
    next.insert(VERSION, version.saturating_add(1));
    next.insert(SEEN, codec::encode_seen(&seen));
    // Version 0 means "not stored": the filter misses and the upsert inserts, unless
    // someone inserted first (duplicate key, a conflict like any other).
    Ok(Some(doc! {
        "q": { "_id": id, VERSION: version },
        "u": next,
        "upsert": true,
    }))
}

/// A bucket filter on `granularity` and a range of `bucketStart`.
pub(crate) fn bucket_range(granularity: Granularity, from: UnixMs, to: UnixMs) -> Document {
    doc! {
        GRANULARITY: granularity.as_str(),
        BUCKET_START: { "$gte": bound(from), "$lt": bound(to) },
    }
}
