//! One ECS collection round against real servers: the SDK collector against moto (each
//! test in accounts of its own, reached by assuming a role), SQLite in a temp dir for
//! accounts, snapshots, metrics, incidents and the alert ledger, and a local webhook
//! receiver as the alert channel.
//!
//! moto runs no tasks: a service that wants tasks has none running, which the health
//! rules call failed ("0 of 2 tasks running"); scaled to zero it is healthy.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use aws_sdk_ecs::types::{ContainerDefinition, LaunchType};
use sentinel_aws::{AwsConfig, CollectorSettings, EcsCollector, RetryPolicy as AwsRetry};
use sentinel_core::UnixMs;
use sentinel_core::ecs::{EcsMetric, Health};
use sentinel_embedded::SqliteStore;
use sentinel_pipeline::channels::{AlertChannel, ChannelConfig, ChannelDeps, http_client};
use sentinel_pipeline::ecs::{
    EcsCollection, EcsRefresh, EcsRefreshError, NotifierEcsSink, OpenSecret,
};
use sentinel_pipeline::{Notifier, RetryPolicy};
use sentinel_store::{
    EcsAccountRecord, EcsAccountStore, EcsIncident, EcsIncidentStore, EcsSnapshotStore,
    SealedSecret,
};
use support::Receiver;

const PERIOD_MS: i64 = 300_000;
const EXTERNAL_ID: &str = "sentinel-test-ext";

fn now_ms() -> UnixMs {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn unique(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A 12-digit account id no other test (here or in another process) uses.
fn fresh_account_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    format!(
        "9{:03}{:05}{:03}",
        std::process::id() % 1_000,
        nanos / 10_000 % 100_000,
        NEXT.fetch_add(1, Ordering::Relaxed) % 1_000
    )
}

fn role_arn(account_id: &str) -> String {
    format!("arn:aws:iam::{account_id}:role/sentinel-reader")
}

/// Clients signed as a fresh account (a role assumed on moto), to seed it.
async fn seeding_config(account_id: &str) -> AwsConfig {
    AwsConfig::emulator(sentinel_testkit::services::aws_endpoint())
        .await
        .assuming_role(&role_arn(account_id), "sentinel-test-seed")
        .await
        .expect("assume the seeding role")
}

/// In `region` of the config's account: a cluster with one EC2 service of `desired`
/// tasks.
async fn seed_service(
    config: &AwsConfig,
    region: &str,
    cluster: &str,
    service: &str,
    desired: i32,
) {
    let ecs = ecs_in(config, region);
    ecs.create_cluster()
        .cluster_name(cluster)
        .send()
        .await
        .expect("create the cluster");
    ecs.register_task_definition()
        .family(service)
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("nginx:1.27")
                .memory(128)
                .build(),
        )
        .send()
        .await
        .expect("register the task definition");
    ecs.create_service()
        .cluster(cluster)
        .service_name(service)
        .task_definition(service)
        .desired_count(desired)
        .launch_type(LaunchType::Ec2)
        .send()
        .await
        .expect("create the service");
}

fn ecs_in(config: &AwsConfig, region: &str) -> aws_sdk_ecs::Client {
    aws_sdk_ecs::Client::from_conf(
        aws_sdk_ecs::config::Builder::from(config.sdk())
            .region(aws_sdk_ecs::config::Region::new(region.to_owned()))
            .build(),
    )
}

/// moto sets running to desired when a service is created or updated: a service with
/// tasks wanted and none running is one deleted and created again with 2 wanted.
async fn make_failing(config: &AwsConfig, region: &str, cluster: &str, service: &str) {
    let ecs = ecs_in(config, region);
    ecs.delete_service()
        .cluster(cluster)
        .service(service)
        .force(true)
        .send()
        .await
        .expect("delete the service");
    ecs.create_service()
        .cluster(cluster)
        .service_name(service)
        .task_definition(service)
        .desired_count(2)
        .launch_type(LaunchType::Ec2)
        .send()
        .await
        .expect("create the service again");
}

async fn scale(config: &AwsConfig, cluster: &str, service: &str, desired: i32) {
    config
        .ecs()
        .update_service()
        .cluster(cluster)
        .service(service)
        .desired_count(desired)
        .send()
        .await
        .expect("scale the service");
}

