//! The queue-driven pipeline (AWS shape) against a real target and SQLite: jobs planned
//! per second, state written only when it must be, transitions published once, and
//! redelivered jobs changing nothing.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use sentinel_core::monitor::DurationInput;
use sentinel_core::{LiveState, MonitorId, MonitorInput, MonitorSpec, Transition, TransitionKind};
use sentinel_embedded::SqliteStore;
use sentinel_pipeline::CheckStage;
use sentinel_pipeline::cloud::{
    CheckJob, EVENT_DETAIL_TYPE, MAX_CHECKS_PER_JOB, MAX_JOB_BYTES, ProbeWorker, PublishError,
    TransitionSink, plan_jobs, transition_from_event,
};
use sentinel_probe::{ProbeSettings, Prober};
use sentinel_store::{LiveStateStore, PingLog};
use support::Target;

const MIN: i64 = 60_000;
/// A UTC minute boundary.
const T0: i64 = 1_764_000_000_000 - 1_764_000_000_000 % MIN;

fn monitor(id: &str, url: &str, interval: &str) -> MonitorSpec {
    MonitorInput {
        id: Some(id.into()),
        name: Some(id.into()),
        url: Some(url.into()),
        interval: Some(DurationInput::Text(interval.into())),
        timeout: Some(DurationInput::Text("2s".into())),
        conditions: vec!["[STATUS] == 200".into()],
        failure_threshold: Some(2),
        success_threshold: Some(1),
        ..MonitorInput::default()
    }
    .validate()
    .unwrap()
}

/// Collects what the prober publishes; `fail` makes the next publish fail.
#[derive(Default)]
struct Collected {
    transitions: Mutex<Vec<Transition>>,
    fail: Mutex<bool>,
}

#[async_trait::async_trait]
impl TransitionSink for Collected {
    async fn publish(&self, transitions: &[Transition]) -> Result<(), PublishError> {
        if std::mem::take(&mut *self.fail.lock()) {
            return Err(PublishError("bus unavailable".into()));
        }
        self.transitions.lock().extend_from_slice(transitions);
        Ok(())
    }
}

struct Rig {
    store: Arc<SqliteStore>,
    worker: ProbeWorker<SqliteStore>,
    sink: Arc<Collected>,
}

async fn rig() -> Rig {
    let store = Arc::new(SqliteStore::open_in_memory().await.unwrap());
    let prober = Prober::new(ProbeSettings::default()).unwrap();
    let stage = CheckStage::new(Arc::clone(&store), prober, 8);
    let sink = Arc::new(Collected::default());
    let worker = ProbeWorker::new(stage, Arc::clone(&sink) as Arc<dyn TransitionSink>, 8)
        .with_heartbeat(Duration::from_secs(15 * 60));
    Rig {
        store,
        worker,
        sink,
    }
}

impl Rig {
    /// Plans the minute starting at `minute` from what is stored, as the scheduler does.
    async fn plan(&self, monitors: &[MonitorSpec], minute: i64) -> Vec<CheckJob> {
        let states: HashMap<MonitorId, LiveState> = self
            .store
            .list_states()
            .await
            .unwrap()
            .into_iter()
            .map(|s| (s.monitor_id.clone(), s))
            .collect();
        plan_jobs(monitors, &states, minute, minute + MIN, minute, 1)
            .unwrap()
            .into_iter()
            .map(|p| p.job)
            .collect()
    }

    fn kinds(&self) -> Vec<TransitionKind> {
        self.sink
            .transitions
            .lock()
            .iter()
            .map(|t| t.kind)
            .collect()
    }

    async fn pings(&self, id: &str) -> usize {
        self.store
            .history(&MonitorId::parse(id).unwrap(), 0, i64::MAX, 100_000)
            .await
            .unwrap()
            .len()
    }
}

