//! The check pipeline as queues drive it on AWS: the scheduler turns the next minute's
//! due checks into jobs (one SQS message per slot second that has checks, delayed to
//! that second), the prober runs jobs and records them, the notifier turns transition
//! events into alerts.
//!
//! Cost rule (DESIGN.md): a job carries each monitor's last stored state, so the prober
//! reads nothing per check, and it writes state only when [`must_store`] says so — a
//! transition, a streak building up, or the heartbeat — not on every steady check.
//!
//! Redelivery: a job's results are stamped with the job's due second, so a redelivered
//! job's pings are the same (monitor, checked_at) pairs the ping log ignores, and its
//! state step is refused by the state's watermark (`last_check_at`). A transition is
//! published *before* the state write that makes it final: if the process dies in
//! between, the redelivered job derives and publishes it again (same idempotency key,
//! so the notifier's ledger sends it once); the other order could lose it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use sentinel_core::alert::EcsTransition;
use sentinel_core::status::{apply, must_store};
use sentinel_core::{CheckResult, LiveState, MonitorId, MonitorSpec, Transition, UnixMs};
use sentinel_store::{CasOutcome, IncidentStore, LiveStateStore, PingLog, StoreError};
use serde::{Deserialize, Serialize};
use tracing::{instrument, warn};

use crate::checks::CheckStage;
use crate::schedule::due_between;

/// How often a state that only changes by steady checks is written anyway. Each write
/// is a DynamoDB write unit; status changes and streaks are written at once regardless.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(60 * 60);
/// SQS allows at most 15 minutes of delay and 256 KiB per message.
const MAX_DELAY_SECONDS: i64 = 900;
/// Body budget per message, leaving room under SQS's 256 KiB for attributes.
pub const MAX_JOB_BYTES: usize = 240 * 1024;
/// Checks per job: bounds one message's work (and a redelivery's cost).
pub const MAX_CHECKS_PER_JOB: usize = 250;
/// The default slot (see [`crate::schedule::slot_seconds`]): checks of many monitors
/// share one message per 15 s instead of one per second.
pub const DEFAULT_SLOT_SECONDS: u64 = 15;
/// How often a state write that lost a compare-and-set race is retried.
const CAS_ATTEMPTS: usize = 5;
/// Marks a compressed job body (`z1:` + base64 of raw DEFLATE of the JSON). SQS bills
/// every 64 KiB of a request as one request, and jobs of similar monitors compress
/// about tenfold.
const COMPRESSED_PREFIX: &str = "z1:";

/// One SQS message: checks due at the same second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckJob {
    /// The due second (ms since epoch); every result of the job is stamped with it.
    pub due_at: UnixMs,
    pub checks: Vec<JobCheck>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobCheck {
    pub monitor: MonitorSpec,
    /// The monitor's stored state when the job was planned (`None`: never stored).
    pub state: Option<LiveState>,
}

