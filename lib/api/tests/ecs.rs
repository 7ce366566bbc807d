//! Route group `ecs` end to end: the app on a port over an in-memory SQLite store (the
//! real account and snapshot stores), every route under every role, validation,
//! sealing of external ids, grouping of snapshots, and refresh through a scripted
//! collector (the collection round itself is tested in `sentinel-pipeline`).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use reqwest::Method;
use sentinel_api::crypto;
use sentinel_core::UnixMs;
use sentinel_core::ecs::{
    Deployment, EcsMetric, Health, MetricPoint, RolloutState, ServiceEvent, ServiceKey,
    ServiceSnapshot,
};
use sentinel_pipeline::ecs::{EcsRefresh, EcsRefreshError, EcsRefreshReport, FailedAccount};
use sentinel_store::{EcsAccountStore, EcsSnapshotStore};
use serde_json::{Value, json};
use support::{Session, TestApp};

const ROLE: &str = "arn:aws:iam::210987654321:role/SentinelReadOnly";
const REMOTE: &str = "210987654321";
const LOCAL: &str = "123456789012";
const EXTERNAL_ID: &str = "sentinel-ext-7f3a9c";

fn now() -> UnixMs {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn deployment(status: &str, rollout: Option<RolloutState>) -> Deployment {
    Deployment {
        id: format!("ecs-svc/{status}"),
        status: status.into(),
        rollout_state: rollout,
        rollout_state_reason: None,
        task_definition: "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7".into(),
        desired_count: 2,
        running_count: 2,
        pending_count: 0,
        failed_tasks: 0,
        launch_type: Some("FARGATE".into()),
        created_at: Some(now() - 60_000),
        updated_at: Some(now() - 30_000),
    }
}

fn snapshot(account: &str, region: &str, cluster: &str, service: &str) -> ServiceSnapshot {
    ServiceSnapshot {
        key: ServiceKey {
            account_id: account.into(),
            region: region.into(),
            cluster: cluster.into(),
            service: service.into(),
        },
        cluster_arn: format!("arn:aws:ecs:{region}:{account}:cluster/{cluster}"),
        service_arn: format!("arn:aws:ecs:{region}:{account}:service/{cluster}/{service}"),
        status: "ACTIVE".into(),
        desired_count: 2,
        running_count: 2,
        pending_count: 0,
        task_definition: format!("arn:aws:ecs:{region}:{account}:task-definition/{service}:7"),
        launch_type: Some("FARGATE".into()),
        deployments: vec![
            deployment("ACTIVE", Some(RolloutState::Completed)),
            deployment("PRIMARY", Some(RolloutState::InProgress)),
        ],
        events: vec![ServiceEvent {
            id: "e1".into(),
            created_at: now() - 10_000,
            message: format!("(service {service}) has reached a steady state."),
        }],
        collected_at: now(),
        health: Health::Healthy,
        health_reason: "2 of 2 tasks running".into(),
    }
}

/// Stores snapshots of one account and region as a collection would.
async fn collect(app: &TestApp, account: &str, region: &str, snapshots: &[ServiceSnapshot]) {
    app.store
        .replace_snapshots(account, region, snapshots, now())
        .await
        .expect("snapshots stored");
}

async fn admin_app() -> (TestApp, Session) {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    (app, admin)
}

async fn create(app: &TestApp, admin: &Session, body: Value) -> Value {
    let reply = app.post_as(admin, "/api/ecs/accounts", &body).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json
}

fn remote_body() -> Value {
    json!({"name": "prod", "role_arn": ROLE, "external_id": EXTERNAL_ID, "regions": ["eu-west-1", "us-east-1"]})
}

const READ_PATHS: [&str; 5] = [
    "/api/ecs/clusters",
    "/api/ecs/aliases",
    "/api/ecs/accounts",
    "/api/ecs/settings",
    "/api/ecs/service-details?account=123456789012&region=eu-west-1&cluster=prod&service=web",
];

#[tokio::test]
async fn admins_register_accounts_and_the_external_id_is_sealed_and_never_returned() {
    let (app, admin) = admin_app().await;
    let local = create(&app, &admin, json!({"regions": ["eu-west-1"]})).await;
    assert_eq!(local["role_arn"], Value::Null);
    assert_eq!(local["account_id"], Value::Null, "unknown until collected");
    assert_eq!(local["has_external_id"], false);
    assert!(local["id"].as_str().unwrap().starts_with("ecs_"));

    let remote = create(&app, &admin, remote_body()).await;
    assert_eq!(remote["account_id"], REMOTE, "read from the role ARN");
    assert_eq!(remote["name"], "prod");
    assert_eq!(remote["has_external_id"], true);
    assert_eq!(remote["regions"], json!(["eu-west-1", "us-east-1"]));
    assert!(remote.get("external_id").is_none(), "{remote}");
    assert!(!remote.to_string().contains(EXTERNAL_ID));

    let listed = app.get_as(&admin, "/api/ecs/accounts").await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.json["accounts"].as_array().unwrap().len(), 2);
    assert_eq!(listed.json["accounts"][0]["id"], local["id"]);
    assert!(!listed.body.contains(EXTERNAL_ID));

    let record = app
        .store
        .get_ecs_account(remote["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    let sealed = record.external_id.expect("stored");
    assert_eq!(sealed.key_id, "k1");
    assert!(
        !sealed
            .ciphertext
            .windows(EXTERNAL_ID.len())
            .any(|w| w == EXTERNAL_ID.as_bytes()),
        "stored in clear"
    );
    let opened = crypto::open(
        &app.state.settings.encryption,
        &sealed.key_id,
        &sealed.ciphertext,
    )
    .unwrap();
    assert_eq!(opened, EXTERNAL_ID.as_bytes());
    let open = sentinel_api::groups::ecs::external_id_opener(app.state.settings.encryption.clone());
    assert_eq!(
        open(&sentinel_store::SealedSecret {
            ciphertext: sealed.ciphertext,
            key_id: sealed.key_id
        })
        .unwrap(),
        EXTERNAL_ID
    );
}

#[tokio::test]
async fn a_second_local_account_or_a_role_watched_twice_conflicts() {
    let (app, admin) = admin_app().await;
    create(&app, &admin, json!({"regions": ["eu-west-1"]})).await;
    let again = app
        .post_as(
            &admin,
            "/api/ecs/accounts",
            &json!({"regions": ["us-east-1"]}),
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(again.code(), "conflict");
    assert_eq!(again.json["error"]["field"], "role_arn");

    let first = create(&app, &admin, remote_body()).await;
    let twice = app
        .post_as(
            &admin,
            "/api/ecs/accounts",
            &json!({"role_arn": ROLE, "regions": ["eu-west-1"]}),
        )
        .await;
    assert_eq!(twice.status, 409, "{}", twice.body);
    assert!(
        twice.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains(ROLE)
    );

    // Moving another account onto a taken role conflicts too.
    let other = create(
        &app,
        &admin,
        json!({"role_arn": "arn:aws:iam::111111111111:role/r", "regions": ["eu-west-1"]}),
    )
    .await;
    let path = format!("/api/ecs/accounts/{}", other["id"].as_str().unwrap());
    let moved = app
        .put_as(
            &admin,
            &path,
            &json!({"role_arn": ROLE, "regions": ["eu-west-1"]}),
        )
        .await;
    assert_eq!(moved.status, 409, "{}", moved.body);
    assert_ne!(first["id"], other["id"]);
}

#[tokio::test]
async fn invalid_accounts_are_refused_field_by_field() {
    let (app, admin) = admin_app().await;
    let cases = [
        (
            json!({"role_arn": "arn:aws:iam::12345:role/x", "regions": ["eu-west-1"]}),
            vec!["role_arn"],
        ),
        (
            json!({"external_id": "abcdef", "regions": ["eu-west-1"]}),
            vec!["external_id"],
        ),
        (
            json!({"role_arn": ROLE, "external_id": "a b", "regions": ["eu-west-1"]}),
            vec!["external_id"],
        ),
        (json!({"regions": []}), vec!["regions"]),
        (
            json!({"regions": ["eu-west-1", "Mars"]}),
            vec!["regions[1]"],
        ),
        (
            json!({"name": "x".repeat(101), "regions": ["eu-west-1"]}),
            vec!["name"],
        ),
        (
            json!({"role_arn": "nope", "external_id": "x", "regions": ["EU"]}),
            vec!["role_arn", "external_id", "regions[0]"],
        ),
        (json!({"name": "no regions"}), vec!["regions"]),
        (
            json!({"regions": ["eu-west-1"], "secret": 1}),
            vec!["secret"],
        ),
        (json!({"regions": "eu-west-1"}), vec!["regions"]),
    ];
    for (body, fields) in cases {
        let reply = app.post_as(&admin, "/api/ecs/accounts", &body).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
        assert_eq!(reply.code(), "invalid_input", "{body}");
        let reported: Vec<&str> = reply.json["error"]["fields"]
            .as_array()
            .map(|fs| fs.iter().filter_map(|f| f["field"].as_str()).collect())
            .unwrap_or_else(|| vec![reply.json["error"]["field"].as_str().unwrap_or("")]);
        for field in &fields {
            assert!(
                reported.contains(field),
                "{body}: wanted {field} in {reported:?}"
            );
        }
    }
    assert!(app.store.list_ecs_accounts().await.unwrap().is_empty());

    let created = create(&app, &admin, remote_body()).await;
    let path = format!("/api/ecs/accounts/{}", created["id"].as_str().unwrap());
    let bad = app
        .put_as(
            &admin,
            &path,
            &json!({"role_arn": ROLE, "regions": ["nowhere"]}),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(bad.json["error"]["field"], "regions[0]");
}

#[tokio::test]
async fn updates_keep_clear_or_replace_the_external_id() {
    let (app, admin) = admin_app().await;
    let created = create(&app, &admin, remote_body()).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/api/ecs/accounts/{id}");
    let sealed = |app: &TestApp| {
        let store = Arc::clone(&app.store);
        let id = id.clone();
        async move {
            store
                .get_ecs_account(&id)
                .await
                .unwrap()
                .unwrap()
                .external_id
        }
    };
    let before = sealed(&app).await.expect("sealed");

    let kept = app
        .put_as(
            &admin,
            &path,
            &json!({"name": "production", "role_arn": ROLE, "regions": ["eu-central-1"]}),
        )
        .await;
    assert_eq!(kept.status, 200, "{}", kept.body);
    assert_eq!(kept.json["name"], "production");
    assert_eq!(kept.json["regions"], json!(["eu-central-1"]));
    assert_eq!(kept.json["has_external_id"], true);
    assert_eq!(
        sealed(&app).await.as_ref(),
        Some(&before),
        "omitted keeps it"
    );

    let replaced = app
        .put_as(
            &admin,
            &path,
            &json!({"role_arn": ROLE, "external_id": "other-id-42", "regions": ["eu-central-1"]}),
        )
        .await;
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    let now_sealed = sealed(&app).await.expect("sealed");
    assert_ne!(now_sealed, before);
    let plain = crypto::open(
        &app.state.settings.encryption,
        &now_sealed.key_id,
        &now_sealed.ciphertext,
    )
    .unwrap();
    assert_eq!(plain, b"other-id-42");
    assert!(replaced.json["name"].is_null(), "PUT replaces the name too");

    let cleared = app
        .put_as(
            &admin,
            &path,
            &json!({"role_arn": ROLE, "external_id": "", "regions": ["eu-central-1"]}),
        )
        .await;
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    assert_eq!(cleared.json["has_external_id"], false);
    assert_eq!(sealed(&app).await, None);

    // What a collection learned survives an edit.
    app.store
        .record_ecs_collection(&id, Some(REMOTE), Some("acme-prod"), now(), None)
        .await
        .unwrap();
    let edited = app
        .put_as(
            &admin,
            &path,
            &json!({"role_arn": ROLE, "regions": ["eu-west-1"]}),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.body);
    assert_eq!(edited.json["alias"], "acme-prod");
    assert!(edited.json["last_collected_at"].is_i64());

    let missing = app
        .put_as(
            &admin,
            "/api/ecs/accounts/ecs_nope",
            &json!({"regions": ["eu-west-1"]}),
        )
        .await;
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert_eq!(missing.code(), "not_found");
}

#[tokio::test]
async fn deleting_an_account_deletes_its_snapshots() {
    let (app, admin) = admin_app().await;
    let remote = create(&app, &admin, remote_body()).await;
    let local = create(&app, &admin, json!({"regions": ["eu-west-1"]})).await;
    app.store
        .record_ecs_collection(
            local["id"].as_str().unwrap(),
            Some(LOCAL),
            None,
            now(),
            None,
        )
        .await
        .unwrap();
    collect(
        &app,
        REMOTE,
        "eu-west-1",
        &[snapshot(REMOTE, "eu-west-1", "prod", "web")],
    )
    .await;
    collect(
        &app,
        LOCAL,
        "eu-west-1",
        &[snapshot(LOCAL, "eu-west-1", "dev", "api")],
    )
    .await;

    let path = format!("/api/ecs/accounts/{}", remote["id"].as_str().unwrap());
    let reply = app.delete_as(&admin, &path).await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    let left = app.store.list_snapshots().await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].key.account_id, LOCAL, "other accounts keep theirs");
    assert_eq!(app.store.list_ecs_accounts().await.unwrap().len(), 1);

    let again = app.delete_as(&admin, &path).await;
    assert_eq!(again.status, 404, "{}", again.body);
}

#[tokio::test]
async fn clusters_group_snapshots_by_account_region_and_cluster() {
    let (app, admin) = admin_app().await;
    let remote = create(&app, &admin, remote_body()).await;
    app.store
        .record_ecs_collection(
            remote["id"].as_str().unwrap(),
            Some(REMOTE),
            Some("acme-prod"),
            now(),
            Some("us-east-1: AccessDenied"),
        )
        .await
        .unwrap();
    let mut degraded = snapshot(REMOTE, "eu-west-1", "prod", "api");
    degraded.running_count = 1;
    degraded.health = Health::Degraded;
    degraded.health_reason = "1 of 2 tasks running".into();
    degraded.deployments = vec![deployment("PRIMARY", None)];
    collect(
        &app,
        REMOTE,
        "eu-west-1",
        &[
            snapshot(REMOTE, "eu-west-1", "prod", "web"),
            degraded,
            snapshot(REMOTE, "eu-west-1", "batch", "worker"),
        ],
    )
    .await;
    collect(
        &app,
        REMOTE,
        "us-east-1",
        &[snapshot(REMOTE, "us-east-1", "edge", "cdn")],
    )
    .await;
    // An account Sentinel no longer knows the alias of falls back to its id.
    collect(
        &app,
        LOCAL,
        "eu-west-1",
        &[snapshot(LOCAL, "eu-west-1", "dev", "web")],
    )
    .await;

    let reply = app.get_as(&admin, "/api/ecs/clusters").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let clusters = reply.json["clusters"].as_array().unwrap();
    let order: Vec<String> = clusters
        .iter()
        .map(|c| {
            format!(
                "{}/{}/{}",
                c["account_id"].as_str().unwrap(),
                c["region"].as_str().unwrap(),
                c["cluster"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            "123456789012/eu-west-1/dev",
            "210987654321/eu-west-1/batch",
            "210987654321/eu-west-1/prod",
            "210987654321/us-east-1/edge",
        ]
    );
    assert_eq!(clusters[0]["alias"], LOCAL);
    let prod = &clusters[2];
    assert_eq!(prod["alias"], "acme-prod");
    assert_eq!(
        prod["cluster_arn"],
        "arn:aws:ecs:eu-west-1:210987654321:cluster/prod"
    );
    let services: Vec<&str> = prod["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service"].as_str().unwrap())
        .collect();
    assert_eq!(services, ["api", "web"]);
    let api = &prod["services"][0];
    assert_eq!(api["health"], "degraded");
    assert_eq!(api["health_reason"], "1 of 2 tasks running");
    assert_eq!(api["running_count"], 1);
    assert_eq!(api["rollout_state"], Value::Null);
    assert_eq!(api["launch_type"], "FARGATE");
    assert!(api["collected_at"].is_i64());
    assert_eq!(
        prod["services"][1]["rollout_state"], "IN_PROGRESS",
        "the primary deployment's"
    );

    let accounts = reply.json["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0]["alias"], "acme-prod");
    assert_eq!(accounts[0]["last_error"], "us-east-1: AccessDenied");
    assert!(!reply.body.contains(EXTERNAL_ID));

    let aliases = app.get_as(&admin, "/api/ecs/aliases").await;
    assert_eq!(aliases.status, 200, "{}", aliases.body);
    assert_eq!(
        aliases.json,
        json!({"aliases": [{"account_id": REMOTE, "alias": "acme-prod"}]})
    );
}

#[tokio::test]
async fn aliases_fall_back_to_the_account_id() {
    let (app, admin) = admin_app().await;
    create(&app, &admin, remote_body()).await;
    create(&app, &admin, json!({"regions": ["eu-west-1"]})).await;
    let reply = app.get_as(&admin, "/api/ecs/aliases").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json,
        json!({"aliases": [{"account_id": REMOTE, "alias": REMOTE}]}),
        "the local account's id is unknown until collected"
    );
}

#[tokio::test]
async fn service_details_answer_the_snapshot_and_its_history_in_range() {
    let (app, admin) = admin_app().await;
    let snap = snapshot(LOCAL, "eu-west-1", "prod", "web");
    collect(&app, LOCAL, "eu-west-1", std::slice::from_ref(&snap)).await;
    let t = now();
    let point = |minutes_ago: i64, value: f64| MetricPoint {
        at: t - minutes_ago * 60_000,
        average: value,
        maximum: value + 10.0,
    };
    let cpu = [point(3 * 60, 11.0), point(30, 22.0), point(5, 33.0)];
    app.store
        .append_metrics(&snap.key, EcsMetric::Cpu, &cpu)
        .await
        .unwrap();
    app.store
        .append_metrics(
            &snap.key,
            EcsMetric::Memory,
            &[point(2 * 86_400 / 60, 44.0), point(10, 55.0)],
        )
        .await
        .unwrap();

    let base =
        "/api/ecs/service-details?account=123456789012&region=eu-west-1&cluster=prod&service=web";
    let day = app.get_as(&admin, base).await;
    assert_eq!(day.status, 200, "{}", day.body);
    assert_eq!(day.json["range"], "24h");
    assert_eq!(day.json["service"]["service"], "web");
    assert_eq!(day.json["service"]["account_id"], LOCAL);
    assert_eq!(day.json["service"]["service_arn"], snap.service_arn);
    assert_eq!(
        day.json["service"]["deployments"].as_array().unwrap().len(),
        2
    );
    assert_eq!(day.json["service"]["events"][0]["id"], "e1");
    let averages = |reply: &support::Reply, series: &str| -> Vec<f64> {
        reply.json[series]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["average"].as_f64().unwrap())
            .collect()
    };
    assert_eq!(averages(&day, "cpu"), [11.0, 22.0, 33.0]);
    assert_eq!(averages(&day, "memory"), [55.0]);
    assert_eq!(day.json["cpu"][2]["maximum"], 43.0);

    let hour = app.get_as(&admin, &format!("{base}&range=1h")).await;
    assert_eq!(hour.status, 200, "{}", hour.body);
    assert_eq!(hour.json["range"], "1h");
    assert_eq!(averages(&hour, "cpu"), [22.0, 33.0]);
    let week = app.get_as(&admin, &format!("{base}&range=7d")).await;
    assert_eq!(averages(&week, "memory"), [44.0, 55.0]);

    let unknown = app
        .get_as(&admin, "/api/ecs/service-details?account=123456789012&region=eu-west-1&cluster=prod&service=gone")
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    assert_eq!(unknown.code(), "not_found");

    for (query, field) in [
        (
            "account=1234&region=eu-west-1&cluster=prod&service=web",
            "account",
        ),
        ("region=eu-west-1&cluster=prod&service=web", "account"),
        (
            "account=123456789012&region=moon&cluster=prod&service=web",
            "region",
        ),
        (
            "account=123456789012&region=eu-west-1&cluster=pr%20od&service=web",
            "cluster",
        ),
        (
            "account=123456789012&region=eu-west-1&cluster=prod",
            "service",
        ),
        (
            "account=123456789012&region=eu-west-1&cluster=prod&service=web&range=30d",
            "range",
        ),
    ] {
        let reply = app
            .get_as(&admin, &format!("/api/ecs/service-details?{query}"))
            .await;
        assert_eq!(reply.status, 400, "{query}: {}", reply.body);
        assert_eq!(reply.code(), "invalid_query", "{query}");
        assert_eq!(reply.json["error"]["field"], field, "{query}");
    }
}

#[tokio::test]
async fn monitor_users_read_everything_and_change_nothing() {
    let (app, admin) = admin_app().await;
    let account = create(&app, &admin, remote_body()).await;
    collect(
        &app,
        LOCAL,
        "eu-west-1",
        &[snapshot(LOCAL, "eu-west-1", "prod", "web")],
    )
    .await;
    let monitor = app.user(&admin, "wall@example.com", "monitor").await;
    for path in READ_PATHS {
        let reply = app.get_as(&monitor, path).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    }
    let path = format!("/api/ecs/accounts/{}", account["id"].as_str().unwrap());
    let writes = [
        (
            Method::POST,
            "/api/ecs/accounts".to_owned(),
            Some(json!({"regions": ["eu-west-1"]})),
        ),
        (
            Method::PUT,
            path.clone(),
            Some(json!({"regions": ["eu-west-1"]})),
        ),
        (Method::DELETE, path, None),
        (
            Method::PUT,
            "/api/ecs/settings".to_owned(),
            Some(json!({"users_can_view": true})),
        ),
        (Method::POST, "/api/ecs/refresh".to_owned(), None),
    ];
    for (method, path, body) in writes {
        let reply = app
            .send_as(&monitor, method.clone(), &path, body.as_ref())
            .await;
        assert_eq!(reply.status, 403, "{method} {path}: {}", reply.body);
    }
    assert_eq!(app.store.list_ecs_accounts().await.unwrap().len(), 1);
}

#[tokio::test]
async fn users_see_nothing_until_an_admin_opens_the_view_and_then_only_read() {
    let (app, admin) = admin_app().await;
    collect(
        &app,
        LOCAL,
        "eu-west-1",
        &[snapshot(LOCAL, "eu-west-1", "prod", "web")],
    )
    .await;
    let user = app.user(&admin, "dev@example.com", "user").await;
    let user_key = app.api_key(&user, "write").await;
    for path in READ_PATHS {
        let reply = app.get_as(&user, path).await;
        assert_eq!(reply.status, 403, "{path}: {}", reply.body);
        assert_eq!(reply.code(), "forbidden", "{path}");
        let reply = app.get_with_key(&user_key, path).await;
        assert_eq!(reply.status, 403, "{path} with a key: {}", reply.body);
    }

    let settings = app.get_as(&admin, "/api/ecs/settings").await;
    assert_eq!(settings.json, json!({"users_can_view": false}));
    let opened = app
        .put_as(
            &admin,
            "/api/ecs/settings",
            &json!({"users_can_view": true}),
        )
        .await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    assert_eq!(opened.json, json!({"users_can_view": true}));
    assert!(app.store.ecs_settings().await.unwrap().users_can_view_ecs);

    for path in READ_PATHS {
        let reply = app.get_as(&user, path).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        let reply = app.get_with_key(&user_key, path).await;
        assert_eq!(reply.status, 200, "{path} with a key: {}", reply.body);
    }
    let create = app
        .post_as(
            &user,
            "/api/ecs/accounts",
            &json!({"regions": ["eu-west-1"]}),
        )
        .await;
    assert_eq!(create.status, 403, "{}", create.body);
    let settings = app
        .put_as(
            &user,
            "/api/ecs/settings",
            &json!({"users_can_view": false}),
        )
        .await;
    assert_eq!(settings.status, 403, "{}", settings.body);
    let refresh = app
        .post_with_key(&user_key, "/api/ecs/refresh", &json!({}))
        .await;
    assert_eq!(refresh.status, 403, "{}", refresh.body);

    let bad = app
        .put_as(
            &admin,
            "/api/ecs/settings",
            &json!({"users_can_view": "yes"}),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(bad.json["error"]["field"], "users_can_view");
    let closed = app
        .put_as(
            &admin,
            "/api/ecs/settings",
            &json!({"users_can_view": false}),
        )
        .await;
    assert_eq!(closed.status, 200, "{}", closed.body);
    assert_eq!(app.get_as(&user, "/api/ecs/clusters").await.status, 403);
}

#[tokio::test]
async fn api_keys_follow_their_users_role_and_scope() {
    let (app, admin) = admin_app().await;
    collect(
        &app,
        LOCAL,
        "eu-west-1",
        &[snapshot(LOCAL, "eu-west-1", "prod", "web")],
    )
    .await;
    let read = app.api_key(&admin, "read").await;
    let write = app.api_key(&admin, "write").await;
    for path in READ_PATHS {
        let reply = app.get_with_key(&read, path).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    }
    let refused = app
        .post_with_key(
            &read,
            "/api/ecs/accounts",
            &json!({"regions": ["eu-west-1"]}),
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(refused.code(), "read_only_key");

    let created = app
        .post_with_key(
            &write,
            "/api/ecs/accounts",
            &json!({"role_arn": ROLE, "regions": ["eu-west-1"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let path = format!("/api/ecs/accounts/{}", created.json["id"].as_str().unwrap());
    let updated = app
        .put_with_key(
            &write,
            &path,
            &json!({"role_arn": ROLE, "regions": ["us-west-2"]}),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    let settings = app
        .put_with_key(
            &write,
            "/api/ecs/settings",
            &json!({"users_can_view": true}),
        )
        .await;
    assert_eq!(settings.status, 200, "{}", settings.body);
    let deleted = app.delete_with_key(&write, &path).await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);

    let no_auth = app.get("/api/ecs/clusters").await;
    assert_eq!(no_auth.status, 401, "{}", no_auth.body);
}

/// Answers like a collection round: a scripted report, or `Busy`.
struct ScriptedRefresh {
    busy: bool,
    calls: AtomicUsize,
}

#[async_trait]
impl EcsRefresh for ScriptedRefresh {
    async fn refresh(&self, now: UnixMs) -> Result<EcsRefreshReport, EcsRefreshError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if self.busy {
            return Err(EcsRefreshError::Busy);
        }
        Ok(EcsRefreshReport {
            accounts: call,
            services: 7,
            failed_accounts: vec![FailedAccount {
                id: "ecs_x".into(),
                error: "AccessDenied assuming arn:aws:iam::1:role/x".into(),
            }],
            collected_at: now,
        })
    }
}

#[tokio::test]
async fn refresh_runs_the_collector_for_admins_only() {
    let refresh = Arc::new(ScriptedRefresh {
        busy: false,
        calls: AtomicUsize::new(0),
    });
    let app = TestApp::builder()
        .ecs_refresh(Arc::clone(&refresh) as Arc<dyn EcsRefresh>)
        .start()
        .await;
    let admin = app.admin().await;
    let before = now();
    let reply = app.post_as(&admin, "/api/ecs/refresh", &json!({})).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json["accounts"], 1);
    assert_eq!(reply.json["services"], 7);
    assert_eq!(reply.json["failed_accounts"][0]["id"], "ecs_x");
    assert!(
        reply.json["failed_accounts"][0]["error"]
            .as_str()
            .unwrap()
            .contains("AccessDenied")
    );
    assert!(reply.json["collected_at"].as_i64().unwrap() >= before);

    // A session must send the CSRF token; without it nothing runs.
    let no_csrf = app
        .send(
            app.request(Method::POST, "/api/ecs/refresh")
                .header("authorization", admin.bearer()),
        )
        .await;
    assert_eq!(no_csrf.status, 403, "{}", no_csrf.body);
    assert_eq!(no_csrf.code(), "csrf_failed");

    let user = app.user(&admin, "dev@example.com", "user").await;
    assert_eq!(
        app.post_as(&user, "/api/ecs/refresh", &json!({}))
            .await
            .status,
        403
    );
    let read_key = app.api_key(&admin, "read").await;
    assert_eq!(
        app.post_with_key(&read_key, "/api/ecs/refresh", &json!({}))
            .await
            .status,
        403
    );
    let write_key = app.api_key(&admin, "write").await;
    let by_key = app
        .post_with_key(&write_key, "/api/ecs/refresh", &json!({}))
        .await;
    assert_eq!(by_key.status, 200, "{}", by_key.body);
    assert_eq!(by_key.json["accounts"], 2);
    assert_eq!(
        refresh.calls.load(Ordering::SeqCst),
        2,
        "refused calls never ran"
    );
}

#[tokio::test]
async fn refresh_answers_busy_while_a_round_runs_and_503_without_a_collector() {
    let busy = TestApp::builder()
        .ecs_refresh(Arc::new(ScriptedRefresh {
            busy: true,
            calls: AtomicUsize::new(0),
        }))
        .start()
        .await;
    let admin = busy.admin().await;
    let reply = busy.post_as(&admin, "/api/ecs/refresh", &json!({})).await;
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert_eq!(reply.code(), "busy");

    let (app, admin) = admin_app().await;
    let reply = app.post_as(&admin, "/api/ecs/refresh", &json!({})).await;
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert_eq!(reply.code(), "not_configured");
}
