//! `bench-login`: what a sign-in costs against what its PBKDF2 costs, in one run.
//!
//! Against a running `sentinel serve` (see `bench/api.sh`), alternating one of each per
//! round, `--n` rounds:
//! - **login (right password)**: `POST /api/auth/login` on a fresh loopback connection,
//!   timed from connect to the end of the answer (200 with an access token required);
//! - **login (wrong password)** and **login (unknown email)**: the same, 401 required;
//!   they must cost the same PBKDF2 (the server checks a dummy hash for unknown emails);
//! - **PBKDF2 in-process**: `sentinel_api::auth::password::verify_now` (what the login
//!   handler runs on the blocking pool: PHC parse + PBKDF2-HMAC-SHA256, 600,000 rounds)
//!   and the bare `pbkdf2` crate (`Pbkdf2::hash_password_into`, the same algorithm and
//!   parameters as `password.rs`), on this thread, with its CPU time.
//!
//! The server allows 5 sign-in attempts per minute per client IP + email, so every
//! attempt comes from its own loopback source address (127.0.1.k, 127.0.2.k, 127.0.3.k):
//! no attempt is limited (a 429 makes the run fail). The client's own work (one small
//! JSON request) is negligible next to 600,000 HMAC rounds; the server and this process
//! share the machine but never run at the same time.

use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use clap::Parser;
use pbkdf2::{Algorithm, Params, Pbkdf2};
use sentinel_bench::{Summary, proc};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Parser)]
#[command(about = "Login cost vs PBKDF2 cost")]
struct Args {
    /// The server, e.g. 127.0.0.1:8080.
    #[arg(long)]
    addr: SocketAddr,
    #[arg(long)]
    email: String,
    #[arg(long)]
    password: String,
    /// Rounds (each: one of every login kind and one of every in-process hash).
    #[arg(long, default_value_t = 20)]
    n: usize,
    /// Append the result as one JSON line to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// One `POST /api/auth/login` on a fresh connection from `source`; returns (status, ms).
async fn login(
    addr: SocketAddr,
    source: Ipv4Addr,
    email: &str,
    password: &str,
) -> anyhow::Result<(u16, f64, String)> {
    let body = serde_json::json!({ "email": email, "password": password }).to_string();
    let request = format!(
        "POST /api/auth/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket
        .bind(SocketAddr::from((source, 0)))
        .with_context(|| format!("binding {source} (loopback is 127.0.0.0/8 on Linux)"))?;
    let started = Instant::now();
    let mut stream = socket.connect(addr).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("no HTTP status in {text:?}"))?;
    Ok((status, ms, text))
}

#[derive(Debug, Serialize)]
struct Report {
    date: String,
    machine: String,
    n: usize,
    rounds: u32,
    login_ok_ms: Summary,
    login_wrong_password_ms: Summary,
    login_unknown_email_ms: Summary,
    verify_now_ms: Summary,
    verify_now_cpu_ms_per_hash: f64,
    pbkdf2_raw_ms: Summary,
    pbkdf2_raw_cpu_ms_per_hash: f64,
    ratio_login_to_pbkdf2: f64,
    login_overhead_ms: f64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(
        args.n >= 1 && args.n <= 250,
        "--n must be 1..=250 (one source IP each)"
    );
    let hz = proc::clock_ticks();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    let stored = sentinel_api::auth::password::hash_now(&args.password)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    ensure!(sentinel_api::auth::password::verify_now(
        &args.password,
        &stored
    ));
    let raw = Pbkdf2::new(Algorithm::Pbkdf2Sha256, Params::RECOMMENDED);
    let rounds = Params::RECOMMENDED.rounds();
    ensure!(rounds == sentinel_api::auth::password::ROUNDS);
    let salt = [7u8; 16];

