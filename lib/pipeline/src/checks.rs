//! The check stage: run a batch of checks, record them, move each monitor's state.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use sentinel_core::check::judge;
use sentinel_core::status::{Applied, apply};
use sentinel_core::{CheckResult, LiveState, MonitorId, MonitorSpec, Transition};
use sentinel_probe::Prober;
use sentinel_store::{CasOutcome, IncidentStore, LiveStateStore, PingLog, StoreError};
use tracing::{instrument, warn};

/// How often to retry a state write that lost a compare-and-set race.
const CAS_ATTEMPTS: usize = 5;

/// What one batch produced.
#[derive(Debug, Default)]
pub struct BatchReport {
    pub results: Vec<CheckResult>,
    pub transitions: Vec<Transition>,
    /// Monitors whose state could not be applied (the results are stored).
    pub failed: Vec<(MonitorId, String)>,
}

pub struct CheckStage<S: ?Sized> {
    stores: Arc<S>,
    prober: Prober,
    concurrency: usize,
    reminder_every: Option<Duration>,
}

impl<S> CheckStage<S>
where
    S: PingLog + LiveStateStore + IncidentStore + ?Sized,
{
    pub fn new(stores: Arc<S>, prober: Prober, concurrency: usize) -> Self {
        Self {
            stores,
            prober,
            concurrency: concurrency.max(1),
            reminder_every: None,
        }
    }

    /// While a monitor is down, alert again this often (off by default).
    pub fn with_reminders(mut self, every: Option<Duration>) -> Self {
        self.reminder_every = every;
        self
    }

    pub fn stores(&self) -> &S {
        &self.stores
    }

    pub fn prober(&self) -> &Prober {
        &self.prober
    }

    /// Probes one monitor and judges the outcome, without recording anything.
    pub async fn check_once(&self, spec: &MonitorSpec) -> CheckResult {
        let outcome = self.prober.check(spec, crate::now_ms()).await;
        judge(spec, &outcome)
    }

    /// Runs a batch concurrently, then records it. A storage failure of the ping log
    /// fails the whole batch (retryable); state failures are reported per monitor.
    #[instrument(skip_all, fields(batch = batch.len()))]
    pub async fn run(&self, batch: &[Arc<MonitorSpec>]) -> Result<BatchReport, StoreError> {
        let results: Vec<CheckResult> = futures::stream::iter(batch.iter())
            .map(|spec| self.check_once(spec))
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        self.record(batch, results).await
    }

    /// Stores results and applies them to the live state, returning the transitions.
    #[instrument(skip_all, fields(results = results.len()))]
    pub async fn record(
        &self,
        specs: &[Arc<MonitorSpec>],
        results: Vec<CheckResult>,
    ) -> Result<BatchReport, StoreError> {
        if results.is_empty() {
            return Ok(BatchReport::default());
        }
        self.stores.append(&results).await?;
        let by_id: HashMap<&MonitorId, &MonitorSpec> =
            specs.iter().map(|s| (&s.id, s.as_ref())).collect();
        let mut report = BatchReport::default();
        for result in &results {
            let Some(spec) = by_id.get(&result.monitor_id) else {
                continue;
            };
            match self.apply_one(spec, result).await {
                Ok(Some(t)) => report.transitions.push(t),
                Ok(None) => {}
                Err(e) => {
                    warn!(monitor_id = %spec.id, error = %e, "could not apply check to state");
                    report.failed.push((spec.id.clone(), e.to_string()));
                }
            }
        }
        report.results = results;
        Ok(report)
    }

    async fn apply_one(
        &self,
        spec: &MonitorSpec,
        result: &CheckResult,
    ) -> Result<Option<Transition>, StoreError> {
        let reminder_ms = self.reminder_every.map(|d| d.as_millis() as i64);
        self.transact(spec, result.checked_at, |base| {
            apply(base, spec, result, reminder_ms)
        })
        .await
    }

    /// Brings the stored state in line with the spec's paused flag.
    pub async fn sync_paused(
        &self,
        spec: &MonitorSpec,
        now: sentinel_core::UnixMs,
    ) -> Result<Option<Transition>, StoreError> {
        self.transact(spec, now, |base| {
            if spec.paused {
                sentinel_core::status::pause(base, now)
            } else {
                sentinel_core::status::resume(base, now)
            }
        })
        .await
    }

    /// Read state → pure step → incident writes → compare-and-set, retried when another
    /// writer got there first. A monitor without state starts from pending at `now`.
    async fn transact(
        &self,
        spec: &MonitorSpec,
        now: sentinel_core::UnixMs,
        step: impl Fn(&LiveState) -> Applied,
    ) -> Result<Option<Transition>, StoreError> {
        for _ in 0..CAS_ATTEMPTS {
            let current = self.stores.get_state(&spec.id).await?;
            let expected = current.as_ref().map(|s| s.version);
            let base = current.unwrap_or_else(|| LiveState::new(spec.id.clone(), now));
            let applied = step(&base);
            // Nothing changed; a new monitor's pending state is still worth storing.
            if applied.state == base && expected.is_some() {
                return Ok(None);
            }
            // Incident writes are idempotent on a deterministic id, so doing them before
            // the state write cannot duplicate, and a crash in between cannot lose them.
            if let Some(incident) = &applied.opened {
                self.stores.open_incident(incident).await?;
            }
            if let Some((id, at)) = &applied.closed {
                self.stores.close_incident(id, *at).await?;
            }
            match self
                .stores
                .compare_and_set(&applied.state, expected)
                .await?
            {
                CasOutcome::Applied => return Ok(applied.transition),
                CasOutcome::Conflict(_) => continue,
            }
        }
        Err(StoreError::Backend {
            message: format!("state of {} kept changing under us", spec.id),
            source: None,
        })
    }
}
