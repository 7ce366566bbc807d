//! The AWS path end to end on local servers: a monitor created through the API lands in
//! PostgreSQL → the scheduler queues its jobs in SQS (moto) → the prober checks a real
//! target and records to MongoDB (SecantusDB) and DynamoDB (moto) → transitions go to
//! the EventBridge bus, whose rule feeds the notifications queue → the notifier sends
//! a signed webhook and an SES email (visible in moto). Down alerts once, recovery
//! alerts once, redelivered jobs change nothing, and a MongoDB outage mid-run loses
//! nothing once the server is back.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{MAIL_FROM, Mongo, aws_infrastructure, mails_to, oncall, postgres_database};
use http_body_util::BodyExt;
use sentinel_api::ApiSettings;
use sentinel_aws::{AwsConfig, SqsQueue};
use sentinel_cloud::handlers::{QueueMessage, notify_messages, probe_messages, schedule_minute};
use sentinel_cloud::{Cloud, CloudConfig};
use sentinel_core::MonitorId;
use sentinel_pipeline::CheckStage;
use sentinel_pipeline::cloud::ProbeWorker;
use sentinel_store::{LiveStateStore, PingLog};
use sentinel_testkit::services;
use sentinel_testkit::{Receiver, Target};
use serde_json::{Value, json};
use tower::ServiceExt;

const JWT_SECRET: &str = "an-end-to-end-test-secret-of-enough-length";
const KEYS: &str = "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const MINUTE: i64 = 60_000;

struct Api {
    app: axum::Router,
    token: String,
    csrf: String,
}

