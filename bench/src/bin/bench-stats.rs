//! `bench-stats`: 90-day stats of a 1-minute monitor from rollups vs a raw scan.
//!
//! Writes `--days` × 1440 check results of one monitor into a fresh `SqliteStore` (in
//! appends of `--batch`, as the engine does; log-normal latencies with a slow tail,
//! about 0.1 % failures), then times, in the same run and on the same file:
//! - **rollups**: exactly what the public API's `window` does (`plan_window` → one
//!   `rollups` query per range → `window_stats`);
//! - **raw (store)**: `PingLog::history` over the same span, then uptime, mean and exact
//!   nearest-rank percentiles from the raw values;
//! - **raw (SQL columns)**: a lower bound for any raw scan: `success, total_ms` straight
//!   from SQLite, no decoding of the detail column, then the same maths.
//!
//! It checks that the paths agree (uptime exactly, percentiles within the histogram's
//! error) and times each first with the WAL as the store leaves it, then again after a
//! checkpoint.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, ensure};
use clap::Parser;
use sentinel_bench::rng::Rng;
use sentinel_bench::{Summary, nearest_rank};
use sentinel_core::stats::{
    Granularity, LatencyHistogram, Period, Rollup, WindowStats, plan_window, window_stats,
};
use sentinel_core::{
    CheckResult, ConditionResult, MonitorId, ProbeError, ProbeErrorKind, Timings, UnixMs,
};
use sentinel_embedded::SqliteStore;
use sentinel_store::PingLog;
use serde::Serialize;

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;

