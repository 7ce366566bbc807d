//! Metrics and CSV exports through the whole app on port 0, over pings seeded through
//! the ping-log port: pagination, stats, series, exports and signed download links.

mod support;

use std::collections::HashSet;

use sentinel_api::signing::UrlSigner;
use sentinel_core::{
    CheckResult, Incident, IncidentId, MonitorId, ProbeError, ProbeErrorKind, Timings, UnixMs,
};
use sentinel_store::{IncidentStore, PingLog};
use serde_json::{Value, json};
use support::{Reply, Session, TEST_JWT_SECRET, TestApp};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;

fn now_ms() -> UnixMs {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn assert_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.code(), code, "{}", reply.body);
}

fn ping(id: &str, at: UnixMs, success: bool, total_ms: f64, reason: Option<&str>) -> CheckResult {
    CheckResult {
        monitor_id: MonitorId::parse(id).unwrap(),
        checked_at: at,
        success,
        status_code: Some(if success { 200 } else { 503 }),
        timings: Timings {
            dns_ms: Some(1.5),
            connect_ms: Some(2.0),
            tls_ms: None,
            first_byte_ms: Some(total_ms / 2.0),
            total_ms,
        },
        ip: Some("127.0.0.1".into()),
        cert_expires_at: None,
        error: None,
        failure_reason: reason.map(str::to_owned),
        conditions: vec![],
    }
}

