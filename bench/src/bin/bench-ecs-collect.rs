//! `bench-ecs-collect`: one ECS collection of 20 clusters × 50 services on moto.
//!
//! Seeds a fresh account (a role assumed on moto maps to its own account, so nothing
//! another test or run created is counted) with `--clusters` × `--services` EC2
//! services and CloudWatch data for the first `--metric-services` of them, then runs
//! the collector `--runs` times and prints JSON: the API calls by kind, services per
//! `DescribeServices` (ECS allows 10), queries per `GetMetricData` (CloudWatch allows
//! 500) and the wall time. moto stands in for AWS, so the time is the collector's and
//! moto's CPU on this machine, not AWS latency; the call counts are what AWS would see.
//!
//! The endpoint is `SENTINEL_TEST_AWS_ENDPOINT`, else a moto started for the run.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, ensure};
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use aws_sdk_ecs::types::{ContainerDefinition, LaunchType};
use clap::Parser;
use futures::stream::{self, StreamExt, TryStreamExt};
use sentinel_aws::{AccountTarget, ApiCalls, AwsConfig, CollectorSettings, EcsCollector};
use sentinel_bench::{Summary, machine, today_utc};
use serde::Serialize;

#[derive(Parser)]
#[command(about = "One ECS collection of many clusters and services on moto")]
struct Args {
    #[arg(long, default_value_t = 20)]
    clusters: usize,
    /// Services per cluster.
    #[arg(long, default_value_t = 50)]
    services: usize,
    /// Services (the first ones) given 12 CloudWatch datapoints per metric. moto scans
    /// every datapoint for every query and period, so keep this small.
    #[arg(long, default_value_t = 5)]
    metric_services: usize,
    /// Collections to time (the first warms moto's and the SDK's caches too).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Requests in flight within the account (`CollectorSettings::max_in_flight`).
    #[arg(long, default_value_t = 8)]
    max_in_flight: usize,
    /// Seeding requests in flight.
    #[arg(long, default_value_t = 16)]
    seed_concurrency: usize,
    /// Append the result as one JSON line to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct Report {
    bench: &'static str,
    date: String,
    machine: String,
    endpoint: String,
    clusters: usize,
    services_per_cluster: usize,
    services: usize,
    metric_services: usize,
    max_in_flight: usize,
    seed_s: f64,
    /// Wall time of each collection, seconds.
    collect_s: Vec<f64>,
    collect_s_summary: Option<Summary>,
    /// Of the last run.
    calls: ApiCalls,
    calls_total: u64,
    describe_services_per_10_services: f64,
    metric_queries_per_get_metric_data: f64,
    services_collected: usize,
    clusters_collected: usize,
    series_collected: usize,
    region_errors: Vec<String>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A 12-digit account id of its own for this run.
fn fresh_account_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("9{:011}", (nanos / 1_000) % 100_000_000_000)
}

