//! The in-process engine behind `sentinel serve`: a timetable drives check batches on a
//! bounded pool, results go to the store, transitions go over a channel to the notifier.
//! On shutdown it stops scheduling, lets in-flight checks finish and be recorded, and
//! drains pending alerts.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use parking_lot::Mutex;
use sentinel_core::stats::LatencyHistogram;
use sentinel_core::{MonitorId, MonitorSpec, Transition};
use sentinel_store::Stores;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

use crate::checks::CheckStage;
use crate::notify::Notifier;
use crate::schedule::Timetable;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Checks in flight at once, across all batches.
    pub max_in_flight: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self { max_in_flight: 512 }
    }
}

/// Counters for operators and benchmarks.
#[derive(Default)]
pub struct EngineStats {
    pub checks_started: AtomicU64,
    pub checks_recorded: AtomicU64,
    pub batches_failed: AtomicU64,
    pub transitions: AtomicU64,
    pub last_tick_ms: AtomicU64,
    /// How late each check started against its due time, in ms.
    pub drift: Mutex<LatencyHistogram>,
}

impl EngineStats {
    pub fn drift_quantile(&self, q: f64) -> Option<f64> {
        self.drift.lock().quantile(q)
    }
}

enum Command {
    Upsert(Arc<MonitorSpec>),
    Remove(MonitorId),
}

/// Controls a running engine.
#[derive(Clone)]
pub struct EngineHandle {
    commands: mpsc::UnboundedSender<Command>,
    pub stats: Arc<EngineStats>,
}

impl EngineHandle {
    /// Adds or replaces a monitor; takes effect at its next due time.
    pub fn upsert(&self, spec: MonitorSpec) {
        let _ = self.commands.send(Command::Upsert(Arc::new(spec)));
    }

    pub fn remove(&self, id: MonitorId) {
        let _ = self.commands.send(Command::Remove(id));
    }
}

pub struct Engine;

impl Engine {
    /// Starts the scheduler and notifier tasks. They run until `shutdown` is cancelled;
    /// await the returned join handle to wait for the drain to finish.
    pub fn spawn<S>(
        stage: Arc<CheckStage<S>>,
        notifier: Arc<Notifier<S>>,
        monitors: Vec<MonitorSpec>,
        config: EngineConfig,
        shutdown: CancellationToken,
    ) -> (EngineHandle, tokio::task::JoinHandle<()>)
    where
        S: Stores + ?Sized + 'static,
    {
        let stats = Arc::new(EngineStats::default());
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (transitions_tx, notifier_task) = spawn_notifier(notifier);
        let handle = EngineHandle {
            commands,
            stats: Arc::clone(&stats),
        };

        let scheduler = tokio::spawn(run_scheduler(
            stage,
            monitors,
            config,
            stats,
            command_rx,
            transitions_tx,
            shutdown,
        ));
        let joined = tokio::spawn(async move {
            if let Err(e) = scheduler.await {
                error!(error = %e, "scheduler task failed");
            }
            // The scheduler dropped its sender after draining; the notifier now finishes
            // what is queued and stops.
            if let Err(e) = notifier_task.await {
                error!(error = %e, "notifier task failed");
            }
        });
        (handle, joined)
    }
}

/// A transition for the notifier; `stale_before` is set for transitions re-derived at
/// start-up (see [`Notifier::notify_taking_over`]).
pub struct Alert {
    pub transition: Transition,
    pub stale_before: Option<sentinel_core::UnixMs>,
}

/// Starts the notifier on its own task. Drop every sender to stop it; the task ends
/// once queued alerts are delivered (or given up on).
pub fn spawn_notifier<S>(
    notifier: Arc<Notifier<S>>,
) -> (mpsc::UnboundedSender<Alert>, tokio::task::JoinHandle<()>)
where
    S: Stores + ?Sized + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel();
    (tx, tokio::spawn(run_notifier(notifier, rx)))
}

