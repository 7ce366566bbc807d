//! Every function, run by `cargo lambda watch` and driven by `cargo lambda invoke` with
//! the sample events in `events/`, against the local servers — and the effects checked
//! where they land: users and monitors in PostgreSQL, check jobs in SQS, pings in
//! MongoDB, state in DynamoDB, a mail in moto's SES.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::{MAIL_FROM, aws_infrastructure, mails_to, oncall, postgres_database, unique};
use sentinel_aws::{AwsConfig, SqsQueue};
use sentinel_core::MonitorId;
use sentinel_core::account::Email;
use sentinel_mongo::{MongoPingLog, MongoSettings};
use sentinel_postgres::{PgSettings, PgStore};
use sentinel_store::{LiveStateStore, MonitorStore, PingLog, UserStore};
use sentinel_testkit::services::{self, find_tool, free_port, wait_for_port, workspace_root};
use serde_json::{Value, json};

const JWT_SECRET: &str = "a-cargo-lambda-test-secret-of-enough-length";
const KEYS: &str = "k1:202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";

struct Watch {
    child: Child,
    port: u16,
    scratch: tempfile::TempDir,
}

impl Drop for Watch {
    fn drop(&mut self) {
        // SIGKILL to the whole group (cargo lambda and the functions it runs): a SIGTERM
        // would run cargo lambda's own shutdown, which was seen to signal far more than
        // its children here (every process of the session ended with it).
        let _ = Command::new("kill")
            .args(["-KILL", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cargo_lambda() -> PathBuf {
    find_tool("cargo-lambda").unwrap_or_else(|| {
        panic!(
            "cargo-lambda is needed by this test: `scripts/test-services install` puts it in .venv"
        )
    })
}

impl Watch {
    fn start(env: &BTreeMap<&str, String>) -> Self {
        let scratch = tempfile::tempdir().unwrap();
        let env_file = scratch.path().join("functions.env");
        // Quoted: cargo lambda refuses unquoted values with `?` or `&` (URLs).
        let text: String = env.iter().map(|(k, v)| format!("{k}=\"{v}\"\n")).collect();
        std::fs::write(&env_file, text).unwrap();
        let port = free_port();
        // In a PID namespace of its own where the system allows one: whatever cargo
        // lambda signals on its way out stays inside, and killing `unshare` ends
        // everything in it (`--kill-child`).
        let contained = Command::new("unshare")
            .args(["--pid", "--fork", "--kill-child", "true"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let mut cmd = if contained {
            let mut c = Command::new("unshare");
            c.args(["--pid", "--fork", "--kill-child", "--"])
                .arg(cargo_lambda());
            c
        } else {
            Command::new(cargo_lambda())
        };
        cmd.args(["lambda", "watch", "--ignore-changes", "-A", "127.0.0.1"])
            .args(["-P", &port.to_string()])
            .arg("--env-file")
            .arg(&env_file)
            .current_dir(workspace_root())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(scratch.path().join("watch.log")).unwrap());
        // Its own process group, so the functions it starts go with it.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd.spawn().unwrap();
        assert!(
            wait_for_port(port, Duration::from_secs(60)),
            "cargo lambda watch did not listen"
        );
        Self {
            child,
            port,
            scratch,
        }
    }

    /// `cargo lambda invoke FN --data-file EVENT`; the function's answer as JSON.
    fn invoke(&self, function: &str, event: &Path) -> Value {
        let out = Command::new(cargo_lambda())
            .args(["lambda", "invoke", "-A", "127.0.0.1"])
            .args(["-P", &self.port.to_string()])
            .args(["--data-file"])
            .arg(event)
            .arg(function)
            .current_dir(workspace_root())
            .output()
            .unwrap();
        let log =
            std::fs::read_to_string(self.scratch.path().join("watch.log")).unwrap_or_default();
        assert!(
            out.status.success(),
            "cargo lambda invoke {function} {}: {}\n--- watch log ---\n{}",
            event.display(),
            String::from_utf8_lossy(&out.stderr),
            log.lines().rev().take(40).collect::<Vec<_>>().join("\n")
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{function}: not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// An HTTP function's answer: status and parsed body.
    fn http(&self, function: &str, event: &Path) -> (u64, Value) {
        let reply = self.invoke(function, event);
        let status = reply["statusCode"].as_u64().unwrap_or(0);
        let body = reply["body"].as_str().unwrap_or("null");
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }

    /// A copy of `events/<name>` with a session's credentials and another body.
    fn event_with(&self, name: &str, session: Option<&Session>, body: Option<Value>) -> PathBuf {
        let mut event: Value = serde_json::from_str(
            &std::fs::read_to_string(workspace_root().join("events").join(name)).unwrap(),
        )
        .unwrap();
        if let Some(s) = session {
            event["headers"]["authorization"] = json!(format!("Bearer {}", s.token));
            event["headers"]["x-csrf-token"] = json!(s.csrf);
            event["cookies"] = json!([format!("sentinel_csrf={}", s.csrf)]);
        }
        if let Some(b) = body {
            let text = b.to_string();
            event["headers"]["content-length"] = json!(text.len().to_string());
            event["body"] = json!(text);
            event["isBase64Encoded"] = json!(false);
        }
        let path = self.scratch.path().join(format!("{}-{name}", free_port()));
        std::fs::write(&path, event.to_string()).unwrap();
        path
    }
}

struct Session {
    token: String,
    csrf: String,
}

fn event(name: &str) -> PathBuf {
    workspace_root().join("events").join(name)
}

// Run by `.ci/run` on its own, inside a PID namespace (`scripts/lambda-invoke-test`):
// stopping `cargo lambda watch` here has ended every process of the session when run
// beside the rest of the suite. `cargo test -p sentinel-cloud --test lambda_invoke --
// --ignored` runs it by hand.
#[ignore = "run by scripts/lambda-invoke-test (CI) in a PID namespace of its own"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_function_answers_its_sample_events_under_cargo_lambda() {
    let endpoint = services::aws_endpoint();
    let aws = AwsConfig::emulator(endpoint).await;
    let infra = aws_infrastructure(&aws).await;
    let bucket = unique("reports");
    aws.s3()
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let postgres_url = postgres_database().await;
    let mongo_db = unique("lambda").replace('-', "_");
    let env: BTreeMap<&str, String> = BTreeMap::from([
        ("POSTGRES_URL", postgres_url.clone()),
        ("MONGODB_URI", services::mongodb_uri().to_owned()),
        ("MONGODB_DATABASE", mongo_db.clone()),
        ("TABLE_NAME", infra.table.clone()),
        ("CHECKS_QUEUE_URL", infra.checks_url.clone()),
        ("EVENT_BUS_NAME", infra.bus.clone()),
        ("REPORTS_BUCKET", bucket),
        ("MAIL_FROM", MAIL_FROM.into()),
        ("ALLOW_PRIVATE_TARGETS", "true".into()),
        ("JWT_SECRET", JWT_SECRET.into()),
        ("ENCRYPTION_KEYS", KEYS.into()),
        ("FRONTEND_URL", "https://status.example.com".into()),
        ("SECURE_COOKIES", "true".into()),
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("SENTINEL_LOG_FORMAT", "json".into()),
        ("RUST_LOG", "info".into()),
    ]);
    let mongo = Arc::new(
        MongoPingLog::connect(services::mongodb_uri(), &mongo_db, MongoSettings::default())
            .await
            .unwrap(),
    );
    mongo.ensure_schema().await.unwrap();
    let pg = PgStore::connect(&PgSettings::from_url(&postgres_url).unwrap())
        .await
        .unwrap();
    let oncall = oncall();
    let watch = Watch::start(&env);

    // public: health and the API document.
    let (status, body) = watch.http("public", &event("public-health.json"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok");
    let (status, body) = watch.http("public", &event("public-openapi.json"));
    assert_eq!(status, 200);
    assert!(body["paths"].is_object());
    let (status, body) = watch.http("public", &event("public-not-found.json"));
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");

    // auth: register (first user = admin, in PostgreSQL), then sign in.
    let (status, body) = watch.http("auth", &event("auth-register.json"));
    assert_eq!(status, 201, "{body}");
    let admin = pg
        .find_user_by_email(&Email::parse("admin@example.com").unwrap())
        .await
        .unwrap()
        .expect("the user is in PostgreSQL");
    assert_eq!(admin.role, sentinel_core::account::Role::Admin);
    let reply = watch.invoke("auth", &event("auth-login.json"));
    assert_eq!(reply["statusCode"], 200, "{reply}");
    let login: Value = serde_json::from_str(reply["body"].as_str().unwrap()).unwrap();
    let cookies = reply["cookies"].to_string();
    assert!(cookies.contains("sentinel_refresh="), "{reply}");
    let session = Session {
        token: login["accessToken"].as_str().unwrap().to_owned(),
        csrf: login["csrfToken"].as_str().unwrap().to_owned(),
    };

    // The other route groups refuse the sample's placeholder token with a JSON 401 …
    for (function, name) in [
        ("monitors", "monitors-list.json"),
        ("users", "users-list.json"),
        ("metrics", "metrics-stats.json"),
        ("export", "export-csv.json"),
        ("api-keys", "api-keys-list.json"),
        ("ecs", "ecs-clusters.json"),
    ] {
        let (status, body) = watch.http(function, &event(name));
        assert_eq!(status, 401, "{function} {name}: {body}");
        assert!(body["error"]["code"].is_string(), "{function}: {body}");
    }
    // … and serve a real session.
    for (function, name) in [
        ("users", "users-list.json"),
        ("api-keys", "api-keys-list.json"),
        ("monitors", "alert-channels-list.json"),
        ("ecs", "ecs-clusters.json"),
    ] {
        let (status, body) = watch.http(function, &watch.event_with(name, Some(&session), None));
        assert_eq!(status, 200, "{function} {name}: {body}");
    }

    // ecs: no account watched yet; the accounts come from PostgreSQL, the clusters
    // from the DynamoDB table.
    let (status, body) = watch.http(
        "ecs",
        &watch.event_with("ecs-clusters.json", Some(&session), None),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"accounts": [], "clusters": []}));

    // ecs-collector: one round with nothing to collect (needs the collection round
    // wired into `Cloud::ecs_refresh`).
    let reply = watch.invoke("ecs-collector", &event("ecs-collector.json"));
    assert_eq!(reply["collected"], true, "{reply}");
    assert_eq!(reply["accounts"], 0, "{reply}");
    assert_eq!(reply["failed_accounts"], json!([]), "{reply}");

    // monitors: an email channel and the monitor the notifier sample is about.
    let channel_event = {
        let path = watch.event_with(
            "monitors-create.json",
            Some(&session),
            Some(json!({"name": "oncall", "type": "email", "to": [&oncall]})),
        );
        // The sample posts to /api/monitors; the same function serves the channels.
        let mut e: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        e["rawPath"] = json!("/api/alert-channels");
        e["requestContext"]["http"]["path"] = json!("/api/alert-channels");
        std::fs::write(&path, e.to_string()).unwrap();
        path
    };
    let (status, body) = watch.http("monitors", &channel_event);
    assert_eq!(status, 201, "{body}");
    let target = sentinel_testkit::Target::start().await;
    let (status, body) = watch.http(
        "monitors",
        &watch.event_with(
            "monitors-create.json",
            Some(&session),
            Some(
                json!({"id": "example-api", "name": "Example API", "url": target.url(),
                        "interval": "60s", "conditions": ["[STATUS] == 200"]}),
            ),
        ),
    );
    assert_eq!(status, 201, "{body}");
    let example = MonitorId::parse("example-api").unwrap();
    assert!(pg.get_monitor(&example).await.unwrap().is_some());

    // scheduler: the monitor's job for the minute goes to the checks queue.
    let reply = watch.invoke("scheduler", &event("scheduler.json"));
    assert_eq!(reply["checks"], 1, "{reply}");
    let checks = SqsQueue::new(aws.sqs(), infra.checks_url.clone());
    let queued = checks.receive(10, Duration::from_secs(2)).await.unwrap();
    assert_eq!(queued.len(), 1, "one job in SQS");
    // The scheduler sends compressed bodies; the prober reads them with the same codec.
    let job = sentinel_pipeline::cloud::CheckJob::decode(&queued[0].body).unwrap();
    assert_eq!(job.checks[0].monitor.id.as_str(), "example-api");

    // prober: the sample batch (three monitors at https://127.0.0.1:1, refused) is
    // checked, recorded in MongoDB and applied to DynamoDB; nothing to redeliver.
    let reply = watch.invoke("prober", &event("prober-batch.json"));
    assert_eq!(reply["batchItemFailures"], json!([]), "{reply}");
    for id in ["example-api", "checkout", "new-monitor"] {
        let id = MonitorId::parse(id).unwrap();
        let pings = mongo.history(&id, 0, i64::MAX, 10).await.unwrap();
        assert_eq!(pings.len(), 1, "{id}: one ping in MongoDB");
        assert!(!pings[0].success, "{id}: port 1 refuses");
    }
    let table = sentinel_aws::DynamoTable::new(aws.dynamodb(), infra.table.clone());
    let state = table
        .get_state(&MonitorId::parse("new-monitor").unwrap())
        .await
        .unwrap()
        .expect("a new monitor's state is stored in DynamoDB");
    assert_eq!(state.consecutive_failures, 1);

    // notifier: the sample `down` transition of example-api → a mail in moto's SES
    // through the owner's email channel; the `recovered` one for an unknown monitor
    // is dropped. Nothing to redeliver.
    let reply = watch.invoke("notifier", &event("notifier-batch.json"));
    assert_eq!(reply["batchItemFailures"], json!([]), "{reply}");
    let mails = mails_to(endpoint, &oncall, "Example API is down").await;
    assert_eq!(mails.len(), 1, "one alert mail in SES");
    // Delivered again: the ledger stops a second mail.
    let reply = watch.invoke("notifier", &event("notifier-batch.json"));
    assert_eq!(reply["batchItemFailures"], json!([]));
    assert_eq!(
        mails_to(endpoint, &oncall, "Example API is down")
            .await
            .len(),
        1
    );

    let _ = mongo.database().drop().await;
}
