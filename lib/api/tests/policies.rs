//! Access rules found in review: who may publish monitors, what keys may manage, and
//! that a reused monitor id starts without the old monitor's history.

mod support;

use sentinel_core::MonitorId;
use sentinel_core::check::{CheckResult, Timings};
use sentinel_store::PingLog;
use serde_json::json;
use support::TestApp;

#[tokio::test]
async fn only_admins_put_monitors_on_the_public_status_page() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let alice = app.user(&admin, "alice@example.com", "user").await;
    let body = json!({"name": "Mine", "url": "https://example.com/", "public": true});
    let reply = app.post_as(&alice, "/api/monitors", &body).await;
    assert_eq!(reply.status, 403, "{:?}", reply.json);
    assert_eq!(reply.json["error"]["code"], "public_requires_admin");
    let reply = app
        .post_as(
            &alice,
            "/api/monitors",
            &json!({"name": "Mine", "url": "https://example.com/"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    let id = reply.json["id"].as_str().unwrap().to_owned();
    let reply = app
        .patch_as(
            &alice,
            &format!("/api/monitors/{id}"),
            &json!({"public": true}),
        )
        .await;
    assert_eq!(reply.status, 403, "{:?}", reply.json);
    let reply = app
        .post_as(
            &admin,
            "/api/monitors",
            &json!({"name": "Status", "url": "https://example.com/", "public": true}),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
}

#[tokio::test]
async fn an_api_key_cannot_delete_api_keys() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let key = app.api_key(&admin, "write").await;
    let keys = app.get_as(&admin, "/api/api-keys").await;
    let id = keys.json[0]["id"].as_str().unwrap().to_owned();
    let reply = app
        .delete_with_key(&key, &format!("/api/api-keys/{id}"))
        .await;
    assert_eq!(reply.status, 403, "{:?}", reply.json);
    let keys = app.get_as(&admin, "/api/api-keys").await;
    assert_eq!(
        keys.json.as_array().unwrap().len(),
        1,
        "the key still exists"
    );
}

#[tokio::test]
async fn a_reused_monitor_id_does_not_inherit_the_old_monitors_history() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let alice = app.user(&admin, "alice@example.com", "user").await;
    let bob = app.user(&admin, "bob@example.com", "user").await;
    let body = json!({"id": "api", "name": "API", "url": "https://example.com/"});
    assert_eq!(
        app.post_as(&alice, "/api/monitors", &body).await.status,
        201
    );
    app.store
        .append(&[CheckResult {
            monitor_id: MonitorId::parse("api").unwrap(),
            checked_at: 1_700_000_000_000,
            success: false,
            status_code: Some(500),
            timings: Timings {
                total_ms: 5.0,
                ..Timings::default()
            },
            ip: Some("10.0.0.7".into()),
            cert_expires_at: None,
            error: None,
            failure_reason: Some("alice's secret outage".into()),
            conditions: vec![],
        }])
        .await
        .unwrap();
    assert_eq!(app.delete_as(&alice, "/api/monitors/api").await.status, 204);
    assert_eq!(app.post_as(&bob, "/api/monitors", &body).await.status, 201);
    let pings = app.get_as(&bob, "/api/metrics/api").await;
    assert_eq!(pings.status, 200, "{:?}", pings.json);
    assert!(
        !pings.body.contains("alice's secret outage"),
        "{}",
        pings.body
    );
}