async fn seed(args: &Args, config: &AwsConfig, run: &str) -> anyhow::Result<()> {
    let ecs = config.ecs();
    ecs.register_task_definition()
        .family("bench")
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("nginx:1.27")
                .memory(128)
                .build(),
        )
        .send()
        .await
        .context("register the task definition")?;
    let clusters: Vec<String> = (0..args.clusters)
        .map(|c| format!("{run}-c{c:02}"))
        .collect();
    stream::iter(&clusters)
        .map(|name| {
            let ecs = ecs.clone();
            async move {
                ecs.create_cluster()
                    .cluster_name(name)
                    .send()
                    .await
                    .with_context(|| format!("create cluster {name}"))
            }
        })
        .buffer_unordered(args.seed_concurrency)
        .try_collect::<Vec<_>>()
        .await?;
    let services: Vec<(String, String)> = clusters
        .iter()
        .flat_map(|c| (0..args.services).map(move |s| (c.clone(), format!("svc-{s:03}"))))
        .collect();
    stream::iter(&services)
        .enumerate()
        .map(|(i, (cluster, name))| {
            let ecs = ecs.clone();
            async move {
                ecs.create_service()
                    .cluster(cluster)
                    .service_name(name)
                    .task_definition("bench")
                    .desired_count((i % 3) as i32)
                    .launch_type(LaunchType::Ec2)
                    .send()
                    .await
                    .with_context(|| format!("create service {cluster}/{name}"))
            }
        })
        .buffer_unordered(args.seed_concurrency)
        .try_collect::<Vec<_>>()
        .await?;

    let cloudwatch = config.cloudwatch();
    let end = now_ms() / 300_000 * 300_000;
    for (cluster, name) in services.iter().take(args.metric_services) {
        let mut request = cloudwatch.put_metric_data().namespace("AWS/ECS");
        for metric in ["CPUUtilization", "MemoryUtilization"] {
            for k in 1..=12_i64 {
                request = request.metric_data(
                    MetricDatum::builder()
                        .metric_name(metric)
                        .dimensions(
                            Dimension::builder()
                                .name("ClusterName")
                                .value(cluster)
                                .build(),
                        )
                        .dimensions(Dimension::builder().name("ServiceName").value(name).build())
                        .timestamp(DateTime::from_millis(end - k * 300_000 + 1_000))
                        .value((k * 7 % 100) as f64)
                        .unit(StandardUnit::Percent)
                        .build(),
                );
            }
        }
        request.send().await.context("put metric data")?;
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(args.runs > 0, "--runs must be at least 1");
    ensure!(
        args.metric_services <= args.clusters * args.services,
        "--metric-services is more than the services seeded"
    );
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("error"))
        .with_writer(std::io::stderr)
        .init();
    let endpoint = sentinel_testkit::services::aws_endpoint().to_owned();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let report = runtime.block_on(async {
        let base = AwsConfig::emulator(&endpoint).await;
        let account_id = fresh_account_id();
        let role_arn = format!("arn:aws:iam::{account_id}:role/sentinel-bench");
        let seeded = base
            .assuming_role(&role_arn, "sentinel-bench-seed")
            .await
            .context("assume the seeding role")?;
        let seed_started = Instant::now();
        seed(&args, &seeded, "bench").await?;
        let seed_s = seed_started.elapsed().as_secs_f64();
        eprintln!(
            "seeded {} services in {} clusters of account {account_id} in {seed_s:.1} s",
            args.clusters * args.services,
            args.clusters
        );

        let collector = EcsCollector::new(
            &base,
            CollectorSettings {
                max_in_flight: args.max_in_flight,
                ..CollectorSettings::default()
            },
        )?;
        let target = AccountTarget {
            role_arn: Some(role_arn),
            external_id: None,
            regions: vec!["us-east-1".to_owned()],
        };
        let mut times = Vec::new();
        let mut last = None;
        for run in 0..args.runs {
            let started = Instant::now();
            let collection = collector
                .collect(&target, now_ms())
                .await
                .map_err(|e| anyhow::anyhow!("collection failed: {e}"))?;
            let took = started.elapsed();
            eprintln!("run {run}: {:.2} s", took.as_secs_f64());
            times.push(took.as_secs_f64());
            last = Some(collection);
        }
        let last = last.context("no run")?;
        let services = args.clusters * args.services;
        let calls = last.calls;
        anyhow::Ok(Report {
            bench: "ecs-collect",
            date: today_utc(),
            machine: machine(),
            endpoint: endpoint.clone(),
            clusters: args.clusters,
            services_per_cluster: args.services,
            services,
            metric_services: args.metric_services,
            max_in_flight: args.max_in_flight,
            seed_s,
            collect_s_summary: Summary::of(&times),
            collect_s: times,
            calls,
            calls_total: calls.total(),
            describe_services_per_10_services: calls.ecs_describe_services as f64
                / (services as f64 / 10.0),
            metric_queries_per_get_metric_data: if calls.cloudwatch_get_metric_data > 0 {
                calls.metric_queries as f64 / calls.cloudwatch_get_metric_data as f64
            } else {
                0.0
            },
            services_collected: last.services.len(),
            clusters_collected: last.clusters.len(),
            series_collected: last.metrics.len(),
            region_errors: last.region_errors.iter().map(|e| e.to_string()).collect(),
        })
    })?;
    println!("{}", serde_json::to_string_pretty(&report)?);
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
