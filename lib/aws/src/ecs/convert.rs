//! From the ECS SDK's shapes to the domain's: pure, so it is tested without a server.

use aws_sdk_ecs::primitives::DateTime;
use aws_sdk_ecs::types::{
    Deployment as SdkDeployment, DeploymentRolloutState, Failure, Service, ServiceEvent as SdkEvent,
};
use sentinel_core::UnixMs;
use sentinel_core::ecs::{
    Deployment, MAX_SERVICE_EVENTS, RolloutState, ServiceEvent, ServiceKey, ServiceSnapshot, assess,
};

use super::error::CallFailure;

/// The first DescribeServices failure other than `MISSING` (a service deleted between
/// listing and describing), as a failure of the call: the service it hides may still
/// exist, so its region must not count as completely collected (that would close the
/// service's incident as if it were deleted).
pub(crate) fn unexplained_failure(failures: &[Failure]) -> Option<CallFailure> {
    let failure = failures.iter().find(|f| f.reason() != Some("MISSING"))?;
    Some(CallFailure {
        operation: "DescribeServices",
        code: failure.reason().map(str::to_owned),
        retryable: true,
        message: format!(
            "{} not described{}",
            failure.arn().unwrap_or("a service"),
            failure
                .detail()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        ),
    })
}

/// The cluster a described service belongs to, and when the collection ran.
pub(crate) struct SnapshotContext<'a> {
    pub account_id: &'a str,
    pub region: &'a str,
    pub cluster_name: &'a str,
    pub cluster_arn: &'a str,
    pub now: UnixMs,
    pub rollout_grace_ms: i64,
}

/// One described service as a snapshot, its health assessed. `None` for a deleted
/// service (`INACTIVE`: ECS still describes, and moto still lists, a deleted service for
/// a while) and for one the answer names neither by ARN nor by name (never seen, but not
/// worth a panic).
pub(crate) fn snapshot(ctx: &SnapshotContext<'_>, service: &Service) -> Option<ServiceSnapshot> {
    if service.status() == Some("INACTIVE") {
        return None;
    }
    let service_arn = service.service_arn().map(str::to_owned);
    let name = service.service_name().map(str::to_owned).or_else(|| {
        service_arn
            .as_deref()
            .map(|arn| last_segment(arn).to_owned())
    })?;
    let deployments: Vec<Deployment> = service.deployments().iter().map(deployment).collect();
    let launch_type = service
        .launch_type()
        .map(|l| l.as_str().to_owned())
        .or_else(|| {
            // Services on a capacity provider strategy have no launch type of their own:
            // the primary deployment's, else the first provider (`FARGATE_SPOT`, …).
            deployments
                .iter()
                .find(|d| d.is_primary())
                .and_then(|d| d.launch_type.clone())
        })
        .or_else(|| {
            service
                .capacity_provider_strategy()
                .first()
                .map(|p| p.capacity_provider().to_owned())
        });
    let desired = service.desired_count();
    let running = service.running_count();
    let verdict = assess(
        desired,
        running,
        &deployments,
        ctx.now,
        ctx.rollout_grace_ms,
    );
    Some(ServiceSnapshot {
        key: ServiceKey {
            account_id: ctx.account_id.to_owned(),
            region: ctx.region.to_owned(),
            cluster: ctx.cluster_name.to_owned(),
            service: name,
        },
        cluster_arn: service.cluster_arn().unwrap_or(ctx.cluster_arn).to_owned(),
        service_arn: service_arn.unwrap_or_default(),
        status: service.status().unwrap_or_default().to_owned(),
        desired_count: desired,
        running_count: running,
        pending_count: service.pending_count(),
        task_definition: service
            .task_definition()
            .map(task_definition_name)
            .unwrap_or_default(),
        launch_type,
        deployments,
        events: newest_events(service.events()),
        collected_at: ctx.now,
        health: verdict.health,
        health_reason: verdict.reason,
    })
}

fn deployment(d: &SdkDeployment) -> Deployment {
    Deployment {
        id: d.id().unwrap_or_default().to_owned(),
        status: d.status().unwrap_or_default().to_owned(),
        rollout_state: d.rollout_state().and_then(rollout_state),
        rollout_state_reason: d.rollout_state_reason().map(str::to_owned),
        task_definition: d
            .task_definition()
            .map(task_definition_name)
            .unwrap_or_default(),
        desired_count: d.desired_count(),
        running_count: d.running_count(),
        pending_count: d.pending_count(),
        failed_tasks: d.failed_tasks(),
        launch_type: d.launch_type().map(|l| l.as_str().to_owned()),
        created_at: d.created_at().and_then(millis),
        updated_at: d.updated_at().and_then(millis),
    }
}

fn rollout_state(state: &DeploymentRolloutState) -> Option<RolloutState> {
    match state {
        DeploymentRolloutState::Completed => Some(RolloutState::Completed),
        DeploymentRolloutState::InProgress => Some(RolloutState::InProgress),
        DeploymentRolloutState::Failed => Some(RolloutState::Failed),
        // A state added after this SDK: unknown is no verdict either way.
        _ => None,
    }
}

