//! ECS: the accounts Sentinel watches, what one collection of a service records, and the
//! health rules over it. Pure: the collector (lib/aws) fills these, stores keep them,
//! the API serves them.

use serde::{Deserialize, Serialize};

use crate::UnixMs;
use crate::monitor::{FieldError, ValidationErrors};

/// Service events kept per snapshot (newest first), as HeartBeat shows.
pub const MAX_SERVICE_EVENTS: usize = 20;
/// How long a rollout may stay `IN_PROGRESS` before the service counts as degraded.
pub const DEFAULT_ROLLOUT_GRACE_MS: i64 = 15 * 60_000;
/// Regions one account may scan.
pub const MAX_REGIONS: usize = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
// Named apart from the `/health` answer's `Health` schema in the OpenAPI document.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = EcsHealth))]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Healthy,
    Degraded,
    Failed,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Degraded => "degraded",
            Self::Failed => "failed",
        }
    }
}

/// ECS `rolloutState` of a deployment (absent for CODE_DEPLOY / EXTERNAL controllers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RolloutState {
    Completed,
    InProgress,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deployment {
    pub id: String,
    /// `PRIMARY`, `ACTIVE` or `INACTIVE`.
    pub status: String,
    pub rollout_state: Option<RolloutState>,
    pub rollout_state_reason: Option<String>,
    pub task_definition: String,
    pub desired_count: i32,
    pub running_count: i32,
    pub pending_count: i32,
    pub failed_tasks: i32,
    pub launch_type: Option<String>,
    pub created_at: Option<UnixMs>,
    pub updated_at: Option<UnixMs>,
}

impl Deployment {
    pub fn is_primary(&self) -> bool {
        self.status == "PRIMARY"
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceEvent {
    pub id: String,
    pub created_at: UnixMs,
    pub message: String,
}

/// Which service a snapshot or a metric point belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceKey {
    /// The 12-digit AWS account id.
    pub account_id: String,
    pub region: String,
    /// Cluster name (not ARN).
    pub cluster: String,
    /// Service name (not ARN).
    pub service: String,
}

/// One service as one collection saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceSnapshot {
    #[serde(flatten)]
    pub key: ServiceKey,
    pub cluster_arn: String,
    pub service_arn: String,
    /// ECS service status (`ACTIVE`, `DRAINING`, `INACTIVE`).
    pub status: String,
    pub desired_count: i32,
    pub running_count: i32,
    pub pending_count: i32,
    pub task_definition: String,
    pub launch_type: Option<String>,
    pub deployments: Vec<Deployment>,
    /// Newest first, at most [`MAX_SERVICE_EVENTS`].
    pub events: Vec<ServiceEvent>,
    pub collected_at: UnixMs,
    pub health: Health,
    /// Why `health` is what it is, for people ("2 of 3 tasks running").
    pub health_reason: String,
}

/// CloudWatch `AWS/ECS` utilisation of one service over one period (percent).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricPoint {
    /// Start of the period.
    pub at: UnixMs,
    pub average: f64,
    pub maximum: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EcsMetric {
    Cpu,
    Memory,
}

impl EcsMetric {
    /// The CloudWatch metric name in the `AWS/ECS` namespace.
    pub fn cloudwatch_name(self) -> &'static str {
        match self {
            Self::Cpu => "CPUUtilization",
            Self::Memory => "MemoryUtilization",
        }
    }
}

/// The health verdict with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub health: Health,
    pub reason: String,
}

