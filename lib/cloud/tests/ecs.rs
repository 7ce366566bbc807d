//! The AWS ECS path end to end on local servers: an account registered through the API
//! (PostgreSQL, external id sealed) → `Cloud::ecs_refresh` collects it from moto and
//! stores snapshots and incidents in DynamoDB → a service that loses its tasks puts one
//! `EcsHealthTransition` on the bus, whose rule feeds the notifications queue → the
//! notifier sends it to the admin's webhook and email channels once, and a redelivered
//! event sends nothing again.
//!
//! moto runs no tasks: a service that wants tasks has none running ("failed"); one
//! scaled to zero is healthy.

use std::collections::HashMap;
use std::time::Duration;

mod common;

use aws_sdk_ecs::types::{ContainerDefinition, LaunchType};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{MAIL_FROM, aws_infrastructure, mails_to, oncall, postgres_database, unique};
use http_body_util::BodyExt;
use sentinel_api::ApiSettings;
use sentinel_aws::{AwsConfig, SqsQueue};
use sentinel_cloud::handlers::{QueueMessage, ecs_collect, notify_messages};
use sentinel_cloud::{Cloud, CloudConfig};
use sentinel_core::ecs::Health;
use sentinel_pipeline::cloud::{BusEvent, bus_event_from_body};
use sentinel_store::{EcsIncidentStore, EcsSnapshotStore};
use sentinel_testkit::Receiver;
use sentinel_testkit::services;
use serde_json::{Value, json};
use tower::ServiceExt;

const JWT_SECRET: &str = "an-end-to-end-test-secret-of-enough-length";
const KEYS: &str = "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const REGION: &str = "us-east-1";

