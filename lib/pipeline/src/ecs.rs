//! ECS collection as the pipeline runs it, generic over ports: read the watched
//! accounts, collect each through an [`EcsSource`] (the AWS SDK collector in
//! `sentinel-aws`), store snapshots and metric history, record each account's outcome,
//! and turn health changes into incidents and alerts.
//!
//! Driven by the `ecs-collector` Lambda (EventBridge schedule), by a background task in
//! `sentinel serve`, and by `POST /api/ecs/refresh` through [`EcsRefresh`].

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use sentinel_core::UnixMs;
use sentinel_core::alert::ecs_incident_id;
use sentinel_core::ecs::{EcsMetric, Health, MetricPoint, ServiceKey, ServiceSnapshot};
use sentinel_store::{
    AlertLedger, ECS_METRIC_RETENTION_MS, EcsAccountStore, EcsIncident, EcsIncidentStore,
    EcsSnapshotStore, SealedSecret, StoreError,
};
use serde::Serialize;
use tracing::{error, info, instrument, warn};

use crate::Notifier;

/// One account to collect, its external id already decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsTarget {
    /// The account record's id (not the AWS account id).
    pub id: String,
    /// `None`: the collector's own credentials.
    pub role_arn: Option<String>,
    pub external_id: Option<String>,
    pub regions: Vec<String>,
}

/// What one collection of one account saw.
#[derive(Debug, Clone, PartialEq)]
pub struct EcsAccountSnapshot {
    /// The 12-digit AWS account id.
    pub account_id: String,
    /// The IAM alias, or the account id when there is none.
    pub alias: String,
    /// Regions that answered (their services are complete and replace what is stored).
    pub regions_collected: Vec<String>,
    pub services: Vec<ServiceSnapshot>,
    pub metrics: Vec<(ServiceKey, EcsMetric, Vec<MetricPoint>)>,
    /// Problems that did not stop the collection (a region that failed, an alias that
    /// could not be read), for people.
    pub warnings: Vec<String>,
}

/// Collects accounts (the AWS SDK collector, or anything that answers like it).
#[async_trait]
pub trait EcsSource: Send + Sync {
    /// One result per target, in the targets' order; an `Err` is that account's
    /// failure, for people ("AccessDenied assuming arn:…").
    async fn collect(
        &self,
        targets: &[EcsTarget],
        now: UnixMs,
    ) -> Vec<Result<EcsAccountSnapshot, String>>;
}

/// What one collection round did (the answer of `POST /api/ecs/refresh`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EcsRefreshReport {
    /// Accounts collected successfully.
    pub accounts: usize,
    /// Services stored.
    pub services: usize,
    pub failed_accounts: Vec<FailedAccount>,
    pub collected_at: UnixMs,
}