#[test]
fn jobs_group_checks_by_second_and_delay_them_to_it() {
    let monitors: Vec<MonitorSpec> = (0..300)
        .map(|i| monitor(&format!("m{i:03}"), "https://example.com/", "60s"))
        .chain([monitor("fast", "https://example.com/", "10s")])
        .chain([{
            let mut paused = monitor("paused", "https://example.com/", "10s");
            paused.paused = true;
            paused
        }])
        .collect();
    let now = T0 + 1_500; // the scheduler runs a little late
    let jobs = plan_jobs(&monitors, &HashMap::new(), T0, T0 + MIN, now, 1).unwrap();
    let checks: usize = jobs.iter().map(|j| j.job.checks.len()).sum();
    assert_eq!(
        checks,
        300 + 6,
        "every 60 s monitor once, the 10 s one six times, none paused"
    );
    let mut seconds = std::collections::HashSet::new();
    for planned in &jobs {
        let job = &planned.job;
        assert!(job.due_at >= T0 && job.due_at < T0 + MIN);
        assert_eq!(job.due_at % 1000, 0, "due on whole seconds");
        assert!(job.checks.len() <= MAX_CHECKS_PER_JOB);
        let expected_delay = ((job.due_at - now) / 1000).max(0);
        assert_eq!(i64::from(planned.delay_seconds), expected_delay);
        assert!(
            seconds.insert(job.due_at) || job.checks.len() == MAX_CHECKS_PER_JOB,
            "one job per second unless it is full"
        );
        assert!(job.checks.iter().all(|c| c.monitor.id.as_str() != "paused"));
    }
    assert!(
        jobs.len() >= 50,
        "300 monitors spread over the minute, not all at :00 ({} jobs)",
        jobs.len()
    );
    let body = serde_json::to_string(&jobs[0].job).unwrap();
    assert_eq!(
        CheckJob::decode(&body).unwrap(),
        jobs[0].job,
        "plain JSON is read too"
    );
    for planned in &jobs {
        assert_eq!(CheckJob::decode(&planned.body).unwrap(), planned.job);
    }
}

#[test]
fn slots_put_many_monitors_in_few_messages_on_an_exact_cadence() {
    let monitors: Vec<MonitorSpec> = (0..1000)
        .map(|i| monitor(&format!("m{i:04}"), "https://example.com/health", "60s"))
        .chain([monitor("fast", "https://example.com/", "10s")])
        .collect();
    let jobs = plan_jobs(&monitors, &HashMap::new(), T0, T0 + MIN, T0, 15).unwrap();
    let checks: usize = jobs.iter().map(|j| j.job.checks.len()).sum();
    assert_eq!(checks, 1000 + 6);
    let seconds: std::collections::BTreeSet<i64> =
        jobs.iter().map(|j| (j.job.due_at - T0) / 1000).collect();
    // 60 s monitors on 15 s slots, the 10 s one on 10 s slots.
    assert!(
        seconds.iter().all(|s| s % 15 == 0 || s % 10 == 0),
        "{seconds:?}"
    );
    assert!(seconds.len() <= 8, "{seconds:?}");
    assert!(jobs.len() <= 12, "{} messages for 1,006 checks", jobs.len());
    let json: usize = jobs
        .iter()
        .map(|j| serde_json::to_vec(&j.job).unwrap().len())
        .sum();
    let sent: usize = jobs.iter().map(|j| j.body.len()).sum();
    println!(
        "JOB_BYTES: {json} B of JSON sent as {sent} B in {} messages",
        jobs.len()
    );
    assert!(sent * 4 < json, "bodies compress: {sent} of {json}");
    for j in &jobs {
        assert!(j.body.len() <= MAX_JOB_BYTES);
        assert_eq!(CheckJob::decode(&j.body).unwrap(), j.job);
    }
}

#[test]
fn a_job_too_big_for_one_message_is_split() {
    use rand_free::noise;
    // Headers of random text do not compress: 250 such checks overflow one message.
    let monitors: Vec<MonitorSpec> = (0..250)
        .map(|i| {
            let mut m = monitor(&format!("big{i:03}"), "https://example.com/", "60s");
            m.headers.insert("x-noise".into(), noise(i, 2_000));
            m
        })
        .collect();
    let jobs = plan_jobs(&monitors, &HashMap::new(), T0, T0 + MIN, T0, 60).unwrap();
    assert!(jobs.len() > 1, "split into {} messages", jobs.len());
    assert!(jobs.iter().all(|j| j.body.len() <= MAX_JOB_BYTES));
    assert_eq!(jobs.iter().map(|j| j.job.checks.len()).sum::<usize>(), 250);
    assert!(jobs.iter().all(|j| j.job.due_at == jobs[0].job.due_at));
}

#[test]
fn unreadable_job_bodies_are_errors() {
    for body in ["", "{", "z1:!!!not base64", "z1:AAAA", "[1,2]"] {
        assert!(CheckJob::decode(body).is_err(), "{body:?}");
    }
}

/// Deterministic incompressible text without a random-number crate.
mod rand_free {
    pub fn noise(seed: usize, len: usize) -> String {
        let mut x = (seed as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(b'!' + (x % 90) as u8)
            })
            .collect()
    }
}

