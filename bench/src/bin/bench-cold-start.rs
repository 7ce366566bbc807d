//! Cold start of each Lambda function: process start → ready for its first event
//! (`GET …/invocation/next`) → first event answered. The functions run as on AWS,
//! against a local implementation of the Lambda Runtime API (this program), with their
//! configuration in the environment and DynamoDB / SQS / SES in moto.
//!
//!   bench-cold-start --bin-dir target/release --endpoint http://127.0.0.1:PORT \
//!       [--runs 15] [--json bench/out/cold-start.jsonl]
//!
//! Events: the public function answers `events/public-openapi.json` (no store); every
//! other HTTP function `events/<group>-….json` with the sample's placeholder token, so
//! the answer is a 401 after one rate-limit write to DynamoDB (moto, on loopback); the
//! prober and notifier an empty SQS batch; the scheduler and the ECS collector are timed
//! to "ready" only (their events read PostgreSQL).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use tokio::sync::Notify;

#[derive(Parser)]
struct Args {
    /// Where the function binaries are (`cargo build --release` output).
    #[arg(long)]
    bin_dir: PathBuf,
    /// moto, for DynamoDB (rate limits) and the SDK clients.
    #[arg(long)]
    endpoint: String,
    #[arg(long, default_value_t = 15)]
    runs: usize,
    #[arg(long)]
    json: Option<PathBuf>,
}

/// What the fake Runtime API saw during one cold start.
#[derive(Default)]
struct Run {
    event: Vec<u8>,
    ready_at: Option<Instant>,
    answered_at: Option<Instant>,
    answer: Vec<u8>,
    served: bool,
}

struct Api {
    run: Mutex<Run>,
    changed: Notify,
}

