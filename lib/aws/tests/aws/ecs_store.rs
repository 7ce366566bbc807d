//! ECS snapshots and metric history on DynamoDB: the contract suite plus the TTL and
//! write-count rules only this backend has.

use aws_sdk_dynamodb::types::AttributeValue;
use sentinel_aws::{DynamoTable, TTL_ATTRIBUTE, sortable};
use sentinel_core::ecs::{EcsMetric, Health};
use sentinel_store::contract::ecs_snapshots::{
    ACCOUNT_A, PERIOD, REGION, point, service_key, snapshot,
};
use sentinel_store::contract::fixtures::T0;
use sentinel_store::{ECS_METRIC_RETENTION_MS, EcsSnapshotStore, StoreError};

use crate::common::fresh_table;

sentinel_store::contract_tests! {
    store: fresh_table().await,
    ports: [ecs_snapshots, ecs_incidents],
}

const SERIES: &str = "ECS#M#111111111111#eu-west-1#prod#web#cpu";

async fn point_item(
    table: &DynamoTable,
    at: i64,
) -> Option<std::collections::HashMap<String, AttributeValue>> {
    table
        .client()
        .get_item()
        .table_name(table.table_name())
        .key("pk", AttributeValue::S(SERIES.to_owned()))
        .key("sk", AttributeValue::S(sortable(at)))
        .consistent_read(true)
        .send()
        .await
        .expect("get")
        .item
}

#[tokio::test]
async fn ecs_metric_points_expire_by_ttl_after_the_retention() {
    let table = fresh_table().await;
    let web = service_key(ACCOUNT_A, REGION, "prod", "web");
    table
        .append_metrics(&web, EcsMetric::Cpu, &[point(T0, 1.0, 2.0)])
        .await
        .expect("append");
    let item = point_item(&table, T0)
        .await
        .expect("the point's item exists");
    let Some(AttributeValue::N(ttl)) = item.get(TTL_ATTRIBUTE) else {
        panic!("no TTL on {item:?}");
    };
    let ttl: i64 = ttl.parse().expect("number");
    let keep_until_s = (T0 + ECS_METRIC_RETENTION_MS) / 1000;
    assert!(
        ttl >= keep_until_s && ttl <= keep_until_s + 60,
        "TTL {ttl} (epoch seconds) must follow the retention end {keep_until_s} closely"
    );
    const {
        assert!(
            ECS_METRIC_RETENTION_MS >= 8 * 86_400_000,
            "7-day charts need 8 days"
        )
    };
    assert_eq!(
        table
            .prune_metrics(T0 + ECS_METRIC_RETENTION_MS)
            .await
            .expect("prune"),
        0,
        "the TTL prunes, not the caller"
    );
}

#[tokio::test]
async fn ecs_periods_before_the_newest_stored_one_are_not_rewritten() {
    let table = fresh_table().await;
    let web = service_key(ACCOUNT_A, REGION, "prod", "web");
    let first: Vec<_> = (0..3).map(|i| point(T0 + i * PERIOD, 1.0, 1.0)).collect();
    table
        .append_metrics(&web, EcsMetric::Cpu, &first)
        .await
        .expect("append");
    // Mark an old period's item: a rewrite would drop the mark.
    table
        .client()
        .update_item()
        .table_name(table.table_name())
        .key("pk", AttributeValue::S(SERIES.to_owned()))
        .key("sk", AttributeValue::S(sortable(T0 + PERIOD)))
        .update_expression("SET marker = :m")
        .expression_attribute_values(":m", AttributeValue::S("untouched".to_owned()))
        .send()
        .await
        .expect("mark");

    let window: Vec<_> = (0..5).map(|i| point(T0 + i * PERIOD, 7.0, 7.0)).collect();
    table
        .append_metrics(&web, EcsMetric::Cpu, &window)
        .await
        .expect("append overlap");
    let old = point_item(&table, T0 + PERIOD).await.expect("old period");
    assert_eq!(
        old.get("marker"),
        Some(&AttributeValue::S("untouched".to_owned())),
        "a final period is not written again"
    );
    let got = table
        .metrics(&web, EcsMetric::Cpu, T0, T0 + 10 * PERIOD)
        .await
        .expect("metrics");
    let values: Vec<f64> = got.iter().map(|p| p.average).collect();
    assert_eq!(
        values,
        [1.0, 1.0, 7.0, 7.0, 7.0],
        "the newest stored period and newer ones are written"
    );
}