#[derive(Debug, thiserror::Error)]
pub enum JobBodyError {
    #[error("the job body is not base64: {0}")]
    Base64(#[from] base64::DecodeError),
    #[error("the job body does not inflate: {0}")]
    Inflate(#[from] std::io::Error),
    #[error("the job body is not a check job: {0}")]
    Json(#[from] serde_json::Error),
}

impl CheckJob {
    /// The SQS message body: compressed JSON.
    pub fn encode(&self) -> Result<String, JobBodyError> {
        use base64::Engine as _;
        use std::io::Write as _;
        let json = serde_json::to_vec(self)?;
        let mut deflate =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        deflate.write_all(&json)?;
        let packed = deflate.finish()?;
        Ok(format!(
            "{COMPRESSED_PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(packed)
        ))
    }

    /// Reads a body written by [`CheckJob::encode`], or plain JSON (hand-written events).
    pub fn decode(body: &str) -> Result<Self, JobBodyError> {
        use base64::Engine as _;
        use std::io::Read as _;
        let Some(packed) = body.strip_prefix(COMPRESSED_PREFIX) else {
            return Ok(serde_json::from_str(body)?);
        };
        let packed = base64::engine::general_purpose::STANDARD.decode(packed.trim())?;
        let mut json = Vec::new();
        // A body is at most 256 KiB; refuse to inflate past 64 MiB (a deflate bomb).
        flate2::read::DeflateDecoder::new(packed.as_slice())
            .take(64 << 20)
            .read_to_end(&mut json)?;
        Ok(serde_json::from_slice(&json)?)
    }
}

/// A job to send: its body and how long SQS should hold it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedJob {
    pub delay_seconds: u32,
    pub job: CheckJob,
    /// `job` encoded, at most [`MAX_JOB_BYTES`].
    pub body: String,
}

/// The jobs for every check due in `[from, to)`: one per due second (offsets rounded
/// to slots of at most `max_slot_s`, see [`crate::schedule::slot_seconds`]), split when
/// it holds more than [`MAX_CHECKS_PER_JOB`] checks or its body would exceed
/// [`MAX_JOB_BYTES`], each delayed until its second relative to `now`.
pub fn plan_jobs(
    monitors: &[MonitorSpec],
    states: &HashMap<MonitorId, LiveState>,
    from: UnixMs,
    to: UnixMs,
    now: UnixMs,
    max_slot_s: u64,
) -> Result<Vec<PlannedJob>, JobBodyError> {
    let mut groups: Vec<CheckJob> = Vec::new();
    for (due_at, spec) in due_between(monitors, from, to, max_slot_s) {
        let check = JobCheck {
            monitor: spec.clone(),
            state: states.get(&spec.id).cloned(),
        };
        match groups.last_mut() {
            Some(last) if last.due_at == due_at && last.checks.len() < MAX_CHECKS_PER_JOB => {
                last.checks.push(check);
            }
            _ => groups.push(CheckJob {
                due_at,
                checks: vec![check],
            }),
        }
    }
    let mut planned = Vec::with_capacity(groups.len());
    for job in groups {
        let delay = ((job.due_at - now) / 1000).clamp(0, MAX_DELAY_SECONDS);
        let delay_seconds = u32::try_from(delay).unwrap_or(0);
        push_within_budget(job, delay_seconds, &mut planned)?;
    }
    Ok(planned)
}

/// Encodes `job`, halving it until every part's body fits [`MAX_JOB_BYTES`].
fn push_within_budget(
    job: CheckJob,
    delay_seconds: u32,
    out: &mut Vec<PlannedJob>,
) -> Result<(), JobBodyError> {
    let body = job.encode()?;
    if body.len() <= MAX_JOB_BYTES || job.checks.len() <= 1 {
        out.push(PlannedJob {
            delay_seconds,
            job,
            body,
        });
        return Ok(());
    }
    let mut first = job;
    let second = CheckJob {
        due_at: first.due_at,
        checks: first.checks.split_off(first.checks.len() / 2),
    };
    push_within_budget(first, delay_seconds, out)?;
    push_within_budget(second, delay_seconds, out)
}

/// Where the prober publishes transitions (an EventBridge bus on AWS).
#[async_trait::async_trait]
pub trait TransitionSink: Send + Sync {
    async fn publish(&self, transitions: &[Transition]) -> Result<(), PublishError>;
}

#[derive(Debug, thiserror::Error)]
#[error("publishing transitions failed: {0}")]
pub struct PublishError(pub String);

/// Why one job failed (it is retried by redelivery).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Publish(#[from] PublishError),
}

/// What the prober did with a set of jobs.
#[derive(Debug, Default)]
pub struct JobsReport {
    pub results: usize,
    pub transitions: Vec<Transition>,
    pub state_writes: usize,
    /// Indexes (into the jobs given) of the jobs that failed and must be redelivered.
    pub failed: Vec<(usize, String)>,
}

/// Runs check jobs: probe, one ping-log append for all of them, then each monitor's
/// state step from the state the job carries.
pub struct ProbeWorker<S: ?Sized> {
    stage: CheckStage<S>,
    sink: Arc<dyn TransitionSink>,
    heartbeat_ms: i64,
    reminder_ms: Option<i64>,
    concurrency: usize,
}

impl<S> ProbeWorker<S>
where
    S: PingLog + LiveStateStore + IncidentStore + ?Sized,
{
    pub fn new(stage: CheckStage<S>, sink: Arc<dyn TransitionSink>, concurrency: usize) -> Self {
        Self {
            stage,
            sink,
            heartbeat_ms: DEFAULT_HEARTBEAT.as_millis() as i64,
            reminder_ms: None,
            concurrency: concurrency.max(1),
        }
    }

    pub fn with_heartbeat(mut self, heartbeat: Duration) -> Self {
        self.heartbeat_ms = i64::try_from(heartbeat.as_millis()).unwrap_or(i64::MAX);
        self
    }

    /// While a monitor is down, alert again this often (off by default).
    pub fn with_reminders(mut self, every: Option<Duration>) -> Self {
        self.reminder_ms = every.map(|d| d.as_millis() as i64);
        self
    }

    #[instrument(skip_all, fields(jobs = jobs.len()))]
    pub async fn run(&self, jobs: &[CheckJob]) -> JobsReport {
        let work: Vec<(usize, &JobCheck, UnixMs)> = jobs
            .iter()
            .enumerate()
            .flat_map(|(i, job)| job.checks.iter().map(move |c| (i, c, job.due_at)))
            .collect();
        let results: Vec<(usize, &JobCheck, CheckResult)> = futures::stream::iter(work)
            .map(|(i, item, due_at)| async move {
                let mut result = self.stage.check_once(&item.monitor).await;
                result.checked_at = due_at;
                (i, item, result)
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;

        let mut report = JobsReport {
            results: results.len(),
            ..JobsReport::default()
        };
        let all: Vec<CheckResult> = results.iter().map(|(_, _, r)| r.clone()).collect();
        if let Err(e) = self.stage.stores().append(&all).await {
            warn!(error = %e, "ping log append failed; every job of the batch is retried");
            report.failed = (0..jobs.len()).map(|i| (i, e.to_string())).collect();
            return report;
        }
        let mut failed: HashMap<usize, String> = HashMap::new();
        for (i, item, result) in &results {
            if failed.contains_key(i) {
                continue;
            }
            match self.step(item, result).await {
                Ok((transition, wrote)) => {
                    report.transitions.extend(transition);
                    report.state_writes += usize::from(wrote);
                }
                Err(e) => {
                    warn!(monitor_id = %item.monitor.id, error = %e, "state step failed; job retried");
                    failed.insert(*i, e.to_string());
                }
            }
        }
        report.failed = failed.into_iter().collect();
        report.failed.sort();
        report
    }

    /// One monitor's state step from the carried state; on a lost race, from the stored
    /// one. Returns the transition (already published) and whether state was written.
    async fn step(
        &self,
        item: &JobCheck,
        result: &CheckResult,
    ) -> Result<(Option<Transition>, bool), JobError> {
        let spec = &item.monitor;
        let stores = self.stage.stores();
        let mut expected = item.state.as_ref().map(|s| s.version);
        let mut base = item
            .state
            .clone()
            .unwrap_or_else(|| LiveState::new(spec.id.clone(), result.checked_at));
        for _ in 0..CAS_ATTEMPTS {
            let applied = apply(&base, spec, result, self.reminder_ms);
            if !must_store(&base, &applied, spec, self.heartbeat_ms) {
                return Ok((None, false));
            }
            if let Some(incident) = &applied.opened {
                stores.open_incident(incident).await?;
            }
            if let Some((id, at)) = &applied.closed {
                stores.close_incident(id, *at).await?;
            }
            if let Some(transition) = &applied.transition {
                self.sink.publish(std::slice::from_ref(transition)).await?;
            }
            match stores.compare_and_set(&applied.state, expected).await? {
                CasOutcome::Applied => return Ok((applied.transition, true)),
                CasOutcome::Conflict(current) => {
                    expected = current.as_ref().map(|s| s.version);
                    base = current
                        .unwrap_or_else(|| LiveState::new(spec.id.clone(), result.checked_at));
                }
            }
        }
        Err(JobError::Store(StoreError::Backend {
            message: format!("state of {} kept changing under us", spec.id),
            source: None,
        }))
    }
}

/// `source` of transition events on the bus (the notifier's rule matches it).
pub const EVENT_SOURCE: &str = "sentinel.monitors";
/// `detail-type` of transition events.
pub const EVENT_DETAIL_TYPE: &str = "MonitorTransition";

/// `source` of ECS health transition events (the ECS collector publishes them).
pub const ECS_EVENT_SOURCE: &str = "sentinel.ecs";
/// `detail-type` of ECS health transition events; the detail is an [`EcsTransition`].
pub const ECS_EVENT_DETAIL_TYPE: &str = "EcsHealthTransition";

/// An EventBridge event as an SQS target receives it: the transition is its `detail`.
#[derive(Debug, Deserialize)]
struct MonitorEvent {
    #[serde(rename = "detail-type")]
    detail_type: String,
    detail: Transition,
}

/// Either kind of transition the notifier's queue carries.
#[derive(Debug, Clone, PartialEq)]
pub enum BusEvent {
    Monitor(Transition),
    Ecs(EcsTransition),
}

/// Any event, to dispatch on its `detail-type` before reading the detail.
#[derive(Debug, Deserialize)]
struct AnyEvent {
    #[serde(rename = "detail-type")]
    detail_type: String,
    detail: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("not a transition event: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("unexpected detail-type {0:?} (expected {EVENT_DETAIL_TYPE:?})")]
    WrongType(String),
}

/// The transition inside an event the bus delivered to the notifier's queue.
pub fn transition_from_event(body: &str) -> Result<Transition, EventError> {
    let event: MonitorEvent = serde_json::from_str(body)?;
    if event.detail_type != EVENT_DETAIL_TYPE {
        return Err(EventError::WrongType(event.detail_type));
    }
    Ok(event.detail)
}

/// The `detail` of the event that carries an ECS transition (the `Detail` of a
/// `PutEvents` entry with [`ECS_EVENT_SOURCE`] and [`ECS_EVENT_DETAIL_TYPE`]).
pub fn ecs_transition_event_detail(
    transition: &EcsTransition,
) -> Result<String, serde_json::Error> {
    serde_json::to_string(transition)
}

/// The transition inside an event the bus delivered to the notifier's queue, of either
/// detail-type ([`EVENT_DETAIL_TYPE`] or [`ECS_EVENT_DETAIL_TYPE`]).
pub fn bus_event_from_body(body: &str) -> Result<BusEvent, EventError> {
    let event: AnyEvent = serde_json::from_str(body)?;
    match event.detail_type.as_str() {
        EVENT_DETAIL_TYPE => Ok(BusEvent::Monitor(serde_json::from_value(event.detail)?)),
        ECS_EVENT_DETAIL_TYPE => Ok(BusEvent::Ecs(serde_json::from_value(event.detail)?)),
        _ => Err(EventError::WrongType(event.detail_type)),
    }
}

#[cfg(test)]
mod bus_event_tests {
    use super::*;
    use sentinel_core::ecs::{Health, ServiceKey};

    fn ecs_transition() -> EcsTransition {
        EcsTransition {
            key: ServiceKey {
                account_id: "123456789012".into(),
                region: "eu-west-1".into(),
                cluster: "web".into(),
                service: "api".into(),
            },
            alias: "prod".into(),
            from: Health::Healthy,
            to: Health::Degraded,
            at: 2_000,
            reason: "1 of 3 tasks running".into(),
            incident_id: "ecs:123456789012/eu-west-1/web/api@2000".into(),
            incident_started_at: 2_000,
        }
    }

    fn event(detail_type: &str, detail: &str) -> String {
        format!(
            r#"{{"version":"0","id":"e1","source":"x","account":"123456789012","time":"2025-01-01T00:00:00Z","region":"eu-west-1","resources":[],"detail-type":"{detail_type}","detail":{detail}}}"#
        )
    }

    #[test]
    fn ecs_events_round_trip_and_monitor_events_still_parse() {
        let t = ecs_transition();
        let detail = ecs_transition_event_detail(&t).unwrap();
        let body = event(ECS_EVENT_DETAIL_TYPE, &detail);
        assert_eq!(bus_event_from_body(&body).unwrap(), BusEvent::Ecs(t));
        // The monitor-only parser refuses it, as before.
        assert!(transition_from_event(&body).is_err());

        let monitor = r#"{"monitor_id":"shop","kind":"down","from":"up","to":"down","at":1000,"incident_id":"shop@900","cause":"status 503","downtime_ms":null}"#;
        let body = event(EVENT_DETAIL_TYPE, monitor);
        let parsed = transition_from_event(&body).unwrap();
        assert_eq!(
            bus_event_from_body(&body).unwrap(),
            BusEvent::Monitor(parsed)
        );
    }

    #[test]
    fn unknown_types_and_bad_details_are_errors() {
        assert!(matches!(
            bus_event_from_body(&event("Other", "{}")),
            Err(EventError::WrongType(ref ty)) if ty == "Other"
        ));
        assert!(matches!(
            bus_event_from_body(&event(ECS_EVENT_DETAIL_TYPE, r#"{"key":1}"#)),
            Err(EventError::Malformed(_))
        ));
        assert!(matches!(
            bus_event_from_body("not json"),
            Err(EventError::Malformed(_))
        ));
    }
}
