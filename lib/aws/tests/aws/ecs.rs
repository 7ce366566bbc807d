//! The ECS collector against moto: seeded clusters, services and CloudWatch data, other
//! accounts through assume-role, failures kept per account and region, throttling
//! retried, and batch sizes seen on the wire by a loopback proxy in front of moto.
//!
//! Most tests work in an account of their own: moto maps the credentials of a role
//! assumed in account X to account X, so what one test seeds there no other sees.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use aws_sdk_ecs::config::ProvideCredentials;
use aws_sdk_ecs::types::{
    AwsVpcConfiguration, Compatibility, ContainerDefinition, LaunchType, NetworkConfiguration,
    NetworkMode,
};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use sentinel_aws::ecs::MAX_DESCRIBE_SERVICES;
use sentinel_aws::{
    AccountCollection, AccountTarget, AwsConfig, CollectorSettings, EcsCollector, RetryPolicy,
};
use sentinel_core::UnixMs;
use sentinel_core::ecs::{EcsMetric, Health, MetricPoint, RolloutState};

use crate::common::{config, endpoint, unique};

const PERIOD_MS: i64 = 300_000;
const TEST_ATTEMPTS: u32 = 4;

fn now_ms() -> UnixMs {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Fast retries, so throttling tests take milliseconds.
fn settings() -> CollectorSettings {
    CollectorSettings {
        retry: RetryPolicy {
            max_attempts: TEST_ATTEMPTS,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(50),
        },
        ..CollectorSettings::default()
    }
}

/// A 12-digit account id no other test uses.
fn fresh_account_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    format!(
        "{:04}{:05}{:03}",
        std::process::id() % 10_000,
        nanos / 10_000 % 100_000,
        NEXT.fetch_add(1, Ordering::Relaxed) % 1_000
    )
}

fn role_arn(account_id: &str) -> String {
    format!("arn:aws:iam::{account_id}:role/sentinel-reader")
}

fn target(account_id: Option<&str>, regions: &[&str]) -> AccountTarget {
    AccountTarget {
        role_arn: account_id.map(role_arn),
        external_id: account_id.map(|_| "sentinel-test-ext".to_owned()),
        regions: regions.iter().map(|r| (*r).to_owned()).collect(),
    }
}

/// Clients signed as `account_id` (via a role assumed on moto), to seed that account.
struct Account {
    id: String,
    access_key_id: String,
    config: AwsConfig,
}

async fn account(account_id: &str) -> Account {
    let config = config()
        .await
        .assuming_role(&role_arn(account_id), "sentinel-test-seed")
        .await
        .expect("assume the seeding role");
    let credentials = config
        .sdk()
        .credentials_provider()
        .expect("a credentials provider")
        .provide_credentials()
        .await
        .expect("the assumed credentials");
    Account {
        id: account_id.to_owned(),
        access_key_id: credentials.access_key_id().to_owned(),
        config,
    }
}

async fn fresh_account() -> Account {
    account(&fresh_account_id()).await
}

async fn create_cluster(config: &AwsConfig, name: &str) {
    config
        .ecs()
        .create_cluster()
        .cluster_name(name)
        .send()
        .await
        .expect("create the cluster");
}

async fn register_ec2_task(config: &AwsConfig, family: &str) {
    config
        .ecs()
        .register_task_definition()
        .family(family)
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
}

async fn create_ec2_service(
    config: &AwsConfig,
    cluster: &str,
    name: &str,
    family: &str,
    desired: i32,
) {
    config
        .ecs()
        .create_service()
        .cluster(cluster)
        .service_name(name)
        .task_definition(family)
        .desired_count(desired)
        .launch_type(LaunchType::Ec2)
        .send()
        .await
        .expect("create the service");
}