impl Api {
    async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("x-forwarded-for", "203.0.113.7");
        if !self.token.is_empty() {
            req = req
                .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
                .header("x-csrf-token", &self.csrf)
                .header(header::COOKIE, format!("sentinel_csrf={}", self.csrf));
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

async fn drain(queue: &SqsQueue) -> Vec<(QueueMessage, String)> {
    let mut out = Vec::new();
    loop {
        let got = queue.receive(10, Duration::from_secs(0)).await.unwrap();
        if got.is_empty() {
            return out;
        }
        out.extend(got.into_iter().map(|m| {
            (
                QueueMessage {
                    id: m.message_id,
                    body: m.body,
                },
                m.receipt_handle,
            )
        }));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monitor_goes_down_and_recovers_through_the_aws_pipeline() {
    let endpoint = services::aws_endpoint();
    let aws = AwsConfig::emulator(endpoint).await;
    let infra = aws_infrastructure(&aws).await;
    let postgres_url = postgres_database().await;
    let mut mongo = Mongo::start();
    let env: HashMap<&str, String> = HashMap::from([
        ("POSTGRES_URL", postgres_url),
        ("MONGODB_URI", mongo.uri()),
        ("MONGODB_DATABASE", "sentinel".into()),
        ("TABLE_NAME", infra.table.clone()),
        ("CHECKS_QUEUE_URL", infra.checks_url.clone()),
        ("EVENT_BUS_NAME", infra.bus.clone()),
        ("MAIL_FROM", MAIL_FROM.into()),
        ("ALLOW_PRIVATE_TARGETS", "true".into()),
        ("JWT_SECRET", JWT_SECRET.into()),
        ("ENCRYPTION_KEYS", KEYS.into()),
        ("FRONTEND_URL", "https://status.example.com".into()),
    ]);
    let lookup = |name: &str| env.get(name).cloned();
    let config = CloudConfig::from_lookup(lookup).unwrap();
    let cloud = Cloud::connect(config, aws.clone()).await.unwrap();
    cloud.pings.ensure_schema().await.unwrap();
    let settings = ApiSettings::from_lookup(lookup).unwrap();

    // The monitors function: register (first user = admin), channels, a monitor.
    let state = cloud.app_state(settings.clone()).unwrap();
    let app = sentinel_api::middleware::layers(
        sentinel_api::with_fallbacks(sentinel_api::groups::all_routes()),
        &state,
    )
    .with_state(state);
    let mut api = Api {
        app,
        token: String::new(),
        csrf: String::new(),
    };
    let credentials = json!({"email": "owner@example.com", "password": "correct horse battery"});
    let (status, _) = api
        .call("POST", "/api/auth/register", Some(credentials.clone()))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, login) = api.call("POST", "/api/auth/login", Some(credentials)).await;
    assert_eq!(status, StatusCode::OK, "{login}");
    api.token = login["accessToken"].as_str().unwrap().to_owned();
    api.csrf = login["csrfToken"].as_str().unwrap().to_owned();

    let oncall = oncall();
    let receiver = Receiver::start().await;
    let (status, body) = api
        .call(
            "POST",
            "/api/alert-channels",
            Some(
                json!({"name": "ops-hook", "type": "webhook", "url": receiver.url(),
                        "secret": "a-webhook-signing-secret"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = api
        .call(
            "POST",
            "/api/alert-channels",
            Some(json!({"name": "oncall-mail", "type": "email", "to": [&oncall]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let target = Target::start().await;
    let (status, body) = api
        .call(
            "POST",
            "/api/monitors",
            Some(
                json!({"id": "shop", "name": "Shop", "url": target.url(), "interval": "60s",
                        "conditions": ["[STATUS] == 200"], "failure_threshold": 2}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // The pipeline functions' handlers over the same adapters.
    let checks = cloud.checks_queue().unwrap();
    let notifications = SqsQueue::new(aws.sqs(), infra.notifications_url.clone());
    let stage = CheckStage::new(Arc::clone(&cloud.stores), cloud.prober().unwrap(), 8);
    let worker = ProbeWorker::new(stage, Arc::new(cloud.transition_sink().unwrap()), 8);
    let notifier = cloud.notifier(&settings).unwrap();
    let shop = MonitorId::parse("shop").unwrap();
    let t0 = sentinel_pipeline::now_ms() - sentinel_pipeline::now_ms() % MINUTE;

    // One minute of the pipeline; returns the check messages it processed.
    let minute = |m: i64| {
        let cloud = &cloud;
        let checks = &checks;
        let notifications = &notifications;
        let worker = &worker;
        let notifier = &notifier;
        async move {
            let at = t0 + m * MINUTE;
            // Planned after the minute: every delay is zero, nothing to wait for.
            let report = schedule_minute(&cloud.stores, checks, at, at + MINUTE, 15)
                .await
                .unwrap();
            assert_eq!(report.checks, 1);
            let received = drain(checks).await;
            let messages: Vec<QueueMessage> = received.iter().map(|(m, _)| m.clone()).collect();
            let failed = probe_messages(worker, &messages).await;
            for (message, receipt) in &received {
                if !failed.contains(&message.id) {
                    checks.delete(receipt).await.unwrap();
                }
            }
            let events = drain(notifications).await;
            let event_messages: Vec<QueueMessage> = events.iter().map(|(m, _)| m.clone()).collect();
            let failed_alerts =
                notify_messages(notifier, &event_messages, sentinel_pipeline::now_ms()).await;
            assert!(failed_alerts.is_empty(), "alerts failed: {failed_alerts:?}");
            for (_, receipt) in &events {
                notifications.delete(receipt).await.unwrap();
            }
            (messages, failed)
        }
    };

    for m in 0..3 {
        let (_, failed) = minute(m).await;
        assert!(failed.is_empty());
    }
    let state = cloud.stores.get_state(&shop).await.unwrap().unwrap();
    assert_eq!(state.status, sentinel_core::Status::Up);
    assert!(receiver.received().is_empty(), "no alert while up");

    // Down: two failures (threshold 2) → exactly one down alert, by webhook and mail.
    target.set_healthy(false);
    let mut last = Vec::new();
    for m in 3..6 {
        let (messages, failed) = minute(m).await;
        assert!(failed.is_empty());
        last = messages;
    }
    let hooks = receiver.received();
    assert_eq!(hooks.len(), 1, "one down webhook");
    assert_eq!(hooks[0].json()["event"], "down");
    assert_eq!(
        mails_to(endpoint, &oncall, "is down").await.len(),
        1,
        "one down mail"
    );

    // A check job delivered again: no second ping, no second alert.
    let pings_before = cloud
        .stores
        .history(&shop, 0, i64::MAX, 10_000)
        .await
        .unwrap()
        .len();
    assert!(probe_messages(&worker, &last).await.is_empty());
    let events = drain(&notifications).await;
    let event_messages: Vec<QueueMessage> = events.iter().map(|(m, _)| m.clone()).collect();
    assert!(
        notify_messages(&notifier, &event_messages, sentinel_pipeline::now_ms())
            .await
            .is_empty()
    );
    let pings_after = cloud
        .stores
        .history(&shop, 0, i64::MAX, 10_000)
        .await
        .unwrap()
        .len();
    assert_eq!(pings_before, pings_after, "a redelivered job adds no ping");
    assert_eq!(receiver.received().len(), 1, "and no alert");

    // MongoDB dies mid-run: the job fails (stays in the queue), nothing is lost once
    // it is back.
    target.set_healthy(true);
    mongo.kill();
    let (_, failed) = minute(6).await;
    assert_eq!(failed.len(), 1, "the job is left for redelivery");
    assert_eq!(
        receiver.received().len(),
        1,
        "no recovery without a record of it"
    );
    mongo.restart();
    tokio::time::sleep(Duration::from_millis(1500)).await; // the visibility timeout
    let redelivered = drain(&checks).await;
    assert_eq!(redelivered.len(), 1, "SQS hands the failed job back");
    let messages: Vec<QueueMessage> = redelivered.iter().map(|(m, _)| m.clone()).collect();
    assert!(probe_messages(&worker, &messages).await.is_empty());
    checks.delete(&redelivered[0].1).await.unwrap();
    let events = drain(&notifications).await;
    let event_messages: Vec<QueueMessage> = events.iter().map(|(m, _)| m.clone()).collect();
    assert!(
        notify_messages(&notifier, &event_messages, sentinel_pipeline::now_ms())
            .await
            .is_empty()
    );
    for (_, receipt) in &events {
        notifications.delete(receipt).await.unwrap();
    }

    // Recovered: exactly one recovery alert, for the same incident.
    for m in 7..9 {
        let (_, failed) = minute(m).await;
        assert!(failed.is_empty());
    }
    let hooks = receiver.received();
    assert_eq!(
        hooks
            .iter()
            .map(|h| h.json()["event"].clone())
            .collect::<Vec<_>>(),
        [json!("down"), json!("recovered")]
    );
    assert_eq!(
        hooks[0].json()["incident_id"],
        hooks[1].json()["incident_id"]
    );
    assert_eq!(
        mails_to(endpoint, &oncall, "is up again").await.len(),
        1,
        "one recovery mail"
    );
    assert_eq!(
        mails_to(endpoint, &oncall, "is down").await.len(),
        1,
        "still one down mail"
    );

    let pings = cloud
        .stores
        .history(&shop, 0, i64::MAX, 10_000)
        .await
        .unwrap();
    assert_eq!(
        pings.len(),
        9,
        "one ping per scheduled minute, none lost, none doubled"
    );
    let state = cloud.stores.get_state(&shop).await.unwrap().unwrap();
    assert_eq!(state.status, sentinel_core::Status::Up);
}
