//! `sentinel serve` end to end, as a user runs it: the real binary, a YAML file, real
//! local HTTP servers as the target and the webhook receiver, SQLite in a temp folder.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::Value;

struct Servers {
    target: SocketAddr,
    healthy: Arc<AtomicBool>,
    slow_hits: Arc<AtomicU32>,
    hooks: Arc<std::sync::Mutex<Vec<Value>>>,
    receiver: SocketAddr,
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn start_servers() -> Servers {
    let healthy = Arc::new(AtomicBool::new(true));
    let slow_hits = Arc::new(AtomicU32::new(0));
    let h = Arc::clone(&healthy);
    let s = Arc::clone(&slow_hits);
    let target = serve(
        Router::new()
            .route(
                "/health",
                get(move || {
                    let up = h.load(Ordering::SeqCst);
                    async move {
                        if up {
                            (StatusCode::OK, "ok")
                        } else {
                            (StatusCode::INTERNAL_SERVER_ERROR, "broken")
                        }
                    }
                }),
            )
            .route(
                "/slow",
                get(move || {
                    s.fetch_add(1, Ordering::SeqCst);
                    async {
                        tokio::time::sleep(Duration::from_secs(2)).await;
                        "finally"
                    }
                }),
            ),
    )
    .await;
    let hooks = Arc::new(std::sync::Mutex::new(Vec::new()));
    let receiver = serve(
        Router::new()
            .route(
                "/hook",
                post(
                    |State(hooks): State<Arc<std::sync::Mutex<Vec<Value>>>>, body: Bytes| async move {
                        hooks.lock().unwrap().push(serde_json::from_slice(&body).unwrap());
                        StatusCode::OK
                    },
                ),
            )
            .with_state(Arc::clone(&hooks)),
    )
    .await;
    Servers {
        target,
        healthy,
        slow_hits,
        hooks,
        receiver,
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Sentinel {
    child: Child,
    base: String,
}

impl Sentinel {
    fn start(config: &Path, data: &Path, port: u16) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_sentinel"))
            .args(["serve", "--config"])
            .arg(config)
            .arg("--data")
            .arg(data)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(r) = reqwest::get(format!("{}/health", self.base)).await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("sentinel did not become healthy");
    }

    async fn json(&self, path: &str) -> (u16, Value) {
        let r = reqwest::get(format!("{}{path}", self.base)).await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }

    async fn wait_status(&self, id: &str, want: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            let (_, body) = self
                .json(&format!("/api/public/monitors/{id}/status"))
                .await;
            if body["status"] == want {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "{id} never became {want}: {body}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// SIGTERM, then wait for a clean exit.
    fn terminate(mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "sentinel exited with {status}");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "sentinel did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn outbox(data: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(data.join("outbox"))
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_monitor_goes_down_alerts_once_recovers_and_survives_a_restart() {
    let servers = start_servers().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("sentinel.yaml");
    std::fs::write(
        &config,
        format!(
            r#"
alerting:
  ops:
    type: webhook
    url: http://{receiver}/hook
    secret: e2e-secret-0123456789
  email:
    to: [oncall@example.com]
    from: sentinel@example.com
monitors:
  - id: target
    name: Target <b>&amp; co</b>
    url: http://{target}/health
    interval: 10s
    timeout: 2s
    failure-threshold: 1
    conditions: ["[STATUS] == 200"]
    public: true
  - name: Private one
    url: http://{target}/slow
    interval: 10s
"#,
            receiver = servers.receiver,
            target = servers.target
        ),
    )
    .unwrap();
    let port = free_port();
    let sentinel = Sentinel::start(&config, &data, port);
    sentinel.wait_healthy().await;

    let up = sentinel.wait_status("target", "up").await;
    assert_eq!(up["name"], "Target <b>&amp; co</b>");

    // Badges follow the status, cache well, and escape the monitor's name.
    let client = reqwest::Client::new();
    let badge = client
        .get(format!(
            "{}/api/public/monitors/target/badge.svg",
            sentinel.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(badge.status(), 200);
    assert_eq!(
        badge.headers()["cache-control"],
        "public, max-age=60, stale-while-revalidate=300"
    );
    let etag = badge.headers()["etag"].to_str().unwrap().to_owned();
    let svg = badge.text().await.unwrap();
    assert!(svg.contains(">up<"), "{svg}");
    assert!(
        svg.contains("Target &lt;b&gt;&amp;amp; co&lt;/b&gt;"),
        "{svg}"
    );
    let again = client
        .get(format!(
            "{}/api/public/monitors/target/badge.svg",
            sentinel.base
        ))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let alias = reqwest::get(format!("{}/api/status/target", sentinel.base))
        .await
        .unwrap();
    assert_eq!(alias.text().await.unwrap(), svg);

    // Private monitors and unknown ids are 404 JSON; bad queries 400 JSON.
    let (code, body) = sentinel
        .json("/api/public/monitors/private-one/status")
        .await;
    assert_eq!(code, 404);
    assert_eq!(body["error"]["code"], "not_found");
    let (code, _) = sentinel.json("/api/public/monitors/nope/badge.svg").await;
    assert_eq!(code, 404);
    let (code, body) = sentinel
        .json("/api/public/monitors/target/badge.svg?kind=weird")
        .await;
    assert_eq!(code, 400);
    assert_eq!(body["error"]["field"], "kind");
    let (_, page) = sentinel.json("/api/public/status").await;
    assert_eq!(
        page["monitors"].as_array().unwrap().len(),
        1,
        "only public monitors"
    );
    assert_eq!(page["overall"], "up");
    assert_eq!(page["system"]["store"], "ok");
    assert_eq!(page["system"]["scheduler"], "ok", "{page}");
    assert!(page["system"]["scheduler_last_tick"].as_i64().is_some());

    servers.healthy.store(false, Ordering::SeqCst);
    let down = sentinel.wait_status("target", "down").await;
    assert!(down["since"].as_i64().is_some());
    let (_, page) = sentinel.json("/api/public/status").await;
    assert_eq!(page["overall"], "down");
    let svg = reqwest::get(format!(
        "{}/api/public/monitors/target/badge.svg",
        sentinel.base
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(svg.contains(">down<"), "{svg}");
    // Give a second down check the chance to (wrongly) alert again.
    tokio::time::sleep(Duration::from_secs(11)).await;
    {
        let hooks = servers.hooks.lock().unwrap();
        assert_eq!(hooks.len(), 1, "exactly one down alert: {hooks:?}");
        assert_eq!(hooks[0]["event"], "down");
        assert_eq!(hooks[0]["monitor_id"], "target");
    }
    assert_eq!(outbox(&data).len(), 1, "exactly one down email");

    servers.healthy.store(true, Ordering::SeqCst);
    sentinel.wait_status("target", "up").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    {
        let hooks = servers.hooks.lock().unwrap();
        assert_eq!(hooks.len(), 2, "exactly one recovery alert: {hooks:?}");
        assert_eq!(hooks[1]["event"], "recovered");
    }
    assert_eq!(outbox(&data).len(), 2);
    let (_, before) = sentinel.json("/api/public/monitors/target/status").await;
    let uptime = before["uptime_24h"].as_f64().unwrap();
    assert!(uptime > 0.0 && uptime < 100.0, "{before}");

    sentinel.terminate();

    // History and state survive a restart.
    let sentinel = Sentinel::start(&config, &data, port);
    sentinel.wait_healthy().await;
    let (_, after) = sentinel.json("/api/public/monitors/target/status").await;
    assert_eq!(after["status"], "up");
    assert!(
        after["uptime_24h"].as_f64().unwrap() < 100.0,
        "the down check is still counted: {after}"
    );
    assert!(after["last_check_at"].as_i64().unwrap() >= before["last_check_at"].as_i64().unwrap());
    sentinel.terminate();
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_waits_for_in_flight_checks_and_records_them() {
    let servers = start_servers().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("sentinel.yaml");
    std::fs::write(
        &config,
        format!(
            "monitors:\n  - id: slow\n    name: Slow\n    url: http://{}/slow\n    interval: 10s\n    timeout: 5s\n    public: true\n",
            servers.target
        ),
    )
    .unwrap();
    let port = free_port();
    let sentinel = Sentinel::start(&config, &data, port);
    sentinel.wait_healthy().await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while servers.slow_hits.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the slow check never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The check is in flight (the target answers after 2 s): stop now.
    sentinel.terminate();

    let sentinel = Sentinel::start(&config, &data, port);
    sentinel.wait_healthy().await;
    let (_, status) = sentinel.json("/api/public/monitors/slow/status").await;
    assert!(
        status["last_check_at"].as_i64().is_some(),
        "the in-flight check was recorded before exit: {status}"
    );
    assert_eq!(
        status["last_response_ms"].as_f64().map(|ms| ms >= 1900.0),
        Some(true),
        "{status}"
    );
}

#[test]
fn a_bad_config_names_file_line_and_field_and_nothing_starts() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.yaml");
    std::fs::write(
        &config,
        "monitors:\n  - name: ok\n    url: http://127.0.0.1/\n  - name: bad\n    url: http://127.0.0.1/\n    interval: 5s\n    conditions:\n      - \"[STAUS] == 200\"\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let out = Command::new(env!("CARGO_BIN_EXE_sentinel"))
        .args(["serve", "--config"])
        .arg(&config)
        .arg("--data")
        .arg(&data)
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.yaml:6: monitors[1].interval: "),
        "{stderr}"
    );
    assert!(
        stderr.contains("bad.yaml:8: monitors[1].conditions[0]: "),
        "{stderr}"
    );
    assert!(!data.exists(), "nothing started, no data folder");

    std::fs::write(&config, "monitors:\n  - name: [unclosed\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sentinel"))
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.yaml:"));

    let out = Command::new(env!("CARGO_BIN_EXE_sentinel"))
        .args(["serve", "--config"])
        .arg(dir.path().join("missing.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.yaml: cannot read"));
}

#[test]
fn a_short_jwt_secret_or_a_bad_setting_stops_serve_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sentinel.yaml");
    std::fs::write(&config, "monitors: []\n").unwrap();
    for (name, value) in [
        ("JWT_SECRET", "too-short"),
        ("RATE_LIMIT_MAX_REQUESTS", "none"),
        ("FRONTEND_URL", "::not a url::"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_sentinel"))
            .args(["serve", "--config"])
            .arg(&config)
            .arg("--data")
            .arg(dir.path().join("data"))
            .args(["--listen", "127.0.0.1:0"])
            .env(name, value)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{name}={value} must stop serve");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(name), "{name}: {stderr}");
    }
}

/// `POST /api/ecs/refresh` runs a collection round over the environment's AWS
/// credentials (here moto, through `AWS_ENDPOINT_URL`) for the local account.
#[tokio::test(flavor = "multi_thread")]
async fn an_ecs_refresh_collects_the_local_account_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("sentinel.yaml");
    std::fs::write(&config, "monitors: []\n").unwrap();
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_sentinel"))
        .args(["serve", "--config"])
        .arg(&config)
        .arg("--data")
        .arg(&data)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env(
            "AWS_ENDPOINT_URL",
            sentinel_testkit::services::aws_endpoint(),
        )
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let sentinel = Sentinel {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    sentinel.wait_healthy().await;

    let client = reqwest::Client::new();
    let credentials =
        serde_json::json!({"email": "admin@example.com", "password": "correct horse battery"});
    let r = client
        .post(format!("{}/api/auth/register", sentinel.base))
        .json(&credentials)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let login: Value = client
        .post(format!("{}/api/auth/login", sentinel.base))
        .json(&credentials)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["accessToken"].as_str().unwrap().to_owned();
    let csrf = login["csrfToken"].as_str().unwrap().to_owned();
    let post = |path: &str, body: Value| {
        client
            .post(format!("{}{path}", sentinel.base))
            .bearer_auth(&token)
            .header("x-csrf-token", &csrf)
            .header("cookie", format!("sentinel_csrf={csrf}"))
            .json(&body)
            .send()
    };
    let r = post(
        "/api/ecs/accounts",
        serde_json::json!({"regions": ["us-east-1"]}),
    )
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap());
    let r = post("/api/ecs/refresh", serde_json::json!({}))
        .await
        .unwrap();
    let status = r.status().as_u16();
    let report: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["accounts"], 1, "{report}");
    assert_eq!(
        report["failed_accounts"].as_array().map(Vec::len),
        Some(0),
        "{report}"
    );
    sentinel.terminate();
}
