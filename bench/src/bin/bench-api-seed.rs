//! `bench-api-seed`: check history for the API benchmark (`bench/api.sh`).
//!
//! Writes one check a minute for monitors `<prefix>001` … `<prefix><count>` into a fresh
//! `sentinel.db` (the file `sentinel serve --data <dir>` opens), through
//! `PingLog::append` in batches of 1,000 as the engine does, so the rollups the API reads
//! exist: `--days` days for every monitor, `--long-days` for the first one (the badge
//! monitor, so its 30-day uptime badge reads a full window). Latencies are log-normal
//! around 2 ms (a loopback `/health`), 0.1 % failures. Run it before the server starts;
//! the monitors themselves are created afterwards through `POST /api/monitors` with the
//! same ids (the ping log has no foreign key to them).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, ensure};
use clap::Parser;
use sentinel_bench::rng::Rng;
use sentinel_core::{CheckResult, ConditionResult, MonitorId, ProbeError, ProbeErrorKind, Timings};
use sentinel_embedded::SqliteStore;
use sentinel_store::PingLog;

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;

#[derive(Parser)]
#[command(about = "Seed check history for the API benchmark")]
struct Args {
    /// The data folder `sentinel serve --data` will use (must not hold a database yet).
    #[arg(long)]
    data: PathBuf,
    #[arg(long, default_value = "bench-")]
    prefix: String,
    #[arg(long, default_value_t = 100)]
    count: usize,
    /// Days of history of every monitor.
    #[arg(long, default_value_t = 2)]
    days: i64,
    /// Days of history of the first monitor.
    #[arg(long, default_value_t = 90)]
    long_days: i64,
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

fn result(rng: &mut Rng, id: &MonitorId, at: i64) -> CheckResult {
    if rng.unit() < 0.001 {
        let message = "connection refused by 127.0.0.1".to_owned();
        return CheckResult {
            monitor_id: id.clone(),
            checked_at: at,
            success: false,
            status_code: None,
            timings: Timings {
                dns_ms: None,
                connect_ms: None,
                tls_ms: None,
                first_byte_ms: None,
                total_ms: 0.3,
            },
            ip: Some("127.0.0.1".into()),
            cert_expires_at: None,
            failure_reason: Some(message.clone()),
            error: Some(ProbeError {
                kind: ProbeErrorKind::Refused,
                message,
            }),
            conditions: Vec::new(),
        };
    }
    let total = rng.lognormal(2.0, 0.4);
    CheckResult {
        monitor_id: id.clone(),
        checked_at: at,
        success: true,
        status_code: Some(200),
        timings: Timings {
            dns_ms: None,
            connect_ms: Some(total * 0.2),
            tls_ms: None,
            first_byte_ms: Some(total * 0.8),
            total_ms: total,
        },
        ip: Some("127.0.0.1".into()),
        cert_expires_at: None,
        failure_reason: None,
        error: None,
        conditions: vec![ConditionResult {
            condition: "[STATUS] == 200".into(),
            success: true,
            actual: "200".into(),
        }],
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(args.count >= 1 && args.days >= 1 && args.long_days >= args.days);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        std::fs::create_dir_all(&args.data)?;
        let db = args.data.join("sentinel.db");
        ensure!(
            !db.exists(),
            "{} exists; seed a fresh data folder",
            db.display()
        );
        let store = SqliteStore::open(&db).await?;
        let now = sentinel_pipeline::now_ms();
        let mut rng = Rng::new(args.seed);
        let started = Instant::now();
        let mut total = 0usize;
        let mut batch = Vec::with_capacity(1000);
        for n in 1..=args.count {
            let id = MonitorId::parse(&format!("{}{n:03}", args.prefix))
                .map_err(anyhow::Error::msg)
                .context("monitor id")?;
            let days = if n == 1 { args.long_days } else { args.days };
            let start = now - days * DAY_MS;
            // A stable per-monitor second within the minute, as the engine spreads them.
            let offset = (n as i64 * 7_919) % MINUTE_MS;
            for k in 0..days * 1440 {
                let at = start + k * MINUTE_MS + offset;
                if at >= now {
                    break;
                }
                batch.push(result(&mut rng, &id, at));
                if batch.len() == 1000 {
                    store.append(&batch).await?;
                    total += batch.len();
                    batch.clear();
                }
            }
        }
        if !batch.is_empty() {
            total += batch.len();
            store.append(&batch).await?;
        }
        eprintln!(
            "seeded {total} results for {} monitors in {:.1} s ({} days each, {} for {}001)",
            args.count,
            started.elapsed().as_secs_f64(),
            args.days,
            args.long_days,
            args.prefix
        );
        Ok(())
    })
}