/// moto's EC2 has no SDK here: one query-protocol call, signed with a dummy signature
/// moto does not check (the access key picks the account), answering XML.
async fn ec2_first(account: &Account, action: &str, element: &str) -> String {
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={}/20250101/us-east-1/ec2/aws4_request, \
         SignedHeaders=host, Signature=0000",
        account.access_key_id
    );
    let body = reqwest::Client::new()
        .post(endpoint())
        .header("Authorization", auth)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("Action={action}&Version=2016-11-15"))
        .send()
        .await
        .expect("EC2 call")
        .text()
        .await
        .expect("EC2 answer");
    let open = format!("<{element}>");
    let start = body.find(&open).map(|i| i + open.len());
    let end = start.and_then(|s| body[s..].find('<').map(|e| s + e));
    match (start, end) {
        (Some(s), Some(e)) => body[s..e].to_owned(),
        _ => panic!("no {element} in the {action} answer: {body}"),
    }
}

/// A Fargate service in the account's default VPC (moto answers 500 for awsvpc
/// services without real subnets and security groups).
async fn create_awsvpc_service(account: &Account, cluster: &str, name: &str, family: &str) {
    let subnet = ec2_first(account, "DescribeSubnets", "subnetId").await;
    let group = ec2_first(account, "DescribeSecurityGroups", "groupId").await;
    let ecs = account.config.ecs();
    ecs.register_task_definition()
        .family(family)
        .requires_compatibilities(Compatibility::Fargate)
        .network_mode(NetworkMode::Awsvpc)
        .cpu("256")
        .memory("512")
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("nginx:1.27")
                .build(),
        )
        .send()
        .await
        .expect("register the Fargate task definition");
    ecs.create_service()
        .cluster(cluster)
        .service_name(name)
        .task_definition(family)
        .desired_count(1)
        .launch_type(LaunchType::Fargate)
        .network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(
                    AwsVpcConfiguration::builder()
                        .subnets(subnet)
                        .security_groups(group)
                        .build()
                        .expect("an awsvpc configuration"),
                )
                .build(),
        )
        .send()
        .await
        .expect("create the awsvpc service");
}

/// `(metric, at, value)` datapoints for one service in `AWS/ECS`.
async fn put_metrics(
    config: &AwsConfig,
    cluster: &str,
    service: &str,
    points: &[(EcsMetric, UnixMs, f64)],
) {
    let mut request = config.cloudwatch().put_metric_data().namespace("AWS/ECS");
    for (metric, at, value) in points {
        request = request.metric_data(
            MetricDatum::builder()
                .metric_name(metric.cloudwatch_name())
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
                .timestamp(DateTime::from_millis(*at))
                .value(*value)
                .unit(StandardUnit::Percent)
                .build(),
        );
    }
    request.send().await.expect("put metric data");
}

fn clusters_named<'a>(collection: &'a AccountCollection, prefix: &str) -> BTreeSet<&'a str> {
    collection
        .clusters
        .iter()
        .filter(|c| c.name.starts_with(prefix))
        .map(|c| c.name.as_str())
        .collect()
}