async fn handle(
    api: Arc<Api>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    if method == Method::GET && path.ends_with("/runtime/invocation/next") {
        let event = {
            let mut run = api.run.lock();
            run.ready_at.get_or_insert_with(Instant::now);
            if run.served {
                None
            } else {
                run.served = true;
                Some(run.event.clone())
            }
        };
        api.changed.notify_waiters();
        let Some(event) = event else {
            // One event per process: park the second poll until we kill it.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return Ok(Response::new(Full::new(Bytes::new())));
        };
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() + 30_000)
            .unwrap_or(0);
        let response = Response::builder()
            .header("Lambda-Runtime-Aws-Request-Id", "cold-start-1")
            .header("Lambda-Runtime-Deadline-Ms", deadline.to_string())
            .header(
                "Lambda-Runtime-Invoked-Function-Arn",
                "arn:aws:lambda:us-east-1:123456789012:function:bench",
            )
            .header(
                "Lambda-Runtime-Trace-Id",
                "Root=1-00000000-000000000000000000000000",
            )
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(event)))
            .unwrap_or_default();
        return Ok(response);
    }
    if method == Method::POST {
        let body = req.into_body().collect().await?.to_bytes();
        {
            let mut run = api.run.lock();
            run.answered_at.get_or_insert_with(Instant::now);
            run.answer = body.to_vec();
        }
        api.changed.notify_waiters();
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = StatusCode::ACCEPTED;
        return Ok(response);
    }
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::NOT_FOUND;
    Ok(response)
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let events = root.join("events");

    // The table the HTTP functions count rate limits in.
    let table = format!("bench-cold-{}", std::process::id());
    let aws = sentinel_aws::AwsConfig::emulator(&args.endpoint).await;
    sentinel_aws::DynamoTable::new(aws.dynamodb(), table.clone())
        .create_table()
        .await
        .context("create the DynamoDB table in moto")?;

    let api = Arc::new(Api {
        run: Mutex::new(Run::default()),
        changed: Notify::new(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let runtime_addr = listener.local_addr()?;
    let server_api = Arc::clone(&api);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let api = Arc::clone(&server_api);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| handle(Arc::clone(&api), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });

    let empty_sqs = br#"{"Records":[]}"#.to_vec();
    let functions: Vec<(&str, Option<Vec<u8>>)> = vec![
        (
            "public",
            Some(std::fs::read(events.join("public-openapi.json"))?),
        ),
        ("auth", Some(std::fs::read(events.join("auth-me.json"))?)),
        (
            "users",
            Some(std::fs::read(events.join("users-list.json"))?),
        ),
        (
            "monitors",
            Some(std::fs::read(events.join("monitors-list.json"))?),
        ),
        (
            "metrics",
            Some(std::fs::read(events.join("metrics-stats.json"))?),
        ),
        (
            "export",
            Some(std::fs::read(events.join("export-csv.json"))?),
        ),
        (
            "api-keys",
            Some(std::fs::read(events.join("api-keys-list.json"))?),
        ),
        (
            "ecs",
            Some(std::fs::read(events.join("ecs-clusters.json"))?),
        ),
        ("prober", Some(empty_sqs.clone())),
        ("notifier", Some(empty_sqs)),
        ("scheduler", None),
        ("ecs-collector", None),
    ];
    let env: HashMap<&str, String> = HashMap::from([
        ("AWS_LAMBDA_RUNTIME_API", runtime_addr.to_string()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "bench".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench".into()),
        ("AWS_ENDPOINT_URL", args.endpoint.clone()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        // Never contacted at start-up (connections are made lazily).
        (
            "POSTGRES_URL",
            "postgres://sentinel@127.0.0.1:1/sentinel".into(),
        ),
        (
            "MONGODB_URI",
            "mongodb://127.0.0.1:1/?directConnection=true".into(),
        ),
        ("TABLE_NAME", table.clone()),
        (
            "CHECKS_QUEUE_URL",
            format!("{}/123456789012/checks", args.endpoint),
        ),
        ("EVENT_BUS_NAME", "sentinel".into()),
        ("MAIL_FROM", "alerts@example.com".into()),
        ("REPORTS_BUCKET", "reports".into()),
        (
            "JWT_SECRET",
            "a-cold-start-benchmark-secret-of-enough-length".into(),
        ),
        (
            "ENCRYPTION_KEYS",
            "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f".into(),
        ),
        ("FRONTEND_URL", "https://status.example.com".into()),
        ("RUST_LOG", "warn".into()),
    ]);

    println!(
        "| Function | Ready for the first event, median ms (p90) | First event answered, median ms (p90) | Answer |"
    );
    println!("|---|---|---|---|");
    let mut json_lines = Vec::new();
    for (name, event) in &functions {
        let bin = args.bin_dir.join(name);
        if !bin.is_file() {
            bail!(
                "{} is missing: cargo build --release -p sentinel-fn-{name}",
                bin.display()
            );
        }
        let mut ready = Vec::new();
        let mut answered = Vec::new();
        let mut answer_text = String::new();
        for _ in 0..args.runs {
            *api.run.lock() = Run {
                event: event.clone().unwrap_or_else(|| b"{}".to_vec()),
                served: event.is_none(),
                ..Run::default()
            };
            let started = Instant::now();
            let mut child = Command::new(&bin)
                .envs(&env)
                .env("AWS_LAMBDA_FUNCTION_NAME", name)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .with_context(|| format!("start {}", bin.display()))?;
            let deadline = started + Duration::from_secs(20);
            loop {
                let done = {
                    let run = api.run.lock();
                    if event.is_some() {
                        run.answered_at.is_some()
                    } else {
                        run.ready_at.is_some()
                    }
                };
                if done || Instant::now() > deadline {
                    break;
                }
                let notified = api.changed.notified();
                let _ = tokio::time::timeout(Duration::from_millis(5), notified).await;
            }
            let _ = child.kill();
            let _ = child.wait();
            let run = std::mem::take(&mut *api.run.lock());
            let Some(ready_at) = run.ready_at else {
                bail!("{name} never asked for an event");
            };
            ready.push((ready_at - started).as_secs_f64() * 1000.0);
            if let Some(at) = run.answered_at {
                answered.push((at - started).as_secs_f64() * 1000.0);
                let answer: serde_json::Value =
                    serde_json::from_slice(&run.answer).unwrap_or_default();
                answer_text = match answer.get("statusCode") {
                    Some(code) => format!("HTTP {code}"),
                    None => answer.to_string(),
                };
            } else if event.is_some() {
                bail!("{name} did not answer its event");
            }
        }
        ready.sort_by(f64::total_cmp);
        answered.sort_by(f64::total_cmp);
        let answered_text = if answered.is_empty() {
            "— (not sent)".to_owned()
        } else {
            format!(
                "{:.1} ({:.1})",
                percentile(&answered, 0.5),
                percentile(&answered, 0.9)
            )
        };
        println!(
            "| `{name}` | {:.1} ({:.1}) | {answered_text} | {answer_text} |",
            percentile(&ready, 0.5),
            percentile(&ready, 0.9),
        );
        json_lines.push(serde_json::json!({
            "function": name,
            "runs": args.runs,
            "ready_ms_p50": percentile(&ready, 0.5),
            "ready_ms_p90": percentile(&ready, 0.9),
            "answered_ms_p50": (!answered.is_empty()).then(|| percentile(&answered, 0.5)),
            "answered_ms_p90": (!answered.is_empty()).then(|| percentile(&answered, 0.9)),
            "answer": answer_text,
        }));
    }
    if let Some(path) = args.json {
        let mut text = String::new();
        for line in json_lines {
            text.push_str(&line.to_string());
            text.push('\n');
        }
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))?;
    }
    Ok(())
}