impl EcsRefreshReport {
    /// Logs the round: a warning per account not collected, then the totals.
    pub fn log(&self) {
        for failed in &self.failed_accounts {
            warn!(ecs_account = %failed.id, error = %failed.error, "ECS account not collected");
        }
        info!(
            accounts = self.accounts,
            services = self.services,
            failed = self.failed_accounts.len(),
            "ECS collection"
        );
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedAccount {
    /// The account record's id.
    pub id: String,
    pub error: String,
}

#[derive(Debug, thiserror::Error)]
pub enum EcsRefreshError {
    /// A store failed; a retry may help.
    #[error(transparent)]
    Store(#[from] sentinel_store::StoreError),
    /// A collection is already running (refresh requests do not queue up).
    #[error("a collection is already running")]
    Busy,
}

/// Runs one collection round now.
#[async_trait]
pub trait EcsRefresh: Send + Sync {
    async fn refresh(&self, now: UnixMs) -> Result<EcsRefreshReport, EcsRefreshError>;
}

pub use sentinel_core::alert::EcsTransition;

/// Opens a sealed external id (the API's AES-GCM keyring, behind a closure so the
/// pipeline needs no keys). An `Err` is that account's failure, for people.
pub type OpenSecret = Arc<dyn Fn(&SealedSecret) -> Result<String, String> + Send + Sync>;

/// The stores one collection round writes.
pub trait EcsStores: EcsAccountStore + EcsSnapshotStore + EcsIncidentStore {}

impl<T> EcsStores for T where T: EcsAccountStore + EcsSnapshotStore + EcsIncidentStore + ?Sized {}

#[derive(Debug, thiserror::Error)]
pub enum EcsAlertError {
    /// Recording a delivery failed; a retry may help.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The transitions could not be handed on (an event bus refused them).
    #[error("ECS transitions not published: {0}")]
    Publish(String),
}

/// Where a round's health transitions go: the notifier in process
/// ([`NotifierEcsSink`]), or an event bus whose consumer calls
/// [`Notifier::notify_ecs`].
#[async_trait]
pub trait EcsAlertSink: Send + Sync {
    async fn publish(&self, transitions: &[EcsTransition]) -> Result<(), EcsAlertError>;
}

/// Sends transitions through a [`Notifier`] right away, in order.
pub struct NotifierEcsSink<S: ?Sized> {
    notifier: Arc<Notifier<S>>,
}

impl<S: ?Sized> NotifierEcsSink<S> {
    pub fn new(notifier: Arc<Notifier<S>>) -> Self {
        Self { notifier }
    }
}

#[async_trait]
impl<S> EcsAlertSink for NotifierEcsSink<S>
where
    S: AlertLedger + Send + Sync + ?Sized + 'static,
{
    async fn publish(&self, transitions: &[EcsTransition]) -> Result<(), EcsAlertError> {
        let mut first_error = None;
        for transition in transitions {
            match self.notifier.notify_ecs(transition).await {
                Ok(report) if !report.failed.is_empty() => warn!(
                    incident_id = %transition.incident_id,
                    failed = ?report.failed,
                    "ECS alert not delivered on every channel"
                ),
                Ok(_) => {}
                Err(e) => {
                    error!(incident_id = %transition.incident_id, error = %e, "ECS alert not recorded");
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), |e| Err(e.into()))
    }
}

/// What one round did: the report, and the transitions it published.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EcsRound {
    pub report: EcsRefreshReport,
    pub transitions: Vec<EcsTransition>,
    /// Incidents closed because their service was deleted from AWS, or its account or
    /// region is no longer watched. Closed without an alert: the service did not
    /// recover, it is gone.
    pub closed_gone: Vec<EcsIncident>,
}

/// One collection round over every watched account; see the module documentation.
/// Rounds never overlap within one `EcsCollection`: a second one answers
/// [`EcsRefreshError::Busy`].
pub struct EcsCollection<S: ?Sized> {
    stores: Arc<S>,
    source: Arc<dyn EcsSource>,
    open_secret: OpenSecret,
    alerts: Arc<dyn EcsAlertSink>,
    running: tokio::sync::Mutex<()>,
}

impl<S> EcsCollection<S>
where
    S: EcsStores + ?Sized,
{
    pub fn new(
        stores: Arc<S>,
        source: Arc<dyn EcsSource>,
        open_secret: OpenSecret,
        alerts: Arc<dyn EcsAlertSink>,
    ) -> Self {
        Self {
            stores,
            source,
            open_secret,
            alerts,
            running: tokio::sync::Mutex::new(()),
        }
    }

    /// Runs one round now, unless one is running ([`EcsRefreshError::Busy`]).
    #[instrument(skip(self))]
    pub async fn run(&self, now: UnixMs) -> Result<EcsRound, EcsRefreshError> {
        let _running = self.running.try_lock().map_err(|_| EcsRefreshError::Busy)?;
        let accounts = self.stores.list_ecs_accounts().await?;

        // Accounts whose external id opens become targets; the others fail here.
        let mut outcomes: Vec<Option<Result<EcsAccountSnapshot, String>>> =
            Vec::with_capacity(accounts.len());
        let mut targets = Vec::new();
        for account in &accounts {
            let external_id = match &account.external_id {
                None => Ok(None),
                Some(sealed) => (self.open_secret)(sealed)
                    .map(Some)
                    .map_err(|e| format!("the external id cannot be decrypted: {e}")),
            };
            match external_id {
                Ok(external_id) => {
                    targets.push(EcsTarget {
                        id: account.id.clone(),
                        role_arn: account.role_arn.clone(),
                        external_id,
                        regions: account.regions.clone(),
                    });
                    outcomes.push(None);
                }
                Err(e) => outcomes.push(Some(Err(e))),
            }
        }
        let mut collected = self.source.collect(&targets, now).await.into_iter();
        for outcome in outcomes.iter_mut().filter(|o| o.is_none()) {
            *outcome = Some(collected.next().unwrap_or_else(|| {
                Err("the collector returned no result for this account".to_owned())
            }));
        }

        let mut round = EcsRound {
            report: EcsRefreshReport {
                collected_at: now,
                ..EcsRefreshReport::default()
            },
            transitions: Vec::new(),
            closed_gone: Vec::new(),
        };
        let mut seen = SeenServices::default();
        for (account, outcome) in accounts.iter().zip(outcomes) {
            let outcome = outcome.unwrap_or_else(|| Err("not collected".to_owned()));
            let stored = match outcome {
                Ok(snapshot) => {
                    let stored = self
                        .store_account(&account.id, &snapshot, now, &mut round)
                        .await;
                    if stored.is_ok() {
                        seen.add(&account.regions, &snapshot);
                    }
                    stored
                }
                Err(e) => Err(e),
            };
            if let Err(error) = stored {
                warn!(account = %account.id, %error, "ECS account not collected");
                if let Err(e) = self
                    .stores
                    .record_ecs_collection(&account.id, None, None, now, Some(&error))
                    .await
                {
                    error!(account = %account.id, error = %e, "ECS collection outcome not recorded");
                }
                round.report.failed_accounts.push(FailedAccount {
                    id: account.id.clone(),
                    error,
                });
            }
        }
        for account in &accounts {
            // Both ids a record names: after its role is edited to another account, the
            // learned id is stale until a collection succeeds.
            for account_id in [&account.account_id, &account.role_account_id]
                .into_iter()
                .flatten()
            {
                seen.watch(account_id, &account.regions);
            }
        }
        match self.close_gone(&seen, now).await {
            Ok(closed) => round.closed_gone = closed,
            Err(e) => warn!(error = %e, "ECS incidents of gone services not closed"),
        }
        if let Err(e) = self
            .stores
            .prune_metrics(now - ECS_METRIC_RETENTION_MS)
            .await
        {
            warn!(error = %e, "old ECS metric points not pruned");
        }
        if !round.transitions.is_empty()
            && let Err(e) = self.alerts.publish(&round.transitions).await
        {
            error!(error = %e, transitions = round.transitions.len(), "ECS alerts not published");
        }
        info!(
            accounts = round.report.accounts,
            services = round.report.services,
            failed = round.report.failed_accounts.len(),
            transitions = round.transitions.len(),
            "ECS collection round done"
        );
        Ok(round)
    }

    /// Stores what one account's collection saw; an `Err` (a store that refused or
    /// failed) is that account's failure.
    async fn store_account(
        &self,
        id: &str,
        snapshot: &EcsAccountSnapshot,
        now: UnixMs,
        round: &mut EcsRound,
    ) -> Result<(), String> {
        let stored = |e: StoreError| format!("the collection could not be stored: {e}");
        let account_id = snapshot.account_id.as_str();
        let mut services = 0;
        for region in &snapshot.regions_collected {
            let in_region: Vec<ServiceSnapshot> = snapshot
                .services
                .iter()
                .filter(|s| s.key.account_id == account_id && &s.key.region == region)
                .cloned()
                .collect();
            let previous = self
                .stores
                .replace_snapshots(account_id, region, &in_region, now)
                .await
                .map_err(stored)?;
            services += in_region.len();
            for (key, before) in previous {
                let Some(before) = before else { continue };
                let Some(now_seen) = in_region.iter().find(|s| s.key == key) else {
                    continue;
                };
                if before == now_seen.health {
                    continue;
                }
                if let Some(t) = self
                    .transition(&snapshot.alias, now_seen, before, now)
                    .await
                    .map_err(stored)?
                {
                    round.transitions.push(t);
                }
            }
        }
        for (key, metric, points) in &snapshot.metrics {
            if points.is_empty() || !snapshot.regions_collected.contains(&key.region) {
                continue;
            }
            self.stores
                .append_metrics(key, *metric, points)
                .await
                .map_err(stored)?;
        }
        let warnings = (!snapshot.warnings.is_empty()).then(|| snapshot.warnings.join("; "));
        self.stores
            .record_ecs_collection(
                id,
                Some(account_id),
                Some(&snapshot.alias),
                now,
                warnings.as_deref(),
            )
            .await
            .map_err(stored)?;
        round.report.accounts += 1;
        round.report.services += services;
        Ok(())
    }

    /// Closes the open incidents that no collection can close any more: of a service a
    /// complete collection of its region did not find, or of an account and region no
    /// watched account covers. The store leaves an incident opened after `now` (by a
    /// newer round) open.
    async fn close_gone(
        &self,
        seen: &SeenServices,
        now: UnixMs,
    ) -> Result<Vec<EcsIncident>, StoreError> {
        let mut closed = Vec::new();
        for open in self.stores.open_ecs_incidents().await? {
            let Some(why) = seen.gone(&open.key) else {
                continue;
            };
            // One failed close leaves the others to close (and to be reported).
            match self.stores.close_ecs_incident(&open.key, now).await {
                Ok(Some(incident)) => {
                    info!(incident_id = %incident.id, service = ?incident.key, why, "ECS incident closed: its service is gone");
                    closed.push(incident);
                }
                Ok(None) => {}
                Err(e) => {
                    warn!(incident_id = %open.id, error = %e, "ECS incident of a gone service not closed")
                }
            }
        }
        Ok(closed)
    }

    /// The transition from `before` to what `service` is now, opening, continuing or
    /// closing its incident. `None`: a recovery with no open incident (it went unhealthy
    /// before incidents were kept), which is not alerted.
    async fn transition(
        &self,
        alias: &str,
        service: &ServiceSnapshot,
        before: Health,
        now: UnixMs,
    ) -> Result<Option<EcsTransition>, StoreError> {
        let incident = if service.health == Health::Healthy {
            match self.stores.close_ecs_incident(&service.key, now).await? {
                Some(closed) => closed,
                None => {
                    info!(service = ?service.key, "ECS service recovered without an open incident");
                    return Ok(None);
                }
            }
        } else {
            // Leaving healthy opens one; degraded <-> failed continues the open one.
            self.stores
                .open_ecs_incident(&EcsIncident {
                    id: ecs_incident_id(&service.key, now),
                    key: service.key.clone(),
                    alias: alias.to_owned(),
                    started_at: now,
                    ended_at: None,
                    health: service.health,
                    reason: service.health_reason.clone(),
                })
                .await?
        };
        Ok(Some(EcsTransition {
            key: service.key.clone(),
            alias: alias.to_owned(),
            from: before,
            to: service.health,
            at: now,
            reason: service.health_reason.clone(),
            incident_id: incident.id,
            incident_started_at: incident.started_at,
        }))
    }
}

/// What a round learned about which services exist and which are watched.
#[derive(Default)]
struct SeenServices {
    /// (account id, region) pairs some account record watches.
    watched: HashSet<(String, String)>,
    /// (account id, region) pairs collected completely this round.
    complete: HashSet<(String, String)>,
    /// Services those complete collections found.
    found: HashSet<ServiceKey>,
}

impl SeenServices {
    fn add(&mut self, regions: &[String], snapshot: &EcsAccountSnapshot) {
        self.watch(&snapshot.account_id, regions);
        for region in &snapshot.regions_collected {
            self.complete
                .insert((snapshot.account_id.clone(), region.clone()));
        }
        self.found
            .extend(snapshot.services.iter().map(|s| s.key.clone()));
    }

    fn watch(&mut self, account_id: &str, regions: &[String]) {
        self.watched
            .extend(regions.iter().map(|r| (account_id.to_owned(), r.clone())));
    }

    /// Why the service of `key` is gone, or `None` while it may still exist.
    fn gone(&self, key: &ServiceKey) -> Option<&'static str> {
        let place = (key.account_id.clone(), key.region.clone());
        if !self.watched.contains(&place) {
            Some("its account or region is no longer watched")
        } else if self.complete.contains(&place) && !self.found.contains(key) {
            Some("it no longer exists in AWS")
        } else {
            None
        }
    }
}

#[async_trait]
impl<S> EcsRefresh for EcsCollection<S>
where
    S: EcsStores + ?Sized,
{
    async fn refresh(&self, now: UnixMs) -> Result<EcsRefreshReport, EcsRefreshError> {
        self.run(now).await.map(|round| round.report)
    }
}