#[tokio::test]
async fn an_assumed_account_is_collected_with_deployments_metrics_and_health() {
    let acct = fresh_account().await;
    let alias = format!("acme-{}", acct.id);
    acct.config
        .iam()
        .create_account_alias()
        .account_alias(&alias)
        .send()
        .await
        .expect("create the alias");
    let cluster = unique("sentinel-ecs");
    create_cluster(&acct.config, &cluster).await;
    register_ec2_task(&acct.config, "api").await;
    create_ec2_service(&acct.config, &cluster, "api", "api", 2).await;
    create_ec2_service(&acct.config, &cluster, "idle", "api", 0).await;
    create_awsvpc_service(&acct, &cluster, "web", "web").await;

    let now = now_ms();
    let end = now - now.rem_euclid(PERIOD_MS);
    let (p1, p2) = (end - 2 * PERIOD_MS, end - PERIOD_MS);
    put_metrics(
        &acct.config,
        &cluster,
        "api",
        &[
            (EcsMetric::Cpu, p1 + 10_000, 20.0),
            (EcsMetric::Cpu, p1 + 70_000, 40.0),
            (EcsMetric::Cpu, p2 + 10_000, 50.0),
            (EcsMetric::Memory, p1 + 10_000, 60.0),
            (EcsMetric::Memory, p1 + 70_000, 80.0),
            (EcsMetric::Memory, p2 + 10_000, 90.0),
        ],
    )
    .await;

    let collector = EcsCollector::new(&config().await, settings()).expect("settings");
    let got = collector
        .collect(&target(Some(&acct.id), &["us-east-1"]), now)
        .await
        .expect("the account is collected");

    assert_eq!(got.account_id, acct.id);
    assert_eq!(got.alias, alias);
    assert_eq!(got.alias_error, None);
    assert_eq!(got.role_arn.as_deref(), Some(role_arn(&acct.id).as_str()));
    assert!(got.region_errors.is_empty(), "{:?}", got.region_errors);
    assert_eq!(
        got.clusters.len(),
        1,
        "a fresh account holds only our cluster"
    );
    assert_eq!(got.clusters[0].name, cluster);
    assert_eq!(got.clusters[0].services, 3);
    assert_eq!(got.collected_at, now);

    let names: Vec<&str> = got
        .services
        .iter()
        .map(|s| s.key.service.as_str())
        .collect();
    assert_eq!(names, ["api", "idle", "web"], "sorted by key");
    let api = &got.services[0];
    assert_eq!(api.key.account_id, acct.id);
    assert_eq!(api.key.region, "us-east-1");
    assert_eq!(api.key.cluster, cluster);
    assert_eq!(
        api.cluster_arn,
        format!("arn:aws:ecs:us-east-1:{}:cluster/{cluster}", acct.id)
    );
    assert!(api.service_arn.ends_with("/api"), "{}", api.service_arn);
    assert_eq!(api.status, "ACTIVE");
    assert_eq!(
        (api.desired_count, api.running_count, api.pending_count),
        (2, 0, 2)
    );
    assert_eq!(api.task_definition, "api:1");
    assert_eq!(api.launch_type.as_deref(), Some("EC2"));
    assert_eq!(api.deployments.len(), 1);
    let deployment = &api.deployments[0];
    assert!(deployment.id.starts_with("ecs-svc/"), "{}", deployment.id);
    assert!(deployment.is_primary());
    assert_eq!(deployment.rollout_state, Some(RolloutState::InProgress));
    assert!(
        deployment
            .rollout_state_reason
            .as_deref()
            .is_some_and(|r| r.contains("in progress")),
        "{deployment:?}"
    );
    assert_eq!(deployment.task_definition, "api:1");
    assert_eq!((deployment.desired_count, deployment.pending_count), (2, 2));
    let created = deployment.created_at.expect("a creation time");
    assert!(
        (created - now).abs() < 10 * 60_000,
        "created {created}, now {now}"
    );
    // moto runs no tasks: desired but none running is a failed service.
    assert_eq!(api.health, Health::Failed);
    assert_eq!(api.health_reason, "0 of 2 tasks running");
    assert!(api.events.is_empty(), "moto records no service events");

    let idle = &got.services[1];
    assert_eq!(idle.health, Health::Healthy);
    assert_eq!(idle.health_reason, "scaled to zero");
    assert_eq!(
        idle.deployments[0].rollout_state,
        Some(RolloutState::Completed)
    );

    let web = &got.services[2];
    assert_eq!(web.launch_type.as_deref(), Some("FARGATE"));
    assert_eq!(web.task_definition, "web:1");
    assert_eq!(web.desired_count, 1);
    assert_eq!(web.health, Health::Failed);

    let series: Vec<(&str, EcsMetric, &[MetricPoint])> = got
        .metrics
        .iter()
        .map(|s| (s.key.service.as_str(), s.metric, s.points.as_slice()))
        .collect();
    assert_eq!(
        series,
        [
            (
                "api",
                EcsMetric::Cpu,
                &[
                    MetricPoint {
                        at: p1,
                        average: 30.0,
                        maximum: 40.0
                    },
                    MetricPoint {
                        at: p2,
                        average: 50.0,
                        maximum: 50.0
                    },
                ][..]
            ),
            (
                "api",
                EcsMetric::Memory,
                &[
                    MetricPoint {
                        at: p1,
                        average: 70.0,
                        maximum: 80.0
                    },
                    MetricPoint {
                        at: p2,
                        average: 90.0,
                        maximum: 90.0
                    },
                ][..]
            ),
        ],
        "only api has data; averages and maxima per 5-minute period"
    );

    let calls = got.calls;
    assert_eq!(calls.sts_assume_role, 1);
    assert_eq!(calls.sts_get_caller_identity, 1);
    assert_eq!(calls.iam_list_account_aliases, 1);
    assert_eq!(calls.ecs_list_clusters, 1);
    assert_eq!(calls.ecs_list_services, 1);
    assert_eq!(calls.ecs_describe_services, 1, "3 services, one batch");
    assert_eq!(calls.services_described, 3);
    assert_eq!(calls.cloudwatch_get_metric_data, 1);
    assert_eq!(calls.metric_queries, 12, "4 queries per service");
}