#[derive(Parser)]
#[command(about = "Window stats from rollups vs a raw scan")]
struct Args {
    /// Days of history (one check a minute).
    #[arg(long, default_value_t = 90)]
    days: i64,
    /// Results per append.
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Timed iterations of the rollup path.
    #[arg(long, default_value_t = 300)]
    iters: usize,
    /// Timed iterations of each raw path.
    #[arg(long, default_value_t = 20)]
    raw_iters: usize,
    /// Share of failed checks.
    #[arg(long, default_value_t = 0.001)]
    failure_rate: f64,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Keep the database here instead of a temp folder.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Append the result as one JSON line to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// Uptime and latency figures computed from raw values.
#[derive(Debug, Clone, Copy, Serialize)]
struct RawStats {
    checks: u64,
    up: u64,
    uptime_pct: Option<f64>,
    avg_ms: Option<f64>,
    min_ms: Option<f64>,
    max_ms: Option<f64>,
    p50_ms: Option<f64>,
    p95_ms: Option<f64>,
    p99_ms: Option<f64>,
}

fn raw_stats(values: impl Iterator<Item = (bool, f64)>) -> RawStats {
    let mut checks = 0u64;
    let mut up = 0u64;
    let mut latencies = Vec::new();
    for (success, total_ms) in values {
        checks += 1;
        if success {
            up += 1;
            latencies.push(total_ms);
        }
    }
    latencies.sort_by(f64::total_cmp);
    let sum: f64 = latencies.iter().sum();
    RawStats {
        checks,
        up,
        uptime_pct: (checks > 0).then(|| up as f64 / checks as f64 * 100.0),
        avg_ms: (!latencies.is_empty()).then(|| sum / latencies.len() as f64),
        min_ms: latencies.first().copied(),
        max_ms: latencies.last().copied(),
        p50_ms: nearest_rank(&latencies, 0.50),
        p95_ms: nearest_rank(&latencies, 0.95),
        p99_ms: nearest_rank(&latencies, 0.99),
    }
}

/// Exactly `sentinel_api::public::window`: the plan's three ranges, then `window_stats`.
async fn rollup_window(
    store: &SqliteStore,
    id: &MonitorId,
    period: Period,
    now: UnixMs,
) -> anyhow::Result<(WindowStats, usize)> {
    let plan = plan_window(now - period.duration_ms(), now);
    let mut rollups: Vec<Rollup> = Vec::new();
    for (granularity, (from, to)) in [
        (Granularity::Hour, plan.hours_before),
        (Granularity::Day, plan.days),
        (Granularity::Hour, plan.hours_after),
    ] {
        if from < to {
            rollups.extend(store.rollups(id, granularity, from, to).await?);
        }
    }
    Ok((window_stats(&rollups), rollups.len()))
}

async fn raw_store_window(
    store: &SqliteStore,
    id: &MonitorId,
    span: (UnixMs, UnixMs),
) -> anyhow::Result<RawStats> {
    let history = store.history(id, span.0, span.1, usize::MAX).await?;
    Ok(raw_stats(
        history.iter().map(|r| (r.success, r.timings.total_ms)),
    ))
}

/// The columns only, on the blocking pool like the store's own reads.
async fn raw_sql_window(
    conn: &Arc<std::sync::Mutex<rusqlite::Connection>>,
    id: &MonitorId,
    span: (UnixMs, UnixMs),
) -> anyhow::Result<RawStats> {
    let conn = Arc::clone(conn);
    let id = id.to_string();
    tokio::task::spawn_blocking(move || -> anyhow::Result<RawStats> {
        let conn = conn
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned connection"))?;
        let mut stmt = conn.prepare_cached(
            "SELECT success, total_ms FROM check_results
             WHERE monitor_id = ?1 AND checked_at >= ?2 AND checked_at < ?3",
        )?;
        let rows = stmt
            .query_map(rusqlite::params![id, span.0, span.1], |r| {
                Ok((r.get::<_, bool>(0)?, r.get::<_, f64>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(raw_stats(rows.into_iter()))
    })
    .await?
}

/// A synthetic minute of a typical HTTPS monitor.
fn synth(rng: &mut Rng, id: &MonitorId, at: UnixMs, failure_rate: f64, now: UnixMs) -> CheckResult {
    if rng.unit() < failure_rate {
        let (kind, message, total) = if rng.unit() < 0.7 {
            (
                ProbeErrorKind::Timeout,
                "no response within 10s (waiting for 93.184.216.34:443 to answer)".to_owned(),
                10_000.0 + rng.unit() * 5.0,
            )
        } else {
            (
                ProbeErrorKind::Refused,
                "connection refused by 93.184.216.34:443".to_owned(),
                1.0 + rng.unit() * 30.0,
            )
        };
        return CheckResult {
            monitor_id: id.clone(),
            checked_at: at,
            success: false,
            status_code: None,
            timings: Timings {
                dns_ms: Some(2.0),
                connect_ms: None,
                tls_ms: None,
                first_byte_ms: None,
                total_ms: total,
            },
            ip: Some("93.184.216.34".into()),
            cert_expires_at: None,
            failure_reason: Some(message.clone()),
            error: Some(ProbeError { kind, message }),
            conditions: Vec::new(),
        };
    }
    // Mostly ~85 ms with a 2 % slow tail around 400 ms.
    let total = if rng.unit() < 0.02 {
        rng.lognormal(400.0, 0.5)
    } else {
        rng.lognormal(85.0, 0.3)
    };
    let dns = rng.lognormal(3.0, 0.5).min(total * 0.2);
    let connect = total * 0.15;
    let tls = total * 0.3;
    CheckResult {
        monitor_id: id.clone(),
        checked_at: at,
        success: true,
        status_code: Some(200),
        timings: Timings {
            dns_ms: Some(dns),
            connect_ms: Some(connect),
            tls_ms: Some(tls),
            first_byte_ms: Some(total - dns - connect - tls),
            total_ms: total,
        },
        ip: Some("93.184.216.34".into()),
        cert_expires_at: Some(now + 60 * DAY_MS),
        failure_reason: None,
        error: None,
        conditions: vec![ConditionResult {
            condition: "[STATUS] == 200".into(),
            success: true,
            actual: "200".into(),
        }],
    }
}

#[derive(Debug, Serialize)]
struct Timed {
    first_ms: f64,
    warm: Summary,
}

#[derive(Debug, Serialize)]
struct Phase {
    wal: &'static str,
    rollups: Timed,
    rollup_count: usize,
    raw_store: Timed,
    raw_sql: Timed,
    ratio_raw_store: f64,
    ratio_raw_sql: f64,
    other_periods: Vec<(String, Summary)>,
}

#[derive(Debug, Serialize)]
struct Report {
    bench: &'static str,
    date: String,
    machine: String,
    days: i64,
    results: usize,
    failures: u64,
    seed_s: f64,
    seed_rows_per_s: f64,
    append_ms: Summary,
    db_mib: f64,
    wal_mib_after_seed: f64,
    rollup_stats: WindowStats,
    raw_stats: RawStats,
    p_errors: Vec<(String, f64)>,
    phases: Vec<Phase>,
}

async fn time<F, Fut, T>(iters: usize, mut f: F) -> anyhow::Result<(Timed, T)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let t = Instant::now();
    let mut last = f().await?;
    let first_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut samples = Vec::with_capacity(iters);
    for _ in 0..iters {
        let t = Instant::now();
        last = f().await?;
        samples.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let warm = Summary::of(&samples).context("no iterations")?;
    Ok((Timed { first_ms, warm }, last))
}

fn file_mib(path: &Path) -> f64 {
    std::fs::metadata(path).map_or(0.0, |m| m.len() as f64 / (1024.0 * 1024.0))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    ensure!(args.days >= 1 && args.batch >= 1 && args.iters >= 1 && args.raw_iters >= 1);
    let temp = tempfile::tempdir()?;
    let dir = args.data.clone().unwrap_or_else(|| temp.path().to_owned());
    std::fs::create_dir_all(&dir)?;
    let db_path = dir.join("stats.db");
    ensure!(
        !db_path.exists(),
        "{} exists; the benchmark wants a fresh store",
        db_path.display()
    );
    let store = SqliteStore::open(&db_path).await?;
    let id = MonitorId::parse("api-prod").map_err(anyhow::Error::msg)?;

    // `now` on a realistic, not hour-aligned, clock; checks every minute at a stable
    // offset with a few ms of scheduling jitter, all in [now - days, now).
    let now = sentinel_pipeline::now_ms();
    let start = now - args.days * DAY_MS;
    let total = usize::try_from(args.days * 1440)?;
    let mut rng = Rng::new(args.seed);
    let mut failures = 0u64;
    let mut append_ms = Vec::new();
    let seed = Instant::now();
    let mut batch = Vec::with_capacity(args.batch);
    for k in 0..total {
        let at = start + k as i64 * MINUTE_MS + 17_000 + (rng.unit() * 40.0) as i64;
        let r = synth(&mut rng, &id, at, args.failure_rate, now);
        failures += u64::from(!r.success);
        batch.push(r);
        if batch.len() == args.batch || k + 1 == total {
            let t = Instant::now();
            store.append(&batch).await?;
            append_ms.push(t.elapsed().as_secs_f64() * 1e3);
            batch.clear();
        }
    }
    let seed_s = seed.elapsed().as_secs_f64();
    let wal_path = dir.join("stats.db-wal");
    let wal_mib_after_seed = file_mib(&wal_path);
    eprintln!(
        "seeded {total} results ({failures} failed) in {seed_s:.1} s; WAL {wal_mib_after_seed:.1} MiB"
    );

    let conn = rusqlite::Connection::open(&db_path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let conn = Arc::new(std::sync::Mutex::new(conn));
    let span = plan_window(now - Period::Quarter.duration_ms(), now).span();

    let mut phases = Vec::new();
    let mut agreement = None;
    for wal in ["as left by the store", "after wal_checkpoint(TRUNCATE)"] {
        if wal.starts_with("after") {
            let c = conn
                .lock()
                .map_err(|_| anyhow::anyhow!("poisoned connection"))?;
            let (busy, _, _): (i64, i64, i64) =
                c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
            ensure!(busy == 0, "checkpoint was blocked");
        }
        let (rollups, (stats, rollup_count)) = time(args.iters, || {
            rollup_window(&store, &id, Period::Quarter, now)
        })
        .await?;
        let (raw_store, raw) = time(args.raw_iters, || raw_store_window(&store, &id, span)).await?;
        let (raw_sql, raw_cols) = time(args.raw_iters, || raw_sql_window(&conn, &id, span)).await?;
        ensure!(
            raw.checks == raw_cols.checks && raw.up == raw_cols.up,
            "raw paths disagree"
        );
        let mut other_periods = Vec::new();
        for period in [Period::Day, Period::Week, Period::Month] {
            let (t, _) = time(args.iters, || rollup_window(&store, &id, period, now)).await?;
            other_periods.push((period.as_str().to_owned(), t.warm));
        }
        eprintln!(
            "{wal}: rollups median {:.2} ms, raw store {:.1} ms, raw SQL {:.1} ms",
            rollups.warm.median, raw_store.warm.median, raw_sql.warm.median
        );
        phases.push(Phase {
            wal,
            ratio_raw_store: raw_store.warm.median / rollups.warm.median,
            ratio_raw_sql: raw_sql.warm.median / rollups.warm.median,
            rollups,
            rollup_count,
            raw_store,
            raw_sql,
            other_periods,
        });
        agreement = Some((stats, raw));
    }
    let (stats, raw) = agreement.context("no phase ran")?;

    // Agreement: the same checks, the same uptime to the bit, percentiles within α.
    ensure!(
        stats.checks == raw.checks && stats.up == raw.up,
        "counts differ: rollups {}/{} vs raw {}/{}",
        stats.up,
        stats.checks,
        raw.up,
        raw.checks
    );
    ensure!(
        raw.checks == total as u64,
        "raw scan saw {} of {total}",
        raw.checks
    );
    ensure!(
        stats.uptime_pct.map(f64::to_bits) == raw.uptime_pct.map(f64::to_bits),
        "uptime differs: {:?} vs {:?}",
        stats.uptime_pct,
        raw.uptime_pct
    );
    ensure!(stats.min_ms == raw.min_ms && stats.max_ms == raw.max_ms);
    let mut p_errors = Vec::new();
    for (name, est, exact, bound) in [
        (
            "p50",
            stats.p50_ms,
            raw.p50_ms,
            LatencyHistogram::RELATIVE_ERROR,
        ),
        (
            "p95",
            stats.p95_ms,
            raw.p95_ms,
            LatencyHistogram::RELATIVE_ERROR,
        ),
        (
            "p99",
            stats.p99_ms,
            raw.p99_ms,
            LatencyHistogram::RELATIVE_ERROR,
        ),
        ("avg", stats.avg_ms, raw.avg_ms, 1e-9),
    ] {
        let (est, exact) = est.zip(exact).context("missing percentile")?;
        let err = (est - exact).abs() / exact;
        ensure!(
            err <= bound * (1.0 + 1e-9),
            "{name}: rollups {est} vs raw {exact} (error {err:.4} > {bound})"
        );
        p_errors.push((name.to_owned(), err));
    }

    let report = Report {
        bench: "stats",
        date: sentinel_bench::today_utc(),
        machine: sentinel_bench::machine(),
        days: args.days,
        results: total,
        failures,
        seed_s,
        seed_rows_per_s: total as f64 / seed_s,
        append_ms: Summary::of(&append_ms).context("no appends")?,
        db_mib: file_mib(&db_path),
        wal_mib_after_seed,
        rollup_stats: stats,
        raw_stats: raw,
        p_errors,
        phases,
    };

    println!(
        "## {}-day window of a 1-minute monitor ({} results, {} failed) — {}",
        report.days, report.results, report.failures, report.machine
    );
    println!(
        "| WAL | path | first call | median | p95 | min | iterations | raw ÷ rollups (median) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for p in &report.phases {
        for (name, t, ratio) in [
            (
                format!("rollups ({} rows)", p.rollup_count),
                &p.rollups,
                None,
            ),
            (
                "raw scan via PingLog::history".to_owned(),
                &p.raw_store,
                Some(p.ratio_raw_store),
            ),
            (
                "raw scan, 2 SQL columns only".to_owned(),
                &p.raw_sql,
                Some(p.ratio_raw_sql),
            ),
        ] {
            println!(
                "| {} | {} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {} | {} |",
                p.wal,
                name,
                t.first_ms,
                t.warm.median,
                t.warm.p95,
                t.warm.min,
                t.warm.n,
                ratio.map_or("—".into(), |r| format!("{r:.0}×"))
            );
        }
        let others: Vec<String> = p
            .other_periods
            .iter()
            .map(|(n, s)| format!("{n} {:.2} ms", s.median))
            .collect();
        println!("rollup path, other periods (median): {}", others.join(", "));
    }
    println!(
        "agreement: checks {} up {} uptime {:.4}% (bit-identical); p50 {:.2}/{:.2} p95 {:.2}/{:.2} \
         p99 {:.2}/{:.2} ms (rollups/raw), relative errors {:?}",
        stats.checks,
        stats.up,
        stats.uptime_pct.unwrap_or(f64::NAN),
        stats.p50_ms.unwrap_or(f64::NAN),
        raw.p50_ms.unwrap_or(f64::NAN),
        stats.p95_ms.unwrap_or(f64::NAN),
        raw.p95_ms.unwrap_or(f64::NAN),
        stats.p99_ms.unwrap_or(f64::NAN),
        raw.p99_ms.unwrap_or(f64::NAN),
        report
            .p_errors
            .iter()
            .map(|(n, e)| format!("{n} {:.3}%", e * 100.0))
            .collect::<Vec<_>>()
    );
    println!(
        "seeding: {:.1} s ({:.0} results/s), append of {} median {:.1} ms p95 {:.1} ms; \
         file {:.1} MiB, WAL after seeding {:.1} MiB",
        report.seed_s,
        report.seed_rows_per_s,
        args.batch,
        report.append_ms.median,
        report.append_ms.p95,
        report.db_mib,
        report.wal_mib_after_seed
    );
    if let Some(path) = &args.json {
        let mut line = serde_json::to_string(&report)?;
        line.push('\n');
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?
            .write_all(line.as_bytes())?;
    }
    Ok(())
}
