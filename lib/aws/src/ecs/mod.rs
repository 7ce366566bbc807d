//! [`EcsCollector`]: everything one collection sees of the ECS services of watched AWS
//! accounts — clusters, services with their deployments and events, health, CPU and
//! memory history — with the failures of single accounts and regions kept as data.
//!
//! Per account: credentials once (`sts:AssumeRole` with the role and external id, or
//! the base config's own), the account id (`sts:GetCallerIdentity`) and alias
//! (`iam:ListAccountAliases`). Per region: `ListClusters` → `ListServices` per cluster
//! → `DescribeServices` in batches of 10 → `GetMetricData` with up to 500 queries per
//! call. Calls inside an account share one bound on requests in flight; accounts run
//! a few at a time.
//!
//! Throttling (`ThrottlingException`, `TooManyRequestsException`,
//! `RequestLimitExceeded`, and the SDK's other throttling codes), 5xx answers and
//! network failures are retried by the SDK's standard retry strategy, configured here
//! explicitly from [`RetryPolicy`]: at most `max_attempts` tries per call, waits drawn
//! uniformly from `[0, initial_backoff · 2^(try-1))` (exponential backoff with full
//! jitter) capped at `max_backoff`, and a retry quota per account, region and service
//! so one throttled account cannot spend another's. What still fails becomes a
//! [`RegionError`] or an [`AccountError`].

mod calls;
mod collector;
mod convert;
mod error;
mod metrics;
mod source;

use std::time::Duration;

use sentinel_core::UnixMs;
use sentinel_core::ecs::{DEFAULT_ROLLOUT_GRACE_MS, EcsAccountSpec, ServiceSnapshot};
use serde::{Deserialize, Serialize};

pub use calls::ApiCalls;
pub use collector::EcsCollector;
pub use error::{AccountError, InvalidSettings, RegionError};
pub use metrics::{MAX_METRIC_QUERIES, MetricSeries, QUERIES_PER_SERVICE};
pub use source::account_snapshot;

/// Most services one `DescribeServices` call may name.
pub const MAX_DESCRIBE_SERVICES: usize = 10;

/// One watched account, as the caller stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountTarget {
    /// The role to assume; `None` scans with the base config's own credentials (the
    /// local account).
    pub role_arn: Option<String>,
    /// Already decrypted by the caller.
    pub external_id: Option<String>,
    pub regions: Vec<String>,
}

impl AccountTarget {
    /// For logs and messages: the role ARN, or "the local account".
    pub fn label(&self) -> &str {
        self.role_arn.as_deref().unwrap_or("the local account")
    }
}

impl From<&EcsAccountSpec> for AccountTarget {
    fn from(spec: &EcsAccountSpec) -> Self {
        Self {
            role_arn: spec.role_arn.clone(),
            external_id: spec.external_id.clone(),
            regions: spec.regions.clone(),
        }
    }
}

/// A cluster as listed, with the number of services found in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterSummary {
    pub region: String,
    pub name: String,
    pub arn: String,
    pub services: usize,
}

/// What one collection saw of one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountCollection {
    /// The 12-digit id, as STS reports it for the credentials used.
    pub account_id: String,
    /// The first IAM account alias, else the account id.
    pub alias: String,
    pub role_arn: Option<String>,
    /// Sorted by region, cluster, service.
    pub clusters: Vec<ClusterSummary>,
    /// Sorted by key; health assessed at `collected_at`.
    pub services: Vec<ServiceSnapshot>,
    /// Series with at least one point, sorted by service then metric.
    pub metrics: Vec<MetricSeries>,
    /// Regions (or steps of a region) that failed; the rest is complete.
    pub region_errors: Vec<RegionError>,
    /// Why the alias is the account id, when reading it failed (it is not worth
    /// failing the account over).
    pub alias_error: Option<String>,
    pub calls: ApiCalls,
    pub collected_at: UnixMs,
}