#[tokio::test]
async fn resources_seeded_in_an_assumed_account_are_seen_only_there() {
    let (a, b) = (fresh_account().await, fresh_account().await);
    let (cluster_a, cluster_b) = (unique("sentinel-ecs-a"), unique("sentinel-ecs-b"));
    create_cluster(&a.config, &cluster_a).await;
    register_ec2_task(&a.config, "worker").await;
    create_ec2_service(&a.config, &cluster_a, "worker", "worker", 1).await;
    create_cluster(&b.config, &cluster_b).await;
    register_ec2_task(&b.config, "batch").await;
    create_ec2_service(&b.config, &cluster_b, "batch", "batch", 0).await;

    let collector = EcsCollector::new(&config().await, settings()).expect("settings");
    let results = collector
        .collect_all(
            &[
                target(Some(&a.id), &["us-east-1"]),
                target(Some(&b.id), &["us-east-1"]),
                target(None, &["us-east-1"]),
            ],
            now_ms(),
        )
        .await;
    assert_eq!(results.len(), 3);
    let got_a = results[0].as_ref().expect("account A");
    let got_b = results[1].as_ref().expect("account B");
    let local = results[2].as_ref().expect("the local account");

    assert_eq!(got_a.account_id, a.id);
    assert_eq!(
        got_a
            .clusters
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        [cluster_a.as_str()]
    );
    assert_eq!(got_a.services.len(), 1);
    assert_eq!(got_a.services[0].key.service, "worker");
    assert_eq!(got_a.services[0].key.account_id, a.id);

    assert_eq!(got_b.account_id, b.id);
    assert_eq!(got_b.alias, b.id, "no alias: the account id stands in");
    assert_eq!(
        got_b
            .clusters
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        [cluster_b.as_str()]
    );
    assert_eq!(got_b.services[0].key.service, "batch");

    assert_eq!(local.account_id, "123456789012", "moto's default account");
    assert_eq!(
        local.calls.sts_assume_role, 0,
        "no role for the local account"
    );
    assert!(clusters_named(local, &cluster_a).is_empty());
    assert!(clusters_named(local, &cluster_b).is_empty());
}

#[tokio::test]
async fn the_local_account_is_collected_with_the_base_credentials() {
    let base = config().await;
    let cluster = unique("sentinel-ecs-local");
    create_cluster(&base, &cluster).await;
    // The family is unique too: a re-run in this shared account would be revision 2.
    let family = unique("local-api");
    register_ec2_task(&base, &family).await;
    create_ec2_service(&base, &cluster, "api", &family, 1).await;

    let collector = EcsCollector::new(&base, settings()).expect("settings");
    let got = collector
        .collect(&target(None, &["us-east-1"]), now_ms())
        .await
        .expect("the local account is collected");
    assert_eq!(got.account_id, "123456789012");
    assert_eq!(got.role_arn, None);
    assert_eq!(
        clusters_named(&got, &cluster),
        BTreeSet::from([cluster.as_str()])
    );
    // Other tests share this account: look only at our cluster.
    let ours: Vec<_> = got
        .services
        .iter()
        .filter(|s| s.key.cluster == cluster)
        .collect();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0].key.service, "api");
    assert_eq!(ours[0].task_definition, format!("{family}:1"));
    assert!(got.calls.max_services_per_describe <= MAX_DESCRIBE_SERVICES as u64);
}

// ---- A loopback proxy in front of moto --------------------------------------------

/// A request as the proxy saw it: the service (from the signature's scope), the
/// operation and the body.
#[derive(Debug, Clone)]
struct Seen {
    service: String,
    operation: String,
    body: Bytes,
}