/// Alerts of one monitor go out in order (a recovery never overtakes the down alert
/// still in retry backoff); different monitors do not wait for each other.
async fn run_notifier<S>(notifier: Arc<Notifier<S>>, mut alerts: mpsc::UnboundedReceiver<Alert>)
where
    S: Stores + ?Sized + 'static,
{
    let tracker = TaskTracker::new();
    let mut queues: HashMap<MonitorId, mpsc::UnboundedSender<Alert>> = HashMap::new();
    while let Some(alert) = alerts.recv().await {
        let id = alert.transition.monitor_id.clone();
        let queue = queues.entry(id).or_insert_with(|| {
            let (tx, mut rx) = mpsc::unbounded_channel::<Alert>();
            let notifier = Arc::clone(&notifier);
            tracker.spawn(async move {
                while let Some(Alert {
                    transition,
                    stale_before,
                }) = rx.recv().await
                {
                    if let Err(e) = notifier.notify_taking_over(&transition, stale_before).await {
                        error!(monitor_id = %transition.monitor_id, error = %e, "could not record alert delivery");
                    }
                }
            });
            tx
        });
        let _ = queue.send(alert);
    }
    // Closing the queues lets each worker finish what it holds, then stop.
    queues.clear();
    tracker.close();
    tracker.wait().await;
}

#[allow(clippy::too_many_arguments)]
async fn run_scheduler<S>(
    stage: Arc<CheckStage<S>>,
    monitors: Vec<MonitorSpec>,
    config: EngineConfig,
    stats: Arc<EngineStats>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    transitions: mpsc::UnboundedSender<Alert>,
    shutdown: CancellationToken,
) where
    S: Stores + ?Sized + 'static,
{
    let mut timetable = Timetable::new();
    let started = crate::now_ms();
    resend_lost_alerts(&stage, &monitors, started, &transitions).await;
    let mut prepared = Vec::with_capacity(monitors.len());
    for spec in monitors {
        sync_paused(&stage, &spec, &transitions).await;
        let checked_before = checked_before(&stage, &spec).await;
        prepared.push((spec, checked_before));
    }
    // Schedule from the time the preparation finished, so monitors due while it ran are
    // not all late by its length.
    let now = crate::now_ms();
    for (spec, checked_before) in prepared {
        timetable.upsert(Arc::new(spec), now, checked_before);
    }
    info!(monitors = timetable.len(), "scheduler started");

    let permits = Arc::new(Semaphore::new(config.max_in_flight.max(1)));
    let tracker = TaskTracker::new();
    loop {
        let now = crate::now_ms();
        // The tick is the scheduler's heartbeat (status page), so it wakes at least
        // every few seconds even with nothing due.
        stats
            .last_tick_ms
            .store(u64::try_from(now).unwrap_or(0), Ordering::Relaxed);
        let wait = match timetable.next_due_at() {
            Some(due) => Duration::from_millis(u64::try_from(due - now).unwrap_or(0)),
            None => HEARTBEAT,
        }
        .min(HEARTBEAT);
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            Some(command) = commands.recv() => match command {
                Command::Upsert(spec) => {
                    sync_paused(&stage, &spec, &transitions).await;
                    let checked_before = checked_before(&stage, &spec).await;
                    timetable.upsert(spec, crate::now_ms(), checked_before);
                }
                Command::Remove(id) => timetable.remove(&id),
            },
            _ = tokio::time::sleep(wait) => {
                let now = crate::now_ms();
                stats.last_tick_ms.store(u64::try_from(now).unwrap_or(0), Ordering::Relaxed);
                let due = timetable.pop_due(now);
                if !due.is_empty() {
                    tracker.spawn(run_batch(
                        Arc::clone(&stage),
                        due,
                        Arc::clone(&permits),
                        Arc::clone(&stats),
                        transitions.clone(),
                    ));
                }
            }
        }
    }
    info!(
        in_flight = tracker.len(),
        "scheduler stopping; draining in-flight checks"
    );
    tracker.close();
    tracker.wait().await;
    info!("in-flight checks recorded");
}

