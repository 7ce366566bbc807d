//! [`PingLog`] on SQLite: `check_results` keyed by (monitor, checked_at) and `rollups`
//! updated in the same transaction, for the rows actually inserted only.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use sentinel_core::check::{ConditionResult, ProbeError, Timings};
use sentinel_core::stats::{CheckCounts, Granularity, Rollup, WindowPlan};
use sentinel_core::{CheckResult, MonitorId, UnixMs};
use sentinel_store::{PingLog, StoreError, StoreResult, plan_parts};
use serde::{Deserialize, Serialize};

use super::error::{DbError, from_json, narrow, to_json};
use super::{SqliteStore, sql_limit};

/// Rows a prune deletes per transaction, so appends are not held up for long.
const PRUNE_CHUNK: i64 = 1_000;

/// The columns-less part of a check result, stored as JSON.
#[derive(Serialize)]
struct DetailRef<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    ip: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cert_expires_at: Option<UnixMs>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a ProbeError>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    conditions: &'a [ConditionResult],
}

#[derive(Deserialize)]
struct Detail {
    #[serde(default)]
    ip: Option<String>,
    #[serde(default)]
    cert_expires_at: Option<UnixMs>,
    #[serde(default)]
    error: Option<ProbeError>,
    #[serde(default)]
    conditions: Vec<ConditionResult>,
}

#[async_trait]
impl PingLog for SqliteStore {
    #[tracing::instrument(level = "debug", skip_all, fields(results = results.len()))]
    async fn append(&self, results: &[CheckResult]) -> StoreResult<()> {
        if results.is_empty() {
            return Ok(());
        }
        let results = results.to_vec();
        let inserted = self
            .write(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let inserted = insert_batch(&tx, &results)?;
                tx.commit()?;
                Ok(inserted)
            })
            .await?;
        tracing::debug!(inserted, "appended check results");
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(monitor_id = %monitor, from, to, limit))]
    async fn history(
        &self,
        monitor: &MonitorId,
        from: UnixMs,
        to: UnixMs,
        limit: usize,
    ) -> StoreResult<Vec<CheckResult>> {
        let monitor = monitor.clone();
        self.read(move |conn| history(conn, &monitor, from, to, limit))
            .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(monitor_id = %monitor, granularity = granularity.as_str(), from, to))]
    async fn rollups(
        &self,
        monitor: &MonitorId,
        granularity: Granularity,
        from: UnixMs,
        to: UnixMs,
    ) -> StoreResult<Vec<Rollup>> {
        let monitor = monitor.to_string();
        self.read(move |conn| rollups_between(conn, &monitor, granularity, from, to))
            .await
    }

    /// The three ranges in one blocking hand-off, each from the cached statement.
    #[tracing::instrument(level = "debug", skip_all, fields(monitor_id = %monitor))]
    async fn window_rollups(
        &self,
        monitor: &MonitorId,
        plan: &WindowPlan,
    ) -> StoreResult<Vec<Rollup>> {
        let monitor = monitor.to_string();
        let plan = *plan;
        self.read(move |conn| {
            let mut out = Vec::new();
            for (granularity, (from, to)) in plan_parts(&plan) {
                if from < to {
                    out.extend(rollups_between(conn, &monitor, granularity, from, to)?);
                }
            }
            Ok(out)
        })
        .await
    }

    /// One query over the `checks`/`up` columns: no rollup JSON is decoded.
    #[tracing::instrument(level = "debug", skip_all, fields(monitors = monitors.len()))]
    async fn window_counts(
        &self,
        monitors: &[MonitorId],
        plan: &WindowPlan,
    ) -> StoreResult<HashMap<MonitorId, CheckCounts>> {
        if monitors.is_empty() {
            return Ok(HashMap::new());
        }
        let ids: Vec<&str> = monitors.iter().map(MonitorId::as_str).collect();
        let ids = to_json("monitor ids", &ids)?;
        let plan = *plan;
        let rows = self
            .read(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT monitor_id, SUM(checks), SUM(up) FROM (
                         SELECT monitor_id, checks, up FROM rollups
                          WHERE monitor_id IN (SELECT value FROM json_each(?1))
                            AND granularity = 'hour' AND bucket_start >= ?2 AND bucket_start < ?3
                         UNION ALL
                         SELECT monitor_id, checks, up FROM rollups
                          WHERE monitor_id IN (SELECT value FROM json_each(?1))
                            AND granularity = 'day' AND bucket_start >= ?4 AND bucket_start < ?5
                         UNION ALL
                         SELECT monitor_id, checks, up FROM rollups
                          WHERE monitor_id IN (SELECT value FROM json_each(?1))
                            AND granularity = 'hour' AND bucket_start >= ?6 AND bucket_start < ?7
                     ) GROUP BY monitor_id",
                )?;
                let rows = stmt
                    .query_map(
                        params![
                            ids,
                            plan.hours_before.0,
                            plan.hours_before.1,
                            plan.days.0,
                            plan.days.1,
                            plan.hours_after.0,
                            plan.hours_after.1
                        ],
                        |row| {
                            Ok((
                                row.get::<_, String>(0)?,
                                row.get::<_, i64>(1)?,
                                row.get::<_, i64>(2)?,
                            ))
                        },
                    )?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await?;
        rows.into_iter()
            .map(|(id, checks, up)| {
                let id = MonitorId::parse(&id)
                    .map_err(|e| StoreError::Corrupt(format!("rollup monitor id {id:?}: {e}")))?;
                let counts = CheckCounts {
                    checks: u64::try_from(checks).unwrap_or(0),
                    up: u64::try_from(up).unwrap_or(0),
                };
                Ok((id, counts))
            })
            .collect()
    }

    /// Deletes in chunks of `PRUNE_CHUNK` rows, each its own transaction, releasing the
    /// writer in between so appends keep flowing during a large prune.
    #[tracing::instrument(level = "debug", skip_all, fields(before))]
    async fn prune(&self, before: UnixMs) -> StoreResult<u64> {
        let mut total = 0u64;
        loop {
            let deleted = self
                .write(move |conn| {
                    let n = conn
                        .prepare_cached(
                            "DELETE FROM check_results
                             WHERE (monitor_id, checked_at) IN (
                                 SELECT monitor_id, checked_at FROM check_results
                                 WHERE checked_at < ?1 LIMIT ?2)",
                        )?
                        .execute(params![before, PRUNE_CHUNK])?;
                    Ok(n as u64)
                })
                .await?;
            total += deleted;
            if deleted < PRUNE_CHUNK as u64 {
                break;
            }
        }
        tracing::debug!(deleted = total, "pruned check results");
        Ok(total)
    }
}

