//! `bench-engine`: the in-process engine with 10,000 monitors at a 60 s interval.
//!
//! A plain-HTTP target runs in its own process (`bench-target`). This process wires the
//! engine as `sentinel serve` does (SQLite store in a temp folder, the monitors stored
//! too, a default prober, no alert channels, `info` logging to a file) and runs it for
//! `--duration` seconds, sampling its counters every second. The first interval is
//! reported on its own (start-up: the scheduler syncs every monitor's paused state
//! before its first tick); the rest is the steady window the figures come from.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use clap::Parser;
use sentinel_bench::proc::{self, Cpu, mib};
use sentinel_bench::target::{TargetProcess, TargetStats};
use sentinel_core::monitor::{DurationInput, MonitorInput, MonitorSpec};
use sentinel_core::stats::LatencyHistogram;
use sentinel_embedded::SqliteStore;
use sentinel_pipeline::{CheckStage, Engine, EngineConfig, EngineStats, Notifier, RetryPolicy};
use sentinel_probe::{ProbeSettings, Prober};
use sentinel_store::MonitorStore;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(about = "The engine at many monitors against a local target")]
struct Args {
    /// Number of monitors.
    #[arg(long, default_value_t = 10_000)]
    monitors: usize,
    /// Check interval of every monitor, in seconds.
    #[arg(long, default_value_t = 60)]
    interval: i64,
    /// Total run time in seconds (the first interval is warm-up, the rest steady).
    #[arg(long, default_value_t = 240)]
    duration: u64,
    /// Checks in flight at once (`max_in_flight`, `sentinel serve`'s default is 512).
    #[arg(long, default_value_t = 512)]
    max_in_flight: usize,
    /// Delay the target adds before each response, ms (a remote service's latency).
    #[arg(long, default_value_t = 0)]
    target_delay_ms: u64,
    /// Tokio worker threads of the target process.
    #[arg(long, default_value_t = 1)]
    target_workers: usize,
    /// Log filter for the engine (as `sentinel serve`: info).
    #[arg(long, default_value = "info")]
    log: String,
    /// Keep the data folder (SQLite file, log) here instead of a temp folder.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Append the result as one JSON line to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, Serialize)]
struct Sample {
    t_s: f64,
    started: u64,
    recorded: u64,
    cpu_s: f64,
    rss_mib: f64,
    fds: usize,
    threads: u64,
    time_wait: usize,
}

#[derive(Debug, Serialize)]
struct Window {
    seconds: f64,
    checks_started: u64,
    checks_recorded: u64,
    checks_per_s: f64,
    drift_p50_ms: Option<f64>,
    drift_p99_ms: Option<f64>,
    drift_max_ms: Option<f64>,
    drift_count: u64,
    cpu_s: f64,
    cpu_pct_of_one_core: f64,
    cpu_us_per_check: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    bench: &'static str,
    date: String,
    machine: String,
    monitors: usize,
    interval_s: i64,
    duration_s: u64,
    max_in_flight: usize,
    target_delay_ms: u64,
    store_setup_s: f64,
    first_tick_after_s: Option<f64>,
    warmup: Window,
    steady: Window,
    peak_rss_mib: f64,
    end_rss_mib: f64,
    max_fds: usize,
    fd_limit: Option<u64>,
    max_threads: u64,
    max_time_wait: usize,
    ephemeral_ports: Option<(u32, u32)>,
    drain_s: f64,
    batches_failed: u64,
    transitions: u64,
    target: TargetStats,
    target_cpu_s: Option<f64>,
    results_stored: i64,
    results_failed: i64,
    failure_reasons: Vec<(String, i64)>,
    check_ms_p50: Option<f64>,
    check_ms_p99: Option<f64>,
    db_mib: f64,
    wal_mib: f64,
    log_lines: usize,
    log_warnings: usize,
    log_errors: usize,
    samples: Vec<Sample>,
}

fn monitors(n: usize, interval: i64, port: u16) -> anyhow::Result<Vec<MonitorSpec>> {
    (1..=n)
        .map(|i| {
            // Some variety in paths and queries, as real monitors have.
            let url = match i % 4 {
                0 => format!("http://127.0.0.1:{port}/health?n={i}"),
                1 => format!("http://127.0.0.1:{port}/status/{i}"),
                2 => format!("http://localhost:{port}/api/ping?n={i}"),
                _ => format!("http://127.0.0.1:{port}/"),
            };
            MonitorInput {
                id: Some(format!("m{i:05}")),
                name: Some(format!("Monitor {i}")),
                url: Some(url),
                interval: Some(DurationInput::Seconds(interval)),
                timeout: Some(DurationInput::Seconds(10)),
                ..MonitorInput::default()
            }
            .validate()
            .map_err(|e| anyhow::anyhow!("monitor {i} is invalid: {e:?}"))
        })
        .collect()
}

fn window(seconds: f64, started: u64, recorded: u64, drift: &LatencyHistogram, cpu: Cpu) -> Window {
    let cpu_s = cpu.total().as_secs_f64();
    Window {
        seconds,
        checks_started: started,
        checks_recorded: recorded,
        checks_per_s: recorded as f64 / seconds,
        drift_p50_ms: drift.quantile(0.5),
        drift_p99_ms: drift.quantile(0.99),
        drift_max_ms: drift.quantile(1.0),
        drift_count: drift.count(),
        cpu_s,
        cpu_pct_of_one_core: cpu_s / seconds * 100.0,
        cpu_us_per_check: if recorded > 0 {
            cpu_s * 1e6 / recorded as f64
        } else {
            f64::NAN
        },
    }
}

fn take_drift(stats: &EngineStats) -> LatencyHistogram {
    std::mem::take(&mut *stats.drift.lock())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(
        args.duration as i64 > args.interval,
        "--duration must be longer than one --interval"
    );
    let hz = proc::clock_ticks();
    let temp = tempfile::tempdir()?;
    let data = args.data.clone().unwrap_or_else(|| temp.path().to_owned());
    std::fs::create_dir_all(&data)?;
    let log_path = data.join("engine.log");
    let log_file = std::fs::File::create(&log_path)?;
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&args.log))
        .with_writer(std::sync::Mutex::new(log_file))
        .with_ansi(false)
        .init();

    let target = TargetProcess::spawn(&[
        "--workers",
        &args.target_workers.to_string(),
        "--delay-ms",
        &args.target_delay_ms.to_string(),
    ])?;
    let specs = monitors(args.monitors, args.interval, target.ready.port)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(run(&args, &data, &log_path, &target, specs, hz))?;

    println!(
        "## engine: {} monitors every {} s, {} s run ({}), max_in_flight {}",
        report.monitors, report.interval_s, report.duration_s, report.machine, report.max_in_flight
    );
    println!(
        "| window | seconds | checks/s (recorded) | drift p50 | drift p99 | drift max | CPU (% of one core) | CPU µs/check |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, w) in [
        ("first interval", &report.warmup),
        ("steady", &report.steady),
    ] {
        println!(
            "| {name} | {:.0} | {:.1} | {} | {} | {} | {:.1}% | {:.0} |",
            w.seconds,
            w.checks_per_s,
            ms(w.drift_p50_ms),
            ms(w.drift_p99_ms),
            ms(w.drift_max_ms),
            w.cpu_pct_of_one_core,
            w.cpu_us_per_check
        );
    }
    println!(
        "peak RSS (VmHWM) {:.1} MiB, end RSS {:.1} MiB, max fds {} (limit {:?}), max threads {}, \
         max TIME_WAIT {} (ports {:?})",
        report.peak_rss_mib,
        report.end_rss_mib,
        report.max_fds,
        report.fd_limit,
        report.max_threads,
        report.max_time_wait,
        report.ephemeral_ports
    );
    println!(
        "store set-up {:.1} s, first tick {:.1} s after spawn, drain {:.2} s, batches failed {}, \
         transitions {}",
        report.store_setup_s,
        report.first_tick_after_s.unwrap_or(f64::NAN),
        report.drain_s,
        report.batches_failed,
        report.transitions
    );
    println!(
        "results stored {} ({} failed: {:?}), check latency p50 {} p99 {}; target saw {} \
         connections, {} requests, used {:.1} s CPU",
        report.results_stored,
        report.results_failed,
        report.failure_reasons,
        ms(report.check_ms_p50),
        ms(report.check_ms_p99),
        report.target.accepted,
        report.target.requests,
        report.target_cpu_s.unwrap_or(f64::NAN)
    );
    println!(
        "SQLite file {:.1} MiB, WAL {:.1} MiB; log {} lines ({} WARN, {} ERROR)",
        report.db_mib, report.wal_mib, report.log_lines, report.log_warnings, report.log_errors
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
    drop(target);
    Ok(())
}