/// Longest the scheduler sleeps between ticks.
const HEARTBEAT: Duration = Duration::from_secs(5);

/// How far back start-up looks for alerts a previous run may not have sent.
const RESEND_WINDOW_MS: i64 = 3_600_000;

async fn resend_lost_alerts<S>(
    stage: &CheckStage<S>,
    monitors: &[MonitorSpec],
    started: sentinel_core::UnixMs,
    alerts: &mpsc::UnboundedSender<Alert>,
) where
    S: Stores + ?Sized + 'static,
{
    match crate::recovery::recent_transitions(stage.stores(), monitors, started - RESEND_WINDOW_MS)
        .await
    {
        Ok(transitions) => {
            for transition in transitions {
                let _ = alerts.send(Alert {
                    transition,
                    stale_before: Some(started),
                });
            }
        }
        Err(e) => warn!(error = %e, "could not look for alerts a previous run left unsent"),
    }
}

async fn checked_before<S>(stage: &CheckStage<S>, spec: &MonitorSpec) -> bool
where
    S: Stores + ?Sized + 'static,
{
    match stage.stores().get_state(&spec.id).await {
        Ok(state) => state.is_some_and(|s| s.last_check_at.is_some()),
        Err(_) => true,
    }
}

async fn sync_paused<S>(
    stage: &CheckStage<S>,
    spec: &MonitorSpec,
    alerts: &mpsc::UnboundedSender<Alert>,
) where
    S: Stores + ?Sized + 'static,
{
    match stage.sync_paused(spec, crate::now_ms()).await {
        Ok(Some(transition)) => {
            let _ = alerts.send(Alert {
                transition,
                stale_before: None,
            });
        }
        Ok(None) => {}
        Err(e) => warn!(monitor_id = %spec.id, error = %e, "could not sync paused state"),
    }
}

/// Runs the checks due now. Results are recorded as they complete, a few at a time, so
/// one slow target does not hold back the state and alerts of the fast ones.
async fn run_batch<S>(
    stage: Arc<CheckStage<S>>,
    due: Vec<(sentinel_core::UnixMs, Arc<MonitorSpec>)>,
    permits: Arc<Semaphore>,
    stats: Arc<EngineStats>,
    alerts: mpsc::UnboundedSender<Alert>,
) where
    S: Stores + ?Sized + 'static,
{
    let mut completed = futures::stream::iter(due)
        .map(|(due_at, spec)| {
            let permits = Arc::clone(&permits);
            let stats = Arc::clone(&stats);
            let stage = Arc::clone(&stage);
            async move {
                let _permit = permits.acquire_owned().await.ok();
                let late = (crate::now_ms() - due_at).max(0) as f64;
                stats.drift.lock().record(late);
                stats.checks_started.fetch_add(1, Ordering::Relaxed);
                let result = stage.check_once(&spec).await;
                (spec, result)
            }
        })
        .buffer_unordered(usize::MAX)
        .ready_chunks(256);
    while let Some(chunk) = completed.next().await {
        let (specs, results): (Vec<_>, Vec<_>) = chunk.into_iter().unzip();
        let count = results.len() as u64;
        match stage.record(&specs, results).await {
            Ok(report) => {
                stats.checks_recorded.fetch_add(count, Ordering::Relaxed);
                for transition in report.transitions {
                    stats.transitions.fetch_add(1, Ordering::Relaxed);
                    info!(monitor_id = %transition.monitor_id, kind = transition.kind.as_str(), "status changed");
                    let _ = alerts.send(Alert {
                        transition,
                        stale_before: None,
                    });
                }
            }
            Err(e) => {
                stats.batches_failed.fetch_add(1, Ordering::Relaxed);
                error!(error = %e, checks = count, "could not record checks");
            }
        }
    }
}