#[derive(Default)]
struct Rules {
    /// Answer this many ECS requests with a throttling error before forwarding any
    /// (`usize::MAX`: all of them), cycling through these codes.
    throttle_ecs: usize,
    throttle_codes: Vec<&'static str>,
    /// Refuse `AssumeRole` for this role ARN with `AccessDenied`.
    deny_role: Option<String>,
}

struct ProxyState {
    upstream: String,
    client: reqwest::Client,
    rules: Rules,
    throttled: AtomicUsize,
    seen: Mutex<Vec<Seen>>,
}

struct Proxy {
    url: String,
    state: Arc<ProxyState>,
}

impl Proxy {
    async fn start(rules: Rules) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let state = Arc::new(ProxyState {
            upstream: endpoint().trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
            rules,
            throttled: AtomicUsize::new(0),
            seen: Mutex::new(Vec::new()),
        });
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(Arc::clone(&state), req));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            url: format!("http://{addr}"),
            state,
        }
    }

    async fn config(&self) -> AwsConfig {
        AwsConfig::emulator(&self.url).await
    }

    fn seen(&self, service: &str, operation: &str) -> Vec<Seen> {
        self.state
            .seen
            .lock()
            .expect("proxy log")
            .iter()
            .filter(|s| s.service == service && s.operation == operation)
            .cloned()
            .collect()
    }

    fn seen_service(&self, service: &str) -> usize {
        let seen = self.state.seen.lock().expect("proxy log");
        seen.iter().filter(|s| s.service == service).count()
    }

    fn throttled(&self) -> usize {
        self.state.throttled.load(Ordering::SeqCst)
    }
}

fn full(status: u16, content_type: &str, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .expect("a response")
}

async fn handle(
    state: Arc<ProxyState>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    // `Credential=AKID/date/region/SERVICE/aws4_request`
    let service = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split("Credential=").nth(1))
        .and_then(|v| v.split('/').nth(3))
        .unwrap_or("")
        .to_owned();
    let operation = match parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
    {
        Some(target) => target.rsplit('.').next().unwrap_or("").to_owned(),
        None => String::from_utf8_lossy(&body)
            .split('&')
            .find_map(|p| p.strip_prefix("Action="))
            .unwrap_or("")
            .to_owned(),
    };
    state.seen.lock().expect("proxy log").push(Seen {
        service: service.clone(),
        operation: operation.clone(),
        body: body.clone(),
    });

    if service == "ecs" {
        let rules = &state.rules;
        let n = state.throttled.fetch_add(1, Ordering::SeqCst);
        if n < rules.throttle_ecs {
            let code = rules.throttle_codes[n % rules.throttle_codes.len()];
            return Ok(full(
                400,
                "application/x-amz-json-1.1",
                format!(r#"{{"__type":"{code}","message":"Rate exceeded"}}"#),
            ));
        }
        state.throttled.fetch_sub(1, Ordering::SeqCst);
    }
    if let Some(role) = &state.rules.deny_role {
        let encoded = role.replace(':', "%3A").replace('/', "%2F");
        let text = String::from_utf8_lossy(&body);
        if operation == "AssumeRole" && (text.contains(&encoded) || text.contains(role.as_str())) {
            return Ok(full(
                403,
                "text/xml",
                format!(
                    "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
                     <Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: \
                     arn:aws:iam::123456789012:user/sentinel is not authorized to perform: \
                     sts:AssumeRole on resource: {role}</Message></Error>\
                     <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ErrorResponse>"
                ),
            ));
        }
    }

    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut forward = state
        .client
        .request(parts.method.clone(), format!("{}{path}", state.upstream));
    for (name, value) in &parts.headers {
        if !matches!(
            name.as_str(),
            "host" | "content-length" | "connection" | "transfer-encoding"
        ) {
            forward = forward.header(name, value);
        }
    }
    let answer = match forward.body(body).send().await {
        Ok(answer) => answer,
        Err(e) => return Ok(full(502, "text/plain", format!("proxy: {e}"))),
    };
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if !matches!(
            name.as_str(),
            "content-length" | "connection" | "transfer-encoding"
        ) {
            response = response.header(name, value);
        }
    }
    let bytes = answer.bytes().await.unwrap_or_default();
    Ok(response.body(Full::new(bytes)).expect("a response"))
}

