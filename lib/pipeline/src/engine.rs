//! The in-process engine behind `sentinel serve`: a timetable drives check batches on a
//! bounded pool, results go to the store, transitions go over a channel to the notifier.
//! On shutdown it stops scheduling, lets in-flight checks finish and be recorded, and
//! drains pending alerts.

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
        let (transitions_tx, transitions_rx) = mpsc::unbounded_channel::<Transition>();
        let handle = EngineHandle {
            commands,
            stats: Arc::clone(&stats),
        };

        let notifier_task = tokio::spawn(run_notifier(notifier, transitions_rx));
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

async fn run_notifier<S>(
    notifier: Arc<Notifier<S>>,
    mut transitions: mpsc::UnboundedReceiver<Transition>,
) where
    S: Stores + ?Sized + 'static,
{
    let tracker = TaskTracker::new();
    while let Some(t) = transitions.recv().await {
        let notifier = Arc::clone(&notifier);
        // Each transition alerts on its own task so one slow receiver in backoff does
        // not hold up alerts for other monitors.
        tracker.spawn(async move {
            if let Err(e) = notifier.notify(&t).await {
                error!(monitor_id = %t.monitor_id, error = %e, "could not record alert delivery");
            }
        });
    }
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
    transitions: mpsc::UnboundedSender<Transition>,
    shutdown: CancellationToken,
) where
    S: Stores + ?Sized + 'static,
{
    let mut timetable = Timetable::new();
    let now = crate::now_ms();
    for spec in monitors {
        sync_paused(&stage, &spec, &transitions).await;
        timetable.upsert(Arc::new(spec), now);
    }
    info!(monitors = timetable.len(), "scheduler started");

    let permits = Arc::new(Semaphore::new(config.max_in_flight.max(1)));
    let tracker = TaskTracker::new();
    loop {
        let wait = match timetable.next_due_at() {
            Some(due) => Duration::from_millis(u64::try_from(due - crate::now_ms()).unwrap_or(0)),
            None => Duration::from_secs(3600),
        };
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            Some(command) = commands.recv() => match command {
                Command::Upsert(spec) => {
                    sync_paused(&stage, &spec, &transitions).await;
                    timetable.upsert(spec, crate::now_ms());
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

async fn sync_paused<S>(
    stage: &CheckStage<S>,
    spec: &MonitorSpec,
    transitions: &mpsc::UnboundedSender<Transition>,
) where
    S: Stores + ?Sized + 'static,
{
    match stage.sync_paused(spec, crate::now_ms()).await {
        Ok(Some(t)) => {
            let _ = transitions.send(t);
        }
        Ok(None) => {}
        Err(e) => warn!(monitor_id = %spec.id, error = %e, "could not sync paused state"),
    }
}

async fn run_batch<S>(
    stage: Arc<CheckStage<S>>,
    due: Vec<(sentinel_core::UnixMs, Arc<MonitorSpec>)>,
    permits: Arc<Semaphore>,
    stats: Arc<EngineStats>,
    transitions: mpsc::UnboundedSender<Transition>,
) where
    S: Stores + ?Sized + 'static,
{
    let specs: Vec<Arc<MonitorSpec>> = due.iter().map(|(_, s)| Arc::clone(s)).collect();
    let results = futures::stream::iter(due)
        .map(|(due_at, spec)| {
            let permits = Arc::clone(&permits);
            let stats = Arc::clone(&stats);
            let stage = Arc::clone(&stage);
            async move {
                let _permit = permits.acquire_owned().await.ok();
                let late = (crate::now_ms() - due_at).max(0) as f64;
                stats.drift.lock().record(late);
                stats.checks_started.fetch_add(1, Ordering::Relaxed);
                stage.check_once(&spec).await
            }
        })
        .buffer_unordered(usize::MAX)
        .collect::<Vec<_>>()
        .await;
    let count = results.len() as u64;
    match stage.record(&specs, results).await {
        Ok(report) => {
            stats.checks_recorded.fetch_add(count, Ordering::Relaxed);
            for t in report.transitions {
                stats.transitions.fetch_add(1, Ordering::Relaxed);
                info!(monitor_id = %t.monitor_id, kind = t.kind.as_str(), "status changed");
                let _ = transitions.send(t);
            }
        }
        Err(e) => {
            stats.batches_failed.fetch_add(1, Ordering::Relaxed);
            error!(error = %e, checks = count, "could not record batch");
        }
    }
}
