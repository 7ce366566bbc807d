//! Ports for ECS monitoring: the AWS accounts Sentinel watches (with the ECS settings),
//! and what collections saw (service snapshots and CPU/memory history).
//!
//! Accounts are configuration (SQLite self-hosted, PostgreSQL on AWS); snapshots and
//! metric points are collection output (SQLite self-hosted, DynamoDB on AWS).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use sentinel_core::UnixMs;
use sentinel_core::ecs::{EcsMetric, Health, MetricPoint, ServiceKey, ServiceSnapshot};

use crate::StoreResult;

/// How long metric history is kept: the 7-day charts plus a day of margin. SQLite is
/// pruned with [`EcsSnapshotStore::prune_metrics`] at `now - ECS_METRIC_RETENTION_MS`;
/// DynamoDB items carry a TTL this long after their period.
pub const ECS_METRIC_RETENTION_MS: i64 = 8 * 86_400_000;

/// A secret as stored: AES-256-GCM ciphertext and the id of the key that sealed it (the
/// same shape as [`ChannelRecord`](crate::ChannelRecord)'s `secret` and `key_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedSecret {
    pub ciphertext: Vec<u8>,
    pub key_id: String,
}

/// A watched AWS account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcsAccountRecord {
    pub id: String,
    /// A label for people; the API falls back to the alias or the account id.
    pub name: Option<String>,
    /// `None`: the local account (the function's own credentials).
    pub role_arn: Option<String>,
    /// The account id in `role_arn`, known before the first collection.
    pub role_account_id: Option<String>,
    pub regions: Vec<String>,
    /// The role's external id, sealed.
    pub external_id: Option<SealedSecret>,
    /// Learned by the last collection that could tell.
    pub account_id: Option<String>,
    /// Learned by the last collection that could tell.
    pub alias: Option<String>,
    pub last_collected_at: Option<UnixMs>,
    /// Why the last collection failed; `None` when it succeeded (or none ran yet).
    pub last_error: Option<String>,
    pub created_at: UnixMs,
    pub updated_at: UnixMs,
}

impl EcsAccountRecord {
    /// The AWS account this record watches, as far as is known: learned by a
    /// collection, else the one in its role ARN.
    pub fn known_account_id(&self) -> Option<&str> {
        self.account_id
            .as_deref()
            .or(self.role_account_id.as_deref())
    }
}

/// Settings of the ECS view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct EcsSettings {
    /// Whether users with the `user` role may see the ECS view (admins and `monitor`
    /// users always can).
    pub users_can_view_ecs: bool,
}

/// The watched accounts and the ECS settings.
#[async_trait]
pub trait EcsAccountStore: Send + Sync {
    /// Fails with [`StoreError::Conflict`](crate::StoreError::Conflict) when the id is
    /// taken, or when the same role (or, for `role_arn: None`, the local account) is
    /// already registered.
    async fn create_ecs_account(&self, account: &EcsAccountRecord) -> StoreResult<()>;
    async fn get_ecs_account(&self, id: &str) -> StoreResult<Option<EcsAccountRecord>>;
    /// Ordered by `created_at`, then id.
    async fn list_ecs_accounts(&self) -> StoreResult<Vec<EcsAccountRecord>>;
    /// Replaces the editable fields (`name`, `role_arn`, `role_account_id`, `regions`,
    /// `external_id`, `updated_at`) of the account with this id; what collections
    /// learned and `created_at` are kept. Returns whether it existed. Conflict when the
    /// new role is another account's.
    async fn update_ecs_account(&self, account: &EcsAccountRecord) -> StoreResult<bool>;
    /// Deletes the account record only: its snapshots and metrics go through
    /// [`EcsSnapshotStore::delete_account_data`]. Returns whether it existed.
    async fn delete_ecs_account(&self, id: &str) -> StoreResult<bool>;
    /// Records a collection's outcome without touching the editable fields, so an edit
    /// made while the collection ran survives. `account_id` and `alias` of `None` keep
    /// what was learned before (a failed collection learns nothing); `error` replaces
    /// `last_error` (`None` clears it). Returns whether the account exists.
    async fn record_ecs_collection(
        &self,
        id: &str,
        account_id: Option<&str>,
        alias: Option<&str>,
        at: UnixMs,
        error: Option<&str>,
    ) -> StoreResult<bool>;
    /// The stored settings, or the defaults when none were ever set.
    async fn ecs_settings(&self) -> StoreResult<EcsSettings>;
    async fn set_ecs_settings(&self, settings: &EcsSettings) -> StoreResult<()>;
}

/// A service's health before a [`EcsSnapshotStore::replace_snapshots`] (`None`: it had
/// no snapshot).
pub type PreviousHealth = (ServiceKey, Option<Health>);