#[tokio::test]
async fn ecs_a_corrupt_snapshot_item_is_corrupt() {
    let table = fresh_table().await;
    let web = service_key(ACCOUNT_A, REGION, "prod", "web");
    table
        .replace_snapshots(
            ACCOUNT_A,
            REGION,
            &[snapshot(&web, Health::Healthy, T0)],
            T0,
        )
        .await
        .expect("replace");
    table
        .client()
        .update_item()
        .table_name(table.table_name())
        .key("pk", AttributeValue::S("ECS#SNAP".to_owned()))
        .key(
            "sk",
            AttributeValue::S("111111111111#eu-west-1#prod#web".to_owned()),
        )
        .update_expression("SET #j = :j, health = :h")
        .expression_attribute_names("#j", "snapshot")
        .expression_attribute_values(":j", AttributeValue::S("{\"key\":".to_owned()))
        .expression_attribute_values(":h", AttributeValue::S("sideways".to_owned()))
        .send()
        .await
        .expect("tamper");
    for err in [
        table.get_snapshot(&web).await.expect_err("get must fail"),
        table.list_snapshots().await.expect_err("list must fail"),
        table
            .replace_snapshots(ACCOUNT_A, REGION, &[], T0 + 1)
            .await
            .expect_err("replace must fail on an unknown stored health"),
    ] {
        assert!(
            matches!(err, StoreError::Corrupt(_)) && !err.is_retryable(),
            "corrupt, not worth a retry: {err:?}"
        );
    }
}

#[tokio::test]
async fn ecs_a_replace_of_more_than_one_batch_is_written_whole() {
    let table = fresh_table().await;
    let snapshots: Vec<_> = (0..60)
        .map(|i| {
            snapshot(
                &service_key(ACCOUNT_A, REGION, "prod", &format!("svc-{i:02}")),
                Health::Healthy,
                T0,
            )
        })
        .collect();
    let previous = table
        .replace_snapshots(ACCOUNT_A, REGION, &snapshots, T0)
        .await
        .expect("replace");
    assert_eq!(previous.len(), 60);
    assert_eq!(table.list_snapshots().await.expect("list"), snapshots);
    table
        .replace_snapshots(ACCOUNT_A, REGION, &snapshots[..3], T0 + 1)
        .await
        .expect("replace");
    assert_eq!(
        table.list_snapshots().await.expect("list"),
        snapshots[..3].to_vec()
    );
}

#[tokio::test]
async fn ecs_racing_opens_agree_on_one_incident() {
    use sentinel_store::EcsIncidentStore;
    use sentinel_store::contract::ecs_incidents::incident;
    use sentinel_store::contract::fixtures::MINUTE;

    let table = fresh_table().await;
    let web = service_key(ACCOUNT_A, REGION, "prod", "web");
    let candidates: Vec<_> = (0..4)
        .map(|i| incident(&web, T0 + i * MINUTE, Health::Failed))
        .collect();
    let opened = futures_join_all(&table, &candidates).await;
    assert!(
        opened.iter().all(|o| o == &opened[0]),
        "every round gets the same open incident: {opened:?}"
    );
    assert!(candidates.contains(&opened[0]));
    assert_eq!(
        table.list_ecs_incidents(10).await.expect("list"),
        [opened[0].clone()],
        "only the winner is in the history"
    );
}

async fn futures_join_all(
    table: &DynamoTable,
    candidates: &[sentinel_store::EcsIncident],
) -> Vec<sentinel_store::EcsIncident> {
    use sentinel_store::EcsIncidentStore;
    let mut tasks = tokio::task::JoinSet::new();
    for (i, candidate) in candidates.iter().cloned().enumerate() {
        let table = table.clone();
        tasks.spawn(async move { (i, table.open_ecs_incident(&candidate).await.expect("open")) });
    }
    let mut opened = Vec::new();
    while let Some(done) = tasks.join_next().await {
        opened.push(done.expect("task"));
    }
    opened.sort_by_key(|(i, _)| *i);
    opened.into_iter().map(|(_, o)| o).collect()
}
