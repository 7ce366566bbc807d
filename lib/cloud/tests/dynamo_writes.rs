//! The cost rule of DESIGN.md: in steady state the prober writes live state to DynamoDB
//! only when it changes or at the heartbeat — at most 100 writes per 1,000 checks. 20
//! monitors checked every minute for two heartbeats (121 minutes) against a healthy
//! target, with the state in DynamoDB (moto) and the jobs planned as the scheduler
//! plans them.

use std::collections::HashMap;
use std::sync::Arc;

use sentinel_aws::{AwsConfig, DynamoTable};
use sentinel_core::monitor::DurationInput;
use sentinel_core::{LiveState, MonitorId, MonitorInput, MonitorSpec, Transition};
use sentinel_embedded::SqliteStore;
use sentinel_pipeline::CheckStage;
use sentinel_pipeline::cloud::{
    DEFAULT_HEARTBEAT, ProbeWorker, PublishError, TransitionSink, plan_jobs,
};
use sentinel_probe::{ProbeSettings, Prober};
use sentinel_store::LiveStateStore;
use sentinel_store::split::SplitStores;
use sentinel_testkit::Target;
use sentinel_testkit::services::{self, free_port};

const MINUTE: i64 = 60_000;

struct Discard;

#[async_trait::async_trait]
impl TransitionSink for Discard {
    async fn publish(&self, _: &[Transition]) -> Result<(), PublishError> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steady_checks_cost_at_most_100_dynamodb_writes_per_1000() {
    let aws = AwsConfig::emulator(services::aws_endpoint()).await;
    let table = Arc::new(DynamoTable::new(
        aws.dynamodb(),
        format!("writes-{}-{}", std::process::id(), free_port()),
    ));
    table.create_table().await.unwrap();
    let sqlite = Arc::new(SqliteStore::open_in_memory().await.unwrap());
    let stores = Arc::new(SplitStores {
        monitors: Arc::clone(&sqlite) as _,
        pings: Arc::clone(&sqlite) as _,
        states: Arc::clone(&table) as _,
        incidents: Arc::clone(&table) as _,
        ledger: Arc::clone(&table) as _,
        purgers: Vec::new(),
    });
    let target = Target::start().await;
    let monitors: Vec<MonitorSpec> = (0..20)
        .map(|i| {
            MonitorInput {
                id: Some(format!("m{i:02}")),
                name: Some(format!("m{i:02}")),
                url: Some(target.url()),
                interval: Some(DurationInput::Text("60s".into())),
                ..MonitorInput::default()
            }
            .validate()
            .unwrap()
        })
        .collect();
    let prober = Prober::new(ProbeSettings::default()).unwrap();
    let worker = ProbeWorker::new(
        CheckStage::new(Arc::clone(&stores), prober, 16),
        Arc::new(Discard),
        16,
    );
    let t0 = 1_764_000_000_000 - 1_764_000_000_000 % MINUTE;
    let mut first_minute_writes = 0;
    let mut steady_writes = 0;
    let mut steady_checks = 0;
    let minutes = 2 * DEFAULT_HEARTBEAT.as_secs() as i64 / 60 + 1;
    for minute in 0..minutes {
        let states: HashMap<MonitorId, LiveState> = stores
            .list_states()
            .await
            .unwrap()
            .into_iter()
            .map(|s| (s.monitor_id.clone(), s))
            .collect();
        let at = t0 + minute * MINUTE;
        let jobs: Vec<_> = plan_jobs(&monitors, &states, at, at + MINUTE, at, 15)
            .unwrap()
            .into_iter()
            .map(|p| p.job)
            .collect();
        let report = worker.run(&jobs).await;
        assert!(report.failed.is_empty(), "{:?}", report.failed);
        if minute == 0 {
            first_minute_writes += report.state_writes;
        } else {
            steady_writes += report.state_writes;
            steady_checks += report.results;
        }
    }
    let per_1000 = steady_writes as f64 * 1000.0 / steady_checks as f64;
    println!(
        "DYNAMODB_WRITES: first checks {first_minute_writes} for 20 new monitors; steady \
         {steady_writes} writes for {steady_checks} checks = {per_1000:.1} per 1,000 \
         (heartbeat {} s)",
        DEFAULT_HEARTBEAT.as_secs()
    );
    assert_eq!(
        first_minute_writes, 20,
        "a new monitor's state is written once"
    );
    assert!(
        per_1000 <= 100.0,
        "{per_1000:.1} writes per 1,000 steady checks"
    );
}