/// Inserts the results that are new and folds exactly those into their rollups.
/// Returns how many were new.
fn insert_batch(tx: &Transaction<'_>, results: &[CheckResult]) -> Result<usize, DbError> {
    let mut fresh: Vec<&CheckResult> = Vec::with_capacity(results.len());
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO check_results (monitor_id, checked_at, success, status_code,
                 total_ms, dns_ms, connect_ms, tls_ms, first_byte_ms, failure_reason, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (monitor_id, checked_at) DO NOTHING",
        )?;
        for r in results {
            let detail = to_json(
                "check result",
                &DetailRef {
                    ip: r.ip.as_deref(),
                    cert_expires_at: r.cert_expires_at,
                    error: r.error.as_ref(),
                    conditions: &r.conditions,
                },
            )?;
            let t = &r.timings;
            let changed = insert.execute(params![
                r.monitor_id.as_str(),
                r.checked_at,
                r.success,
                r.status_code,
                t.total_ms,
                t.dns_ms,
                t.connect_ms,
                t.tls_ms,
                t.first_byte_ms,
                r.failure_reason,
                detail,
            ])?;
            if changed == 1 {
                fresh.push(r);
            }
        }
    }

    for granularity in [Granularity::Hour, Granularity::Day] {
        // Each bucket read and written once per batch, its checks recorded in order.
        let mut buckets: BTreeMap<(&MonitorId, UnixMs), Vec<&CheckResult>> = BTreeMap::new();
        for r in &fresh {
            buckets
                .entry((&r.monitor_id, granularity.bucket_start(r.checked_at)))
                .or_default()
                .push(r);
        }
        for ((monitor, start), checks) in buckets {
            let mut rollup = load_rollup(tx, monitor, granularity, start)?
                .unwrap_or_else(|| Rollup::empty(monitor.clone(), granularity, start));
            for check in checks {
                rollup.record(check);
            }
            store_rollup(tx, &rollup)?;
        }
    }
    Ok(fresh.len())
}