/// Admin, Alice (owns monitor `api`) and Bob.
async fn setup(app: &TestApp) -> (Session, Session, Session) {
    let admin = app.admin().await;
    let alice = app.user(&admin, "alice@example.com", "user").await;
    let bob = app.user(&admin, "bob@example.com", "user").await;
    let created = app
        .post_as(
            &alice,
            "/api/monitors",
            &json!({"name": "api", "url": "https://api.example.com"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    (admin, alice, bob)
}

// ---- ping log ------------------------------------------------------------------------

#[tokio::test]
async fn the_ping_log_pages_newest_first_without_gaps_or_duplicates() {
    let app = TestApp::spawn().await;
    let (_, alice, _) = setup(&app).await;
    let base = now_ms() - 300 * MINUTE;
    let pings: Vec<CheckResult> = (0..250)
        .map(|i| ping("api", base + i * MINUTE, i % 7 != 0, 50.0 + i as f64, None))
        .collect();
    app.store.append(&pings).await.unwrap();

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            None => "/api/metrics/api?limit=40".to_owned(),
            Some(c) => format!("/api/metrics/api?limit=40&cursor={c}"),
        };
        let page = app.get_as(&alice, &path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let items = page.json["items"].as_array().unwrap();
        assert!(items.len() <= 40);
        seen.extend(items.iter().map(|p| p["checked_at"].as_i64().unwrap()));
        pages += 1;
        match page.json["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 7);
    assert_eq!(seen.len(), 250);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 250, "duplicates");
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "not newest first");
    assert_eq!(seen[0], base + 249 * MINUTE);
    assert_eq!(seen[249], base);

    // The default page is 100; from/to bound the range (to is exclusive).
    let default = app.get_as(&alice, "/api/metrics/api").await;
    assert_eq!(default.json["items"].as_array().unwrap().len(), 100);
    let ranged = app
        .get_as(
            &alice,
            &format!(
                "/api/metrics/api?from={}&to={}",
                base + 10 * MINUTE,
                base + 20 * MINUTE
            ),
        )
        .await;
    let ranged: Vec<i64> = ranged.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["checked_at"].as_i64().unwrap())
        .collect();
    assert_eq!(ranged.len(), 10);
    assert_eq!(ranged[0], base + 19 * MINUTE);
    assert_eq!(ranged[9], base + 10 * MINUTE);
}

#[tokio::test]
async fn bad_metric_queries_are_refused_with_the_field() {
    let app = TestApp::spawn().await;
    let (_, alice, _) = setup(&app).await;
    for (query, field) in [
        ("/api/metrics/api?limit=0", "limit"),
        ("/api/metrics/api?limit=1001", "limit"),
        ("/api/metrics/api?limit=many", "limit"),
        ("/api/metrics/api?cursor=%21%21", "cursor"),
        ("/api/metrics/api?from=yesterday", "from"),
        ("/api/metrics/api?from=2000&to=1000", "from"),
        ("/api/metrics/api?to=2024-13-01T00:00:00Z", "to"),
        ("/api/metrics/api/stats?period=1y", "period"),
        ("/api/metrics/api/series?period=7d&bucket=5m", "bucket"),
        ("/api/metrics/api/series?period=90d&bucket=1h", "bucket"),
    ] {
        let reply = app.get_as(&alice, query).await;
        assert_error(&reply, 400, "invalid_query");
        assert_eq!(
            reply.json["error"]["field"], field,
            "{query}: {}",
            reply.body
        );
    }
    // RFC 3339 works as well as milliseconds.
    let iso = app
        .get_as(&alice, "/api/metrics/api?from=2024-01-01T00:00:00Z")
        .await;
    assert_eq!(iso.status, 200, "{}", iso.body);
}

#[tokio::test]
async fn metrics_of_other_users_monitors_are_not_found() {
    let app = TestApp::spawn().await;
    let (admin, _, bob) = setup(&app).await;
    for path in [
        "/api/metrics/api",
        "/api/metrics/api/stats",
        "/api/metrics/api/series",
        "/api/metrics/nope",
    ] {
        assert_error(&app.get_as(&bob, path).await, 404, "not_found");
    }
    assert_eq!(
        app.get_as(&admin, "/api/metrics/api/stats").await.status,
        200
    );
    let unauthenticated = app.get("/api/metrics/api").await;
    assert_eq!(unauthenticated.status, 401, "{}", unauthenticated.body);
}

// ---- stats and series ----------------------------------------------------------------

#[tokio::test]
async fn stats_summarise_seeded_pings_and_incidents_of_the_period() {
    let app = TestApp::spawn().await;
    let (_, alice, _) = setup(&app).await;
    let now = now_ms();
    // 8 up (100..800 ms) and 2 down within the last 20 hours.
    let mut pings: Vec<CheckResult> = (0..8)
        .map(|i| {
            ping(
                "api",
                now - 20 * HOUR + i * HOUR,
                true,
                100.0 * (i + 1) as f64,
                None,
            )
        })
        .collect();
    pings.push(ping(
        "api",
        now - 2 * HOUR,
        false,
        10_000.0,
        Some("timeout"),
    ));
    pings.push(ping("api", now - HOUR, false, 10_000.0, Some("timeout")));
    // Older than 24 h: not in the day's stats, but in the week's.
    pings.push(ping("api", now - 3 * DAY, true, 5_000.0, None));
    app.store.append(&pings).await.unwrap();

    let id = MonitorId::parse("api").unwrap();
    let incidents = [
        (now - 2 * HOUR, Some(now - 2 * HOUR + 10 * MINUTE)), // 10 min, inside
        (now - 25 * HOUR, Some(now - 23 * HOUR)),             // 1 h of it inside
        (now - 5 * DAY, Some(now - 4 * DAY)),                 // before the period
    ];
    for (start, end) in incidents {
        let incident_id = IncidentId::new(&id, start);
        app.store
            .open_incident(&Incident {
                id: incident_id.clone(),
                monitor_id: id.clone(),
                started_at: start,
                ended_at: None,
                cause: "timeout".into(),
                proof: vec![start],
            })
            .await
            .unwrap();
        if let Some(end) = end {
            app.store.close_incident(&incident_id, end).await.unwrap();
        }
    }

    let day = app
        .get_as(&alice, "/api/metrics/api/stats?period=24h")
        .await;
    assert_eq!(day.status, 200, "{}", day.body);
    let s = &day.json;
    assert_eq!(s["period"], "24h");
    assert_eq!(s["checks"], 10);
    assert_eq!(s["up"], 8);
    assert!((s["uptime_pct"].as_f64().unwrap() - 80.0).abs() < 1e-9);
    assert!((s["avg_ms"].as_f64().unwrap() - 450.0).abs() < 1e-6);
    let p50 = s["p50_ms"].as_f64().unwrap();
    assert!((400.0 * 0.98..=400.0 * 1.02).contains(&p50), "p50 {p50}");
    let p99 = s["p99_ms"].as_f64().unwrap();
    assert!((800.0 * 0.98..=800.0).contains(&p99), "p99 {p99}");
    assert!(s["p95_ms"].as_f64().is_some());
    assert_eq!(s["incidents"], 2);
    // The server's clock ran on a little since `now`: the straddling incident lost
    // those milliseconds off the start of the period.
    let downtime = s["downtime_ms"].as_i64().unwrap();
    assert!(
        (10 * MINUTE + HOUR - 60_000..=10 * MINUTE + HOUR).contains(&downtime),
        "{downtime}"
    );

    let week = app.get_as(&alice, "/api/metrics/api/stats?period=7d").await;
    assert_eq!(week.json["checks"], 11);
    assert_eq!(week.json["incidents"], 3);

    let empty = app.get_as(&alice, "/api/metrics/api/stats").await;
    assert_eq!(empty.json["period"], "24h");
}

#[tokio::test]
async fn series_have_one_point_per_bucket_from_the_rollups() {
    let app = TestApp::spawn().await;
    let (_, alice, _) = setup(&app).await;
    let now = now_ms();
    let this_hour = now - now.rem_euclid(HOUR);
    app.store
        .append(&[
            ping("api", this_hour, true, 100.0, None),
            ping("api", this_hour + 1, false, 100.0, Some("down")),
            ping("api", this_hour - 3 * HOUR, true, 300.0, None),
        ])
        .await
        .unwrap();

    let day = app
        .get_as(&alice, "/api/metrics/api/series?period=24h")
        .await;
    assert_eq!(day.status, 200, "{}", day.body);
    assert_eq!(day.json["bucket"], "1h");
    let points = day.json["points"].as_array().unwrap();
    assert_eq!(points.len(), 25);
    assert!(
        points
            .windows(2)
            .all(|w| w[1]["start"].as_i64().unwrap() - w[0]["start"].as_i64().unwrap() == HOUR)
    );
    let last = &points[24];
    assert_eq!(last["start"], this_hour);
    assert_eq!(last["checks"], 2);
    assert_eq!(last["up"], 1);
    assert_eq!(last["uptime_pct"], 50.0);
    assert_eq!(points[21]["checks"], 1);
    assert_eq!(points[21]["avg_ms"], 300.0);
    assert_eq!(points[0]["checks"], 0);
    assert_eq!(points[0]["uptime_pct"], Value::Null);

    for (query, bucket, count) in [
        ("period=7d", "1h", 169),
        ("period=30d", "1d", 31),
        ("period=90d", "1d", 91),
        ("period=30d&bucket=1h", "1h", 721),
        ("period=24h&bucket=1d", "1d", 2),
    ] {
        let reply = app
            .get_as(&alice, &format!("/api/metrics/api/series?{query}"))
            .await;
        assert_eq!(reply.status, 200, "{query}: {}", reply.body);
        assert_eq!(reply.json["bucket"], bucket, "{query}");
        assert_eq!(
            reply.json["points"].as_array().unwrap().len(),
            count,
            "{query}"
        );
    }
    let month = app
        .get_as(&alice, "/api/metrics/api/series?period=30d")
        .await;
    let points = month.json["points"].as_array().unwrap();
    assert_eq!(
        points[30]["checks"].as_u64().unwrap() + points[29]["checks"].as_u64().unwrap(),
        3
    );
}

// ---- exports ---------------------------------------------------------------------------

async fn export(app: &TestApp, who: &Session, id: &str, body: Option<&Value>) -> Reply {
    let mut request =
        who.apply(app.request(reqwest::Method::POST, &format!("/api/export/csv/{id}")));
    if let Some(body) = body {
        request = request.json(body);
    }
    app.send(request).await
}

#[tokio::test]
async fn a_csv_export_holds_the_range_and_defuses_formulas() {
    let app = TestApp::spawn().await;
    let (_, alice, _) = setup(&app).await;
    let now = now_ms();
    let mut refused = ping(
        "api",
        now - 2 * HOUR,
        false,
        3.0,
        Some("=HYPERLINK(\"http://evil\",\"x\")"),
    );
    refused.error = Some(ProbeError {
        kind: ProbeErrorKind::Refused,
        message: "connection refused".into(),
    });
    refused.status_code = None;
    app.store
        .append(&[
            ping("api", now - 40 * DAY, true, 10.0, None), // outside the default 30 days
            ping("api", now - 3 * HOUR, true, 120.5, None),
            refused,
            ping("api", now - HOUR, false, 50.0, Some("+cmd|' /C calc'!A0")),
        ])
        .await
        .unwrap();

    // No body: the last 30 days.
    let created = export(&app, &alice, "api", None).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.json["rows"], 3);
    assert_eq!(created.json["truncated"], false);
    let key = created.json["key"].as_str().unwrap();
    assert!(
        key.starts_with(&format!("exports/{}/api-", alice.user_id)) && key.ends_with(".csv"),
        "{key}"
    );
    let url = created.json["url"].as_str().unwrap();
    assert!(url.starts_with("/api/export/download?"), "{url}");
    assert!(created.json["expiresAt"].as_i64().unwrap() > now);

    // The signed link needs no credentials.
    let download = app.get(url).await;
    assert_eq!(download.status, 200, "{}", download.body);
    assert!(
        download
            .header("content-type")
            .unwrap()
            .starts_with("text/csv")
    );
    let disposition = download.header("content-disposition").unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"api-"),
        "{disposition}"
    );
    let lines: Vec<&str> = download.body.lines().collect();
    assert_eq!(
        lines[0],
        "checked_at,success,status_code,total_ms,dns_ms,connect_ms,tls_ms,first_byte_ms,ip,error_kind,failure_reason"
    );
    assert_eq!(lines.len(), 4, "{}", download.body);
    // Oldest first.
    assert!(
        lines[1].contains(",true,200,120.500,1.500,2.000,,60.250,127.0.0.1,,"),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].ends_with("Z,true,200,120.500,1.500,2.000,,60.250,127.0.0.1,,"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].ends_with(",refused,\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\""),
        "{}",
        lines[2]
    );
    assert!(lines[3].ends_with(",'+cmd|' /C calc'!A0"), "{}", lines[3]);
    // Timestamps are ISO 8601 in UTC.
    let first = lines[1].split(',').next().unwrap();
    assert!(
        first.len() == 24 && first.ends_with('Z') && first.contains('T'),
        "{first}"
    );

    // An explicit range.
    let ranged = export(
        &app,
        &alice,
        "api",
        Some(&json!({"from": now - 50 * DAY, "to": now - 30 * DAY})),
    )
    .await;
    assert_eq!(ranged.status, 201, "{}", ranged.body);
    assert_eq!(ranged.json["rows"], 1);
    let bad = export(&app, &alice, "api", Some(&json!({"from": "last week"}))).await;
    assert_error(&bad, 400, "invalid_input");
    assert_eq!(bad.json["error"]["field"], "from");
}

