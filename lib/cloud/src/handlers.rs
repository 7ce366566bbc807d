//! What the pipeline functions do with one invocation's input, apart from the Lambda
//! runtime (so tests call them directly with the same bodies SQS would deliver).

use std::collections::HashMap;

use sentinel_aws::SqsQueue;
use sentinel_core::{LiveState, MonitorId, UnixMs};
use sentinel_pipeline::Notifier;
use sentinel_pipeline::cloud::{CheckJob, ProbeWorker, plan_jobs, transition_from_event};
use sentinel_store::split::SplitStores;
use sentinel_store::{LiveStateStore, MonitorStore};
use tracing::{error, info, warn};

const MINUTE_MS: i64 = 60_000;
/// A delivery claimed but still `pending` after this long was abandoned by a notifier
/// that died mid-send (longer than the notifier's own timeout).
pub const STALE_PENDING_MS: i64 = 5 * 60_000;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct ScheduleReport {
    pub monitors: usize,
    pub checks: usize,
    pub jobs: usize,
}

/// Sends the jobs of the minute holding `scheduled_at` (the event's time, not the wall
/// clock: a late or repeated invocation plans the same minute, and repeated jobs are
/// harmless). Any job SQS refused fails the invocation, with the count in the error.
pub async fn schedule_minute(
    stores: &SplitStores,
    queue: &SqsQueue,
    scheduled_at: UnixMs,
    now: UnixMs,
    max_slot_s: u64,
) -> anyhow::Result<ScheduleReport> {
    let minute = scheduled_at - scheduled_at.rem_euclid(MINUTE_MS);
    let monitors = stores.list_monitors().await?;
    let states: HashMap<MonitorId, LiveState> = stores
        .list_states()
        .await?
        .into_iter()
        .map(|s| (s.monitor_id.clone(), s))
        .collect();
    let jobs = plan_jobs(
        &monitors,
        &states,
        minute,
        minute + MINUTE_MS,
        now,
        max_slot_s,
    )?;
    let checks = jobs.iter().map(|j| j.job.checks.len()).sum();
    let bytes: usize = jobs.iter().map(|j| j.body.len()).sum();
    let messages = jobs
        .iter()
        .map(|p| (p.body.clone(), p.delay_seconds))
        .collect::<Vec<_>>();
    let report = queue.send_batch(messages).await;
    if !report.failed.is_empty() {
        anyhow::bail!(
            "{} of {} check jobs were not queued: {:?}",
            report.failed.len(),
            jobs.len(),
            report.failed.first()
        );
    }
    let report = ScheduleReport {
        monitors: monitors.len(),
        checks,
        jobs: jobs.len(),
    };
    info!(
        monitors = report.monitors,
        checks = report.checks,
        jobs = report.jobs,
        bytes,
        "minute scheduled"
    );
    Ok(report)
}

/// One SQS message as the handlers see it.
#[derive(Debug, Clone)]
pub struct QueueMessage {
    pub id: String,
    pub body: String,
}

/// Runs the check jobs of an SQS batch; returns the ids of the messages to redeliver
/// (SQS partial batch response). An unreadable body is reported too, so it ends in the
/// dead-letter queue rather than vanishing.
pub async fn probe_messages(
    worker: &ProbeWorker<SplitStores>,
    messages: &[QueueMessage],
) -> Vec<String> {
    let mut failed = Vec::new();
    let mut jobs = Vec::new();
    let mut job_ids = Vec::new();
    for message in messages {
        match CheckJob::decode(&message.body) {
            Ok(job) => {
                jobs.push(job);
                job_ids.push(message.id.clone());
            }
            Err(e) => {
                error!(message_id = %message.id, error = %e, "unreadable check job");
                failed.push(message.id.clone());
            }
        }
    }
    let report = worker.run(&jobs).await;
    info!(
        jobs = jobs.len(),
        results = report.results,
        transitions = report.transitions.len(),
        state_writes = report.state_writes,
        failed = report.failed.len(),
        "check jobs run"
    );
    failed.extend(report.failed.into_iter().map(|(i, _)| job_ids[i].clone()));
    failed
}

/// Sends the alerts of a batch of transition events; returns the ids of the messages
/// to redeliver (a channel failed, or the store did).
pub async fn notify_messages(
    notifier: &Notifier<SplitStores>,
    messages: &[QueueMessage],
    now: UnixMs,
) -> Vec<String> {
    let mut failed = Vec::new();
    for message in messages {
        let transition = match transition_from_event(&message.body) {
            Ok(t) => t,
            Err(e) => {
                error!(message_id = %message.id, error = %e, "unreadable transition event");
                failed.push(message.id.clone());
                continue;
            }
        };
        match notifier
            .notify_taking_over(&transition, Some(now - STALE_PENDING_MS))
            .await
        {
            Ok(report) if report.failed.is_empty() => {}
            Ok(report) => {
                warn!(message_id = %message.id, channels = ?report.failed, "alert delivery failed; will retry");
                failed.push(message.id.clone());
            }
            Err(e) => {
                warn!(message_id = %message.id, error = %e, "notifier store failed; will retry");
                failed.push(message.id.clone());
            }
        }
    }
    failed
}