/// ECS sends up to 100 events, newest first; order them ourselves rather than trust
/// that, and keep [`MAX_SERVICE_EVENTS`]. Events without a time cannot be placed.
fn newest_events(events: &[SdkEvent]) -> Vec<ServiceEvent> {
    let mut out: Vec<ServiceEvent> = events
        .iter()
        .filter_map(|e| {
            Some(ServiceEvent {
                id: e.id().unwrap_or_default().to_owned(),
                created_at: e.created_at().and_then(millis)?,
                message: e.message().unwrap_or_default().to_owned(),
            })
        })
        .collect();
    out.sort_by_key(|e| std::cmp::Reverse(e.created_at));
    out.truncate(MAX_SERVICE_EVENTS);
    out
}

pub(crate) fn millis(t: &DateTime) -> Option<UnixMs> {
    t.to_millis().ok()
}

/// `arn:aws:ecs:…:task-definition/web:7` → `web:7` (the family and revision people
/// know; the account and region are in the snapshot's key).
pub(crate) fn task_definition_name(arn_or_name: &str) -> String {
    match arn_or_name.split_once(":task-definition/") {
        Some((_, name)) => name.to_owned(),
        None => arn_or_name.to_owned(),
    }
}

/// The name at the end of a cluster or service ARN (`…:cluster/prod` → `prod`,
/// `…:service/prod/web` → `web`).
pub(crate) fn last_segment(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

#[cfg(test)]
mod tests {
    use aws_sdk_ecs::types::{CapacityProviderStrategyItem, LaunchType};
    use sentinel_core::ecs::{DEFAULT_ROLLOUT_GRACE_MS, Health};

    use super::*;

    const NOW: UnixMs = 1_800_000_000_000;

    fn ctx() -> SnapshotContext<'static> {
        SnapshotContext {
            account_id: "210987654321",
            region: "eu-west-1",
            cluster_name: "prod",
            cluster_arn: "arn:aws:ecs:eu-west-1:210987654321:cluster/prod",
            now: NOW,
            rollout_grace_ms: DEFAULT_ROLLOUT_GRACE_MS,
        }
    }

    fn event(id: &str, at: UnixMs) -> SdkEvent {
        SdkEvent::builder()
            .id(id)
            .created_at(DateTime::from_millis(at))
            .message(format!("event {id}"))
            .build()
    }

    fn sdk_deployment(
        status: &str,
        rollout: DeploymentRolloutState,
        age_min: i64,
    ) -> SdkDeployment {
        SdkDeployment::builder()
            .id(format!("ecs-svc/{status}"))
            .status(status)
            .task_definition("arn:aws:ecs:eu-west-1:210987654321:task-definition/web:7")
            .desired_count(3)
            .running_count(2)
            .pending_count(1)
            .failed_tasks(4)
            .launch_type(LaunchType::Fargate)
            .rollout_state(rollout)
            .rollout_state_reason("ECS deployment circuit breaker: tasks failed to start.")
            .created_at(DateTime::from_millis(NOW - age_min * 60_000))
            .updated_at(DateTime::from_millis(NOW - 60_000))
            .build()
    }

    #[test]
    fn a_described_service_becomes_a_snapshot_with_its_deployments_and_health() {
        let service = Service::builder()
            .service_arn("arn:aws:ecs:eu-west-1:210987654321:service/prod/web")
            .service_name("web")
            .status("ACTIVE")
            .desired_count(3)
            .running_count(2)
            .pending_count(1)
            .task_definition("arn:aws:ecs:eu-west-1:210987654321:task-definition/web:7")
            .launch_type(LaunchType::Fargate)
            .deployments(sdk_deployment(
                "PRIMARY",
                DeploymentRolloutState::InProgress,
                3,
            ))
            .deployments(sdk_deployment("ACTIVE", DeploymentRolloutState::Failed, 40))
            .build();
        let snap = snapshot(&ctx(), &service).expect("a snapshot");
        assert_eq!(snap.key.account_id, "210987654321");
        assert_eq!(snap.key.region, "eu-west-1");
        assert_eq!(snap.key.cluster, "prod");
        assert_eq!(snap.key.service, "web");
        assert_eq!(
            snap.cluster_arn,
            "arn:aws:ecs:eu-west-1:210987654321:cluster/prod"
        );
        assert_eq!(
            (snap.desired_count, snap.running_count, snap.pending_count),
            (3, 2, 1)
        );
        assert_eq!(snap.task_definition, "web:7");
        assert_eq!(snap.launch_type.as_deref(), Some("FARGATE"));
        assert_eq!(snap.deployments.len(), 2);
        let primary = &snap.deployments[0];
        assert_eq!(primary.id, "ecs-svc/PRIMARY");
        assert_eq!(primary.rollout_state, Some(RolloutState::InProgress));
        assert_eq!(primary.failed_tasks, 4);
        assert_eq!(primary.task_definition, "web:7");
        assert_eq!(primary.created_at, Some(NOW - 3 * 60_000));
        assert_eq!(primary.updated_at, Some(NOW - 60_000));
        assert_eq!(
            snap.deployments[1].rollout_state,
            Some(RolloutState::Failed)
        );
        // The failed deployment is still ACTIVE: the service is failed, and says why.
        assert_eq!(snap.health, Health::Failed, "{}", snap.health_reason);
        assert!(
            snap.health_reason.contains("circuit breaker"),
            "{}",
            snap.health_reason
        );
        assert_eq!(snap.collected_at, NOW);
    }

    #[test]
    fn events_are_newest_first_and_capped() {
        let mut builder = Service::builder().service_name("web");
        // Oldest first, as no real answer is, plus one without a time.
        for i in 0..(MAX_SERVICE_EVENTS as i64 + 5) {
            builder = builder.events(event(&format!("e{i}"), NOW - 1_000_000 + i * 1_000));
        }
        builder = builder.events(SdkEvent::builder().id("no-time").message("?").build());
        let snap = snapshot(&ctx(), &builder.build()).expect("a snapshot");
        assert_eq!(snap.events.len(), MAX_SERVICE_EVENTS);
        let newest = MAX_SERVICE_EVENTS as i64 + 4;
        assert_eq!(snap.events[0].id, format!("e{newest}"));
        assert!(
            snap.events
                .windows(2)
                .all(|w| w[0].created_at > w[1].created_at)
        );
        assert!(snap.events.iter().all(|e| e.id != "no-time"));
        assert_eq!(snap.events[0].message, format!("event e{newest}"));
    }

    #[test]
    fn the_launch_type_falls_back_to_the_deployment_then_the_capacity_provider() {
        let via_deployment = Service::builder()
            .service_name("a")
            .deployments(sdk_deployment(
                "PRIMARY",
                DeploymentRolloutState::Completed,
                60,
            ))
            .build();
        assert_eq!(
            snapshot(&ctx(), &via_deployment)
                .and_then(|s| s.launch_type)
                .as_deref(),
            Some("FARGATE")
        );
        let via_provider = Service::builder()
            .service_name("b")
            .capacity_provider_strategy(
                CapacityProviderStrategyItem::builder()
                    .capacity_provider("FARGATE_SPOT")
                    .build()
                    .expect("a strategy item"),
            )
            .build();
        assert_eq!(
            snapshot(&ctx(), &via_provider)
                .and_then(|s| s.launch_type)
                .as_deref(),
            Some("FARGATE_SPOT")
        );
    }

    #[test]
    fn a_service_named_only_by_arn_takes_the_name_from_it_and_one_with_neither_is_skipped() {
        let by_arn = Service::builder()
            .service_arn("arn:aws:ecs:eu-west-1:210987654321:service/prod/worker")
            .desired_count(0)
            .build();
        let snap = snapshot(&ctx(), &by_arn).expect("a snapshot");
        assert_eq!(snap.key.service, "worker");
        assert_eq!(snap.health, Health::Healthy, "{}", snap.health_reason);
        assert!(snapshot(&ctx(), &Service::builder().build()).is_none());
    }

    #[test]
    fn only_missing_services_are_an_expected_describe_failure() {
        let failure = |reason: &str| {
            Failure::builder()
                .arn("arn:aws:ecs:eu-west-1:210987654321:service/prod/web")
                .reason(reason)
                .build()
        };
        assert!(unexplained_failure(&[]).is_none());
        assert!(unexplained_failure(&[failure("MISSING"), failure("MISSING")]).is_none());
        let other = unexplained_failure(&[failure("MISSING"), failure("INTERNAL_ERROR")])
            .expect("a failure");
        assert_eq!(other.operation, "DescribeServices");
        assert_eq!(other.code.as_deref(), Some("INTERNAL_ERROR"));
        assert!(other.retryable);
        assert!(
            other.message.contains("service/prod/web not described"),
            "{}",
            other.message
        );
    }

    #[test]
    fn a_deleted_service_is_no_snapshot_and_a_draining_one_still_is() {
        let with_status = |status: &str| {
            Service::builder()
                .service_name("worker")
                .status(status)
                .build()
        };
        assert!(snapshot(&ctx(), &with_status("INACTIVE")).is_none());
        assert!(snapshot(&ctx(), &with_status("DRAINING")).is_some());
        assert!(snapshot(&ctx(), &with_status("ACTIVE")).is_some());
    }

    #[test]
    fn names_from_arns() {
        assert_eq!(
            task_definition_name("arn:aws:ecs:us-east-1:123456789012:task-definition/api:12"),
            "api:12"
        );
        assert_eq!(task_definition_name("api:12"), "api:12");
        assert_eq!(
            last_segment("arn:aws:ecs:us-east-1:123456789012:cluster/prod"),
            "prod"
        );
        assert_eq!(
            last_segment("arn:aws:ecs:us-east-1:123456789012:service/prod/web"),
            "web"
        );
    }
}