#[tokio::test]
async fn signed_download_links_refuse_tampering_and_expiry() {
    let app = TestApp::spawn().await;
    let (_, alice, _) = setup(&app).await;
    app.store
        .append(&[ping("api", now_ms() - HOUR, true, 10.0, None)])
        .await
        .unwrap();
    let created = export(&app, &alice, "api", None).await;
    let url = created.json["url"].as_str().unwrap().to_owned();
    let key = created.json["key"].as_str().unwrap().to_owned();
    assert_eq!(app.get(&url).await.status, 200);

    let (path, query) = url.split_once('?').unwrap();
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| params.iter().find(|(n, _)| n == k).unwrap().1.clone();
    let link = |key: &str, expires: &str, sig: &str| {
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("key", key)
            .append_pair("expires", expires)
            .append_pair("sig", sig)
            .finish();
        format!("{path}?{q}")
    };
    let (expires, sig) = (get("expires"), get("sig"));
    let mut flipped = sig.clone().into_bytes();
    flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(flipped).unwrap();
    let later = (expires.parse::<i64>().unwrap() + DAY).to_string();
    let other_key = key.replace(".csv", "0.csv");
    for tampered in [
        link(&key, &expires, &flipped),
        link(&other_key, &expires, &sig),
        link(&key, &later, &sig),
        link(&key, &expires, ""),
        format!("{path}?key={}", key.replace('/', "%2F")),
        path.to_owned(),
    ] {
        let reply = app.get(&tampered).await;
        assert_error(&reply, 403, "invalid_signature");
    }

    // A correctly signed link past its expiry.
    let signer = UrlSigner::from_secret(TEST_JWT_SECRET.as_bytes());
    let expired = signer.url(&key, now_ms() - 1);
    assert_error(&app.get(&expired).await, 403, "link_expired");
    // Signed by another secret.
    let forged =
        UrlSigner::from_secret(b"another-secret-another-secret-0000").url(&key, now_ms() + HOUR);
    assert_error(&app.get(&forged).await, 403, "invalid_signature");
}