#[tokio::test]
async fn steady_checks_write_state_rarely_and_alerts_come_once() {
    let target = Target::start().await;
    let rig = rig().await;
    let spec = monitor("api", &target.url(), "60s");
    let monitors = vec![spec.clone()];

    // 30 steady minutes: the first check stores the new state (and FirstUp), then the
    // heartbeat (15 min) stores it about twice more.
    let mut writes = 0;
    for minute in 0..30 {
        let jobs = rig.plan(&monitors, T0 + minute * MIN).await;
        let report = rig.worker.run(&jobs).await;
        assert!(report.failed.is_empty(), "{:?}", report.failed);
        writes += report.state_writes;
    }
    assert!(writes <= 4, "{writes} state writes for 30 steady checks");
    assert_eq!(rig.kinds(), [TransitionKind::FirstUp]);
    assert_eq!(rig.pings("api").await, 30, "every check is in the ping log");

    // Down for two checks (threshold 2): exactly one Down alert.
    target.set_healthy(false);
    let mut last_jobs = Vec::new();
    for minute in 30..33 {
        last_jobs = rig.plan(&monitors, T0 + minute * MIN).await;
        let report = rig.worker.run(&last_jobs).await;
        assert!(report.failed.is_empty(), "{:?}", report.failed);
    }
    assert_eq!(rig.kinds(), [TransitionKind::FirstUp, TransitionKind::Down]);

    // The last job delivered again: no new ping, no new alert, no state write.
    let report = rig.worker.run(&last_jobs).await;
    assert!(report.failed.is_empty());
    assert_eq!(report.state_writes, 0);
    assert_eq!(rig.pings("api").await, 33);
    assert_eq!(rig.kinds(), [TransitionKind::FirstUp, TransitionKind::Down]);

    // Recovers: exactly one Recovered alert, for the same incident.
    target.set_healthy(true);
    for minute in 33..36 {
        let jobs = rig.plan(&monitors, T0 + minute * MIN).await;
        rig.worker.run(&jobs).await;
    }
    let transitions = rig.sink.transitions.lock().clone();
    assert_eq!(
        transitions.iter().map(|t| t.kind).collect::<Vec<_>>(),
        [
            TransitionKind::FirstUp,
            TransitionKind::Down,
            TransitionKind::Recovered
        ]
    );
    assert_eq!(transitions[1].incident_id, transitions[2].incident_id);
}

#[tokio::test]
async fn a_failed_publish_fails_the_job_and_its_redelivery_publishes_it() {
    let target = Target::start().await;
    target.set_healthy(false);
    let rig = rig().await;
    let spec = monitor("api", &target.url(), "60s");
    let monitors = vec![spec];
    for minute in 0..1 {
        let jobs = rig.plan(&monitors, T0 + minute * MIN).await;
        rig.worker.run(&jobs).await;
    }
    // The check that opens the incident: the bus is down.
    let jobs = rig.plan(&monitors, T0 + MIN).await;
    *rig.sink.fail.lock() = true;
    let report = rig.worker.run(&jobs).await;
    assert_eq!(
        report.failed.len(),
        1,
        "the job is reported failed for redelivery"
    );
    assert!(rig.kinds().is_empty(), "nothing was published");

    // Redelivered: the alert goes out, once.
    let report = rig.worker.run(&jobs).await;
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(rig.kinds(), [TransitionKind::Down]);
    let state = rig
        .store
        .get_state(&MonitorId::parse("api").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.status, sentinel_core::Status::Down);
}

#[test]
fn bus_events_carry_the_transition() {
    let transition = Transition {
        monitor_id: MonitorId::parse("api").unwrap(),
        kind: TransitionKind::Down,
        from: sentinel_core::Status::Up,
        to: sentinel_core::Status::Down,
        at: T0,
        incident_id: None,
        cause: Some("status 503".into()),
        downtime_ms: None,
    };
    let event = serde_json::json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": EVENT_DETAIL_TYPE,
        "source": "sentinel.monitors",
        "account": "111122223333",
        "time": "2026-11-25T12:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": transition,
    });
    assert_eq!(
        transition_from_event(&event.to_string()).unwrap(),
        transition
    );
    let mut wrong = event.clone();
    wrong["detail-type"] = "Something".into();
    assert!(transition_from_event(&wrong.to_string()).is_err());
    assert!(transition_from_event("{not json").is_err());
    assert!(transition_from_event(r#"{"detail-type":"MonitorTransition","detail":{}}"#).is_err());
}
