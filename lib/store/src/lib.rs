//! The ports (traits) Sentinel's pipeline and API need, and the contract suite every
//! adapter must pass (`contract`). Nothing here knows about a driver or an SDK.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use std::collections::HashMap;

use sentinel_core::stats::{CheckCounts, Granularity, Rollup, WindowPlan};
use sentinel_core::{CheckResult, Incident, IncidentId, LiveState, MonitorId, MonitorSpec, UnixMs};

pub mod accounts;
pub mod contract;
pub mod ecs;
pub mod split;

pub use accounts::{
    ApiKey, ApiKeyStore, BlobStore, ChannelRecord, ChannelStore, MonitorOrigin, MonitorRecord,
    MonitorRecords, RateDecision, RateLimiter, RefreshToken, RotateOutcome, TokenStore, User,
    UserStore,
};
pub use ecs::{
    ECS_METRIC_RETENTION_MS, EcsAccountRecord, EcsAccountStore, EcsIncident, EcsIncidentStore,
    EcsSettings, EcsSnapshotStore, PreviousHealth, SealedSecret,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend failed (I/O, connection, constraint); a retry may help.
    #[error("storage backend failed: {message}")]
    Backend {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// Stored data could not be decoded; a retry will not help.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A uniqueness rule was broken (an email or a name already taken).
    #[error("already exists: {0}")]
    Conflict(String),
}

impl StoreError {
    pub fn backend(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Backend {
            message: e.to_string(),
            source: Some(Box::new(e)),
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Backend { .. })
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Where monitors come from: the YAML file (self-hosted) or the API.
#[async_trait]
pub trait MonitorStore: Send + Sync {
    /// Inserts or replaces a monitor by id.
    async fn upsert_monitor(&self, spec: &MonitorSpec) -> StoreResult<()>;
    async fn get_monitor(&self, id: &MonitorId) -> StoreResult<Option<MonitorSpec>>;
    /// All monitors, ordered by id.
    async fn list_monitors(&self) -> StoreResult<Vec<MonitorSpec>>;
    /// Deletes the monitor and everything recorded under its id (check results,
    /// rollups, live state, incidents, alert deliveries): ids are reused, and a new
    /// monitor must not inherit an old one's history. Returns whether it existed.
    async fn delete_monitor(&self, id: &MonitorId) -> StoreResult<bool>;
}

/// Time-ordered check results, with hourly and daily rollups kept up to date on append.
#[async_trait]
pub trait PingLog: Send + Sync {
    /// Appends a batch atomically and folds it into the hourly and daily rollups.
    /// A result with the same (monitor, checked_at) as a stored one is ignored, so a
    /// redelivered batch neither duplicates pings nor double-counts rollups.
    async fn append(&self, results: &[CheckResult]) -> StoreResult<()>;
    /// Results of one monitor with `from <= checked_at < to`, newest first, at most `limit`.
    async fn history(
        &self,
        monitor: &MonitorId,
        from: UnixMs,
        to: UnixMs,
        limit: usize,
    ) -> StoreResult<Vec<CheckResult>>;
    /// Rollups of one monitor with `from <= bucket_start < to`, oldest first.
    async fn rollups(
        &self,
        monitor: &MonitorId,
        granularity: Granularity,
        from: UnixMs,
        to: UnixMs,
    ) -> StoreResult<Vec<Rollup>>;
    /// Deletes raw results older than `before` (rollups stay). Returns how many.
    async fn prune(&self, before: UnixMs) -> StoreResult<u64>;

    /// The rollups a [`WindowPlan`] selects (hourly at the ragged edges, daily in
    /// between), oldest first within each part. Backends that can answer it in one
    /// round trip should.
    async fn window_rollups(
        &self,
        monitor: &MonitorId,
        plan: &WindowPlan,
    ) -> StoreResult<Vec<Rollup>> {
        let mut out = Vec::new();
        for (granularity, (from, to)) in plan_parts(plan) {
            if from < to {
                out.extend(self.rollups(monitor, granularity, from, to).await?);
            }
        }
        Ok(out)
    }

    /// Checks and up checks of each monitor over a [`WindowPlan`], for uptime figures
    /// of many monitors at once (lists, status pages, badges) without decoding
    /// latency histograms. Monitors with no rollups in the window are absent.
    async fn window_counts(
        &self,
        monitors: &[MonitorId],
        plan: &WindowPlan,
    ) -> StoreResult<HashMap<MonitorId, CheckCounts>> {
        let mut out = HashMap::new();
        for monitor in monitors {
            let rollups = self.window_rollups(monitor, plan).await?;
            if rollups.is_empty() {
                continue;
            }
            let counts = rollups.iter().fold(CheckCounts::default(), |acc, r| {
                acc.plus(CheckCounts {
                    checks: r.checks,
                    up: r.up,
                })
            });
            out.insert(monitor.clone(), counts);
        }
        Ok(out)
    }
}

/// The three ranges of a [`WindowPlan`] with the granularity each reads.
pub fn plan_parts(plan: &WindowPlan) -> [(Granularity, (UnixMs, UnixMs)); 3] {
    [
        (Granularity::Hour, plan.hours_before),
        (Granularity::Day, plan.days),
        (Granularity::Hour, plan.hours_after),
    ]
}

#[derive(Debug, Clone, PartialEq)]
pub enum CasOutcome {
    Applied,
    /// Someone else wrote first; here is what is stored now.
    Conflict(Option<LiveState>),
}

/// Live monitor state with compare-and-set on `version`.
#[async_trait]
pub trait LiveStateStore: Send + Sync {
    async fn get_state(&self, id: &MonitorId) -> StoreResult<Option<LiveState>>;
    async fn list_states(&self) -> StoreResult<Vec<LiveState>>;
    /// Writes `state` if the stored version equals `expected_version`
    /// (`None`: only if no state is stored yet).
    async fn compare_and_set(
        &self,
        state: &LiveState,
        expected_version: Option<u64>,
    ) -> StoreResult<CasOutcome>;
    async fn delete_state(&self, id: &MonitorId) -> StoreResult<()>;
}

#[async_trait]
pub trait IncidentStore: Send + Sync {
    /// Idempotent on the incident id.
    async fn open_incident(&self, incident: &Incident) -> StoreResult<()>;
    /// Sets `ended_at` if still open; idempotent.
    async fn close_incident(&self, id: &IncidentId, ended_at: UnixMs) -> StoreResult<()>;
    async fn get_incident(&self, id: &IncidentId) -> StoreResult<Option<Incident>>;
    /// Newest first.
    async fn list_incidents(&self, monitor: &MonitorId, limit: usize)
    -> StoreResult<Vec<Incident>>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Claimed, being sent.
    Pending,
    Sent,
    /// Gave up after retries.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }
}

/// One alert to one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// Transition idempotency key + ":" + channel name.
    pub key: String,
    pub channel: String,
    pub monitor_id: MonitorId,
    pub event: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: UnixMs,
    pub updated_at: UnixMs,
}

/// The alert ledger: claims make "never alerted twice" hold across retries and restarts.
#[async_trait]
pub trait AlertLedger: Send + Sync {
    /// Records `delivery` (status pending) if its key was never claimed. Returns
    /// `true` when this caller won the claim and must send.
    async fn claim(&self, delivery: &Delivery) -> StoreResult<bool>;
    /// Updates status, attempts and error of a claimed delivery.
    async fn finish(
        &self,
        key: &str,
        status: DeliveryStatus,
        attempts: u32,
        last_error: Option<&str>,
        now: UnixMs,
    ) -> StoreResult<()>;
    async fn get_delivery(&self, key: &str) -> StoreResult<Option<Delivery>>;
    /// Newest first.
    async fn list_deliveries(&self, limit: usize) -> StoreResult<Vec<Delivery>>;
}

/// Everything the self-hosted pipeline needs, in one handle.
pub trait Stores:
    MonitorStore + PingLog + LiveStateStore + IncidentStore + AlertLedger + Send + Sync
{
}

impl<T> Stores for T where
    T: MonitorStore + PingLog + LiveStateStore + IncidentStore + AlertLedger + Send + Sync
{
}

/// An email to send. Plain text; channels render their own content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct MailError {
    pub message: String,
    /// Whether trying again later can help (server down) or not (address rejected).
    pub retryable: bool,
}

/// Sends mail: SMTP or an outbox folder self-hosted, SES on AWS.
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: &Mail) -> Result<(), MailError>;
}