/// The health rules:
/// - failed: a live (not `INACTIVE`) deployment's rollout `FAILED`, or no task running
///   while some are desired;
/// - degraded: fewer running than desired, or a rollout `IN_PROGRESS` for longer than
///   `rollout_grace_ms`;
/// - healthy otherwise: running == desired and the primary deployment completed (a
///   rollout younger than the grace, or a service scaled to zero, is healthy too).
pub fn assess(
    desired: i32,
    running: i32,
    deployments: &[Deployment],
    now: UnixMs,
    rollout_grace_ms: i64,
) -> Assessment {
    let verdict = |health, reason: String| Assessment { health, reason };
    if let Some(failed) = deployments
        .iter()
        .find(|d| d.status != "INACTIVE" && d.rollout_state == Some(RolloutState::Failed))
    {
        let why = failed
            .rollout_state_reason
            .as_deref()
            .filter(|r| !r.is_empty())
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        return verdict(
            Health::Failed,
            format!("deployment {} failed{why}", failed.id),
        );
    }
    if desired > 0 && running == 0 {
        return verdict(Health::Failed, format!("0 of {desired} tasks running"));
    }
    if running < desired {
        return verdict(
            Health::Degraded,
            format!("{running} of {desired} tasks running"),
        );
    }
    let in_progress = deployments
        .iter()
        .find(|d| d.status != "INACTIVE" && d.rollout_state == Some(RolloutState::InProgress));
    if let Some(d) = in_progress {
        let started = d.created_at.or(d.updated_at).unwrap_or(now);
        let minutes = (now - started).max(0) / 60_000;
        if now - started > rollout_grace_ms {
            return verdict(
                Health::Degraded,
                format!("deployment {} in progress for {minutes} min", d.id),
            );
        }
        return verdict(
            Health::Healthy,
            format!("deployment {} in progress ({minutes} min)", d.id),
        );
    }
    if desired == 0 {
        return verdict(Health::Healthy, "scaled to zero".to_owned());
    }
    verdict(
        Health::Healthy,
        format!("{running} of {desired} tasks running"),
    )
}

/// What an admin sends to register (or replace) a watched account.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EcsAccountInput {
    /// A label for people; defaults to the alias or the account id once collected.
    #[serde(default)]
    pub name: Option<String>,
    /// `None`: the function's own credentials (the local account).
    #[serde(default)]
    pub role_arn: Option<String>,
    /// Required by most cross-account roles; stored encrypted, never returned.
    #[serde(default)]
    pub external_id: Option<String>,
    pub regions: Vec<String>,
}

/// A validated account input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsAccountSpec {
    pub name: Option<String>,
    pub role_arn: Option<String>,
    /// The account id in the role ARN (known before the first collection).
    pub role_account_id: Option<String>,
    pub external_id: Option<String>,
    pub regions: Vec<String>,
}

impl EcsAccountInput {
    /// Validates every field and reports every problem at once.
    pub fn validate(&self) -> Result<EcsAccountSpec, ValidationErrors> {
        let mut errors = Vec::new();
        let mut push = |field: &str, message: String| {
            errors.push(FieldError {
                field: field.to_owned(),
                message,
            })
        };
        let name = self
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty());
        if let Some(n) = name
            && (n.chars().count() > 100 || n.chars().any(char::is_control))
        {
            push(
                "name",
                "must be at most 100 characters, without control characters".to_owned(),
            );
        }
        let role_arn = self
            .role_arn
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty());
        let mut role_account_id = None;
        if let Some(arn) = role_arn {
            match parse_role_arn(arn) {
                Some(account) => role_account_id = Some(account.to_owned()),
                None => push(
                    "role_arn",
                    "must be an IAM role ARN like arn:aws:iam::123456789012:role/SentinelReadOnly"
                        .to_owned(),
                ),
            }
        }
        let external_id = self.external_id.as_deref().filter(|e| !e.is_empty());
        if let Some(ext) = external_id {
            let ok_chars = ext
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@:/-_".contains(c));
            if !(2..=1224).contains(&ext.len()) || !ok_chars {
                push(
                    "external_id",
                    "must be 2 to 1224 characters of letters, digits and +=,.@:/-_".to_owned(),
                );
            }
            if role_arn.is_none() {
                push(
                    "external_id",
                    "only applies to a role_arn (the local account needs none)".to_owned(),
                );
            }
        }
        let mut regions: Vec<String> = Vec::new();
        if self.regions.is_empty() {
            push(
                "regions",
                "list at least one region, like eu-west-1".to_owned(),
            );
        } else if self.regions.len() > MAX_REGIONS {
            push("regions", format!("at most {MAX_REGIONS} regions"));
        }
        for (i, region) in self.regions.iter().enumerate() {
            let r = region.trim();
            if !is_region(r) {
                push(
                    &format!("regions[{i}]"),
                    format!("{region:?} is not an AWS region name like eu-west-1"),
                );
            } else if !regions.iter().any(|x| x == r) {
                regions.push(r.to_owned());
            }
        }
        if errors.is_empty() {
            Ok(EcsAccountSpec {
                name: name.map(str::to_owned),
                role_arn: role_arn.map(str::to_owned),
                role_account_id,
                external_id: external_id.map(str::to_owned),
                regions,
            })
        } else {
            Err(ValidationErrors { errors })
        }
    }
}