fn ms(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.1} ms"))
}

async fn run(
    args: &Args,
    data: &std::path::Path,
    log_path: &std::path::Path,
    target: &TargetProcess,
    specs: Vec<MonitorSpec>,
    hz: u64,
) -> anyhow::Result<Report> {
    // As `sentinel serve`: open the store, store the monitors, build the stage.
    let setup = Instant::now();
    let db_path = data.join("sentinel.db");
    let store = Arc::new(SqliteStore::open(&db_path).await?);
    for spec in &specs {
        store.upsert_monitor(spec).await?;
    }
    let store_setup_s = setup.elapsed().as_secs_f64();

    let prober = Prober::new(ProbeSettings::default())?;
    let stage = Arc::new(CheckStage::new(
        Arc::clone(&store),
        prober,
        args.max_in_flight,
    ));
    let notifier = Arc::new(Notifier::new(
        Arc::clone(&store),
        Vec::new(),
        RetryPolicy::default(),
    ));
    let shutdown = CancellationToken::new();
    let target0 = target.stats()?;
    let target_cpu0 = target.cpu(hz);

    let cpu0 = proc::self_cpu(hz)?;
    let start = Instant::now();
    let (engine, done) = Engine::spawn(
        stage,
        notifier,
        specs,
        EngineConfig {
            max_in_flight: args.max_in_flight,
        },
        shutdown.clone(),
    );
    let stats = Arc::clone(&engine.stats);

    let mut samples = Vec::new();
    let mut first_tick = None;
    let mut warm: Option<(Window, u64, u64, Cpu, Instant)> = None;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let end = start + Duration::from_secs(args.duration);
    let warmup_end = start + Duration::from_secs(args.interval as u64);
    loop {
        tick.tick().await;
        let now = Instant::now();
        let cpu = proc::self_cpu(hz)?;
        let started = stats.checks_started.load(Ordering::Relaxed);
        let recorded = stats.checks_recorded.load(Ordering::Relaxed);
        if first_tick.is_none() && stats.last_tick_ms.load(Ordering::Relaxed) != 0 {
            first_tick = Some(now.duration_since(start).as_secs_f64());
        }
        samples.push(Sample {
            t_s: now.duration_since(start).as_secs_f64(),
            started,
            recorded,
            cpu_s: cpu.since(&cpu0).total().as_secs_f64(),
            rss_mib: proc::rss().map_or(0.0, mib),
            fds: proc::open_fds().unwrap_or(0),
            threads: proc::threads().unwrap_or(0),
            time_wait: proc::time_wait_sockets(),
        });
        if warm.is_none() && now >= warmup_end {
            let drift = take_drift(&stats);
            let w = window(
                now.duration_since(start).as_secs_f64(),
                started,
                recorded,
                &drift,
                cpu.since(&cpu0),
            );
            eprintln!(
                "first interval done: {} checks recorded, drift p99 {}",
                recorded,
                ms(w.drift_p99_ms)
            );
            warm = Some((w, started, recorded, cpu, now));
        }
        if now >= end {
            break;
        }
        if samples.len() % 30 == 0 {
            eprintln!(
                "t={:.0}s started {} recorded {} rss {:.1} MiB",
                now.duration_since(start).as_secs_f64(),
                started,
                recorded,
                proc::rss().map_or(0.0, mib)
            );
        }
    }
    let (warmup, s0, r0, c0, t0) = warm.context("run ended before the first interval")?;
    let now = Instant::now();
    let cpu = proc::self_cpu(hz)?;
    let drift = take_drift(&stats);
    let steady = window(
        now.duration_since(t0).as_secs_f64(),
        stats.checks_started.load(Ordering::Relaxed) - s0,
        stats.checks_recorded.load(Ordering::Relaxed) - r0,
        &drift,
        cpu.since(&c0),
    );
    let peak_rss = proc::peak_rss().unwrap_or(0);
    let end_rss = proc::rss().unwrap_or(0);

    let drain = Instant::now();
    shutdown.cancel();
    done.await.context("engine task failed")?;
    let drain_s = drain.elapsed().as_secs_f64();
    let target_stats = target.stats()?.since(&target0);
    let target_cpu_s = match (target.cpu(hz), target_cpu0) {
        (Some(a), Some(b)) => Some(a.saturating_sub(b).as_secs_f64()),
        _ => None,
    };

    // What was stored, straight from the file.
    let db = rusqlite::Connection::open_with_flags(
        &db_path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let (results_stored, results_ok): (i64, i64) = db.query_row(
        "SELECT count(*), coalesce(sum(success), 0) FROM check_results",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mut stmt = db.prepare(
        "SELECT coalesce(failure_reason, '?'), count(*) FROM check_results
         WHERE success = 0 GROUP BY 1 ORDER BY 2 DESC LIMIT 5",
    )?;
    let failure_reasons = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<(String, i64)>, _>>()?;
    let mut stmt = db.prepare("SELECT total_ms FROM check_results WHERE success = 1")?;
    let mut latencies = stmt
        .query_map([], |r| r.get::<_, f64>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    latencies.sort_by(f64::total_cmp);
    let size = |p: PathBuf| std::fs::metadata(p).map_or(0, |m| m.len());
    let wal = db_path.with_extension("db-wal");

    let log = std::fs::read_to_string(log_path).unwrap_or_default();
    Ok(Report {
        bench: "engine",
        date: sentinel_bench::today_utc(),
        machine: sentinel_bench::machine(),
        monitors: args.monitors,
        interval_s: args.interval,
        duration_s: args.duration,
        max_in_flight: args.max_in_flight,
        target_delay_ms: args.target_delay_ms,
        store_setup_s,
        first_tick_after_s: first_tick,
        warmup,
        steady,
        peak_rss_mib: mib(peak_rss),
        end_rss_mib: mib(end_rss),
        max_fds: samples.iter().map(|s| s.fds).max().unwrap_or(0),
        fd_limit: proc::fd_limit(),
        max_threads: samples.iter().map(|s| s.threads).max().unwrap_or(0),
        max_time_wait: samples.iter().map(|s| s.time_wait).max().unwrap_or(0),
        ephemeral_ports: proc::ephemeral_ports(),
        drain_s,
        batches_failed: stats.batches_failed.load(Ordering::Relaxed),
        transitions: stats.transitions.load(Ordering::Relaxed),
        target: target_stats,
        target_cpu_s,
        results_stored,
        results_failed: results_stored - results_ok,
        failure_reasons,
        check_ms_p50: sentinel_bench::nearest_rank(&latencies, 0.5),
        check_ms_p99: sentinel_bench::nearest_rank(&latencies, 0.99),
        db_mib: mib(size(db_path.clone())),
        wal_mib: mib(size(wal)),
        log_lines: log.lines().count(),
        log_warnings: log.lines().filter(|l| l.contains(" WARN ")).count(),
        log_errors: log.lines().filter(|l| l.contains(" ERROR ")).count(),
        samples,
    })
}