/// How the SDK retries a throttled or failed call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries per call, the first included (1 = no retry).
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// Five tries with waits of up to 0.5, 1, 2, 4 s (about 3.75 s expected in all):
    /// more patient than the SDK's default three, because a collection is a batch job
    /// that would rather finish late than show a gap.
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(20),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectorSettings {
    /// How long a rollout may be in progress before the service counts as degraded.
    pub rollout_grace_ms: i64,
    /// CloudWatch period: 300 s (ECS's basic resolution) or 60 s.
    pub metric_period: Duration,
    /// How far back the metric series go.
    pub metric_lookback: Duration,
    pub retry: RetryPolicy,
    /// Requests in flight at once within one account.
    pub max_in_flight: usize,
    /// Accounts collected at once by [`EcsCollector::collect_all`].
    pub max_concurrent_accounts: usize,
    /// The `RoleSessionName` of assumed roles (shows in the watched account's
    /// CloudTrail).
    pub session_name: String,
}

impl Default for CollectorSettings {
    fn default() -> Self {
        Self {
            rollout_grace_ms: DEFAULT_ROLLOUT_GRACE_MS,
            metric_period: Duration::from_secs(300),
            metric_lookback: Duration::from_secs(24 * 3600),
            retry: RetryPolicy::default(),
            max_in_flight: 8,
            max_concurrent_accounts: 4,
            session_name: "sentinel-ecs-collector".to_owned(),
        }
    }
}

impl CollectorSettings {
    /// Every problem, in one message.
    pub fn validate(&self) -> Result<(), InvalidSettings> {
        let mut problems = Vec::new();
        let period = self.metric_period.as_secs();
        if self.metric_period.subsec_nanos() != 0 || period < 60 || !period.is_multiple_of(60) {
            problems.push(format!(
                "metric_period must be a whole number of minutes (60 s or 300 s), not {:?}",
                self.metric_period
            ));
        }
        // CloudWatch keeps 1-minute data for 15 days and 5-minute data for 63.
        if self.metric_lookback < self.metric_period
            || self.metric_lookback > Duration::from_secs(15 * 86_400)
        {
            problems.push(format!(
                "metric_lookback must be between one period and 15 days, not {:?}",
                self.metric_lookback
            ));
        }
        if self.rollout_grace_ms < 0 {
            problems.push("rollout_grace_ms must not be negative".to_owned());
        }
        if !(1..=10).contains(&self.retry.max_attempts) {
            problems.push(format!(
                "retry.max_attempts must be 1 to 10, not {}",
                self.retry.max_attempts
            ));
        }
        if self.retry.initial_backoff > self.retry.max_backoff {
            problems.push("retry.initial_backoff must not exceed retry.max_backoff".to_owned());
        }
        if self.max_in_flight == 0 {
            problems.push("max_in_flight must be at least 1".to_owned());
        }
        if self.max_concurrent_accounts == 0 {
            problems.push("max_concurrent_accounts must be at least 1".to_owned());
        }
        let name_ok = (2..=64).contains(&self.session_name.len())
            && self
                .session_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c));
        if !name_ok {
            problems.push(format!(
                "session_name must be 2 to 64 characters of letters, digits and +=,.@-_, not {:?}",
                self.session_name
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(InvalidSettings(problems.join("; ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_settings_are_valid_and_bad_ones_are_all_named() {
        assert_eq!(CollectorSettings::default().validate(), Ok(()));
        let one_minute = CollectorSettings {
            metric_period: Duration::from_secs(60),
            ..CollectorSettings::default()
        };
        assert_eq!(one_minute.validate(), Ok(()));
        let bad = CollectorSettings {
            metric_period: Duration::from_secs(90),
            metric_lookback: Duration::from_secs(30 * 86_400),
            rollout_grace_ms: -1,
            retry: RetryPolicy {
                max_attempts: 0,
                initial_backoff: Duration::from_secs(30),
                max_backoff: Duration::from_secs(1),
            },
            max_in_flight: 0,
            max_concurrent_accounts: 0,
            session_name: "has space".to_owned(),
        };
        let message = bad.validate().expect_err("invalid").to_string();
        for field in [
            "metric_period",
            "metric_lookback",
            "rollout_grace_ms",
            "max_attempts",
            "initial_backoff",
            "max_in_flight",
            "max_concurrent_accounts",
            "session_name",
        ] {
            assert!(message.contains(field), "{field} missing from {message}");
        }
    }
}