async fn put_cpu(config: &AwsConfig, cluster: &str, service: &str, at: UnixMs, value: f64) {
    config
        .cloudwatch()
        .put_metric_data()
        .namespace("AWS/ECS")
        .metric_data(
            MetricDatum::builder()
                .metric_name(EcsMetric::Cpu.cloudwatch_name())
                .dimensions(
                    Dimension::builder()
                        .name("ClusterName")
                        .value(cluster)
                        .build(),
                )
                .dimensions(
                    Dimension::builder()
                        .name("ServiceName")
                        .value(service)
                        .build(),
                )
                .timestamp(DateTime::from_millis(at))
                .value(value)
                .unit(StandardUnit::Percent)
                .build(),
        )
        .send()
        .await
        .expect("put metric data");
}

/// An account record watching `account_id` through its role; the external id sealed
/// under key `key_id` (the test's "keyring" opens only key `k1`).
fn account_record(id: &str, account_id: &str, regions: &[&str], key_id: &str) -> EcsAccountRecord {
    EcsAccountRecord {
        id: id.to_owned(),
        name: None,
        role_arn: Some(role_arn(account_id)),
        role_account_id: Some(account_id.to_owned()),
        regions: regions.iter().map(|r| (*r).to_owned()).collect(),
        external_id: Some(SealedSecret {
            ciphertext: EXTERNAL_ID.bytes().rev().collect(),
            key_id: key_id.to_owned(),
        }),
        account_id: None,
        alias: None,
        last_collected_at: None,
        last_error: None,
        created_at: 1,
        updated_at: 1,
    }
}

/// Stands in for the API's AES-GCM keyring: "sealing" reverses the bytes, and only
/// key `k1` is known.
fn open_secret() -> OpenSecret {
    Arc::new(|sealed: &SealedSecret| {
        if sealed.key_id != "k1" {
            return Err(format!("unknown key id {:?}", sealed.key_id));
        }
        String::from_utf8(sealed.ciphertext.iter().rev().copied().collect())
            .map_err(|e| e.to_string())
    })
}

fn collector_settings() -> CollectorSettings {
    CollectorSettings {
        retry: AwsRetry {
            max_attempts: 2,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
        },
        ..CollectorSettings::default()
    }
}

struct Rig {
    store: Arc<SqliteStore>,
    notifier: Arc<Notifier<SqliteStore>>,
    collection: EcsCollection<SqliteStore>,
    _dir: tempfile::TempDir,
}

async fn rig(receiver: &Receiver, aws_endpoint: &str) -> Rig {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(
        SqliteStore::open(dir.path().join("sentinel.db"))
            .await
            .expect("open SQLite"),
    );
    let deps = ChannelDeps {
        http: http_client(Duration::from_secs(5), true).expect("http client"),
        allow_private: true,
        mailer: Arc::new(sentinel_embedded::mail::OutboxMailer::new(dir.path())),
        default_from: "sentinel@example.com".into(),
    };
    let webhook = ChannelConfig::Webhook {
        url: receiver.url(),
        secret: "a-test-secret-of-some-length".to_owned().into(),
        headers: BTreeMap::new(),
    }
    .build("ops", &deps)
    .expect("webhook channel");
    let channels: Vec<Arc<dyn AlertChannel>> = vec![webhook];
    let notifier = Arc::new(Notifier::new(
        Arc::clone(&store),
        channels,
        RetryPolicy {
            attempts: 2,
            first_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(20),
        },
    ));
    let collector = EcsCollector::new(
        &AwsConfig::emulator(aws_endpoint).await,
        collector_settings(),
    )
    .expect("collector settings");
    let collection = EcsCollection::new(
        Arc::clone(&store),
        Arc::new(collector),
        open_secret(),
        Arc::new(NotifierEcsSink::new(Arc::clone(&notifier))),
    );
    Rig {
        store,
        notifier,
        collection,
        _dir: dir,
    }
}

fn moto() -> &'static str {
    sentinel_testkit::services::aws_endpoint()
}

