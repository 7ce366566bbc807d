//! Monitors and alert channels through the whole app on port 0: CRUD, validation,
//! tenant isolation, roles, config monitors, pause/resume, "check now", and channel
//! secrets (encrypted at rest, masked, key rotation, send test).

mod support;

use std::sync::{Arc, Mutex};

use reqwest::Method;
use sentinel_api::settings::Keyring;
use sentinel_api::{MonitorEvents, crypto};
use sentinel_core::account::UserId;
use sentinel_core::monitor::MonitorInput;
use sentinel_core::{Incident, IncidentId, MonitorId, MonitorSpec};
use sentinel_store::{ChannelRecord, ChannelStore, IncidentStore, MonitorStore, PingLog};
use sentinel_testkit::{Receiver, Target};
use serde_json::{Value, json};
use support::{Reply, Session, TestApp};

const K1: &str = "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn assert_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.code(), code, "{}", reply.body);
    assert!(reply.json["error"]["message"].is_string(), "{}", reply.body);
}

/// Every field named by a 400 `invalid_input`.
fn fields(reply: &Reply) -> Vec<String> {
    assert_error(reply, 400, "invalid_input");
    let mut out: Vec<String> = reply.json["error"]["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if out.is_empty()
        && let Some(f) = reply.json["error"]["field"].as_str()
    {
        out.push(f.to_owned());
    }
    out
}

async fn create(app: &TestApp, who: &Session, body: Value) -> Value {
    let reply = app.post_as(who, "/api/monitors", &body).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json
}

async fn alice_and_bob(app: &TestApp) -> (Session, Session, Session) {
    let admin = app.admin().await;
    let alice = app.user(&admin, "alice@example.com", "user").await;
    let bob = app.user(&admin, "bob@example.com", "user").await;
    (admin, alice, bob)
}

fn config_spec(id: &str) -> MonitorSpec {
    MonitorInput {
        id: Some(id.into()),
        name: Some("From the file".into()),
        url: Some("https://example.com/health".into()),
        ..MonitorInput::default()
    }
    .validate()
    .unwrap()
}

#[derive(Default)]
struct Recorder {
    upserted: Mutex<Vec<MonitorSpec>>,
    removed: Mutex<Vec<MonitorId>>,
}

impl MonitorEvents for Recorder {
    fn upserted(&self, spec: &MonitorSpec) {
        self.upserted.lock().unwrap().push(spec.clone());
    }
    fn removed(&self, id: &MonitorId) {
        self.removed.lock().unwrap().push(id.clone());
    }
}

// ---- monitors ------------------------------------------------------------------------

#[tokio::test]
async fn monitors_are_created_read_listed_changed_and_deleted() {
    let recorder = Arc::new(Recorder::default());
    let app = TestApp::builder()
        .events(Arc::clone(&recorder) as Arc<dyn MonitorEvents>)
        .start()
        .await;
    let (_, alice, _) = alice_and_bob(&app).await;

    let created = create(
        &app,
        &alice,
        json!({"name": "Shop API", "url": "https://shop.example.com/health",
               "interval": "30s", "tags": ["prod"], "conditions": ["[STATUS] == 200"]}),
    )
    .await;
    assert_eq!(created["id"], "shop-api");
    assert_eq!(created["owner"], alice.user_id);
    assert_eq!(created["origin"], "api");
    assert_eq!(created["read_only"], false);
    assert_eq!(created["status"], "pending");
    assert_eq!(created["interval"], "30s");
    assert_eq!(created["conditions"], json!(["[STATUS] == 200"]));
    assert_eq!(recorder.upserted.lock().unwrap().len(), 1);
    // The scheduler's store has it.
    let stored = app
        .store
        .get_monitor(&MonitorId::parse("shop-api").unwrap())
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(stored.interval.as_secs(), 30);

    let one = app.get_as(&alice, "/api/monitors/shop-api").await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(one.json["name"], "Shop API");
    let list = app.get_as(&alice, "/api/monitors").await;
    assert_eq!(list.json["monitors"].as_array().unwrap().len(), 1);

    let patched = app
        .patch_as(
            &alice,
            "/api/monitors/shop-api",
            &json!({"interval": "5m", "tags": null}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.json["interval"], "5m");
    assert_eq!(patched.json["tags"], json!([]));
    assert_eq!(patched.json["url"], "https://shop.example.com/health");
    assert_eq!(recorder.upserted.lock().unwrap().len(), 2);

    let deleted = app.delete_as(&alice, "/api/monitors/shop-api").await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    assert_eq!(recorder.removed.lock().unwrap().len(), 1);
    assert_error(
        &app.get_as(&alice, "/api/monitors/shop-api").await,
        404,
        "not_found",
    );
    assert!(
        app.store
            .get_monitor(&MonitorId::parse("shop-api").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn invalid_monitors_are_refused_with_every_field_named() {
    let app = TestApp::spawn().await;
    let (_, alice, _) = alice_and_bob(&app).await;

    let reply = app
        .post_as(
            &alice,
            "/api/monitors",
            &json!({"name": "", "url": "ftp://example.com", "interval": "1s",
                    "conditions": ["[STATUS] =="], "failure_threshold": 99}),
        )
        .await;
    let named = fields(&reply);
    for field in [
        "name",
        "url",
        "interval",
        "conditions[0]",
        "failure_threshold",
    ] {
        assert!(named.iter().any(|f| f == field), "{field} not in {named:?}");
    }

    let unknown = app
        .post_as(
            &alice,
            "/api/monitors",
            &json!({"name": "x", "url": "https://x.io", "owner": "someone"}),
        )
        .await;
    assert!(
        fields(&unknown).iter().any(|f| f.contains("owner")),
        "{}",
        unknown.body
    );
    let wrong_type = app
        .post_as(
            &alice,
            "/api/monitors",
            &json!({"name": "x", "url": "https://x.io", "tags": "prod"}),
        )
        .await;
    assert_eq!(fields(&wrong_type), vec!["tags"]);

    create(&app, &alice, json!({"name": "ok", "url": "https://ok.io"})).await;
    let bad_patch = app
        .patch_as(&alice, "/api/monitors/ok", &json!({"timeout": "2m"}))
        .await;
    assert_eq!(fields(&bad_patch), vec!["timeout"]);
    let rename = app
        .patch_as(&alice, "/api/monitors/ok", &json!({"id": "other"}))
        .await;
    assert_eq!(fields(&rename), vec!["id"]);
    let not_object = app.patch_as(&alice, "/api/monitors/ok", &json!([1])).await;
    assert_eq!(not_object.status, 400, "{}", not_object.body);
    // Nothing changed.
    let one = app.get_as(&alice, "/api/monitors/ok").await;
    assert_eq!(one.json["timeout"], "10s");
}

#[tokio::test]
async fn a_taken_id_is_a_conflict_and_a_taken_name_gets_a_suffix() {
    let app = TestApp::spawn().await;
    let (_, alice, bob) = alice_and_bob(&app).await;
    create(&app, &alice, json!({"name": "API", "url": "https://a.io"})).await;

    let taken = app
        .post_as(
            &bob,
            "/api/monitors",
            &json!({"id": "api", "name": "Mine", "url": "https://b.io"}),
        )
        .await;
    assert_error(&taken, 409, "monitor_exists");
    assert_eq!(taken.json["error"]["field"], "id");

    let derived = create(&app, &bob, json!({"name": "API", "url": "https://b.io"})).await;
    assert_eq!(derived["id"], "api-2");
    // Alice's monitor is untouched.
    let a = app.get_as(&alice, "/api/monitors/api").await;
    assert_eq!(a.json["url"], "https://a.io/");
}

#[tokio::test]
async fn other_users_monitors_are_not_found_for_read_write_or_delete() {
    let app = TestApp::spawn().await;
    let (admin, alice, bob) = alice_and_bob(&app).await;
    create(
        &app,
        &alice,
        json!({"name": "Alice", "url": "https://a.io"}),
    )
    .await;

    for (method, path) in [
        (Method::GET, "/api/monitors/alice"),
        (Method::PATCH, "/api/monitors/alice"),
        (Method::DELETE, "/api/monitors/alice"),
        (Method::POST, "/api/monitors/alice/pause"),
        (Method::POST, "/api/monitors/alice/resume"),
        (Method::POST, "/api/monitors/alice/check"),
        (Method::GET, "/api/monitors/alice/incidents"),
    ] {
        let body = json!({"name": "stolen"});
        let reply = app.send_as(&bob, method.clone(), path, Some(&body)).await;
        assert_error(&reply, 404, "not_found");
    }
    let list = app.get_as(&bob, "/api/monitors").await;
    assert_eq!(list.json["monitors"], json!([]));
    // Still Alice's, unchanged; the admin sees it too.
    let one = app.get_as(&admin, "/api/monitors/alice").await;
    assert_eq!(one.json["name"], "Alice");
    assert_eq!(one.json["owner"], alice.user_id);
    assert_eq!(one.json["read_only"], false);
}

#[tokio::test]
async fn the_monitor_role_reads_everything_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let (admin, alice, _) = alice_and_bob(&app).await;
    let watcher = app.user(&admin, "screen@example.com", "monitor").await;
    create(
        &app,
        &alice,
        json!({"name": "Alice", "url": "https://u:pw@a.io/", "headers": {"Authorization": "Bearer t0ken"}}),
    )
    .await;

    let list = app.get_as(&watcher, "/api/monitors").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.json["monitors"].as_array().unwrap().len(), 1);
    let one = app.get_as(&watcher, "/api/monitors/alice").await;
    assert_eq!(one.json["read_only"], true);
    // Credentials are not shown to those who cannot change the monitor.
    assert!(
        !one.body.contains("t0ken") && !one.body.contains(":pw@"),
        "{}",
        one.body
    );
    let own = app.get_as(&alice, "/api/monitors/alice").await;
    assert_eq!(own.json["headers"]["Authorization"], "Bearer t0ken");

    let body = json!({"name": "x", "url": "https://x.io"});
    for (method, path) in [
        (Method::POST, "/api/monitors"),
        (Method::POST, "/api/monitors/test"),
        (Method::PATCH, "/api/monitors/alice"),
        (Method::DELETE, "/api/monitors/alice"),
        (Method::POST, "/api/monitors/alice/pause"),
        (Method::POST, "/api/monitors/alice/check"),
        (Method::POST, "/api/alert-channels"),
    ] {
        let reply = app
            .send_as(&watcher, method.clone(), path, Some(&body))
            .await;
        assert_eq!(reply.status, 403, "{method} {path}: {}", reply.body);
    }

    // API keys act as their user, limited by scope.
    let read_key = app.api_key(&alice, "read").await;
    let reply = app.post_with_key(&read_key, "/api/monitors", &body).await;
    assert_error(&reply, 403, "read_only_key");
    let listed = app.get_with_key(&read_key, "/api/monitors").await;
    assert_eq!(listed.json["monitors"].as_array().unwrap().len(), 1);
    let write_key = app.api_key(&alice, "write").await;
    let reply = app.post_with_key(&write_key, "/api/monitors", &body).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.json["owner"], alice.user_id);
}

#[tokio::test]
async fn config_monitors_are_read_only_and_only_readers_of_everything_see_them() {
    let app = TestApp::spawn().await;
    let (admin, alice, _) = alice_and_bob(&app).await;
    app.store
        .upsert_monitor(&config_spec("from-file"))
        .await
        .unwrap();

    let one = app.get_as(&admin, "/api/monitors/from-file").await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(one.json["origin"], "config");
    assert_eq!(one.json["owner"], Value::Null);
    assert_eq!(one.json["read_only"], true);

    for (method, path) in [
        (Method::PATCH, "/api/monitors/from-file"),
        (Method::DELETE, "/api/monitors/from-file"),
        (Method::POST, "/api/monitors/from-file/pause"),
    ] {
        let reply = app
            .send_as(&admin, method, path, Some(&json!({"name": "x"})))
            .await;
        assert_error(&reply, 403, "read_only_monitor");
    }
    let list = app.get_as(&admin, "/api/monitors").await;
    assert_eq!(list.json["monitors"].as_array().unwrap().len(), 1);
    assert_error(
        &app.get_as(&alice, "/api/monitors/from-file").await,
        404,
        "not_found",
    );
    assert_eq!(
        app.get_as(&alice, "/api/monitors").await.json["monitors"],
        json!([])
    );
}

#[tokio::test]
async fn pausing_and_resuming_update_the_monitor_and_tell_the_engine() {
    let recorder = Arc::new(Recorder::default());
    let app = TestApp::builder()
        .events(Arc::clone(&recorder) as Arc<dyn MonitorEvents>)
        .start()
        .await;
    let (_, alice, _) = alice_and_bob(&app).await;
    create(
        &app,
        &alice,
        json!({"name": "api", "url": "https://a.io", "tags": ["eu"]}),
    )
    .await;
    create(&app, &alice, json!({"name": "web", "url": "https://w.io"})).await;

    let paused = app
        .post_as(&alice, "/api/monitors/api/pause", &json!({}))
        .await;
    assert_eq!(paused.status, 200, "{}", paused.body);
    assert_eq!(paused.json["paused"], true);
    assert_eq!(paused.json["status"], "paused");
    assert!(recorder.upserted.lock().unwrap().last().unwrap().paused);

    let only_paused = app.get_as(&alice, "/api/monitors?status=paused").await;
    let ids: Vec<&str> = only_paused.json["monitors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["api"]);
    let by_tag = app.get_as(&alice, "/api/monitors?tag=eu").await;
    assert_eq!(by_tag.json["monitors"].as_array().unwrap().len(), 1);
    let bad = app.get_as(&alice, "/api/monitors?status=sideways").await;
    assert_error(&bad, 400, "invalid_query");
    assert_eq!(bad.json["error"]["field"], "status");

    let resumed = app
        .post_as(&alice, "/api/monitors/api/resume", &json!({}))
        .await;
    assert_eq!(resumed.json["paused"], false);
    assert_eq!(resumed.json["status"], "pending");
    assert!(!recorder.upserted.lock().unwrap().last().unwrap().paused);
    let stored = app
        .store
        .get_monitor(&MonitorId::parse("api").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.paused);
}

#[tokio::test]
async fn check_now_runs_the_monitor_once_against_a_local_target() {
    let app = TestApp::spawn().await;
    let (_, alice, _) = alice_and_bob(&app).await;
    let target = Target::start().await;
    create(
        &app,
        &alice,
        json!({"name": "target", "url": target.url(), "conditions": ["[BODY].status == UP"]}),
    )
    .await;

    let up = app
        .post_as(&alice, "/api/monitors/target/check", &json!({}))
        .await;
    assert_eq!(up.status, 200, "{}", up.body);
    assert_eq!(up.json["success"], true, "{}", up.body);
    assert_eq!(up.json["status_code"], 200);
    assert!(up.json["timings"]["total_ms"].as_f64().unwrap() > 0.0);

    target.set_healthy(false);
    let down = app
        .post_as(&alice, "/api/monitors/target/check", &json!({}))
        .await;
    assert_eq!(down.json["success"], false);
    assert_eq!(down.json["status_code"], 503);
    assert!(
        down.json["failure_reason"]
            .as_str()
            .unwrap()
            .contains("[BODY].status")
    );

    // Not recorded.
    let history = app
        .store
        .history(&MonitorId::parse("target").unwrap(), 0, i64::MAX, 10)
        .await
        .unwrap();
    assert!(history.is_empty());
}

#[tokio::test]
async fn a_monitor_can_be_tested_before_it_is_saved() {
    let app = TestApp::spawn().await;
    let (_, alice, _) = alice_and_bob(&app).await;
    let target = Target::start().await;

    let ok = app
        .post_as(
            &alice,
            "/api/monitors/test",
            &json!({"url": target.url(), "conditions": ["[STATUS] == 200"]}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json["success"], true, "{}", ok.body);
    assert_eq!(ok.json["conditions"][0]["success"], true);
    assert_eq!(
        app.get_as(&alice, "/api/monitors").await.json["monitors"],
        json!([])
    );

    let invalid = app
        .post_as(&alice, "/api/monitors/test", &json!({"url": "not a url"}))
        .await;
    assert_eq!(fields(&invalid), vec!["url"]);
}

#[tokio::test]
async fn a_monitor_whose_id_is_test_is_still_reachable() {
    let app = TestApp::spawn().await;
    let (_, alice, _) = alice_and_bob(&app).await;
    create(
        &app,
        &alice,
        json!({"id": "test", "name": "Test", "url": "https://t.io"}),
    )
    .await;

    assert_eq!(
        app.get_as(&alice, "/api/monitors/test").await.json["id"],
        "test"
    );
    let patched = app
        .patch_as(&alice, "/api/monitors/test", &json!({"name": "Renamed"}))
        .await;
    assert_eq!(patched.json["name"], "Renamed", "{}", patched.body);
    let paused = app
        .post_as(&alice, "/api/monitors/test/pause", &json!({}))
        .await;
    assert_eq!(paused.status, 200, "{}", paused.body);
    assert_eq!(
        app.get_as(&alice, "/api/monitors/test/incidents")
            .await
            .status,
        200
    );
    assert_eq!(
        app.delete_as(&alice, "/api/monitors/test").await.status,
        204
    );
}

#[tokio::test]
async fn incidents_of_a_monitor_are_listed_newest_first() {
    let app = TestApp::spawn().await;
    let (_, alice, _) = alice_and_bob(&app).await;
    create(&app, &alice, json!({"name": "api", "url": "https://a.io"})).await;
    let id = MonitorId::parse("api").unwrap();
    for (start, end) in [(1_000_000, Some(2_000_000)), (5_000_000, None)] {
        app.store
            .open_incident(&Incident {
                id: IncidentId::new(&id, start),
                monitor_id: id.clone(),
                started_at: start,
                ended_at: None,
                cause: "status 503 is not 2xx/3xx".into(),
                proof: vec![start],
            })
            .await
            .unwrap();
        if let Some(end) = end {
            app.store
                .close_incident(&IncidentId::new(&id, start), end)
                .await
                .unwrap();
        }
    }
    let all = app.get_as(&alice, "/api/monitors/api/incidents").await;
    assert_eq!(all.status, 200, "{}", all.body);
    let starts: Vec<i64> = all.json["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["started_at"].as_i64().unwrap())
        .collect();
    assert_eq!(starts, [5_000_000, 1_000_000]);
    let one = app
        .get_as(&alice, "/api/monitors/api/incidents?limit=1")
        .await;
    assert_eq!(one.json["incidents"].as_array().unwrap().len(), 1);
    let bad = app
        .get_as(&alice, "/api/monitors/api/incidents?limit=0")
        .await;
    assert_eq!(bad.json["error"]["field"], "limit");
}

#[tokio::test]
async fn hostile_names_are_stored_verbatim_and_json_escaped() {
    let app = TestApp::spawn().await;
    let (_, alice, _) = alice_and_bob(&app).await;
    let payload = r#"Robert'); DROP TABLE monitors;-- "<script>alert(1)</script>" \ "#;
    let payload = payload.trim();
    let created = create(
        &app,
        &alice,
        json!({"id": "hostile", "name": payload, "url": "https://a.io", "tags": [payload]}),
    )
    .await;
    assert_eq!(created["name"], payload);

    let one = app.get_as(&alice, "/api/monitors/hostile").await;
    assert!(
        one.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(one.json["name"], payload);
    assert_eq!(one.json["tags"][0], payload);
    // Quotes and backslashes are escaped in the JSON text, so the payload cannot end
    // the string early.
    assert!(one.body.contains(r#"\"<script>"#), "{}", one.body);
    assert!(one.body.contains(r#"\\"#), "{}", one.body);

    let channel = app
        .post_as(
            &alice,
            "/api/alert-channels",
            &json!({"name": payload, "type": "email", "to": ["ops@example.com"]}),
        )
        .await;
    assert_eq!(channel.status, 201, "{}", channel.body);
    let id = channel.json["id"].as_str().unwrap();
    let read = app
        .get_as(&alice, &format!("/api/alert-channels/{id}"))
        .await;
    assert_eq!(read.json["name"], payload);
    // The monitors table survived the name.
    assert_eq!(
        app.get_as(&alice, "/api/monitors").await.json["monitors"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

// ---- alert channels --------------------------------------------------------------------

const SLACK_URL: &str = "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX";

#[tokio::test]
async fn channel_secrets_are_encrypted_at_rest_and_masked_in_responses() {
    let app = TestApp::spawn().await;
    let (_, alice, _) = alice_and_bob(&app).await;
    let created = app
        .post_as(
            &alice,
            "/api/alert-channels",
            &json!({"name": "team slack", "type": "slack", "webhook_url": SLACK_URL}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.json["type"], "slack");
    assert_eq!(
        created.json["webhook_url"],
        "https://hooks.slack.com/…/****"
    );
    assert!(!created.body.contains("SECRET"), "{}", created.body);
    let id = created.json["id"].as_str().unwrap().to_owned();

    for reply in [
        app.get_as(&alice, &format!("/api/alert-channels/{id}"))
            .await,
        app.get_as(&alice, "/api/alert-channels").await,
    ] {
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert!(!reply.body.contains("SECRET"), "{}", reply.body);
        assert!(
            reply.body.contains("hooks.slack.com/…/****"),
            "{}",
            reply.body
        );
    }

    let raw = app.store.get_channel(&id).await.unwrap().expect("stored");
    assert_eq!(raw.key_id, "k1");
    assert!(!raw.config.to_string().contains("SECRET"));
    let plain = SLACK_URL.as_bytes();
    assert!(
        !raw.secret.windows(plain.len()).any(|w| w == plain),
        "the stored secret is not encrypted"
    );
    assert!(!String::from_utf8_lossy(&raw.secret).contains("SECRET"));
    let opened = crypto::open(&app.state.settings.encryption, &raw.key_id, &raw.secret).unwrap();
    let opened: Value = serde_json::from_slice(&opened).unwrap();
    assert_eq!(opened["webhook_url"], SLACK_URL);
}

#[tokio::test]
async fn invalid_channels_are_refused_with_the_field_named() {
    let app = TestApp::spawn().await;
    let (_, alice, _) = alice_and_bob(&app).await;
    let cases = [
        (json!({"type": "email", "to": ["a@b.io"]}), "name"),
        (json!({"name": "x", "to": ["a@b.io"]}), "type"),
        (
            json!({"name": "x", "type": "pager", "to": ["a@b.io"]}),
            "type",
        ),
        (
            json!({"name": "x", "type": "slack", "webhook_url": "nope"}),
            "webhook_url",
        ),
        (json!({"name": "x", "type": "slack"}), "webhook_url"),
        (
            json!({"name": "x", "type": "webhook", "url": "https://h.io/x", "secret": "short"}),
            "secret",
        ),
        (
            json!({"name": "x", "type": "webhook", "url": "http://169.254.169.254/x", "secret": "0123456789abcdef"}),
            "url",
        ),
        (
            json!({"name": "x", "type": "email", "to": ["not-an-address"]}),
            "to[0]",
        ),
        (
            json!({"name": "x", "type": "email", "to": ["a@b.io"], "cc": ["c@d.io"]}),
            "cc",
        ),
    ];
    for (body, field) in cases {
        let reply = app.post_as(&alice, "/api/alert-channels", &body).await;
        assert_error(&reply, 400, "invalid_input");
        assert_eq!(
            reply.json["error"]["field"].as_str(),
            Some(field),
            "{body}: {}",
            reply.body
        );
    }

    let body = json!({"name": "ops", "type": "email", "to": ["ops@example.com"]});
    assert_eq!(
        app.post_as(&alice, "/api/alert-channels", &body)
            .await
            .status,
        201
    );
    let again = app.post_as(&alice, "/api/alert-channels", &body).await;
    assert_error(&again, 409, "channel_exists");
    assert_eq!(again.json["error"]["field"], "name");
    assert_eq!(
        app.get_as(&alice, "/api/alert-channels").await.json["channels"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn webhook_channel(app: &TestApp, who: &Session, receiver: &Receiver) -> String {
    let reply = app
        .post_as(
            who,
            "/api/alert-channels",
            &json!({"name": "hook", "type": "webhook", "url": receiver.url(),
                    "secret": "0123456789abcdef-secret"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.json["secret"], "****");
    reply.json["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn send_test_delivers_a_signed_webhook_to_a_local_receiver() {
    let app = TestApp::spawn().await;
    let (_, alice, _) = alice_and_bob(&app).await;
    let receiver = Receiver::start().await;
    let id = webhook_channel(&app, &alice, &receiver).await;

    let sent = app
        .post_as(
            &alice,
            &format!("/api/alert-channels/{id}/test"),
            &json!({}),
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert_eq!(sent.json["sent"], true, "{}", sent.body);
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json()["event"], "test");
    let timestamp = got[0].headers["x-sentinel-timestamp"].to_str().unwrap();
    assert_eq!(
        got[0].headers["x-sentinel-signature"].to_str().unwrap(),
        sentinel_pipeline::channels::sign(b"0123456789abcdef-secret", timestamp, &got[0].body)
    );

    receiver.set_down(true);
    let failed = app
        .post_as(
            &alice,
            &format!("/api/alert-channels/{id}/test"),
            &json!({}),
        )
        .await;
    assert_eq!(failed.status, 200, "{}", failed.body);
    assert_eq!(failed.json["sent"], false);
    assert!(
        failed.json["error"].as_str().unwrap().contains("500"),
        "{}",
        failed.body
    );
}

#[tokio::test]
async fn patching_a_channel_keeps_the_secrets_it_does_not_name() {
    let app = TestApp::spawn().await;
    let (_, alice, _) = alice_and_bob(&app).await;
    let receiver = Receiver::start().await;
    let id = webhook_channel(&app, &alice, &receiver).await;

    let renamed = app
        .patch_as(
            &alice,
            &format!("/api/alert-channels/{id}"),
            &json!({"name": "renamed"}),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(renamed.json["name"], "renamed");
    let sent = app
        .post_as(
            &alice,
            &format!("/api/alert-channels/{id}/test"),
            &json!({}),
        )
        .await;
    assert_eq!(sent.json["sent"], true, "{}", sent.body);

    let short = app
        .patch_as(
            &alice,
            &format!("/api/alert-channels/{id}"),
            &json!({"secret": "short"}),
        )
        .await;
    assert_eq!(short.json["error"]["field"], "secret", "{}", short.body);

    let retyped = app
        .patch_as(
            &alice,
            &format!("/api/alert-channels/{id}"),
            &json!({"type": "email", "to": ["ops@example.com"]}),
        )
        .await;
    assert_eq!(retyped.status, 200, "{}", retyped.body);
    assert_eq!(retyped.json["type"], "email");
    assert!(retyped.json.get("url").is_none(), "{}", retyped.body);

    assert_eq!(
        app.delete_as(&alice, &format!("/api/alert-channels/{id}"))
            .await
            .status,
        204
    );
    assert_eq!(
        app.get_as(&alice, &format!("/api/alert-channels/{id}"))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn channels_sealed_with_a_rotated_out_key_still_open_and_are_resealed_on_edit() {
    let new_key = format!("k2:{}", "ab".repeat(32));
    let app = TestApp::builder()
        .settings(|s| s.encryption = Keyring::parse(&format!("{new_key},{K1}")).unwrap())
        .start()
        .await;
    let (_, alice, _) = alice_and_bob(&app).await;
    let receiver = Receiver::start().await;

    // A channel written before the rotation, under k1.
    let old_ring = Keyring::parse(K1).unwrap();
    let config =
        json!({"type": "webhook", "url": receiver.url(), "secret": "0123456789abcdef-old"});
    let (key_id, secret) = crypto::seal(&old_ring, config.to_string().as_bytes()).unwrap();
    assert_eq!(key_id, "k1");
    app.store
        .create_channel(&ChannelRecord {
            id: "ch_old".into(),
            owner: UserId(alice.user_id.clone()),
            name: "old hook".into(),
            kind: "webhook".into(),
            config: json!({"type": "webhook", "url": "http://127.0.0.1/…/****", "secret": "****"}),
            secret,
            key_id,
            created_at: 1,
            updated_at: 1,
        })
        .await
        .unwrap();

    let sent = app
        .post_as(&alice, "/api/alert-channels/ch_old/test", &json!({}))
        .await;
    assert_eq!(sent.json["sent"], true, "{}", sent.body);
    assert_eq!(receiver.received().len(), 1);

    let edited = app
        .patch_as(
            &alice,
            "/api/alert-channels/ch_old",
            &json!({"name": "old hook, resealed"}),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.body);
    let raw = app.store.get_channel("ch_old").await.unwrap().unwrap();
    assert_eq!(raw.key_id, "k2");
    let sent = app
        .post_as(&alice, "/api/alert-channels/ch_old/test", &json!({}))
        .await;
    assert_eq!(sent.json["sent"], true, "{}", sent.body);

    // New channels use the current key.
    let id = webhook_channel(&app, &alice, &receiver).await;
    assert_eq!(
        app.store.get_channel(&id).await.unwrap().unwrap().key_id,
        "k2"
    );
}

#[tokio::test]
async fn other_users_channels_are_not_found_and_the_monitor_role_only_reads() {
    let app = TestApp::spawn().await;
    let (admin, alice, bob) = alice_and_bob(&app).await;
    let watcher = app.user(&admin, "screen@example.com", "monitor").await;
    let receiver = Receiver::start().await;
    let id = webhook_channel(&app, &alice, &receiver).await;
    let path = format!("/api/alert-channels/{id}");
    let test_path = format!("{path}/test");

    for (method, p) in [
        (Method::GET, path.as_str()),
        (Method::PATCH, path.as_str()),
        (Method::DELETE, path.as_str()),
        (Method::POST, test_path.as_str()),
    ] {
        let reply = app
            .send_as(&bob, method, p, Some(&json!({"name": "mine"})))
            .await;
        assert_error(&reply, 404, "not_found");
    }
    assert_eq!(
        app.get_as(&bob, "/api/alert-channels").await.json["channels"],
        json!([])
    );

    let seen = app.get_as(&watcher, &path).await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert_eq!(seen.json["secret"], "****");
    for (method, p) in [
        (Method::PATCH, path.as_str()),
        (Method::DELETE, path.as_str()),
        (Method::POST, test_path.as_str()),
    ] {
        let reply = app
            .send_as(&watcher, method, p, Some(&json!({"name": "mine"})))
            .await;
        assert_error(&reply, 403, "read_only_role");
    }
    assert!(receiver.received().is_empty());
    assert_eq!(
        app.get_as(&admin, "/api/alert-channels").await.json["channels"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

// ---- OpenAPI -------------------------------------------------------------------------

/// The operations of the route groups monitors, alert channels, metrics and export, as
/// they go into `paths(...)` of `sentinel_api::openapi::ApiDoc`; the test checks that
/// the list covers every route of those groups.
#[cfg(test)]
mod openapi_paths {
    use std::collections::BTreeSet;

    use utoipa::OpenApi;

    use sentinel_api::openapi::CommonResponses;

    #[derive(OpenApi)]
    #[openapi(
        paths(
            sentinel_api::groups::monitors::list,
            sentinel_api::groups::monitors::create,
            sentinel_api::groups::monitors::test_input,
            sentinel_api::groups::monitors::get_test_alias,
            sentinel_api::groups::monitors::update_test_alias,
            sentinel_api::groups::monitors::delete_test_alias,
            sentinel_api::groups::monitors::get_one,
            sentinel_api::groups::monitors::update,
            sentinel_api::groups::monitors::remove,
            sentinel_api::groups::monitors::pause,
            sentinel_api::groups::monitors::resume,
            sentinel_api::groups::monitors::check_now,
            sentinel_api::groups::monitors::incidents,
            sentinel_api::groups::channels::list,
            sentinel_api::groups::channels::create,
            sentinel_api::groups::channels::get_one,
            sentinel_api::groups::channels::update,
            sentinel_api::groups::channels::remove,
            sentinel_api::groups::channels::send_test,
            sentinel_api::groups::metrics::pings,
            sentinel_api::groups::metrics::stats,
            sentinel_api::groups::metrics::series,
            sentinel_api::groups::export::export_csv,
            sentinel_api::groups::export::presigned_url,
            sentinel_api::groups::export::download,
        ),
        modifiers(&CommonResponses),
    )]
    struct Doc;

    /// `(path, method)` of every `.route(...)` in a source file.
    fn routes(source: &str) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for (start, _) in source.match_indices(".route(") {
            let text = &source[start + ".route(".len()..];
            let mut depth = 1;
            let end = text
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map(|(i, _)| i)
                .unwrap();
            let call = &text[..end];
            let path = call.split('"').nth(1).unwrap().replace("{*", "{");
            let methods = &call[call.find(',').unwrap()..];
            for method in ["get", "post", "patch", "delete", "put"] {
                if methods.contains(&format!("{method}(")) {
                    out.insert((path.clone(), method.to_owned()));
                }
            }
        }
        out
    }

    fn collect_refs(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("$ref", serde_json::Value::String(r)) => out.push(r.clone()),
                        _ => collect_refs(v, out),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_route_of_these_groups_is_documented_once_with_resolvable_schemas() {
        let doc = serde_json::to_value(Doc::openapi()).unwrap();
        let mut documented = BTreeSet::new();
        let mut ids = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                documented.insert((path.clone(), method.clone()));
                assert!(ids.insert(op["operationId"].as_str().unwrap().to_owned()));
            }
        }
        let mut routed = BTreeSet::new();
        for source in [
            include_str!("../src/groups/monitors.rs"),
            include_str!("../src/groups/channels.rs"),
            include_str!("../src/groups/metrics.rs"),
            include_str!("../src/groups/export.rs"),
        ] {
            routed.extend(routes(source));
        }
        assert_eq!(documented, routed);

        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        for r in refs {
            let name = r.rsplit('/').next().unwrap();
            let known = doc["components"]["schemas"].get(name).is_some()
                || doc["components"]["responses"].get(name).is_some()
                // The shared error responses live in the full document.
                || r.starts_with("#/components/responses/");
            assert!(known, "unresolved {r}");
        }
    }
}
