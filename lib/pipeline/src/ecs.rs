//! ECS collection as the pipeline runs it, generic over ports: read the watched
//! accounts, collect each through an [`EcsSource`] (the AWS SDK collector in
//! `sentinel-aws`), store snapshots and metric history, record each account's outcome,
//! and turn health changes into incidents and alerts.
//!
//! Driven by the `ecs-collector` Lambda (EventBridge schedule), by a background task in
//! `sentinel serve`, and by `POST /api/ecs/refresh` through [`EcsRefresh`].

use async_trait::async_trait;
use sentinel_core::UnixMs;
use sentinel_core::ecs::{EcsMetric, MetricPoint, ServiceKey, ServiceSnapshot};
use serde::Serialize;

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
