//! `sentinel migrate`, and `sentinel serve` on PostgreSQL + MongoDB (the cloud adapters
//! by configuration): the real binary against real local servers.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sentinel_core::MonitorId;
use sentinel_core::account::Email;
use sentinel_mongo::{MongoPingLog, MongoSettings};
use sentinel_postgres::{PgSettings, PgStore};
use sentinel_store::{MonitorStore, PingLog, UserStore};
use sentinel_testkit::Target;
use sentinel_testkit::services::{self, free_port};

/// A fresh, empty database on the test server; its URL.
async fn fresh_database() -> String {
    let server = services::postgres_url();
    let name = format!("srv_{}_{}", std::process::id(), free_port());
    let admin = PgStore::connect(&PgSettings::from_url(server).unwrap())
        .await
        .unwrap();
    admin
        .pool()
        .get()
        .await
        .unwrap()
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let base = server.rsplit_once('/').map_or(server, |(b, _)| b);
    format!("{base}/{name}")
}

fn migrate(url: Option<&str>) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sentinel"));
    cmd.arg("migrate").env_remove("POSTGRES_URL");
    if let Some(url) = url {
        cmd.env("POSTGRES_URL", url);
    }
    cmd.output().unwrap()
}

#[tokio::test]
async fn migrate_applies_once_and_refuses_bad_input() {
    let out = migrate(None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("POSTGRES_URL"));
    let out = migrate(Some("mysql://nope"));
    assert_eq!(out.status.code(), Some(2), "{out:?}");

    let url = fresh_database().await;
    let out = migrate(Some(&url));
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("applied 0001"), "{stdout}");
    let again = migrate(Some(&url));
    assert!(again.status.success());
    assert_eq!(
        String::from_utf8_lossy(&again.stdout).trim(),
        "database is up to date"
    );
    // Unreachable server: a failure, not a usage error.
    let out = migrate(Some(&format!(
        "postgres://postgres@127.0.0.1:{}/x?connect_timeout=2",
        free_port()
    )));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}

struct Sentinel(Child);

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_keeps_accounts_in_postgres_and_pings_in_mongodb() {
    let target = Target::start().await;
    let postgres_url = fresh_database().await;
    let mongo_db = format!("serve_{}_{}", std::process::id(), free_port());
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sentinel.yaml");
    std::fs::write(
        &config,
        format!(
            "server:\n  allow-private: true\nmonitors:\n  - id: shop\n    name: Shop\n    \
             url: {}\n    interval: 10s\n    public: true\n    conditions: ['[STATUS] == 200']\n",
            target.url()
        ),
    )
    .unwrap();
    let port = free_port();
    let _sentinel = Sentinel(
        Command::new(env!("CARGO_BIN_EXE_sentinel"))
            .args(["serve", "--config"])
            .arg(&config)
            .arg("--data")
            .arg(dir.path().join("data"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("POSTGRES_URL", &postgres_url)
            .env("MONGODB_URI", services::mongodb_uri())
            .env("MONGODB_DATABASE", &mongo_db)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let up = match reqwest::get(format!("{base}/api/public/monitors/shop/status")).await {
            Ok(r) => r.json::<serde_json::Value>().await.ok(),
            Err(_) => None,
        };
        if up.as_ref().is_some_and(|b| b["status"] == "up") {
            break;
        }
        assert!(Instant::now() < deadline, "shop never came up: {up:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let reply = reqwest::Client::new()
        .post(format!("{base}/api/auth/register"))
        .json(&serde_json::json!({"email": "Owner@Example.com", "password": "a long passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201);

    // Where things went: the monitor and the user in PostgreSQL, the pings in MongoDB.
    let pg = PgStore::connect(&PgSettings::from_url(&postgres_url).unwrap())
        .await
        .unwrap();
    let shop = MonitorId::parse("shop").unwrap();
    assert!(pg.get_monitor(&shop).await.unwrap().is_some());
    let email = Email::parse("owner@example.com").unwrap();
    let user = pg.find_user_by_email(&email).await.unwrap().unwrap();
    assert_eq!(user.role, sentinel_core::account::Role::Admin);
    let mongo = MongoPingLog::connect(services::mongodb_uri(), &mongo_db, MongoSettings::default())
        .await
        .unwrap();
    let pings = mongo.history(&shop, 0, i64::MAX, 100).await.unwrap();
    assert!(!pings.is_empty(), "pings are in MongoDB");
    let _ = mongo.database().drop().await;
}
