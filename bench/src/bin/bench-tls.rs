//! `bench-tls`: CPU time per fresh HTTPS check, Sentinel's prober against curl.
//!
//! A TLS target runs in its own process (`bench-target --tls`). Then, alternating, in
//! each repetition:
//! - **ours**: this process runs `--n` sequential `Prober::check` calls (each a new TCP
//!   connection, a full TLS 1.3 handshake, a GET and a small body); its own user+system
//!   CPU over the loop (`/proc/self/stat`) divided by `--n`;
//! - **curl**: one curl process fetches the same URL `--n` times from a config file,
//!   every transfer on a new connection (`Connection: close`, `--no-sessionid`), and its
//!   CPU as a reaped child (`/proc/self/stat` cutime+cstime) is measured; a second curl
//!   run with one URL gives curl's start-up, which is subtracted.
//!
//! The target counts TCP accepts, full handshakes, resumptions and the negotiated
//! version / cipher / group for each side, so the comparison is like for like.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use clap::Parser;
use sentinel_bench::proc::{self, Cpu};
use sentinel_bench::target::{KxGroups, TargetProcess, TargetStats};
use sentinel_core::monitor::{DurationInput, MonitorInput, MonitorSpec};
use sentinel_probe::{ProbeSettings, Prober, load_pem_certificates};
use serde::Serialize;