#[tokio::test]
async fn a_round_stores_snapshots_metrics_and_the_account_identity() {
    let receiver = Receiver::start().await;
    let rig = rig(&receiver, moto()).await;
    let account_id = fresh_account_id();
    let seed = seeding_config(&account_id).await;
    let alias = format!("acme-{account_id}");
    seed.iam()
        .create_account_alias()
        .account_alias(&alias)
        .send()
        .await
        .expect("create the alias");
    let cluster = unique("round");
    seed_service(&seed, "us-east-1", &cluster, "api", 0).await;
    let now = now_ms();
    let period = now - now.rem_euclid(PERIOD_MS) - PERIOD_MS;
    put_cpu(&seed, &cluster, "api", period + 10_000, 42.0).await;
    rig.store
        .create_ecs_account(&account_record("acc-1", &account_id, &["us-east-1"], "k1"))
        .await
        .expect("create the account");

    let round = rig.collection.run(now).await.expect("the round runs");

    assert_eq!(round.report.accounts, 1);
    assert_eq!(round.report.services, 1);
    assert!(
        round.report.failed_accounts.is_empty(),
        "{:?}",
        round.report
    );
    assert_eq!(round.report.collected_at, now);
    assert!(
        round.transitions.is_empty(),
        "a new service is no transition"
    );
    let snapshots = rig.store.list_snapshots().await.expect("list");
    assert_eq!(snapshots.len(), 1);
    let api = &snapshots[0];
    assert_eq!(
        (api.key.account_id.as_str(), api.key.region.as_str()),
        (account_id.as_str(), "us-east-1")
    );
    assert_eq!(
        (api.key.cluster.as_str(), api.key.service.as_str()),
        (cluster.as_str(), "api")
    );
    assert_eq!(api.health, Health::Healthy);
    let points = rig
        .store
        .metrics(&api.key, EcsMetric::Cpu, 0, now + 1)
        .await
        .expect("metrics");
    assert_eq!(points.len(), 1, "{points:?}");
    assert_eq!((points[0].at, points[0].average), (period, 42.0));
    let account = rig
        .store
        .get_ecs_account("acc-1")
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(account.account_id.as_deref(), Some(account_id.as_str()));
    assert_eq!(account.alias.as_deref(), Some(alias.as_str()));
    assert_eq!(account.last_collected_at, Some(now));
    assert_eq!(account.last_error, None);
    assert!(receiver.received().is_empty());
}

#[tokio::test]
async fn an_account_whose_external_id_cannot_be_opened_fails_alone() {
    let receiver = Receiver::start().await;
    let rig = rig(&receiver, moto()).await;
    let (good, bad) = (fresh_account_id(), fresh_account_id());
    let seed = seeding_config(&good).await;
    let cluster = unique("pair");
    seed_service(&seed, "us-east-1", &cluster, "ok", 0).await;
    rig.store
        .create_ecs_account(&account_record(
            "acc-bad",
            &bad,
            &["us-east-1"],
            "rotated-away",
        ))
        .await
        .expect("create");
    rig.store
        .create_ecs_account(&account_record("acc-good", &good, &["us-east-1"], "k1"))
        .await
        .expect("create");

    let now = now_ms();
    let report = rig.collection.refresh(now).await.expect("the round runs");

    assert_eq!(report.accounts, 1);
    assert_eq!(report.services, 1);
    assert_eq!(report.failed_accounts.len(), 1);
    assert_eq!(report.failed_accounts[0].id, "acc-bad");
    assert!(
        report.failed_accounts[0]
            .error
            .contains("cannot be decrypted")
            && report.failed_accounts[0].error.contains("rotated-away"),
        "{}",
        report.failed_accounts[0].error
    );
    let failed = rig.store.get_ecs_account("acc-bad").await.unwrap().unwrap();
    assert_eq!(
        failed.last_error,
        Some(report.failed_accounts[0].error.clone())
    );
    assert_eq!(failed.last_collected_at, Some(now));
    assert_eq!(
        failed.account_id, None,
        "a failed collection learns nothing"
    );
    let ok = rig
        .store
        .get_ecs_account("acc-good")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ok.last_error, None);
    assert_eq!(ok.account_id.as_deref(), Some(good.as_str()));
    let snapshots = rig.store.list_snapshots().await.unwrap();
    assert_eq!(snapshots.len(), 1);
    assert_eq!(snapshots[0].key.account_id, good);
}

