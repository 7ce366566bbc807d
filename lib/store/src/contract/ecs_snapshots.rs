//! Behaviours of [`EcsSnapshotStore`]: service snapshots and metric history.

use sentinel_core::ecs::{
    Deployment, EcsMetric, Health, MetricPoint, RolloutState, ServiceEvent, ServiceKey,
    ServiceSnapshot,
};

use crate::{EcsSnapshotStore, StoreResult};

use super::fixtures::{DAY, HOUR, MINUTE, T0};

pub const ACCOUNT_A: &str = "111111111111";
pub const ACCOUNT_B: &str = "222222222222";
pub const REGION: &str = "eu-west-1";
/// CloudWatch's period for the ECS charts.
pub const PERIOD: i64 = 5 * MINUTE;

pub fn service_key(account: &str, region: &str, cluster: &str, service: &str) -> ServiceKey {
    ServiceKey {
        account_id: account.to_owned(),
        region: region.to_owned(),
        cluster: cluster.to_owned(),
        service: service.to_owned(),
    }
}

/// A snapshot with every optional field set, so a lossy adapter shows.
pub fn snapshot(key: &ServiceKey, health: Health, collected_at: i64) -> ServiceSnapshot {
    let cluster_arn = format!(
        "arn:aws:ecs:{}:{}:cluster/{}",
        key.region, key.account_id, key.cluster
    );
    ServiceSnapshot {
        key: key.clone(),
        service_arn: format!(
            "arn:aws:ecs:{}:{}:service/{}/{}",
            key.region, key.account_id, key.cluster, key.service
        ),
        cluster_arn,
        status: "ACTIVE".to_owned(),
        desired_count: 3,
        running_count: 2,
        pending_count: 1,
        task_definition: format!("{}:42", key.service),
        launch_type: Some("FARGATE".to_owned()),
        deployments: vec![
            Deployment {
                id: "ecs-svc/1".to_owned(),
                status: "PRIMARY".to_owned(),
                rollout_state: Some(RolloutState::InProgress),
                rollout_state_reason: Some("ECS deployment ecs-svc/1 in progress.".to_owned()),
                task_definition: format!("{}:42", key.service),
                desired_count: 3,
                running_count: 2,
                pending_count: 1,
                failed_tasks: 0,
                launch_type: Some("FARGATE".to_owned()),
                created_at: Some(collected_at - 10 * MINUTE),
                updated_at: Some(collected_at - MINUTE),
            },
            Deployment {
                id: "ecs-svc/0".to_owned(),
                status: "ACTIVE".to_owned(),
                rollout_state: None,
                rollout_state_reason: None,
                task_definition: format!("{}:41", key.service),
                desired_count: 0,
                running_count: 0,
                pending_count: 0,
                failed_tasks: 2,
                launch_type: None,
                created_at: None,
                updated_at: None,
            },
        ],
        events: vec![
            ServiceEvent {
                id: "e2".to_owned(),
                created_at: collected_at - MINUTE,
                message: format!("(service {}) has started 1 tasks ✓", key.service),
            },
            ServiceEvent {
                id: "e1".to_owned(),
                created_at: collected_at - 2 * MINUTE,
                message: "(service x) has reached a steady state.".to_owned(),
            },
        ],
        collected_at,
        health,
        health_reason: "2 of 3 tasks running".to_owned(),
    }
}

pub fn point(at: i64, average: f64, maximum: f64) -> MetricPoint {
    MetricPoint {
        at,
        average,
        maximum,
    }
}

fn keys(snapshots: &[ServiceSnapshot]) -> Vec<ServiceKey> {
    snapshots.iter().map(|s| s.key.clone()).collect()
}

async fn replace<S: EcsSnapshotStore + ?Sized>(
    store: &S,
    account: &str,
    region: &str,
    snapshots: &[ServiceSnapshot],
    at: i64,
) -> Vec<(ServiceKey, Option<Health>)> {
    store
        .replace_snapshots(account, region, snapshots, at)
        .await
        .expect("replace snapshots")
}

async fn all_metrics<S: EcsSnapshotStore + ?Sized>(
    store: &S,
    key: &ServiceKey,
    metric: EcsMetric,
) -> Vec<MetricPoint> {
    store
        .metrics(key, metric, T0 - 30 * DAY, T0 + 30 * DAY)
        .await
        .expect("metrics")
}