/// The account id of `arn:<partition>:iam::<12 digits>:role/<path/name>`.
pub fn parse_role_arn(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    let (arn_tag, partition, service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let name = resource.strip_prefix("role/")?;
    let ok = arn_tag == "arn"
        && partition.starts_with("aws")
        && service == "iam"
        && region.is_empty()
        && is_account_id(account)
        && !name.is_empty()
        && name.len() <= 512
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c));
    ok.then_some(account)
}

pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `eu-west-1`, `us-gov-west-1`, `ap-southeast-4`: lowercase words and a number.
pub fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts.len() <= 4
        && s.len() <= 25
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixMs = 1_800_000_000_000;
    const MIN: i64 = 60_000;

    fn deployment(status: &str, rollout: Option<RolloutState>, age_min: i64) -> Deployment {
        Deployment {
            id: format!("ecs-svc/{status}"),
            status: status.to_owned(),
            rollout_state: rollout,
            rollout_state_reason: None,
            task_definition: "web:7".to_owned(),
            desired_count: 2,
            running_count: 2,
            pending_count: 0,
            failed_tasks: 0,
            launch_type: Some("FARGATE".to_owned()),
            created_at: Some(NOW - age_min * MIN),
            updated_at: Some(NOW - age_min * MIN),
        }
    }

    #[test]
    fn health_rules_table() {
        use Health as H;
        use RolloutState as R;
        let grace = DEFAULT_ROLLOUT_GRACE_MS;
        let cases: Vec<(&str, i32, i32, Vec<Deployment>, Health)> = vec![
            (
                "steady",
                2,
                2,
                vec![deployment("PRIMARY", Some(R::Completed), 90)],
                H::Healthy,
            ),
            (
                "no rollout state (CodeDeploy)",
                2,
                2,
                vec![deployment("PRIMARY", None, 90)],
                H::Healthy,
            ),
            (
                "scaled to zero",
                0,
                0,
                vec![deployment("PRIMARY", Some(R::Completed), 90)],
                H::Healthy,
            ),
            (
                "one task short",
                3,
                2,
                vec![deployment("PRIMARY", Some(R::Completed), 90)],
                H::Degraded,
            ),
            (
                "none running",
                2,
                0,
                vec![deployment("PRIMARY", Some(R::Completed), 90)],
                H::Failed,
            ),
            (
                "rollout failed",
                2,
                2,
                vec![deployment("PRIMARY", Some(R::Failed), 5)],
                H::Failed,
            ),
            (
                "failed rollout rolled back: the failed one is still ACTIVE",
                2,
                2,
                vec![
                    deployment("PRIMARY", Some(R::InProgress), 1),
                    deployment("ACTIVE", Some(R::Failed), 20),
                ],
                H::Failed,
            ),
            (
                "an old failed one is inactive",
                2,
                2,
                vec![
                    deployment("PRIMARY", Some(R::Completed), 10),
                    deployment("INACTIVE", Some(R::Failed), 60),
                ],
                H::Healthy,
            ),
            (
                "young rollout",
                2,
                2,
                vec![deployment("PRIMARY", Some(R::InProgress), 3)],
                H::Healthy,
            ),
            (
                "long rollout",
                2,
                2,
                vec![deployment("PRIMARY", Some(R::InProgress), 16)],
                H::Degraded,
            ),
            (
                "more running than desired while draining",
                2,
                3,
                vec![deployment("PRIMARY", Some(R::Completed), 1)],
                H::Healthy,
            ),
        ];
        for (name, desired, running, deployments, want) in cases {
            let got = assess(desired, running, &deployments, NOW, grace);
            assert_eq!(got.health, want, "{name}: {}", got.reason);
            assert!(!got.reason.is_empty(), "{name}");
        }
    }

    #[test]
    fn reasons_say_what_is_wrong() {
        let d = [deployment("PRIMARY", Some(RolloutState::Completed), 30)];
        assert_eq!(
            assess(3, 1, &d, NOW, DEFAULT_ROLLOUT_GRACE_MS).reason,
            "1 of 3 tasks running"
        );
        let mut failed = deployment("PRIMARY", Some(RolloutState::Failed), 2);
        failed.rollout_state_reason =
            Some("ECS deployment circuit breaker: tasks failed to start.".to_owned());
        let a = assess(2, 2, &[failed], NOW, DEFAULT_ROLLOUT_GRACE_MS);
        assert!(a.reason.contains("circuit breaker"), "{}", a.reason);
    }

    fn input(role: Option<&str>, ext: Option<&str>, regions: &[&str]) -> EcsAccountInput {
        EcsAccountInput {
            name: None,
            role_arn: role.map(str::to_owned),
            external_id: ext.map(str::to_owned),
            regions: regions.iter().map(|r| (*r).to_owned()).collect(),
        }
    }

    #[test]
    fn account_input_accepts_local_and_assumed_roles() {
        let local = input(None, None, &["eu-west-1", "us-east-1", "eu-west-1"])
            .validate()
            .unwrap();
        assert_eq!(local.regions, ["eu-west-1", "us-east-1"]);
        assert_eq!(local.role_account_id, None);
        let remote = input(
            Some("arn:aws:iam::123456789012:role/ops/SentinelReadOnly"),
            Some("sentinel-7f3a"),
            &["us-gov-west-1"],
        )
        .validate()
        .unwrap();
        assert_eq!(remote.role_account_id.as_deref(), Some("123456789012"));
        assert_eq!(remote.external_id.as_deref(), Some("sentinel-7f3a"));
    }

    #[test]
    fn account_input_names_every_bad_field() {
        let cases = [
            (
                input(Some("arn:aws:iam::12345:role/x"), None, &["eu-west-1"]),
                vec!["role_arn"],
            ),
            (
                input(Some("arn:aws:s3:::bucket"), None, &["eu-west-1"]),
                vec!["role_arn"],
            ),
            (
                input(None, Some("abc"), &["eu-west-1"]),
                vec!["external_id"],
            ),
            (
                input(
                    Some("arn:aws:iam::123456789012:role/r"),
                    Some("a b"),
                    &["eu-west-1"],
                ),
                vec!["external_id"],
            ),
            (input(None, None, &[]), vec!["regions"]),
            (
                input(None, None, &["eu-west-1", "Mars"]),
                vec!["regions[1]"],
            ),
            (
                input(Some("nope"), Some("x"), &["EU"]),
                vec!["role_arn", "external_id", "regions[0]"],
            ),
        ];
        for (bad, fields) in cases {
            let errs = bad.validate().unwrap_err();
            let got: Vec<&str> = errs.errors.iter().map(|e| e.field.as_str()).collect();
            for f in &fields {
                assert!(got.contains(f), "{bad:?}: wanted {f} in {got:?}");
            }
        }
    }

    #[test]
    fn regions_and_account_ids() {
        for ok in [
            "eu-west-1",
            "us-gov-east-1",
            "ap-southeast-4",
            "il-central-1",
        ] {
            assert!(is_region(ok), "{ok}");
        }
        for bad in [
            "",
            "eu",
            "eu-west",
            "EU-WEST-1",
            "eu-west-x",
            "eu--1",
            "a-b-c-d-1",
        ] {
            assert!(!is_region(bad), "{bad}");
        }
        assert!(is_account_id("000000000000"));
        assert!(!is_account_id("12345678901a"));
    }
}