#[tokio::test]
async fn a_service_that_loses_its_tasks_alerts_once_and_its_recovery_once() {
    let receiver = Receiver::start().await;
    let rig = rig(&receiver, moto()).await;
    let account_id = fresh_account_id();
    let seed = seeding_config(&account_id).await;
    let cluster = unique("health");
    seed_service(&seed, "us-east-1", &cluster, "api", 0).await;
    rig.store
        .create_ecs_account(&account_record("acc-1", &account_id, &["us-east-1"], "k1"))
        .await
        .unwrap();
    let t0 = now_ms();
    assert!(rig.collection.run(t0).await.unwrap().transitions.is_empty());

    // Replaced by a service of the same name that wants 2 tasks and has none running
    // (moto starts none for a new service; an update sets running to desired).
    seed.ecs()
        .delete_service()
        .cluster(&cluster)
        .service("api")
        .force(true)
        .send()
        .await
        .expect("delete the service");
    seed.ecs()
        .create_service()
        .cluster(&cluster)
        .service_name("api")
        .task_definition("api")
        .desired_count(2)
        .launch_type(LaunchType::Ec2)
        .send()
        .await
        .expect("create the service again");
    let down = rig.collection.run(t0 + 60_000).await.unwrap();
    assert_eq!(
        down.transitions.len(),
        1,
        "{:?} {:?}",
        down.report,
        rig.store.list_snapshots().await
    );
    let t = &down.transitions[0];
    assert_eq!((t.from, t.to), (Health::Healthy, Health::Failed));
    assert_eq!(t.reason, "0 of 2 tasks running");
    assert_eq!(t.incident_started_at, t0 + 60_000);
    let again = rig.collection.run(t0 + 120_000).await.unwrap();
    assert!(
        again.transitions.is_empty(),
        "still failed: no new transition"
    );
    // The same transition handed on twice (a redelivered event) is sent once.
    let resent = rig.notifier.notify_ecs(t).await.unwrap();
    assert_eq!(resent.duplicates, ["ops"]);
    assert!(resent.sent.is_empty());

    let got = receiver.received();
    assert_eq!(got.len(), 1, "exactly one alert");
    let alert = got[0].json();
    assert_eq!(alert["event"], "ecs_failed");
    let path = format!("{account_id}/us-east-1/{cluster}/api");
    assert_eq!(
        alert["title"],
        format!("🔴 ECS {path} is FAILED: 0 of 2 tasks running"),
        "the alias is the account id when there is none"
    );
    assert_eq!(alert["incident_id"], t.incident_id.as_str());

    let incidents = rig.store.list_ecs_incidents(10).await.unwrap();
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0].id, t.incident_id);
    assert_eq!(incidents[0].ended_at, None);
    assert_eq!(incidents[0].health, Health::Failed);

    // Updated: moto now reports the 2 tasks running, healthy again.
    scale(&seed, &cluster, "api", 2).await;
    let up = rig.collection.run(t0 + 300_000).await.unwrap();
    assert_eq!(up.transitions.len(), 1);
    assert_eq!(
        (up.transitions[0].from, up.transitions[0].to),
        (Health::Failed, Health::Healthy)
    );
    assert_eq!(up.transitions[0].incident_id, t.incident_id);
    assert!(
        rig.collection
            .run(t0 + 360_000)
            .await
            .unwrap()
            .transitions
            .is_empty()
    );

    let got = receiver.received();
    assert_eq!(got.len(), 2, "exactly one recovery alert");
    let recovery = got[1].json();
    assert_eq!(recovery["event"], "ecs_recovered");
    assert_eq!(recovery["downtime_ms"], 240_000);
    assert_eq!(
        recovery["title"],
        format!("🟢 ECS {path} is healthy again after 4m 0s")
    );
    let incidents = rig.store.list_ecs_incidents(10).await.unwrap();
    assert_eq!(incidents[0].ended_at, Some(t0 + 300_000));
}