fn assert_refused<T: std::fmt::Debug>(result: StoreResult<T>, what: &str) {
    assert!(result.is_err(), "{what} must be refused, got {result:?}");
}

pub async fn replace_removes_vanished_services_and_returns_previous_health<
    S: EcsSnapshotStore + ?Sized,
>(
    store: &S,
) {
    let web = service_key(ACCOUNT_A, REGION, "prod", "web");
    let api = service_key(ACCOUNT_A, REGION, "prod", "api");
    let worker = service_key(ACCOUNT_A, REGION, "jobs", "worker");
    let first = vec![
        snapshot(&web, Health::Healthy, T0),
        snapshot(&api, Health::Degraded, T0),
    ];
    assert_eq!(
        replace(store, ACCOUNT_A, REGION, &first, T0).await,
        vec![(web.clone(), None), (api.clone(), None)],
        "new services had no health before"
    );
    assert_eq!(store.list_snapshots().await.expect("list").len(), 2);

    let second = vec![
        snapshot(&worker, Health::Healthy, T0 + MINUTE),
        snapshot(&web, Health::Failed, T0 + MINUTE),
    ];
    assert_eq!(
        replace(store, ACCOUNT_A, REGION, &second, T0 + MINUTE).await,
        vec![(worker.clone(), None), (web.clone(), Some(Health::Healthy))],
        "previous health, in input order"
    );
    let listed = store.list_snapshots().await.expect("list");
    assert_eq!(
        keys(&listed),
        [worker.clone(), web.clone()],
        "api vanished from AWS, so from the store; ordered by key"
    );
    assert_eq!(store.get_snapshot(&api).await.expect("get"), None);
    assert_eq!(
        store.get_snapshot(&web).await.expect("get"),
        Some(second[1].clone())
    );

    assert!(
        replace(store, ACCOUNT_A, REGION, &[], T0 + 2 * MINUTE)
            .await
            .is_empty()
    );
    assert!(
        store.list_snapshots().await.expect("list").is_empty(),
        "an empty collection means no services left"
    );
}

pub async fn snapshots_round_trip_and_list_in_key_order<S: EcsSnapshotStore + ?Sized>(store: &S) {
    let regions = [REGION, "us-east-1"];
    let mut expected = Vec::new();
    for account in [ACCOUNT_B, ACCOUNT_A] {
        for region in regions {
            let batch: Vec<ServiceSnapshot> = ["web", "api", "a-b", "a_b"]
                .iter()
                .flat_map(|service| {
                    ["prod", "Prod", "prod-eu"]
                        .iter()
                        .map(|cluster| {
                            snapshot(
                                &service_key(account, region, cluster, service),
                                Health::Healthy,
                                T0,
                            )
                        })
                        .collect::<Vec<_>>()
                })
                .collect();
            replace(store, account, region, &batch, T0).await;
            expected.extend(batch);
        }
    }
    expected.sort_by(|a, b| a.key.cmp(&b.key));
    let listed = store.list_snapshots().await.expect("list");
    assert_eq!(listed.len(), expected.len());
    assert_eq!(
        keys(&listed),
        keys(&expected),
        "ordered by account, region, cluster, service"
    );
    assert_eq!(listed, expected, "every field comes back exactly");

    let one = service_key(ACCOUNT_B, "us-east-1", "prod-eu", "a_b");
    assert_eq!(
        store.get_snapshot(&one).await.expect("get"),
        Some(snapshot(&one, Health::Healthy, T0))
    );
    assert_eq!(
        store
            .get_snapshot(&service_key(ACCOUNT_B, "us-east-1", "prod-eu", "nope"))
            .await
            .expect("get"),
        None
    );
}