#[derive(Parser)]
#[command(about = "CPU per fresh HTTPS check: Sentinel's prober vs curl")]
struct Args {
    /// Checks per measured run (each side).
    #[arg(long, default_value_t = 2000)]
    n: usize,
    /// Unmeasured checks first (each side).
    #[arg(long, default_value_t = 100)]
    warmup: usize,
    /// Repetitions; the report shows the median.
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Host in the URL: 127.0.0.1 (no DNS) or localhost (the prober resolves it on
    /// every check; curl caches it).
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Key-exchange groups the target offers.
    #[arg(long, value_enum, default_value_t = KxGroups::X25519)]
    groups: KxGroups,
    /// Runtime for our side: `current` (one thread, like curl) or `multi` (2 workers,
    /// like `sentinel serve`).
    #[arg(long, value_enum, default_value_t = Flavor::Current)]
    runtime: Flavor,
    /// curl binary.
    #[arg(long, default_value = "curl")]
    curl: String,
    /// Append the result as one JSON line to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
enum Flavor {
    Current,
    Multi,
}

#[derive(Debug, Clone, Serialize)]
struct Run {
    checks: usize,
    cpu_user_s: f64,
    cpu_sys_s: f64,
    wall_s: f64,
    target: TargetStatsOut,
}

#[derive(Debug, Clone, Serialize)]
struct TargetStatsOut {
    accepted: u64,
    handshakes: u64,
    resumed: u64,
    requests: u64,
    negotiated: Vec<(String, u64)>,
}

impl From<TargetStats> for TargetStatsOut {
    fn from(s: TargetStats) -> Self {
        Self {
            accepted: s.accepted,
            handshakes: s.handshakes,
            resumed: s.resumed,
            requests: s.requests,
            negotiated: s.negotiated.into_iter().collect(),
        }
    }
}

impl Run {
    fn cpu_s(&self) -> f64 {
        self.cpu_user_s + self.cpu_sys_s
    }
}

#[derive(Debug, Serialize)]
struct Report {
    bench: &'static str,
    date: String,
    machine: String,
    curl_version: String,
    url: String,
    groups: KxGroups,
    runtime: Flavor,
    n: usize,
    reps: usize,
    ours: Vec<Run>,
    curl: Vec<Run>,
    curl_startup: Vec<Run>,
    ours_us_per_check: f64,
    curl_us_per_check: f64,
    curl_raw_us_per_check: f64,
    ratio: f64,
    ours_tls_ms_mean: f64,
    ours_total_ms_mean: f64,
}

fn cpu_run(cpu: Cpu, wall: Duration, checks: usize, target: TargetStats) -> Run {
    Run {
        checks,
        cpu_user_s: cpu.user.as_secs_f64(),
        cpu_sys_s: cpu.system.as_secs_f64(),
        wall_s: wall.as_secs_f64(),
        target: target.into(),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    sentinel_bench::nearest_rank(&v, 0.5).unwrap_or(f64::NAN)
}

fn spec(url: &str) -> anyhow::Result<MonitorSpec> {
    MonitorInput {
        id: Some("bench-tls".into()),
        name: Some("bench tls".into()),
        url: Some(url.into()),
        timeout: Some(DurationInput::Seconds(10)),
        ..MonitorInput::default()
    }
    .validate()
    .map_err(|e| anyhow::anyhow!("invalid bench monitor: {e:?}"))
}

/// Runs `n` checks in sequence; fails on the first failed check. Returns the summed
/// TLS and total times (ms) for the breakdown.
async fn checks(prober: &Prober, spec: &MonitorSpec, n: usize) -> anyhow::Result<(f64, f64)> {
    let (mut tls, mut total) = (0.0, 0.0);
    for i in 0..n {
        let out = prober.check(spec, i as i64).await;
        if let Some(e) = out.error {
            bail!("check {i} failed: {} {}", e.kind, e.message);
        }
        ensure!(
            out.status_code == Some(200),
            "check {i}: {:?}",
            out.status_code
        );
        tls += out.timings.tls_ms.unwrap_or(0.0);
        total += out.timings.total_ms;
    }
    Ok((tls, total))
}

fn curl_config(dir: &Path, url: &str, n: usize) -> anyhow::Result<PathBuf> {
    let path = dir.join(format!("curl-{n}.cfg"));
    let mut text = String::new();
    for _ in 0..n {
        writeln!(text, "url = \"{url}\"\noutput = \"/dev/null\"")?;
    }
    std::fs::write(&path, text)?;
    Ok(path)
}

/// One curl process doing every transfer of `config` on a new connection; returns its
/// CPU (as a reaped child) and wall time.
fn run_curl(args: &Args, ca: &Path, config: &Path, hz: u64) -> anyhow::Result<(Cpu, Duration)> {
    let before = proc::children_cpu(hz)?;
    let t = Instant::now();
    let status = Command::new(&args.curl)
        .args([
            "-s",
            "-S",
            "--fail",
            "--no-sessionid",
            "--http1.1",
            "--tlsv1.3",
        ])
        .arg("--cacert")
        .arg(ca)
        .args(["-H", "Connection: close", "-K"])
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .context("running curl")?;
    let wall = t.elapsed();
    let after = proc::children_cpu(hz)?;
    ensure!(status.success(), "curl failed: {status}");
    Ok((after.since(&before), wall))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(args.n >= 2 && args.reps >= 1, "--n must be at least 2");
    let hz = proc::clock_ticks();
    let curl_version = Command::new(&args.curl)
        .arg("--version")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .to_owned()
        })
        .context("curl --version")?;

    let dir = tempfile::tempdir()?;
    let dir_text = dir.path().to_string_lossy().into_owned();
    let groups = match args.groups {
        KxGroups::Default => "default",
        KxGroups::X25519 => "x25519",
    };
    let target = TargetProcess::spawn(&["--tls", "--ca-dir", &dir_text, "--groups", groups])?;
    let ca = target.ready.ca_pem.clone().context("no CA from target")?;
    let url = format!("https://{}:{}/health", args.host, target.ready.port);

    let prober = Prober::new(ProbeSettings {
        extra_root_certs: load_pem_certificates([&ca])?,
        ..ProbeSettings::default()
    })?;
    let spec = spec(&url)?;
    let runtime = match args.runtime {
        Flavor::Current => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
        Flavor::Multi => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?,
    };
    let run_ours = |n: usize| -> anyhow::Result<(f64, f64)> {
        let prober = prober.clone();
        let spec = spec.clone();
        // On the multi-thread runtime the loop runs on a worker, as the engine's do.
        runtime.block_on(async move {
            runtime_spawn(async move { checks(&prober, &spec, n).await }).await
        })
    };

    let cfg_n = curl_config(dir.path(), &url, args.n)?;
    let cfg_1 = curl_config(dir.path(), &url, 1)?;
    let cfg_warm = curl_config(dir.path(), &url, args.warmup.max(1))?;

    // Warm-up: page cache, allocator, CPU frequency.
    run_ours(args.warmup)?;
    run_curl(&args, &ca, &cfg_warm, hz)?;

    let mut ours = Vec::new();
    let mut curl = Vec::new();
    let mut curl_startup = Vec::new();
    let mut tls_ms = Vec::new();
    let mut total_ms = Vec::new();
    for rep in 0..args.reps {
        let s0 = target.stats()?;
        let c0 = proc::self_cpu(hz)?;
        let t = Instant::now();
        let (tls, total) = run_ours(args.n)?;
        let wall = t.elapsed();
        let c1 = proc::self_cpu(hz)?;
        let s1 = target.stats()?;
        tls_ms.push(tls / args.n as f64);
        total_ms.push(total / args.n as f64);
        ours.push(cpu_run(c1.since(&c0), wall, args.n, s1.since(&s0)));

        let s0 = target.stats()?;
        let (cpu, wall) = run_curl(&args, &ca, &cfg_n, hz)?;
        let s1 = target.stats()?;
        curl.push(cpu_run(cpu, wall, args.n, s1.since(&s0)));

        let s0 = target.stats()?;
        let (cpu, wall) = run_curl(&args, &ca, &cfg_1, hz)?;
        let s1 = target.stats()?;
        curl_startup.push(cpu_run(cpu, wall, 1, s1.since(&s0)));
        eprintln!(
            "rep {}: ours {:.0} µs/check, curl {:.0} µs/check (raw, start-up {:.1} ms)",
            rep + 1,
            ours[rep].cpu_s() * 1e6 / args.n as f64,
            curl[rep].cpu_s() * 1e6 / args.n as f64,
            curl_startup[rep].cpu_s() * 1e3
        );
    }

    // Every check must have been its own TCP connection and full handshake.
    for (side, runs) in [("ours", &ours), ("curl", &curl)] {
        for r in runs {
            let t = &r.target;
            ensure!(
                t.accepted == r.checks as u64
                    && t.handshakes == r.checks as u64
                    && t.requests == r.checks as u64
                    && t.resumed == 0,
                "{side}: {} checks but the target saw {} connections, {} handshakes \
                 ({} resumed), {} requests",
                r.checks,
                t.accepted,
                t.handshakes,
                t.resumed,
                t.requests
            );
        }
    }

    let n = args.n as f64;
    let ours_us = median(ours.iter().map(|r| r.cpu_s() * 1e6 / n).collect());
    let startup = median(curl_startup.iter().map(Run::cpu_s).collect());
    let curl_raw_us = median(curl.iter().map(|r| r.cpu_s() * 1e6 / n).collect());
    let curl_us = median(
        curl.iter()
            .map(|r| (r.cpu_s() - startup).max(0.0) * 1e6 / (n - 1.0))
            .collect(),
    );
    let report = Report {
        bench: "tls",
        date: sentinel_bench::today_utc(),
        machine: sentinel_bench::machine(),
        curl_version,
        url,
        groups: args.groups,
        runtime: args.runtime,
        n: args.n,
        reps: args.reps,
        ours_us_per_check: ours_us,
        curl_us_per_check: curl_us,
        curl_raw_us_per_check: curl_raw_us,
        ratio: ours_us / curl_us,
        ours_tls_ms_mean: median(tls_ms),
        ours_total_ms_mean: median(total_ms),
        ours,
        curl,
        curl_startup,
    };

    let neg = |runs: &[Run]| {
        runs.first()
            .map(|r| {
                r.target
                    .negotiated
                    .iter()
                    .map(|(k, v)| format!("{k} ×{v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    println!(
        "## fresh HTTPS check CPU ({}, groups {:?}, runtime {:?})",
        report.url, report.groups, report.runtime
    );
    println!(
        "| side | CPU µs/check (median of {}) | user/sys split (rep 1) | wall ms/check | negotiated (rep 1) |",
        args.reps
    );
    println!("|---|---|---|---|---|");
    let split = |r: &Run| {
        format!(
            "{:.0}% / {:.0}%",
            r.cpu_user_s / r.cpu_s() * 100.0,
            r.cpu_sys_s / r.cpu_s() * 100.0
        )
    };
    println!(
        "| sentinel prober | {:.0} | {} | {:.3} | {} |",
        report.ours_us_per_check,
        split(&report.ours[0]),
        report.ours[0].wall_s * 1e3 / n,
        neg(&report.ours)
    );
    println!(
        "| curl (start-up {:.1} ms subtracted; raw {:.0}) | {:.0} | {} | {:.3} | {} |",
        startup * 1e3,
        report.curl_raw_us_per_check,
        report.curl_us_per_check,
        split(&report.curl[0]),
        report.curl[0].wall_s * 1e3 / n,
        neg(&report.curl)
    );
    println!(
        "ratio sentinel/curl = {:.2} (target ≤ 1.5); prober mean TLS {:.3} ms, total {:.3} ms",
        report.ratio, report.ours_tls_ms_mean, report.ours_total_ms_mean
    );
    println!("{}", report.curl_version);
    if let Some(path) = &args.json {
        let mut line = serde_json::to_string(&report)?;
        line.push('\n');
        use std::io::Write;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?
            .write_all(line.as_bytes())?;
    }
    drop(target);
    Ok(())
}

/// Runs `fut` as a task of the current runtime and waits for it.
async fn runtime_spawn<F, T>(fut: F) -> anyhow::Result<T>
where
    F: std::future::Future<Output = anyhow::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    tokio::spawn(fut).await?
}
