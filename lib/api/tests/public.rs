//! The public route group over a real SQLite store, driven with `oneshot`.

mod support;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use sentinel_api::{NoMonitorEvents, public, with_fallbacks};
use sentinel_core::check::{CheckResult, Timings};
use sentinel_core::monitor::DurationInput;
use sentinel_core::{LiveState, MonitorInput, MonitorSpec, Status};
use sentinel_embedded::SqliteStore;
use sentinel_probe::ProbeSettings;
use sentinel_store::{LiveStateStore, MonitorStore, PingLog};
use tower::ServiceExt;

fn spec(id: &str, name: &str, public: bool) -> MonitorSpec {
    MonitorInput {
        id: Some(id.into()),
        name: Some(name.into()),
        url: Some("https://example.com/".into()),
        interval: Some(DurationInput::Seconds(60)),
        public: Some(public),
        ..MonitorInput::default()
    }
    .validate()
    .unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

async fn app() -> (axum::Router, Arc<SqliteStore>) {
    let store = Arc::new(SqliteStore::open_in_memory().await.unwrap());
    store
        .upsert_monitor(&spec("web", "Web <script>alert(1)</script>", true))
        .await
        .unwrap();
    store
        .upsert_monitor(&spec("secret", "Internal", false))
        .await
        .unwrap();
    // 99 good checks and 1 bad one in the last hour.
    let t0 = now() - 3_000_000;
    let results: Vec<CheckResult> = (0..100)
        .map(|i| CheckResult {
            monitor_id: sentinel_core::MonitorId::parse("web").unwrap(),
            checked_at: t0 + i * 30_000,
            success: i != 50,
            status_code: Some(if i == 50 { 503 } else { 200 }),
            timings: Timings {
                total_ms: 100.0 + i as f64,
                ..Timings::default()
            },
            ip: None,
            cert_expires_at: None,
            error: None,
            failure_reason: None,
            conditions: vec![],
        })
        .collect();
    store.append(&results).await.unwrap();
    let mut live = LiveState::new(sentinel_core::MonitorId::parse("web").unwrap(), t0);
    live.status = Status::Up;
    live.last_check_at = Some(t0 + 99 * 30_000);
    live.last_response_ms = Some(199.0);
    store.compare_and_set(&live, None).await.unwrap();
    let dir = tempfile::tempdir().unwrap().keep();
    let state = support::state_over(
        &store,
        &dir,
        support::test_settings(),
        Arc::new(NoMonitorEvents),
        ProbeSettings::default(),
    );
    // As `sentinel serve` does: fallbacks once, on the merged router.
    (with_fallbacks(public::routes()).with_state(state), store)
}

async fn get(
    app: &axum::Router,
    uri: &str,
    etag: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    send(app, Method::GET, uri, etag).await
}

async fn send(
    app: &axum::Router,
    method: Method,
    uri: &str,
    etag: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(tag) = etag {
        req = req.header(header::IF_NONE_MATCH, tag);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn status_json_lists_only_public_monitors_with_uptime() {
    let (app, _) = app().await;
    let (status, _, body) = get(&app, "/api/public/status", None).await;
    assert_eq!(status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let monitors = json["monitors"].as_array().unwrap();
    assert_eq!(monitors.len(), 1);
    assert_eq!(monitors[0]["id"], "web");
    assert_eq!(monitors[0]["status"], "up");
    assert_eq!(monitors[0]["uptime_24h"], 99.0);
    assert_eq!(monitors[0]["last_response_ms"], 199.0);
    // Stored verbatim, escaped by JSON.
    assert_eq!(monitors[0]["name"], "Web <script>alert(1)</script>");
    assert_eq!(json["overall"], "up");
    // No scheduler in this process (an API-only Lambda looks like this).
    assert_eq!(json["system"]["scheduler"], "not_running");
    assert_eq!(json["system"]["store"], "ok");
}

#[tokio::test]
async fn badges_render_escape_and_cache() {
    let (app, _) = app().await;
    let (status, headers, svg) = get(&app, "/api/public/monitors/web/badge.svg", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "image/svg+xml; charset=utf-8"
    );
    assert_eq!(
        headers[header::CACHE_CONTROL],
        "public, max-age=60, stale-while-revalidate=300"
    );
    assert!(!svg.contains("<script>"), "{svg}");
    assert!(svg.contains("&lt;script&gt;"));
    let etag = headers[header::ETAG].to_str().unwrap().to_owned();
    let (status, headers, body) =
        get(&app, "/api/public/monitors/web/badge.svg", Some(&etag)).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    assert_eq!(headers[header::ETAG], etag.as_str());

    let (_, _, uptime) = get(
        &app,
        "/api/public/monitors/web/badge.svg?kind=uptime&period=7d",
        None,
    )
    .await;
    assert!(uptime.contains("99.00%"), "{uptime}");
    assert!(uptime.contains("uptime 7d"), "{uptime}");
    let (_, _, response) = get(
        &app,
        "/api/public/monitors/web/badge.svg?kind=response&label=latency",
        None,
    )
    .await;
    assert!(response.contains("latency"), "{response}");
    assert!(response.contains(" ms"), "{response}");

    let (status, headers, json) = get(
        &app,
        "/api/public/monitors/web/badge.json?kind=uptime",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.contains_key(header::ETAG));
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["schemaVersion"], 1);
    assert_eq!(json["message"], "99.00%");

    let (status, _, alias) = get(&app, "/api/status/web", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(alias, svg);
}

#[tokio::test]
async fn unknown_private_and_malformed_requests_get_json_errors() {
    let (app, _) = app().await;
    for uri in [
        "/api/public/monitors/nope/status",
        "/api/public/monitors/secret/status",
        "/api/public/monitors/secret/badge.svg",
        "/api/public/monitors/NOT%20AN%20ID/badge.svg",
        "/api/status/nope",
    ] {
        let (status, _, body) = get(&app, uri, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["error"]["code"], "not_found", "{uri}");
    }
    for (uri, field) in [
        ("/api/public/monitors/web/badge.svg?kind=pie", "kind"),
        (
            "/api/public/monitors/web/badge.svg?kind=uptime&period=1y",
            "period",
        ),
        (
            "/api/public/monitors/web/badge.svg?label=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "label",
        ),
    ] {
        let (status, _, body) = get(&app, uri, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["error"]["field"], field, "{uri}");
    }
}

#[tokio::test]
async fn health_answers_ok() {
    let (app, _) = app().await;
    let (status, _, body) = get(&app, "/health", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, r#"{"status":"ok"}"#);
}

/// Asserts a JSON error response and returns its `error` object.
fn json_error(
    uri: &str,
    (status, headers, body): &(StatusCode, axum::http::HeaderMap, String),
    expected: StatusCode,
    code: &str,
) -> serde_json::Value {
    assert_eq!(*status, expected, "{uri}: {body}");
    assert_eq!(
        headers
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap()),
        Some("application/json"),
        "{uri}"
    );
    let json: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{uri}: {e}: {body:?}"));
    assert_eq!(json["error"]["code"], code, "{uri}: {body}");
    assert!(json["error"]["message"].is_string(), "{uri}: {body}");
    json["error"].clone()
}

#[tokio::test]
async fn query_rejections_are_json_400_naming_the_field() {
    let (app, _) = app().await;
    for uri in [
        "/api/public/monitors/web/badge.svg?kind=a&kind=b",
        "/api/public/monitors/web/badge.json?kind=uptime&kind=status",
    ] {
        let resp = get(&app, uri, None).await;
        let error = json_error(uri, &resp, StatusCode::BAD_REQUEST, "invalid_query");
        assert_eq!(error["field"], "kind", "{uri}");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("duplicate field"),
            "{error}"
        );
    }
    let uri = "/api/public/monitors/web/badge.svg?period=7d&label=a&period=30d";
    let resp = get(&app, uri, None).await;
    let error = json_error(uri, &resp, StatusCode::BAD_REQUEST, "invalid_query");
    assert_eq!(error["field"], "period");
}

#[tokio::test]
async fn path_rejections_are_json_400_naming_the_parameter() {
    let (app, _) = app().await;
    for uri in [
        "/api/public/monitors/%FF/status",
        "/api/public/monitors/%FF/badge.svg",
        "/api/public/monitors/w%C3%28b/badge.json",
        "/api/status/%FF",
    ] {
        let resp = get(&app, uri, None).await;
        let error = json_error(uri, &resp, StatusCode::BAD_REQUEST, "invalid_path");
        assert_eq!(error["field"], "id", "{uri}");
    }
}

#[tokio::test]
async fn unknown_routes_are_json_404() {
    let (app, _) = app().await;
    for (method, uri) in [
        (Method::GET, "/"),
        (Method::GET, "/nope"),
        (Method::GET, "/api/public/monitors/web"),
        (Method::GET, "/api/public/monitors/web/status/extra"),
        (Method::GET, "/health/"),
        (Method::POST, "/api/nope"),
        (Method::DELETE, "/api/public/monitors"),
    ] {
        let resp = send(&app, method, uri, None).await;
        let error = json_error(uri, &resp, StatusCode::NOT_FOUND, "not_found");
        assert!(error.get("field").is_none(), "{error}");
    }
}

#[tokio::test]
async fn wrong_methods_are_json_405_with_allow() {
    let (app, _) = app().await;
    for (method, uri) in [
        (Method::POST, "/health"),
        (Method::PUT, "/api/public/status"),
        (Method::DELETE, "/api/public/monitors/web/status"),
        (Method::PATCH, "/api/public/monitors/web/badge.svg"),
        (Method::OPTIONS, "/api/status/web"),
    ] {
        let resp = send(&app, method.clone(), uri, None).await;
        let error = json_error(
            uri,
            &resp,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        );
        assert!(
            error["message"].as_str().unwrap().contains(method.as_str()),
            "{error}"
        );
        let allow = resp.1.get(header::ALLOW).expect("Allow header kept");
        let allow = allow.to_str().unwrap();
        assert!(
            allow.split(',').any(|m| m.trim() == "GET"),
            "{uri}: {allow}"
        );
        assert!(
            allow.split(',').any(|m| m.trim() == "HEAD"),
            "{uri}: {allow}"
        );
    }
}

#[tokio::test]
async fn odd_client_input_never_yields_5xx_or_a_non_json_error() {
    let (app, _) = app().await;
    let ids = [
        "web",
        "secret",
        "nope",
        "%FF",
        "%C0%80",
        "%00",
        "%2F",
        "%2e%2e",
        "..",
        "%",
        "%F",
        "%ZZ",
        "%E2%82",
        "caf%C3%A9",
        "%F0%9F%92%A9",
        "a%20b",
        "UPPER",
        "-",
        "_",
        "a.b",
        &"x".repeat(5000),
    ];
    let queries = [
        "",
        "?",
        "?&&&",
        "?=",
        "?==",
        "?kind",
        "?kind=",
        "?kind=&kind=",
        "?kind=a&kind=b",
        "?kind=%FF",
        "?kind[]=status",
        "?kind=status&period=",
        "?period=-1",
        "?period=99999999999999999999d",
        "?period=%00",
        "?period=7d&period=7d",
        "?label=%E2%82",
        "?label=%",
        "?label=a&label=b",
        "?unknown=1",
        "?%FF=%FF",
        "?kind=response&period=90d&label=%F0%9F%92%A9",
    ];
    let shapes = [
        "/api/public/monitors/{id}/status",
        "/api/public/monitors/{id}/badge.svg",
        "/api/public/monitors/{id}/badge.json",
        "/api/status/{id}",
        "/api/public/{id}",
        "/{id}",
        "/health/{id}",
        "/api/public/status",
        "/health",
    ];
    let mut checked = 0;
    for shape in shapes {
        for id in ids {
            for query in queries {
                let uri = format!("{}{query}", shape.replace("{id}", id));
                if uri.parse::<axum::http::Uri>().is_err() {
                    continue;
                }
                for method in [Method::GET, Method::HEAD, Method::POST] {
                    let (status, headers, body) = send(&app, method.clone(), &uri, None).await;
                    assert!(!status.is_server_error(), "{method} {uri}: {status} {body}");
                    if status.is_client_error() && method != Method::HEAD {
                        assert_eq!(
                            headers[header::CONTENT_TYPE],
                            "application/json",
                            "{method} {uri}"
                        );
                        let json: serde_json::Value = serde_json::from_str(&body)
                            .unwrap_or_else(|e| panic!("{method} {uri}: {e}: {body:?}"));
                        assert!(json["error"]["code"].is_string(), "{method} {uri}: {body}");
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 1000, "only {checked} requests checked");
}

#[tokio::test]
async fn days_give_daily_uptime_bars_oldest_first() {
    let (app, store) = app().await;
    const DAY: i64 = 86_400_000;
    let today = now() / DAY * DAY;
    // Three days ago: 3 checks, 1 of them down.
    let earlier: Vec<CheckResult> = (0..3)
        .map(|i| CheckResult {
            monitor_id: sentinel_core::MonitorId::parse("web").unwrap(),
            checked_at: today - 3 * DAY + 3_600_000 + i * 60_000,
            success: i != 0,
            status_code: Some(200),
            timings: Timings::default(),
            ip: None,
            cert_expires_at: None,
            error: None,
            failure_reason: None,
            conditions: vec![],
        })
        .collect();
    store.append(&earlier).await.unwrap();

    let (status, headers, body) = get(&app, "/api/public/monitors/web/days?days=5", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["monitor_id"], "web");
    let days = json["days"].as_array().unwrap();
    assert_eq!(days.len(), 5);
    let starts: Vec<i64> = days.iter().map(|d| d["start"].as_i64().unwrap()).collect();
    assert_eq!(
        starts,
        (0..5).map(|i| today - (4 - i) * DAY).collect::<Vec<_>>()
    );
    assert_eq!(days[1]["checks"], 3);
    assert_eq!(days[1]["up"], 2);
    let pct = days[1]["uptime_pct"].as_f64().unwrap();
    assert!((pct - 200.0 / 3.0).abs() < 1e-9, "{pct}");
    assert_eq!(days[0]["checks"], 0);
    assert!(
        days[0]["uptime_pct"].is_null(),
        "no checks: no uptime figure"
    );
    let total: u64 = days.iter().map(|d| d["checks"].as_u64().unwrap()).sum();
    assert_eq!(
        total, 103,
        "every check of the window falls on one of the days"
    );
    let date = days[4]["date"].as_str().unwrap();
    assert_eq!(date.len(), 10, "{date}");
    assert!(date.starts_with("20"), "{date}");

    let (_, _, body) = get(&app, "/api/public/monitors/web/days", None).await;
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        json["days"].as_array().unwrap().len(),
        90,
        "90 days by default"
    );

    for bad in ["0", "91", "abc", "-1", "1.5"] {
        let (status, _, body) = get(
            &app,
            &format!("/api/public/monitors/web/days?days={bad}"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "days={bad}: {body}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["error"]["code"], "invalid_query");
        assert_eq!(json["error"]["field"], "days");
    }
    let (status, _, _) = get(&app, "/api/public/monitors/secret/days", None).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "private monitors stay hidden"
    );
}