pub async fn replacing_one_account_and_region_leaves_the_others<S: EcsSnapshotStore + ?Sized>(
    store: &S,
) {
    // The same cluster and service names in another account and another region.
    let a_eu = service_key(ACCOUNT_A, REGION, "prod", "web");
    let a_us = service_key(ACCOUNT_A, "us-east-1", "prod", "web");
    let b_eu = service_key(ACCOUNT_B, REGION, "prod", "web");
    replace(
        store,
        ACCOUNT_A,
        REGION,
        &[snapshot(&a_eu, Health::Healthy, T0)],
        T0,
    )
    .await;
    replace(
        store,
        ACCOUNT_A,
        "us-east-1",
        &[snapshot(&a_us, Health::Degraded, T0)],
        T0,
    )
    .await;
    assert_eq!(
        replace(
            store,
            ACCOUNT_B,
            REGION,
            &[snapshot(&b_eu, Health::Failed, T0)],
            T0
        )
        .await,
        vec![(b_eu.clone(), None)],
        "another account's service of the same name is not this one's past"
    );

    replace(store, ACCOUNT_A, REGION, &[], T0 + MINUTE).await;
    assert_eq!(
        keys(&store.list_snapshots().await.expect("list")),
        [a_us.clone(), b_eu.clone()],
        "only account A in eu-west-1 was emptied"
    );
}

pub async fn a_stale_collection_does_not_undo_a_newer_one<S: EcsSnapshotStore + ?Sized>(store: &S) {
    let web = service_key(ACCOUNT_A, REGION, "prod", "web");
    let api = service_key(ACCOUNT_A, REGION, "prod", "api");
    let newer = vec![
        snapshot(&web, Health::Failed, T0 + MINUTE),
        snapshot(&api, Health::Healthy, T0 + MINUTE),
    ];
    replace(store, ACCOUNT_A, REGION, &newer, T0 + MINUTE).await;

    // A collection that started earlier finishes later, without api and with web healthy.
    let stale = vec![snapshot(&web, Health::Healthy, T0)];
    assert!(
        replace(store, ACCOUNT_A, REGION, &stale, T0)
            .await
            .is_empty(),
        "nothing stale is written"
    );
    assert_eq!(store.list_snapshots().await.expect("list"), {
        let mut sorted = newer.clone();
        sorted.sort_by(|a, b| a.key.cmp(&b.key));
        sorted
    });

    // The same collection again (a retry) applies.
    let retried = vec![snapshot(&web, Health::Degraded, T0 + MINUTE)];
    assert_eq!(
        replace(store, ACCOUNT_A, REGION, &retried, T0 + MINUTE).await,
        vec![(web.clone(), Some(Health::Failed))]
    );
    assert_eq!(keys(&store.list_snapshots().await.expect("list")), [web]);
}

pub async fn bad_snapshots_and_points_are_refused<S: EcsSnapshotStore + ?Sized>(store: &S) {
    let web = service_key(ACCOUNT_A, REGION, "prod", "web");
    let kept = snapshot(&web, Health::Healthy, T0);
    replace(store, ACCOUNT_A, REGION, std::slice::from_ref(&kept), T0).await;

    let elsewhere = snapshot(
        &service_key(ACCOUNT_B, REGION, "prod", "web"),
        Health::Healthy,
        T0,
    );
    assert_refused(
        store
            .replace_snapshots(ACCOUNT_A, REGION, &[elsewhere], T0 + 1)
            .await,
        "a snapshot of another account",
    );
    let twice = vec![
        snapshot(&web, Health::Healthy, T0 + 1),
        snapshot(&web, Health::Failed, T0 + 1),
    ];
    assert_refused(
        store
            .replace_snapshots(ACCOUNT_A, REGION, &twice, T0 + 1)
            .await,
        "the same service twice",
    );
    let hashed = snapshot(
        &service_key(ACCOUNT_A, REGION, "prod#x", "web"),
        Health::Healthy,
        T0,
    );
    assert_refused(
        store
            .replace_snapshots(ACCOUNT_A, REGION, &[hashed], T0 + 1)
            .await,
        "a cluster name with '#'",
    );
    assert_refused(
        store
            .replace_snapshots("not-an-id", REGION, &[], T0 + 1)
            .await,
        "an account id that is not 12 digits",
    );
    assert_eq!(
        store.list_snapshots().await.expect("list"),
        vec![kept],
        "a refused replace changes nothing"
    );

    assert_refused(
        store
            .append_metrics(&web, EcsMetric::Cpu, &[point(T0, f64::NAN, 1.0)])
            .await,
        "a NaN average",
    );
    assert_refused(
        store
            .append_metrics(
                &service_key(ACCOUNT_A, REGION, "", "web"),
                EcsMetric::Cpu,
                &[point(T0, 1.0, 1.0)],
            )
            .await,
        "an empty cluster name",
    );
    assert!(all_metrics(store, &web, EcsMetric::Cpu).await.is_empty());
}