    let mut ok = Vec::new();
    let mut wrong = Vec::new();
    let mut unknown = Vec::new();
    let mut verify = Vec::new();
    let mut bare = Vec::new();
    let mut verify_cpu = std::time::Duration::ZERO;
    let mut bare_cpu = std::time::Duration::ZERO;
    let unknown_email = format!("nobody-{}", args.email);
    for k in 0..args.n {
        let host = u8::try_from(k + 1)?;
        for (third, password, email, want, into) in [
            (
                1u8,
                args.password.as_str(),
                args.email.as_str(),
                200u16,
                &mut ok,
            ),
            (
                2,
                "wrong password 123",
                args.email.as_str(),
                401,
                &mut wrong,
            ),
            (
                3,
                args.password.as_str(),
                unknown_email.as_str(),
                401,
                &mut unknown,
            ),
        ] {
            let source = Ipv4Addr::new(127, 0, third, host);
            let (status, ms, text) = runtime.block_on(login(args.addr, source, email, password))?;
            if status != want {
                bail!("login from {source} answered {status}, expected {want}: {text}");
            }
            if want == 200 && !text.contains("\"accessToken\"") {
                bail!("login answered 200 without an access token: {text}");
            }
            into.push(ms);
        }

        let cpu0 = proc::self_cpu(hz)?;
        let t = Instant::now();
        let matched = sentinel_api::auth::password::verify_now(&args.password, &stored);
        verify.push(t.elapsed().as_secs_f64() * 1e3);
        verify_cpu += proc::self_cpu(hz)?.since(&cpu0).total();
        ensure!(matched);

        let cpu0 = proc::self_cpu(hz)?;
        let t = Instant::now();
        let mut out = [0u8; 32];
        raw.hash_password_into(args.password.as_bytes(), &salt, &mut out);
        bare.push(t.elapsed().as_secs_f64() * 1e3);
        bare_cpu += proc::self_cpu(hz)?.since(&cpu0).total();
        std::hint::black_box(out);
    }

    let s = |v: &[f64]| Summary::of(v).context("no samples");
    let report = Report {
        date: sentinel_bench::today_utc(),
        machine: sentinel_bench::machine(),
        n: args.n,
        rounds,
        login_ok_ms: s(&ok)?,
        login_wrong_password_ms: s(&wrong)?,
        login_unknown_email_ms: s(&unknown)?,
        verify_now_ms: s(&verify)?,
        verify_now_cpu_ms_per_hash: verify_cpu.as_secs_f64() * 1e3 / args.n as f64,
        pbkdf2_raw_ms: s(&bare)?,
        pbkdf2_raw_cpu_ms_per_hash: bare_cpu.as_secs_f64() * 1e3 / args.n as f64,
        ratio_login_to_pbkdf2: s(&ok)?.median / s(&bare)?.median,
        login_overhead_ms: s(&ok)?.median - s(&bare)?.median,
    };

    println!(
        "# bench-login: {} rounds, {} ({})",
        args.n, report.machine, report.date
    );
    println!("| What | Median ms | p95 ms | Min ms | Max ms |");
    println!("|---|---|---|---|---|");
    for (name, v) in [
        ("login, right password (200)", &report.login_ok_ms),
        (
            "login, wrong password (401)",
            &report.login_wrong_password_ms,
        ),
        ("login, unknown email (401)", &report.login_unknown_email_ms),
        (
            "verify_now in-process (PHC + PBKDF2)",
            &report.verify_now_ms,
        ),
        (
            "bare PBKDF2-HMAC-SHA256, 600,000 rounds",
            &report.pbkdf2_raw_ms,
        ),
    ] {
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} | {:.1} |",
            v.median, v.p95, v.min, v.max
        );
    }
    println!(
        "CPU per hash in-process: verify_now {:.1} ms, bare {:.1} ms (10 ms ticks)",
        report.verify_now_cpu_ms_per_hash, report.pbkdf2_raw_cpu_ms_per_hash
    );
    println!(
        "login / bare PBKDF2 (medians): {:.3}× (login adds {:.1} ms)",
        report.ratio_login_to_pbkdf2, report.login_overhead_ms
    );
    if let Some(path) = &args.json {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        writeln!(f, "{}", serde_json::to_string(&report)?)?;
    }
    Ok(())
}