fn load_rollup(
    conn: &Connection,
    monitor: &MonitorId,
    granularity: Granularity,
    start: UnixMs,
) -> Result<Option<Rollup>, DbError> {
    let json: Option<String> = conn
        .prepare_cached(
            "SELECT rollup FROM rollups
             WHERE monitor_id = ?1 AND granularity = ?2 AND bucket_start = ?3",
        )?
        .query_row(
            params![monitor.as_str(), granularity.as_str(), start],
            |row| row.get(0),
        )
        .optional()?;
    json.map(|j| from_json("rollup", &j)).transpose()
}

fn store_rollup(conn: &Connection, rollup: &Rollup) -> Result<(), DbError> {
    let json = to_json("rollup", rollup)?;
    let count = |what, n: u64| i64::try_from(n).map_err(|_| DbError::OutOfRange { what, value: n });
    conn.prepare_cached(
        "INSERT INTO rollups (monitor_id, granularity, bucket_start, checks, up, rollup)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (monitor_id, granularity, bucket_start) DO UPDATE
         SET checks = excluded.checks, up = excluded.up, rollup = excluded.rollup",
    )?
    .execute(params![
        rollup.monitor_id.as_str(),
        rollup.granularity.as_str(),
        rollup.bucket_start,
        count("rollup checks", rollup.checks)?,
        count("rollup up", rollup.up)?,
        json,
    ])?;
    Ok(())
}

/// The stored columns of one result, before decoding.
struct RawResult {
    checked_at: UnixMs,
    success: bool,
    status_code: Option<i64>,
    total_ms: Option<f64>,
    dns_ms: Option<f64>,
    connect_ms: Option<f64>,
    tls_ms: Option<f64>,
    first_byte_ms: Option<f64>,
    failure_reason: Option<String>,
    detail: String,
}

fn history(
    conn: &Connection,
    monitor: &MonitorId,
    from: UnixMs,
    to: UnixMs,
    limit: usize,
) -> Result<Vec<CheckResult>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT checked_at, success, status_code, total_ms, dns_ms, connect_ms, tls_ms,
                first_byte_ms, failure_reason, detail
         FROM check_results
         WHERE monitor_id = ?1 AND checked_at >= ?2 AND checked_at < ?3
         ORDER BY checked_at DESC
         LIMIT ?4",
    )?;
    let raw = stmt
        .query_map(
            params![monitor.as_str(), from, to, sql_limit(limit)],
            |row| {
                Ok(RawResult {
                    checked_at: row.get(0)?,
                    success: row.get(1)?,
                    status_code: row.get(2)?,
                    total_ms: row.get(3)?,
                    dns_ms: row.get(4)?,
                    connect_ms: row.get(5)?,
                    tls_ms: row.get(6)?,
                    first_byte_ms: row.get(7)?,
                    failure_reason: row.get(8)?,
                    detail: row.get(9)?,
                })
            },
        )?
        .collect::<Result<Vec<_>, _>>()?;
    raw.into_iter()
        .map(|r| {
            let detail: Detail = from_json("check result", &r.detail)?;
            Ok(CheckResult {
                monitor_id: monitor.clone(),
                checked_at: r.checked_at,
                success: r.success,
                status_code: r
                    .status_code
                    .map(|c| narrow("status code", c))
                    .transpose()?,
                timings: Timings {
                    dns_ms: r.dns_ms,
                    connect_ms: r.connect_ms,
                    tls_ms: r.tls_ms,
                    first_byte_ms: r.first_byte_ms,
                    total_ms: r.total_ms.unwrap_or(f64::NAN),
                },
                ip: detail.ip,
                cert_expires_at: detail.cert_expires_at,
                error: detail.error,
                failure_reason: r.failure_reason,
                conditions: detail.conditions,
            })
        })
        .collect()
}

fn rollups_between(
    conn: &Connection,
    monitor: &str,
    granularity: Granularity,
    from: UnixMs,
    to: UnixMs,
) -> Result<Vec<Rollup>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT rollup FROM rollups
         WHERE monitor_id = ?1 AND granularity = ?2
           AND bucket_start >= ?3 AND bucket_start < ?4
         ORDER BY bucket_start",
    )?;
    let rows = stmt
        .query_map(params![monitor, granularity.as_str(), from, to], |row| {
            row.get::<_, String>(0)
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.iter().map(|j| from_json("rollup", j)).collect()
}