pub async fn metrics_are_idempotent_on_overlapping_windows<S: EcsSnapshotStore + ?Sized>(
    store: &S,
) {
    let web = service_key(ACCOUNT_A, REGION, "prod", "web");
    let first: Vec<MetricPoint> = (0..4)
        .map(|i| point(T0 + i * PERIOD, 10.0 + i as f64, 20.25 + i as f64))
        .collect();
    store
        .append_metrics(&web, EcsMetric::Cpu, &first)
        .await
        .expect("append");
    // Exactly the same window again (a retried collection).
    store
        .append_metrics(&web, EcsMetric::Cpu, &first)
        .await
        .expect("append again");
    assert_eq!(all_metrics(store, &web, EcsMetric::Cpu).await, first);

    // The next collection's window overlaps: the older periods are final and come back
    // the same, the newest stored one was still open and changed, two are new.
    let mut second: Vec<MetricPoint> = first[1..3].to_vec();
    second.push(point(T0 + 3 * PERIOD, 37.7, 99.5));
    second.push(point(T0 + 4 * PERIOD, 0.1, 0.3));
    second.push(point(T0 + 5 * PERIOD, 0.0, 100.0));
    store
        .append_metrics(&web, EcsMetric::Cpu, &second)
        .await
        .expect("append overlap");

    let mut expected = first[..3].to_vec();
    expected.extend_from_slice(&second[2..]);
    assert_eq!(
        all_metrics(store, &web, EcsMetric::Cpu).await,
        expected,
        "one point per period, the newest value of the open period, exact floats"
    );

    // Out-of-order input and a period given twice in one call: the last one wins.
    let web2 = service_key(ACCOUNT_A, REGION, "prod", "web2");
    store
        .append_metrics(
            &web2,
            EcsMetric::Memory,
            &[
                point(T0 + PERIOD, 2.0, 2.0),
                point(T0, 1.0, 1.0),
                point(T0 + PERIOD, 3.0, 3.0),
            ],
        )
        .await
        .expect("append");
    assert_eq!(
        all_metrics(store, &web2, EcsMetric::Memory).await,
        [point(T0, 1.0, 1.0), point(T0 + PERIOD, 3.0, 3.0)]
    );
    store
        .append_metrics(&web2, EcsMetric::Memory, &[])
        .await
        .expect("an empty append is a no-op");
}

pub async fn metrics_are_bounded_by_from_and_to_and_kept_apart<S: EcsSnapshotStore + ?Sized>(
    store: &S,
) {
    let web = service_key(ACCOUNT_A, REGION, "prod", "web");
    let api = service_key(ACCOUNT_A, REGION, "prod", "api");
    let other_account = service_key(ACCOUNT_B, REGION, "prod", "web");
    let cpu: Vec<MetricPoint> = (0..12)
        .map(|i| point(T0 + i * HOUR, i as f64, 2.0 * i as f64))
        .collect();
    store
        .append_metrics(&web, EcsMetric::Cpu, &cpu)
        .await
        .expect("append");
    store
        .append_metrics(&web, EcsMetric::Memory, &[point(T0 + HOUR, 55.5, 60.0)])
        .await
        .expect("append");
    store
        .append_metrics(&api, EcsMetric::Cpu, &[point(T0 + HOUR, 1.5, 1.5)])
        .await
        .expect("append");
    store
        .append_metrics(
            &other_account,
            EcsMetric::Cpu,
            &[point(T0 + 2 * HOUR, 9.0, 9.0)],
        )
        .await
        .expect("append");

    assert_eq!(
        store
            .metrics(&web, EcsMetric::Cpu, T0 + 3 * HOUR, T0 + 7 * HOUR)
            .await
            .expect("metrics"),
        cpu[3..7].to_vec(),
        "from is inclusive, to exclusive, oldest first"
    );
    assert!(
        store
            .metrics(&web, EcsMetric::Cpu, T0 + 7 * HOUR, T0 + 7 * HOUR)
            .await
            .expect("metrics")
            .is_empty(),
        "an empty range"
    );
    assert!(
        store
            .metrics(&web, EcsMetric::Cpu, T0 + 7 * HOUR, T0 + 3 * HOUR)
            .await
            .expect("metrics")
            .is_empty(),
        "a reversed range"
    );
    assert_eq!(all_metrics(store, &web, EcsMetric::Cpu).await, cpu);
    assert_eq!(
        all_metrics(store, &web, EcsMetric::Memory).await,
        [point(T0 + HOUR, 55.5, 60.0)],
        "metrics are kept apart"
    );
    assert_eq!(
        all_metrics(store, &api, EcsMetric::Cpu).await,
        [point(T0 + HOUR, 1.5, 1.5)],
        "services are kept apart"
    );
    assert_eq!(
        all_metrics(store, &other_account, EcsMetric::Cpu).await,
        [point(T0 + 2 * HOUR, 9.0, 9.0)],
        "accounts are kept apart"
    );
    assert!(
        all_metrics(
            store,
            &service_key(ACCOUNT_A, REGION, "prod", "we"),
            EcsMetric::Cpu
        )
        .await
        .is_empty(),
        "a service whose name is a prefix of another's sees none of its points"
    );
}