#[tokio::test]
async fn incidents_of_deleted_services_and_unwatched_accounts_close_without_an_alert() {
    let receiver = Receiver::start().await;
    let rig = rig(&receiver, moto()).await;
    let account_id = fresh_account_id();
    let seed = seeding_config(&account_id).await;
    let cluster = unique("gone");
    // Three healthy services (none wanted).
    seed_service(&seed, "us-east-1", &cluster, "api", 0).await;
    seed_service(&seed, "us-east-1", &cluster, "worker", 0).await;
    seed_service(&seed, "us-east-1", &cluster, "cron", 0).await;
    rig.store
        .create_ecs_account(&account_record("acc-1", &account_id, &["us-east-1"], "k1"))
        .await
        .unwrap();
    let t0 = now_ms();
    rig.collection.run(t0).await.unwrap();
    for service in ["api", "worker"] {
        make_failing(&seed, "us-east-1", &cluster, service).await;
    }
    let down = rig.collection.run(t0 + 60_000).await.unwrap();
    assert_eq!(down.transitions.len(), 2, "{:?}", down.transitions);
    assert!(down.closed_gone.is_empty());
    assert_eq!(receiver.received().len(), 2, "two failure alerts");

    // `worker` is deleted from AWS: the next complete collection closes its incident,
    // without an alert (it did not recover); `api`'s stays open.
    seed.ecs()
        .delete_service()
        .cluster(&cluster)
        .service("worker")
        .force(true)
        .send()
        .await
        .expect("delete worker");
    let after_delete = rig.collection.run(t0 + 120_000).await.unwrap();
    assert!(after_delete.transitions.is_empty());
    assert_eq!(
        after_delete
            .closed_gone
            .iter()
            .map(|i| (i.key.service.as_str(), i.ended_at))
            .collect::<Vec<_>>(),
        [("worker", Some(t0 + 120_000))]
    );
    let open = rig.store.open_ecs_incidents().await.unwrap();
    assert_eq!(
        open.iter()
            .map(|i| i.key.service.as_str())
            .collect::<Vec<_>>(),
        ["api"]
    );
    assert_eq!(
        receiver.received().len(),
        2,
        "no alert for a deleted service"
    );
    assert!(
        rig.collection
            .run(t0 + 150_000)
            .await
            .unwrap()
            .closed_gone
            .is_empty(),
        "closed once"
    );

    // The account stops being watched: its open incident closes on the next round.
    assert!(rig.store.delete_ecs_account("acc-1").await.unwrap());
    let unwatched = rig.collection.run(t0 + 180_000).await.unwrap();
    assert_eq!(
        unwatched
            .closed_gone
            .iter()
            .map(|i| (i.key.service.as_str(), i.ended_at))
            .collect::<Vec<_>>(),
        [("api", Some(t0 + 180_000))]
    );
    assert!(rig.store.open_ecs_incidents().await.unwrap().is_empty());
    assert_eq!(
        receiver.received().len(),
        2,
        "no alert for an unwatched account"
    );
}

// ---- A proxy in front of moto that can fail one region -------------------------------

struct RegionBreaker {
    url: String,
    failing: Arc<AtomicBool>,
    _server: tokio::task::JoinHandle<()>,
}

/// Forwards everything to moto, except (while `failing` is set) calls signed for
/// `region`, which get a 500.
async fn region_breaker(region: &'static str) -> RegionBreaker {
    use axum::body::{Body, to_bytes};
    use axum::extract::{Request, State};
    use axum::response::Response;

    #[derive(Clone)]
    struct Breaker {
        failing: Arc<AtomicBool>,
        scope: String,
        http: reqwest::Client,
    }

    async fn forward(State(b): State<Breaker>, request: Request) -> Response {
        let auth = request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if b.failing.load(Ordering::SeqCst) && auth.contains(&b.scope) {
            return Response::builder()
                .status(500)
                .body(Body::from("injected region failure"))
                .expect("response");
        }
        let (parts, body) = request.into_parts();
        let body = to_bytes(body, 16 << 20).await.expect("request body");
        let url = format!(
            "{}{}",
            moto(),
            parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/")
        );
        let mut upstream = b.http.request(parts.method, url).body(body);
        for (name, value) in &parts.headers {
            if name != "host" && name != "content-length" {
                upstream = upstream.header(name, value);
            }
        }
        let answer = upstream.send().await.expect("moto answers");
        let mut response = Response::builder().status(answer.status());
        for (name, value) in answer.headers() {
            if name != "content-length" && name != "transfer-encoding" {
                response = response.header(name, value);
            }
        }
        response
            .body(Body::from(answer.bytes().await.expect("moto body")))
            .expect("response")
    }

    let failing = Arc::new(AtomicBool::new(false));
    let breaker = Breaker {
        failing: Arc::clone(&failing),
        scope: format!("/{region}/"),
        http: reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client"),
    };
    let app = axum::Router::new().fallback(forward).with_state(breaker);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("proxy serves");
    });
    RegionBreaker {
        url,
        failing,
        _server: server,
    }
}

