//! `bench-target`: the local server the benchmarks check, in its own process.
//!
//! Prints one JSON line (`{"port":…,"control_port":…,"tls":…,"ca_pem":…}`) once it
//! listens, then serves until killed. `GET /stats` on the control port returns its
//! counters (connections, handshakes, negotiated TLS parameters, requests).

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use sentinel_bench::target::{self, KxGroups, Ready, ServeOptions};

#[derive(Parser)]
#[command(about = "Local HTTP(S) target for Sentinel's benchmarks")]
struct Args {
    /// Serve HTTPS with a fresh CA and a leaf for localhost/127.0.0.1.
    #[arg(long)]
    tls: bool,
    /// Where to write the CA certificate (ca.pem) for --tls.
    #[arg(long, default_value = ".")]
    ca_dir: std::path::PathBuf,
    /// Key-exchange groups the TLS server offers.
    #[arg(long, value_enum, default_value_t = KxGroups::Default)]
    groups: KxGroups,
    /// Delay before every response, in ms (mimics a remote service).
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
    /// Tokio worker threads.
    #[arg(long, default_value_t = 1)]
    workers: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers.max(1))
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let (tls, ca_pem) = if args.tls {
            let certs = target::make_certs()?;
            let ca = target::write_ca(&args.ca_dir, &certs.ca_pem)?;
            (
                Some(Arc::new(target::server_tls(&certs, args.groups)?)),
                Some(ca),
            )
        } else {
            (None, None)
        };
        let (addr, control) = target::start(ServeOptions {
            tls,
            delay: Duration::from_millis(args.delay_ms),
        })
        .await?;
        let ready = Ready {
            port: addr.port(),
            control_port: control.port(),
            tls: args.tls,
            ca_pem: ca_pem.map(|p| p.canonicalize().unwrap_or(p)),
        };
        println!("{}", serde_json::to_string(&ready)?);
        std::future::pending::<()>().await;
        Ok(())
    })
}