/// Service snapshots and their metric history.
///
/// Every [`ServiceKey`] passed in must pass [`check_service_key`]; adapters refuse
/// others with an error saying why.
#[async_trait]
pub trait EcsSnapshotStore: Send + Sync {
    /// Makes `snapshots` the services of `account_id` in `region`, as a collection at
    /// `at` saw them: services of that account and region not in the list are deleted
    /// (they are gone from AWS). Every snapshot must belong to `account_id` and
    /// `region`, once. A stored snapshot written by a later collection (one with a
    /// greater `at`) is neither replaced nor deleted, so a slow collection cannot undo
    /// a newer one.
    ///
    /// Returns, in input order, each snapshot written with the health its service had
    /// before, so the caller can act on transitions without a second read.
    async fn replace_snapshots(
        &self,
        account_id: &str,
        region: &str,
        snapshots: &[ServiceSnapshot],
        at: UnixMs,
    ) -> StoreResult<Vec<PreviousHealth>>;
    /// Every snapshot of every account, ordered by key.
    async fn list_snapshots(&self) -> StoreResult<Vec<ServiceSnapshot>>;
    async fn get_snapshot(&self, key: &ServiceKey) -> StoreResult<Option<ServiceSnapshot>>;
    /// Stores metric points, one per (service, metric, `at`): a point at a stored
    /// period replaces it, never duplicates it (collections fetch overlapping windows).
    /// Periods older than the newest stored one are final in CloudWatch, so a backend
    /// where writes cost (DynamoDB) may skip them and write only the newest stored
    /// period (which can still change) and newer ones. Within one call the last point
    /// of a period wins. Values must be finite.
    async fn append_metrics(
        &self,
        key: &ServiceKey,
        metric: EcsMetric,
        points: &[MetricPoint],
    ) -> StoreResult<()>;
    /// Points of one service and metric with `from <= at < to`, oldest first.
    async fn metrics(
        &self,
        key: &ServiceKey,
        metric: EcsMetric,
        from: UnixMs,
        to: UnixMs,
    ) -> StoreResult<Vec<MetricPoint>>;
    /// Deletes points with `at < before` and returns how many. A backend whose storage
    /// expires them itself (DynamoDB's TTL, [`ECS_METRIC_RETENTION_MS`] after the
    /// period) does nothing and returns 0.
    async fn prune_metrics(&self, before: UnixMs) -> StoreResult<u64>;
    /// Deletes every snapshot and metric point of an account (when it stops being
    /// watched).
    async fn delete_account_data(&self, account_id: &str) -> StoreResult<()>;
}

/// An ECS service away from healthy: opened when a collection sees it leave healthy,
/// closed when one sees it healthy again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcsIncident {
    /// [`sentinel_core::alert::ecs_incident_id`] of the key and `started_at`.
    pub id: String,
    pub key: ServiceKey,
    /// The account's alias when it opened.
    pub alias: String,
    pub started_at: UnixMs,
    /// `None` while open.
    pub ended_at: Option<UnixMs>,
    /// The health it opened with.
    pub health: Health,
    /// Why, when it opened ("1 of 3 tasks running").
    pub reason: String,
}

/// ECS health incidents, at most one open per service.
#[async_trait]
pub trait EcsIncidentStore: Send + Sync {
    /// Opens `incident` (whose `ended_at` must be `None`) unless its service has one
    /// open already, and returns the service's open incident: the given one, or the one
    /// found, so collections that race agree on the id.
    async fn open_ecs_incident(&self, incident: &EcsIncident) -> StoreResult<EcsIncident>;
    /// Closes the open incident of `key` at `at` and returns it closed; `None` when
    /// the service has none open, or its open incident started after `at` (a newer
    /// round opened it, which a close at `at` must not end).
    async fn close_ecs_incident(
        &self,
        key: &ServiceKey,
        at: UnixMs,
    ) -> StoreResult<Option<EcsIncident>>;
    /// The newest incidents first (by `started_at`, then id), at most `limit`.
    async fn list_ecs_incidents(&self, limit: usize) -> StoreResult<Vec<EcsIncident>>;
    /// Every open incident, ordered by key (at most one per service that is away
    /// from healthy, so a short list): a round closes those whose service or account
    /// is gone.
    async fn open_ecs_incidents(&self) -> StoreResult<Vec<EcsIncident>>;
}

/// Longest cluster or service name ECS allows.
const MAX_NAME_LEN: usize = 255;