// ---- Through the proxy --------------------------------------------------------------

#[tokio::test]
async fn more_than_ten_services_are_all_described_in_batches_of_at_most_ten() {
    let acct = fresh_account().await;
    let cluster = unique("sentinel-ecs-many");
    create_cluster(&acct.config, &cluster).await;
    register_ec2_task(&acct.config, "many").await;
    for i in 0..23 {
        create_ec2_service(&acct.config, &cluster, &format!("svc-{i:02}"), "many", 1).await;
    }
    let proxy = Proxy::start(Rules::default()).await;
    let collector = EcsCollector::new(&proxy.config().await, settings()).expect("settings");
    let got = collector
        .collect(&target(Some(&acct.id), &["us-east-1"]), now_ms())
        .await
        .expect("collected");

    assert_eq!(got.services.len(), 23);
    let names: BTreeSet<String> = got.services.iter().map(|s| s.key.service.clone()).collect();
    assert_eq!(names, (0..23).map(|i| format!("svc-{i:02}")).collect());
    assert_eq!(got.calls.ecs_describe_services, 3);
    assert_eq!(got.calls.max_services_per_describe, 10);

    let describes = proxy.seen("ecs", "DescribeServices");
    assert_eq!(describes.len(), 3, "⌈23 / 10⌉ calls on the wire");
    let mut sizes: Vec<usize> = describes
        .iter()
        .map(|d| {
            let body: serde_json::Value = serde_json::from_slice(&d.body).expect("a JSON body");
            body["services"].as_array().map_or(0, Vec::len)
        })
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [3, 10, 10]);
    let metric_calls = proxy.seen("monitoring", "GetMetricData");
    assert_eq!(metric_calls.len(), 1, "92 queries fit one call");
    assert_eq!(got.calls.metric_queries, 92);
}

#[tokio::test]
async fn throttled_ecs_calls_are_retried_until_the_collection_succeeds() {
    let acct = fresh_account().await;
    let cluster = unique("sentinel-ecs-throttled");
    create_cluster(&acct.config, &cluster).await;
    register_ec2_task(&acct.config, "t").await;
    create_ec2_service(&acct.config, &cluster, "one", "t", 1).await;
    create_ec2_service(&acct.config, &cluster, "two", "t", 1).await;
    let codes = vec![
        "ThrottlingException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
    ];
    // One fewer than the attempts allowed: the first call gets through on its last try.
    let throttles = (TEST_ATTEMPTS - 1) as usize;
    assert_eq!(throttles, codes.len());
    let proxy = Proxy::start(Rules {
        throttle_ecs: throttles,
        throttle_codes: codes,
        ..Rules::default()
    })
    .await;
    let collector = EcsCollector::new(&proxy.config().await, settings()).expect("settings");
    let got = collector
        .collect(&target(Some(&acct.id), &["us-east-1"]), now_ms())
        .await
        .expect("collected");

    assert!(got.region_errors.is_empty(), "{:?}", got.region_errors);
    assert_eq!(got.services.len(), 2);
    assert_eq!(proxy.throttled(), throttles, "every code was answered once");
    // ListClusters 3 throttled + 1, then ListServices and DescribeServices once each.
    assert_eq!(proxy.seen("ecs", "ListClusters").len(), throttles + 1);
    assert_eq!(proxy.seen_service("ecs"), throttles + 3);
    assert_eq!(
        got.calls.ecs_list_clusters, 1,
        "retries are not separate calls"
    );
}

