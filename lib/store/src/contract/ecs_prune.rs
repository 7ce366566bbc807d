//! The pruning behaviour of [`EcsSnapshotStore`], a port of its own because only
//! backends that prune themselves run it (SQLite); DynamoDB expires metric points with
//! its TTL instead, and its `prune_metrics` is a no-op.

use sentinel_core::ecs::{EcsMetric, MetricPoint};

use crate::EcsSnapshotStore;

use super::ecs_snapshots::{ACCOUNT_A, ACCOUNT_B, REGION, point, service_key};
use super::fixtures::{DAY, T0};

pub async fn prune_deletes_points_older_than_before<S: EcsSnapshotStore + ?Sized>(store: &S) {
    let web = service_key(ACCOUNT_A, REGION, "prod", "web");
    let api = service_key(ACCOUNT_B, REGION, "prod", "api");
    let points: Vec<MetricPoint> = (0..10).map(|i| point(T0 + i * DAY, 1.0, 1.0)).collect();
    for key in [&web, &api] {
        for metric in [EcsMetric::Cpu, EcsMetric::Memory] {
            store
                .append_metrics(key, metric, &points)
                .await
                .expect("append");
        }
    }
    let pruned = store.prune_metrics(T0 + 2 * DAY).await.expect("prune");
    assert_eq!(pruned, 2 * 2 * 2, "two points of each series are older");
    for key in [&web, &api] {
        assert_eq!(
            store
                .metrics(key, EcsMetric::Memory, T0 - DAY, T0 + 30 * DAY)
                .await
                .expect("metrics"),
            points[2..].to_vec(),
            "points at `before` and later stay"
        );
    }
    assert_eq!(
        store.prune_metrics(T0 + 2 * DAY).await.expect("prune"),
        0,
        "nothing left to prune"
    );
}
