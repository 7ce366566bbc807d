//! Shared test helpers: a fresh database per test (dropped at the end, also on panic)
//! and a SecantusDB server of a test's own for tests that kill it or set failpoints.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mongodb::Client;
use mongodb::bson::{Document, doc};
use sentinel_core::CheckResult;
use sentinel_core::stats::{Granularity, Rollup};
use sentinel_mongo::{MongoPingLog, MongoSettings};
use sentinel_store::PingLog;
use sentinel_store::contract::fixtures::{expected_rollups, monitor_id};
use sentinel_testkit::services;

/// A throw-away database with the schema in place.
pub struct TestDb {
    store: MongoPingLog,
    uri: String,
    name: String,
}

impl TestDb {
    /// On the shared test server.
    pub async fn create() -> Self {
        Self::on(services::mongodb_uri(), MongoSettings::default()).await
    }

    pub async fn on(uri: &str, settings: MongoSettings) -> Self {
        let name = unique_name();
        let store = MongoPingLog::connect(uri, &name, settings)
            .await
            .expect("client builds");
        store.ensure_schema().await.expect("schema");
        Self {
            store,
            uri: uri.to_owned(),
            name,
        }
    }

    /// Over a client the caller built (e.g. with command monitoring).
    pub async fn with_client(client: &Client, uri: &str) -> Self {
        let name = unique_name();
        let store = MongoPingLog::from_client(client, &name, MongoSettings::default());
        store.ensure_schema().await.expect("schema");
        Self {
            store,
            uri: uri.to_owned(),
            name,
        }
    }

    pub fn store(&self) -> &MongoPingLog {
        &self.store
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDb {
    /// Drops the database from a thread of its own: the test's runtime may be gone or
    /// unwinding, and the driver's client is tied to the runtime that made it.
    fn drop(&mut self) {
        let (uri, name) = (self.uri.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut options = mongodb::options::ClientOptions::parse(&uri).await.ok()?;
                options.server_selection_timeout = Some(Duration::from_secs(2));
                let client = Client::with_options(options).ok()?;
                client.database(&name).drop().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

fn unique_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "sentinel_t_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A SecantusDB process owned by one test, which may kill and restart it on the same
/// port and storage directory.
pub struct OwnServer {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl OwnServer {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut server = Self {
            child: None,
            port: services::free_port(),
            dir,
        };
        server.restart();
        server
    }

    pub fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}/?directConnection=true", self.port)
    }

    /// SIGKILL: no shutdown, no flush — a crash.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts (again) on the same port and storage path.
    pub fn restart(&mut self) {
        self.kill();
        let bin: PathBuf =
            services::find_tool("secantusd-py").expect("secantusd-py in .venv/bin or on PATH");
        let data = self.dir.path().join("data");
        std::fs::create_dir_all(&data).expect("data dir");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .expect("log file");
        let child = Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            // configureFailPoint, for the crash tests.
            .arg("--enable-test-commands")
            .arg("--storage-path")
            .arg(&data)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log)
            .spawn()
            .expect("spawn secantusd-py");
        self.child = Some(child);
        assert!(
            services::wait_for_port(self.port, Duration::from_secs(30)),
            "SecantusDB did not come up on port {}",
            self.port
        );
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Sets the server-wide `failCommand` failpoint (`mode` as mongod takes it).
pub async fn fail_commands(
    store: &MongoPingLog,
    commands: &[&str],
    mode: mongodb::bson::Bson,
    data: Document,
) {
    let mut data = data;
    data.insert("failCommands", commands.to_vec());
    store
        .database()
        .client()
        .database("admin")
        .run_command(doc! { "configureFailPoint": "failCommand", "mode": mode, "data": data })
        .await
        .expect("configureFailPoint");
}

pub async fn fail_off(store: &MongoPingLog) {
    store
        .database()
        .client()
        .database("admin")
        .run_command(doc! { "configureFailPoint": "failCommand", "mode": "off" })
        .await
        .expect("configureFailPoint off");
}

pub const FAR_PAST: i64 = 0;
pub const FAR_FUTURE: i64 = i64::MAX / 4;

pub fn newest_first(results: &[CheckResult]) -> Vec<CheckResult> {
    let mut out = results.to_vec();
    out.sort_by_key(|r| std::cmp::Reverse(r.checked_at));
    out
}

/// Asserts that `store` holds exactly `results` (per monitor: history and both
/// rollup granularities) — nothing lost, nothing twice.
pub async fn assert_holds_exactly(store: &MongoPingLog, results: &[CheckResult]) {
    let mut monitors: Vec<&str> = results.iter().map(|r| r.monitor_id.as_str()).collect();
    monitors.sort_unstable();
    monitors.dedup();
    for monitor in monitors {
        let mine: Vec<CheckResult> = results
            .iter()
            .filter(|r| r.monitor_id.as_str() == monitor)
            .cloned()
            .collect();
        let id = monitor_id(monitor);
        let history = store
            .history(&id, FAR_PAST, FAR_FUTURE, usize::MAX)
            .await
            .expect("history");
        assert_eq!(history, newest_first(&mine), "history of {monitor}");
        for granularity in [Granularity::Hour, Granularity::Day] {
            let got: Vec<Rollup> = store
                .rollups(&id, granularity, FAR_PAST, FAR_FUTURE)
                .await
                .expect("rollups");
            assert_eq!(
                got,
                expected_rollups(&mine, granularity),
                "{granularity:?} rollups of {monitor}"
            );
        }
    }
}