#[tokio::test]
async fn presigned_urls_are_given_only_for_exports_the_caller_may_see() {
    let app = TestApp::spawn().await;
    let (admin, alice, bob) = setup(&app).await;
    let created = export(&app, &alice, "api", None).await;
    let key = created.json["key"].as_str().unwrap().to_owned();
    let path = format!("/api/export/presigned-url/{key}");

    let own = app.get_as(&alice, &path).await;
    assert_eq!(own.status, 200, "{}", own.body);
    let url = own.json["url"].as_str().unwrap();
    assert!(own.json["expiresAt"].as_i64().unwrap() > now_ms() + 14 * MINUTE);
    assert_eq!(app.get(url).await.status, 200);

    assert_error(&app.get_as(&bob, &path).await, 404, "not_found");
    assert_eq!(app.get_as(&admin, &path).await.status, 200);
    for bad in [
        "/api/export/presigned-url/exports/../secret.csv",
        "/api/export/presigned-url/etc/passwd",
        "/api/export/presigned-url/exports/u/a/b.csv",
    ] {
        assert_error(&app.get_as(&alice, bad).await, 404, "not_found");
    }
    assert_eq!(app.get(&path).await.status, 401);

    // Bob cannot export Alice's monitor either.
    assert_error(&export(&app, &bob, "api", None).await, 404, "not_found");
}