#[tokio::test]
async fn a_region_that_fails_keeps_its_old_snapshots_and_open_incidents() {
    let receiver = Receiver::start().await;
    let breaker = region_breaker("us-west-2").await;
    let rig = rig(&receiver, &breaker.url).await;
    let account_id = fresh_account_id();
    let seed = seeding_config(&account_id).await;
    let cluster = unique("regions");
    seed_service(&seed, "us-east-1", &cluster, "east", 0).await;
    seed_service(&seed, "us-west-2", &cluster, "west", 0).await;
    rig.store
        .create_ecs_account(&account_record(
            "acc-1",
            &account_id,
            &["us-east-1", "us-west-2"],
            "k1",
        ))
        .await
        .unwrap();
    let t0 = now_ms();
    let first = rig.collection.run(t0).await.unwrap();
    assert_eq!(first.report.services, 2, "{:?}", first.report);
    // `west` fails: an incident is open when its region starts failing.
    make_failing(&seed, "us-west-2", &cluster, "west").await;
    let failing = rig.collection.run(t0 + 30_000).await.unwrap();
    assert_eq!(failing.transitions.len(), 1, "{:?}", failing.transitions);
    let open_services =
        |open: Vec<EcsIncident>| open.into_iter().map(|i| i.key.service).collect::<Vec<_>>();
    assert_eq!(
        open_services(rig.store.open_ecs_incidents().await.unwrap()),
        ["west"]
    );

    breaker.failing.store(true, Ordering::SeqCst);
    let second = rig.collection.run(t0 + 60_000).await.unwrap();
    assert_eq!(
        second.report.accounts, 1,
        "a region failing does not fail the account"
    );
    assert!(
        second.closed_gone.is_empty(),
        "a region not collected is no proof its services are gone"
    );
    assert_eq!(
        open_services(rig.store.open_ecs_incidents().await.unwrap()),
        ["west"]
    );
    assert_eq!(second.report.services, 1, "only us-east-1 was stored");
    let snapshots = rig.store.list_snapshots().await.unwrap();
    let seen: Vec<(&str, &str, UnixMs)> = snapshots
        .iter()
        .map(|s| {
            (
                s.key.region.as_str(),
                s.key.service.as_str(),
                s.collected_at,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("us-east-1", "east", t0 + 60_000),
            ("us-west-2", "west", t0 + 30_000)
        ],
        "us-west-2 keeps the last snapshot collected"
    );
    let account = rig.store.get_ecs_account("acc-1").await.unwrap().unwrap();
    let warning = account
        .last_error
        .expect("the region's failure is recorded");
    assert!(warning.starts_with("us-west-2: "), "{warning}");
    assert!(warning.contains("500"), "{warning}");

    // us-west-2 is taken off the account's list: its incident closes, no alert.
    let mut narrowed = rig.store.get_ecs_account("acc-1").await.unwrap().unwrap();
    narrowed.regions = vec!["us-east-1".to_owned()];
    assert!(rig.store.update_ecs_account(&narrowed).await.unwrap());
    let third = rig.collection.run(t0 + 120_000).await.unwrap();
    assert_eq!(open_services(third.closed_gone), ["west"]);
    assert!(rig.store.open_ecs_incidents().await.unwrap().is_empty());
    assert_eq!(receiver.received().len(), 1, "only the failure was alerted");
}

#[tokio::test]
async fn a_refresh_while_one_runs_is_busy() {
    let receiver = Receiver::start().await;
    let rig = rig(&receiver, moto()).await;
    let account_id = fresh_account_id();
    let seed = seeding_config(&account_id).await;
    seed_service(&seed, "us-east-1", &unique("busy"), "api", 0).await;
    rig.store
        .create_ecs_account(&account_record("acc-1", &account_id, &["us-east-1"], "k1"))
        .await
        .unwrap();

    let now = now_ms();
    let (a, b) = tokio::join!(rig.collection.refresh(now), rig.collection.refresh(now));
    let (done, busy) = match (a, b) {
        (Ok(done), Err(busy)) | (Err(busy), Ok(done)) => (done, busy),
        other => panic!("one refresh must run and one be busy: {other:?}"),
    };
    assert_eq!(done.accounts, 1);
    assert!(matches!(busy, EcsRefreshError::Busy), "{busy:?}");
    // Once it is done, the next refresh runs.
    assert_eq!(rig.collection.refresh(now + 1).await.unwrap().accounts, 1);
}
