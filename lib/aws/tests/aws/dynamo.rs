//! The DynamoDB table: the contract suite plus what only this backend has.

use aws_sdk_dynamodb::types::{AttributeValue, ProjectionType};
use sentinel_aws::{DynamoTable, GSI1, TTL_ATTRIBUTE};
use sentinel_store::contract::fixtures::{T0, delivery, incident, live_state, monitor_id};
use sentinel_store::{AlertLedger, CasOutcome, IncidentStore, LiveStateStore, RateLimiter};

use crate::common::{self, fresh_table};

sentinel_store::contract_tests! {
    store: fresh_table().await,
    ports: [live_state, rate_limits, alert_ledger, incidents],
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

#[tokio::test]
async fn the_table_has_the_documented_shape() {
    let table = fresh_table().await;
    let client = table.client();
    let described = client
        .describe_table()
        .table_name(table.table_name())
        .send()
        .await
        .expect("describe");
    let t = described.table().expect("table");
    let keys: Vec<(&str, &str)> = t
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name(), k.key_type().as_str()))
        .collect();
    assert_eq!(keys, [("pk", "HASH"), ("sk", "RANGE")]);
    let gsi = &t.global_secondary_indexes()[0];
    assert_eq!(gsi.index_name(), Some(GSI1));
    let gsi_keys: Vec<&str> = gsi
        .key_schema()
        .iter()
        .map(|k| k.attribute_name())
        .collect();
    assert_eq!(gsi_keys, ["gsi1pk", "gsi1sk"]);
    assert_eq!(
        gsi.projection().and_then(|p| p.projection_type()),
        Some(&ProjectionType::All)
    );
    let ttl = client
        .describe_time_to_live()
        .table_name(table.table_name())
        .send()
        .await
        .expect("describe ttl");
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|d| d.attribute_name()),
        Some(TTL_ATTRIBUTE)
    );
}

#[tokio::test]
async fn rate_limit_windows_carry_a_ttl_after_the_window_ends() {
    let table = fresh_table().await;
    table
        .hit("login:1.2.3.4", 3, 60_000, T0 + 5)
        .await
        .expect("hit");
    let item = table
        .client()
        .get_item()
        .table_name(table.table_name())
        .key("pk", s(&format!("RL#login:1.2.3.4#{T0}")))
        .key("sk", s("RL"))
        .send()
        .await
        .expect("get")
        .item
        .expect("the window's item exists");
    let Some(AttributeValue::N(ttl)) = item.get(TTL_ATTRIBUTE) else {
        panic!("no TTL on {item:?}");
    };
    let ttl: i64 = ttl.parse().expect("number");
    let window_end_s = (T0 + 60_000) / 1000;
    assert!(
        ttl > window_end_s && ttl <= window_end_s + 120,
        "TTL {ttl} must follow the window end {window_end_s} closely"
    );
}

#[tokio::test]
async fn a_conflict_reports_the_stored_state_without_a_second_writer_seeing_a_change() {
    let table = fresh_table().await;
    let stored = live_state("api", 2);
    table.compare_and_set(&stored, None).await.expect("cas");
    let mut stale = live_state("api", 2);
    stale.version = 3;
    stale.last_failure_reason = Some("stale".to_owned());
    assert_eq!(
        table.compare_and_set(&stale, Some(1)).await.expect("cas"),
        CasOutcome::Conflict(Some(stored.clone()))
    );
    assert_eq!(table.list_states().await.expect("list"), vec![stored]);
}

#[tokio::test]
async fn lists_page_through_more_than_one_dynamodb_page() {
    let table = fresh_table().await;
    // Big states so the 1 MB page limit is crossed with few items.
    let reason = "x".repeat(100_000);
    for i in 0..25 {
        let mut state = live_state(&format!("m{i:02}"), 0);
        state.last_failure_reason = Some(reason.clone());
        table.compare_and_set(&state, None).await.expect("cas");
    }
    assert_eq!(table.list_states().await.expect("list").len(), 25);
}

#[tokio::test]
async fn purge_monitor_removes_state_incidents_and_deliveries_of_that_monitor_only() {
    let table = fresh_table().await;
    for monitor in ["api", "web"] {
        table
            .compare_and_set(&live_state(monitor, 0), None)
            .await
            .expect("cas");
        for i in 0..30 {
            table
                .open_incident(&incident(monitor, T0 + i))
                .await
                .expect("open");
        }
        table
            .claim(&delivery(&format!("{monitor}@1:down:1:slack"), monitor, T0))
            .await
            .expect("claim");
    }

    let removed = table
        .purge_monitor(&monitor_id("api"))
        .await
        .expect("purge");
    assert_eq!(removed, 1 + 30 + 1);

    let api = monitor_id("api");
    assert_eq!(table.get_state(&api).await.expect("get"), None);
    assert!(
        table
            .list_incidents(&api, 100)
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(
        table.get_delivery("api@1:down:1:slack").await.expect("get"),
        None
    );
    let web = monitor_id("web");
    assert!(table.get_state(&web).await.expect("get").is_some());
    assert_eq!(
        table.list_incidents(&web, 100).await.expect("list").len(),
        30
    );
    assert_eq!(table.list_deliveries(10).await.expect("list").len(), 1);
}

#[tokio::test]
async fn a_missing_table_is_a_backend_error() {
    let config = common::config().await;
    let table = DynamoTable::new(config.dynamodb(), common::unique("no-such-table"));
    let err = table
        .get_state(&monitor_id("api"))
        .await
        .expect_err("no table");
    assert!(err.is_retryable(), "{err}");
}
