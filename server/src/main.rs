//! `sentinel`: self-hosted uptime monitoring in one binary.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod check;
mod config;
mod dashboard;
mod ecs;
mod migrate;
mod secrets;
mod serve;

#[derive(Parser)]
#[command(
    name = "sentinel",
    version,
    about = "Uptime monitoring: checks, status, alerts, badges"
)]
struct Cli {
    /// Log format: `text` (default) or `json`.
    #[arg(
        long,
        global = true,
        env = "SENTINEL_LOG_FORMAT",
        default_value = "text"
    )]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run Sentinel: check monitors, serve status and badges, send alerts.
    Serve(serve::ServeArgs),
    /// Check one URL now and print the outcome; exit 0 up, 1 down, 2 bad input.
    Check(check::CheckArgs),
    /// Apply the PostgreSQL migrations (`POSTGRES_URL`); safe to run again.
    Migrate(migrate::MigrateArgs),
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sentinel: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Serve(args) => {
            init_logging(&cli.log_format);
            match runtime.block_on(serve::run(args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) if e.is::<config::ConfigErrors>() => {
                    // Nothing started: the file is wrong. Exit 2 like any input error.
                    eprintln!("{e}");
                    ExitCode::from(2)
                }
                Err(e) => {
                    eprintln!("sentinel: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Migrate(args) => {
            init_logging(&cli.log_format);
            match runtime.block_on(migrate::run(args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e @ migrate::MigrateError::Usage(_)) => {
                    eprintln!("{e}");
                    ExitCode::from(2)
                }
                Err(e) => {
                    eprintln!("sentinel migrate: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Check(args) => {
            if std::env::var_os("RUST_LOG").is_some() {
                init_logging(&cli.log_format);
            }
            runtime.block_on(check::run(args))
        }
    }
}