#[tokio::test]
async fn a_persistent_throttle_ends_as_a_region_error_after_the_bounded_attempts() {
    let acct = fresh_account().await;
    let proxy = Proxy::start(Rules {
        throttle_ecs: usize::MAX,
        throttle_codes: vec!["ThrottlingException"],
        ..Rules::default()
    })
    .await;
    let collector = EcsCollector::new(&proxy.config().await, settings()).expect("settings");
    let started = Instant::now();
    let got = collector
        .collect(&target(Some(&acct.id), &["us-east-1"]), now_ms())
        .await
        .expect("the account itself is readable");

    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(proxy.seen_service("ecs"), TEST_ATTEMPTS as usize);
    assert_eq!(got.account_id, acct.id);
    assert!(got.services.is_empty());
    assert_eq!(got.region_errors.len(), 1, "{:?}", got.region_errors);
    let error = &got.region_errors[0];
    assert_eq!(error.region, "us-east-1");
    assert_eq!(error.operation, "ListClusters");
    assert_eq!(error.code.as_deref(), Some("ThrottlingException"));
    assert!(error.retryable);
    assert_eq!(
        error.message,
        "ThrottlingException: Rate exceeded (ListClusters)"
    );
}

#[tokio::test]
async fn a_role_that_cannot_be_assumed_fails_only_its_account() {
    let (good, denied) = (fresh_account().await, fresh_account_id());
    let cluster = unique("sentinel-ecs-ok");
    create_cluster(&good.config, &cluster).await;
    register_ec2_task(&good.config, "ok").await;
    create_ec2_service(&good.config, &cluster, "ok", "ok", 1).await;
    let proxy = Proxy::start(Rules {
        deny_role: Some(role_arn(&denied)),
        ..Rules::default()
    })
    .await;
    let collector = EcsCollector::new(&proxy.config().await, settings()).expect("settings");
    let results = collector
        .collect_all(
            &[
                target(Some(&denied), &["us-east-1"]),
                target(Some(&good.id), &["us-east-1"]),
            ],
            now_ms(),
        )
        .await;

    let error = results[0].as_ref().expect_err("the denied role fails");
    assert_eq!(error.code.as_deref(), Some("AccessDenied"));
    assert!(!error.retryable);
    assert_eq!(error.role_arn.as_deref(), Some(role_arn(&denied).as_str()));
    let prefix = format!("AccessDenied assuming {}: User: ", role_arn(&denied));
    assert!(error.message.starts_with(&prefix), "{}", error.message);
    assert!(
        error.message.contains("sts:AssumeRole"),
        "{}",
        error.message
    );

    let ok = results[1].as_ref().expect("the other account is collected");
    assert_eq!(ok.account_id, good.id);
    assert_eq!(ok.services.len(), 1);
    assert_eq!(
        proxy.seen("sts", "AssumeRole").len(),
        2,
        "no retry of a refusal"
    );
}

#[tokio::test]
async fn a_failing_region_is_reported_while_the_others_are_collected() {
    let acct = fresh_account().await;
    let cluster = unique("sentinel-ecs-region");
    create_cluster(&acct.config, &cluster).await;
    register_ec2_task(&acct.config, "r").await;
    create_ec2_service(&acct.config, &cluster, "r", "r", 1).await;

    let collector = EcsCollector::new(&config().await, settings()).expect("settings");
    // moto has no backend for this region and answers 500.
    let got = collector
        .collect(
            &target(Some(&acct.id), &["us-east-1", "xx-nowhere-9"]),
            now_ms(),
        )
        .await
        .expect("the account is collected");

    assert_eq!(got.services.len(), 1);
    assert_eq!(got.services[0].key.region, "us-east-1");
    assert_eq!(got.region_errors.len(), 1, "{:?}", got.region_errors);
    let error = &got.region_errors[0];
    assert_eq!(error.region, "xx-nowhere-9");
    assert_eq!(error.operation, "ListClusters");
    assert!(error.retryable, "a 5xx may clear");
    assert!(error.message.contains("500"), "{}", error.message);
}

#[tokio::test]
async fn an_invalid_target_fails_before_any_call() {
    let collector = EcsCollector::new(&config().await, settings()).expect("settings");
    let bad = AccountTarget {
        role_arn: Some("arn:aws:iam::12345:role/short".to_owned()),
        external_id: None,
        regions: vec!["us-east-1".to_owned()],
    };
    let error = collector
        .collect(&bad, now_ms())
        .await
        .expect_err("invalid");
    assert_eq!(error.code.as_deref(), Some("InvalidTarget"));
    assert!(error.message.contains("IAM role ARN"), "{}", error.message);
}