async fn call(
    app: &axum::Router,
    auth: Option<(&str, &str)>,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("x-forwarded-for", "203.0.113.9");
    if let Some((token, csrf)) = auth {
        req = req
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header("x-csrf-token", csrf)
            .header(header::COOKIE, format!("sentinel_csrf={csrf}"));
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn drain(queue: &SqsQueue) -> Vec<QueueMessage> {
    let mut out = Vec::new();
    loop {
        let got = queue.receive(10, Duration::from_secs(0)).await.unwrap();
        if got.is_empty() {
            return out;
        }
        for m in got {
            queue.delete(&m.receipt_handle).await.unwrap();
            out.push(QueueMessage {
                id: m.message_id,
                body: m.body,
            });
        }
    }
}

/// A 12-digit account id of this test run only.
fn fresh_account_id() -> String {
    let digits: String = unique("").chars().filter(char::is_ascii_digit).collect();
    format!("8{:0>11}", &digits[digits.len().saturating_sub(11)..])
}

fn role_arn(account_id: &str) -> String {
    format!("arn:aws:iam::{account_id}:role/sentinel-reader")
}

/// ECS clients signed as `account_id` (a role assumed on moto), to seed it.
async fn seeding_ecs(aws: &AwsConfig, account_id: &str) -> aws_sdk_ecs::Client {
    aws.assuming_role(&role_arn(account_id), "sentinel-test-seed")
        .await
        .unwrap()
        .ecs()
}

async fn create_service(ecs: &aws_sdk_ecs::Client, cluster: &str, desired: i32) {
    ecs.create_service()
        .cluster(cluster)
        .service_name("api")
        .task_definition("api")
        .desired_count(desired)
        .launch_type(LaunchType::Ec2)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ecs_service_that_fails_alerts_the_admins_once_through_the_bus() {
    let endpoint = services::aws_endpoint();
    let aws = AwsConfig::emulator(endpoint).await;
    let infra = aws_infrastructure(&aws).await;
    let env: HashMap<&str, String> = HashMap::from([
        ("POSTGRES_URL", postgres_database().await),
        ("MONGODB_URI", services::mongodb_uri().to_owned()),
        ("MONGODB_DATABASE", unique("ecs").replace('-', "_")),
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
    let cloud = Cloud::connect(CloudConfig::from_lookup(lookup).unwrap(), aws.clone())
        .await
        .unwrap();
    let settings = ApiSettings::from_lookup(lookup).unwrap();
    let refresh = cloud
        .ecs_refresh(&settings)
        .unwrap()
        .expect("the round is wired");

    // No account yet: the collector function's answer the lambda invoke test expects.
    let empty = ecs_collect(refresh.as_ref(), sentinel_pipeline::now_ms())
        .await
        .unwrap();
    assert!(empty.collected);
    assert_eq!(empty.report.as_ref().map(|r| r.accounts), Some(0));

    // The API: the first user is the admin; a webhook and an email channel.
    let state = cloud.app_state(settings.clone()).unwrap();
    let app = sentinel_api::middleware::layers(
        sentinel_api::with_fallbacks(sentinel_api::groups::all_routes()),
        &state,
    )
    .with_state(state);
    let credentials = json!({"email": "admin@example.com", "password": "correct horse battery"});
    let (status, _) = call(
        &app,
        None,
        "POST",
        "/api/auth/register",
        Some(credentials.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, login) = call(&app, None, "POST", "/api/auth/login", Some(credentials)).await;
    assert_eq!(status, StatusCode::OK, "{login}");
    let token = login["accessToken"].as_str().unwrap().to_owned();
    let csrf = login["csrfToken"].as_str().unwrap().to_owned();
    let auth = Some((token.as_str(), csrf.as_str()));
    let receiver = Receiver::start().await;
    let oncall = oncall();
    for channel in [
        json!({"name": "ops-hook", "type": "webhook", "url": receiver.url(),
                "secret": "a-webhook-signing-secret"}),
        json!({"name": "oncall-mail", "type": "email", "to": [&oncall]}),
    ] {
        let (status, body) = call(&app, auth, "POST", "/api/alert-channels", Some(channel)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    // A watched account of its own in moto, with one healthy service (0 tasks wanted).
    let account_id = fresh_account_id();
    let ecs = seeding_ecs(&aws, &account_id).await;
    let cluster = unique("ecs-wire");
    ecs.create_cluster()
        .cluster_name(&cluster)
        .send()
        .await
        .unwrap();
    ecs.register_task_definition()
        .family("api")
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("nginx:1.27")
                .memory(128)
                .build(),
        )
        .send()
        .await
        .unwrap();
    create_service(&ecs, &cluster, 0).await;
    let (status, body) = call(
        &app,
        auth,
        "POST",
        "/api/ecs/accounts",
        Some(
            json!({"role_arn": role_arn(&account_id), "external_id": "wire-ext-id",
                    "regions": [REGION]}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let t0 = sentinel_pipeline::now_ms();
    let report = refresh.refresh(t0).await.unwrap();
    assert_eq!(report.accounts, 1, "{report:?}");
    assert!(report.failed_accounts.is_empty(), "{report:?}");
    let mine = |s: &sentinel_core::ecs::ServiceSnapshot| s.key.account_id == account_id;
    let snapshots: Vec<_> = cloud
        .table
        .list_snapshots()
        .await
        .unwrap()
        .into_iter()
        .filter(mine)
        .collect();
    assert_eq!(snapshots.len(), 1, "the snapshot is in DynamoDB");
    assert_eq!(snapshots[0].health, Health::Healthy);
    let notifications = SqsQueue::new(aws.sqs(), infra.notifications_url.clone());
    assert!(drain(&notifications).await.is_empty(), "healthy: no event");

    // Replaced by one that wants 2 tasks and has none running: failed.
    ecs.delete_service()
        .cluster(&cluster)
        .service("api")
        .force(true)
        .send()
        .await
        .unwrap();
    create_service(&ecs, &cluster, 2).await;
    refresh.refresh(t0 + 60_000).await.unwrap();
    let incidents = cloud.table.list_ecs_incidents(10).await.unwrap();
    let incident = incidents
        .iter()
        .find(|i| i.key.account_id == account_id)
        .expect("an incident in DynamoDB");
    assert_eq!((incident.health, incident.ended_at), (Health::Failed, None));

    let mut events = Vec::new();
    for _ in 0..20 {
        events.extend(drain(&notifications).await);
        if !events.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(events.len(), 1, "one event: {events:?}");
    let Ok(BusEvent::Ecs(transition)) = bus_event_from_body(&events[0].body) else {
        panic!("not an ECS transition: {}", events[0].body);
    };
    assert_eq!(transition.incident_id, incident.id);
    assert_eq!(
        (transition.from, transition.to),
        (Health::Healthy, Health::Failed)
    );

    let notifier = cloud.notifier(&settings).unwrap();
    let now = sentinel_pipeline::now_ms();
    assert!(notify_messages(&notifier, &events, now).await.is_empty());
    let hooks = receiver.received();
    assert_eq!(hooks.len(), 1, "one webhook");
    assert_eq!(hooks[0].json()["event"], "ecs_failed");
    assert_eq!(hooks[0].json()["incident_id"], incident.id.as_str());
    let subject = format!("{cluster}/api");
    assert_eq!(
        mails_to(endpoint, &oncall, &subject).await.len(),
        1,
        "one mail"
    );

    // Redelivered: nothing sent twice; a round that sees it still failed publishes none.
    assert!(notify_messages(&notifier, &events, now).await.is_empty());
    refresh.refresh(t0 + 120_000).await.unwrap();
    assert!(
        drain(&notifications).await.is_empty(),
        "still failed: no event"
    );
    assert_eq!(receiver.received().len(), 1, "no second webhook");
    assert_eq!(
        mails_to(endpoint, &oncall, &subject).await.len(),
        1,
        "no second mail"
    );
}