pub async fn delete_account_data_removes_that_accounts_snapshots_and_metrics<
    S: EcsSnapshotStore + ?Sized,
>(
    store: &S,
) {
    let a_web = service_key(ACCOUNT_A, REGION, "prod", "web");
    let a_api = service_key(ACCOUNT_A, "us-east-1", "prod", "api");
    let b_web = service_key(ACCOUNT_B, REGION, "prod", "web");
    replace(
        store,
        ACCOUNT_A,
        REGION,
        &[snapshot(&a_web, Health::Healthy, T0)],
        T0,
    )
    .await;
    replace(
        store,
        ACCOUNT_A,
        "us-east-1",
        &[snapshot(&a_api, Health::Healthy, T0)],
        T0,
    )
    .await;
    let b_snapshot = snapshot(&b_web, Health::Degraded, T0);
    replace(
        store,
        ACCOUNT_B,
        REGION,
        std::slice::from_ref(&b_snapshot),
        T0,
    )
    .await;
    for key in [&a_web, &a_api, &b_web] {
        for metric in [EcsMetric::Cpu, EcsMetric::Memory] {
            store
                .append_metrics(
                    key,
                    metric,
                    &[point(T0, 1.0, 2.0), point(T0 + PERIOD, 3.0, 4.0)],
                )
                .await
                .expect("append");
        }
    }
    // A service that vanished from the snapshots still has history.
    let a_gone = service_key(ACCOUNT_A, REGION, "old", "gone");
    store
        .append_metrics(&a_gone, EcsMetric::Cpu, &[point(T0, 5.0, 5.0)])
        .await
        .expect("append");

    store
        .delete_account_data(ACCOUNT_A)
        .await
        .expect("delete account data");
    assert_eq!(
        store.list_snapshots().await.expect("list"),
        vec![b_snapshot],
        "account B's snapshot stays"
    );
    for key in [&a_web, &a_api, &a_gone] {
        for metric in [EcsMetric::Cpu, EcsMetric::Memory] {
            assert!(
                all_metrics(store, key, metric).await.is_empty(),
                "{key:?} {metric:?} must be gone"
            );
        }
    }
    assert_eq!(all_metrics(store, &b_web, EcsMetric::Memory).await.len(), 2);
    assert_eq!(all_metrics(store, &b_web, EcsMetric::Cpu).await.len(), 2);

    store
        .delete_account_data(ACCOUNT_A)
        .await
        .expect("deleting again is a no-op");
    assert_eq!(
        replace(
            store,
            ACCOUNT_A,
            REGION,
            &[snapshot(&a_web, Health::Failed, T0 + MINUTE)],
            T0 + MINUTE
        )
        .await,
        vec![(a_web.clone(), None)],
        "a re-added account starts without a past"
    );
}
