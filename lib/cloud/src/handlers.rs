//! What the pipeline functions do with one invocation's input, apart from the Lambda
//! runtime (so tests call them directly with the same bodies SQS would deliver).

use std::collections::HashMap;

use sentinel_aws::SqsQueue;
use sentinel_core::{LiveState, MonitorId, UnixMs};
use sentinel_pipeline::Notifier;
use sentinel_pipeline::cloud::{BusEvent, CheckJob, ProbeWorker, bus_event_from_body, plan_jobs};
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
        let event = match bus_event_from_body(&message.body) {
            Ok(event) => event,
            Err(e) => {
                error!(message_id = %message.id, error = %e, "unreadable transition event");
                failed.push(message.id.clone());
                continue;
            }
        };
        let notified = match &event {
            BusEvent::Monitor(transition) => {
                notifier
                    .notify_taking_over(transition, Some(now - STALE_PENDING_MS))
                    .await
            }
            // Claimed per incident and kind like monitor alerts: a redelivery sends
            // nothing twice.
            BusEvent::Ecs(transition) => notifier.notify_ecs(transition).await,
        };
        match notified {
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

/// What one `ecs-collector` invocation did.
#[derive(Debug, PartialEq, Eq, serde::Serialize)]
pub struct EcsCollectOutcome {
    /// `false` when another round was still running (a slow round overlapping the next
    /// tick): nothing to retry, the next tick collects.
    pub collected: bool,
    #[serde(flatten)]
    pub report: Option<sentinel_pipeline::ecs::EcsRefreshReport>,
}

/// Runs one ECS collection round. Accounts that fail are in the report (recorded on
/// the account, for the dashboard), not an invocation failure; a store failure is (a
/// retry may help).
pub async fn ecs_collect(
    refresh: &dyn sentinel_pipeline::ecs::EcsRefresh,
    now: UnixMs,
) -> anyhow::Result<EcsCollectOutcome> {
    use sentinel_pipeline::ecs::EcsRefreshError;
    match refresh.refresh(now).await {
        Ok(report) => {
            report.log();
            Ok(EcsCollectOutcome {
                collected: true,
                report: Some(report),
            })
        }
        Err(EcsRefreshError::Busy) => {
            info!("an ECS collection is still running: this tick is skipped");
            Ok(EcsCollectOutcome {
                collected: false,
                report: None,
            })
        }
        Err(EcsRefreshError::Store(e)) => {
            Err(anyhow::Error::new(e).context("ECS collection failed"))
        }
    }
}

#[cfg(test)]
mod ecs_tests {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use sentinel_pipeline::ecs::{EcsRefresh, EcsRefreshError, EcsRefreshReport, FailedAccount};
    use sentinel_store::StoreError;

    use super::*;

    /// Answers each call with the next scripted result.
    struct Scripted(Mutex<Vec<Result<EcsRefreshReport, EcsRefreshError>>>);

    #[async_trait]
    impl EcsRefresh for Scripted {
        async fn refresh(&self, _now: UnixMs) -> Result<EcsRefreshReport, EcsRefreshError> {
            self.0.lock().unwrap().remove(0)
        }
    }

    #[tokio::test]
    async fn a_round_reports_busy_ticks_are_skipped_and_store_failures_fail() {
        let report = EcsRefreshReport {
            accounts: 2,
            services: 9,
            failed_accounts: vec![FailedAccount {
                id: "ecs_a".into(),
                error: "AccessDenied".into(),
            }],
            collected_at: 42,
        };
        let scripted = Scripted(Mutex::new(vec![
            Ok(report.clone()),
            Err(EcsRefreshError::Busy),
            Err(EcsRefreshError::Store(StoreError::Corrupt(
                "bad item".into(),
            ))),
        ]));
        let ok = ecs_collect(&scripted, 42).await.unwrap();
        assert_eq!(ok.report.as_ref(), Some(&report));
        let json = serde_json::to_value(&ok).unwrap();
        assert_eq!(json["collected"], true);
        assert_eq!(json["services"], 9, "the report is flattened: {json}");
        let busy = ecs_collect(&scripted, 43).await.unwrap();
        assert!(!busy.collected && busy.report.is_none());
        let err = ecs_collect(&scripted, 44).await.unwrap_err();
        assert!(format!("{err:#}").contains("bad item"), "{err:#}");
    }
}