/// The key rule every [`EcsSnapshotStore`] applies: a 12-digit account id, an AWS
/// region name, and cluster and service names of ASCII letters, digits, `-` and `_` (as
/// ECS allows), 1 to 255 characters. Keys then join with `#` unambiguously, and byte
/// order of the joined key is the order of [`ServiceKey`].
pub fn check_service_key(key: &ServiceKey) -> Result<(), String> {
    if !sentinel_core::ecs::is_account_id(&key.account_id) {
        return Err(format!(
            "ECS account id {:?} is not 12 digits",
            key.account_id
        ));
    }
    if !sentinel_core::ecs::is_region(&key.region) {
        return Err(format!(
            "ECS region {:?} is not an AWS region name",
            key.region
        ));
    }
    for (what, name) in [("cluster", &key.cluster), ("service", &key.service)] {
        let ok_chars = name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if name.is_empty() || name.len() > MAX_NAME_LEN || !ok_chars {
            return Err(format!(
                "ECS {what} name {name:?} must be 1 to {MAX_NAME_LEN} letters, digits, '-' or '_'"
            ));
        }
    }
    Ok(())
}

/// The input rule of [`EcsSnapshotStore::replace_snapshots`]: every key valid, every
/// snapshot in `account_id` and `region`, no service twice.
pub fn check_snapshot_batch(
    account_id: &str,
    region: &str,
    snapshots: &[ServiceSnapshot],
) -> Result<(), String> {
    let scope = ServiceKey {
        account_id: account_id.to_owned(),
        region: region.to_owned(),
        cluster: "c".to_owned(),
        service: "s".to_owned(),
    };
    check_service_key(&scope)?;
    let mut seen = std::collections::HashSet::new();
    for snapshot in snapshots {
        let key = &snapshot.key;
        check_service_key(key)?;
        if key.account_id != account_id || key.region != region {
            return Err(format!(
                "snapshot of {}/{} is in {}/{}, not in the replaced {account_id}/{region}",
                key.cluster, key.service, key.account_id, key.region
            ));
        }
        if !seen.insert(key) {
            return Err(format!(
                "service {}/{} appears twice in one replace",
                key.cluster, key.service
            ));
        }
    }
    Ok(())
}

/// The input rule of [`EcsSnapshotStore::append_metrics`]: a valid key, finite values.
pub fn check_metric_points(key: &ServiceKey, points: &[MetricPoint]) -> Result<(), String> {
    check_service_key(key)?;
    if let Some(bad) = points
        .iter()
        .find(|p| !p.average.is_finite() || !p.maximum.is_finite())
    {
        return Err(format!(
            "metric point at {} has a non-finite value (average {}, maximum {})",
            bad.at, bad.average, bad.maximum
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(cluster: &str, service: &str) -> ServiceKey {
        ServiceKey {
            account_id: "123456789012".to_owned(),
            region: "eu-west-1".to_owned(),
            cluster: cluster.to_owned(),
            service: service.to_owned(),
        }
    }

    #[test]
    fn service_keys_are_checked() {
        assert_eq!(check_service_key(&key("prod-1", "web_api")), Ok(()));
        for (cluster, service) in [
            ("", "web"),
            ("a#b", "web"),
            ("prod", "we b"),
            ("prod", &"x".repeat(256)),
        ] {
            assert!(
                check_service_key(&key(cluster, service)).is_err(),
                "{cluster:?}/{service:?} must be refused"
            );
        }
        let mut bad = key("prod", "web");
        bad.account_id = "12345".to_owned();
        assert!(check_service_key(&bad).is_err());
        bad = key("prod", "web");
        bad.region = "Europe".to_owned();
        assert!(check_service_key(&bad).is_err());
    }

    #[test]
    fn joined_keys_sort_like_service_keys() {
        let mut keys = [
            key("ab", "x"),
            key("a", "z"),
            key("a-b", "x"),
            key("a_b", "x"),
            key("A", "x"),
            key("a", "x"),
        ];
        let mut joined: Vec<String> = keys
            .iter()
            .map(|k| format!("{}#{}#{}#{}", k.account_id, k.region, k.cluster, k.service))
            .collect();
        keys.sort();
        joined.sort();
        let expected: Vec<String> = keys
            .iter()
            .map(|k| format!("{}#{}#{}#{}", k.account_id, k.region, k.cluster, k.service))
            .collect();
        assert_eq!(joined, expected);
    }

    #[test]
    fn non_finite_points_are_refused() {
        let point = |average| MetricPoint {
            at: 0,
            average,
            maximum: 1.0,
        };
        assert_eq!(
            check_metric_points(&key("c", "s"), &[point(0.5), point(100.0)]),
            Ok(())
        );
        assert!(check_metric_points(&key("c", "s"), &[point(f64::NAN)]).is_err());
        assert!(check_metric_points(&key("c", "s"), &[point(f64::INFINITY)]).is_err());
    }

    #[test]
    fn settings_default_to_closed_and_tolerate_unknown_fields() {
        assert!(!EcsSettings::default().users_can_view_ecs);
        let parsed: EcsSettings =
            serde_json::from_str(r#"{"later_field": 1}"#).expect("unknown fields are ignored");
        assert_eq!(parsed, EcsSettings::default());
    }
}
