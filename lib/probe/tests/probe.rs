//! Checks against real servers on 127.0.0.1: HTTP, HTTPS with a test CA, and servers
//! that misbehave on purpose.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{any, get};
use bytes::Bytes;
use futures::StreamExt;
use sentinel_core::check::{ProbeErrorKind, judge};
use sentinel_core::monitor::MonitorSpec;
use sentinel_probe::{DEFAULT_USER_AGENT, ProbeSettings, Prober, load_pem_certificates};
use support::*;

fn app() -> Router {
    Router::new().route("/", get(|| async { "ok" })).route(
        "/down",
        get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "maintenance") }),
    )
}

#[tokio::test]
async fn a_200_over_an_ip_literal_has_every_phase_but_dns() {
    let addr = serve_http(app()).await;
    let outcome = prober()
        .check(&spec(&format!("http://{addr}/")), NOW_MS)
        .await;

    assert_eq!(outcome.error, None);
    assert_eq!(outcome.status_code, Some(200));
    assert_eq!(outcome.body, b"ok");
    assert!(!outcome.body_truncated);
    assert!(outcome.connected);
    assert_eq!(outcome.ip, Some(addr.ip()));
    assert_eq!(outcome.started_at, NOW_MS);
    assert_eq!(outcome.cert_expires_at, None);
    let t = outcome.timings;
    assert_eq!(t.dns_ms, None, "no lookup for an IP literal");
    assert_eq!(t.tls_ms, None, "no TLS for http");
    let connect = t.connect_ms.expect("connect time");
    let first_byte = t.first_byte_ms.expect("first byte time");
    assert!(connect >= 0.0 && first_byte >= 0.0);
    assert!(t.total_ms >= connect + first_byte);
    assert!(judge(&spec(&format!("http://{addr}/")), &outcome).success);
}

#[tokio::test]
async fn a_hostname_adds_a_dns_phase() {
    let addr = serve_http(app()).await;
    let outcome = prober()
        .check(&spec(&format!("http://localhost:{}/", addr.port())), NOW_MS)
        .await;

    assert_eq!(outcome.error, None);
    assert_eq!(outcome.status_code, Some(200));
    assert_eq!(
        outcome.ip,
        Some(addr.ip()),
        "connected to the address that listens"
    );
    let t = outcome.timings;
    let dns = t.dns_ms.expect("dns time");
    let connect = t.connect_ms.expect("connect time");
    let first_byte = t.first_byte_ms.expect("first byte time");
    assert!(t.total_ms >= dns + connect + first_byte);
}

#[tokio::test]
async fn a_503_is_a_response_not_a_probe_error() {
    let addr = serve_http(app()).await;
    let spec = spec(&format!("http://{addr}/down"));
    let outcome = prober().check(&spec, NOW_MS).await;

    assert_eq!(outcome.error, None);
    assert_eq!(outcome.status_code, Some(503));
    assert_eq!(outcome.body, b"maintenance");
    let result = judge(&spec, &outcome);
    assert!(!result.success);
}

#[tokio::test]
async fn a_closed_port_is_refused() {
    let addr = refused_addr();
    let outcome = prober()
        .check(&spec(&format!("http://{addr}/")), NOW_MS)
        .await;

    let error = outcome.error.expect("an error");
    assert_eq!(error.kind, ProbeErrorKind::Refused);
    assert_eq!(error.message, format!("connection refused by {addr}"));
    assert!(!outcome.connected);
    assert_eq!(outcome.status_code, None);
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let (_listener, addr) = silent_listener().await;
    let spec = spec_with(&format!("http://{addr}/"), |m| m.timeout = timeout("1s"));
    let outcome = prober().check(&spec, NOW_MS).await;

    let error = outcome.error.expect("an error");
    assert_eq!(error.kind, ProbeErrorKind::Timeout);
    assert!(
        error.message.starts_with("no response within 1s"),
        "{}",
        error.message
    );
    assert!(error.message.contains("waiting for"), "{}", error.message);
    assert!(
        outcome.connected,
        "TCP was up, the server just said nothing"
    );
    assert_eq!(outcome.status_code, None);
}

#[tokio::test]
async fn a_tls_handshake_that_never_completes_times_out_in_the_tls_phase() {
    let (_listener, addr) = silent_listener().await;
    let spec = spec_with(&format!("https://{addr}/"), |m| m.timeout = timeout("1s"));
    let outcome = prober().check(&spec, NOW_MS).await;

    let error = outcome.error.expect("an error");
    assert_eq!(error.kind, ProbeErrorKind::Timeout);
    assert!(error.message.contains("TLS handshake"), "{}", error.message);
}

#[tokio::test]
async fn a_body_slower_than_the_timeout_times_out_while_reading() {
    let app = Router::new().route(
        "/slow",
        get(|| async {
            let chunks = futures::stream::unfold(0, |n| async move {
                match n {
                    0 => Some((
                        Ok::<_, std::io::Error>(Bytes::from_static(b"first part")),
                        1,
                    )),
                    _ => {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        None
                    }
                }
            });
            Body::from_stream(chunks)
        }),
    );
    let addr = serve_http(app).await;
    let spec = spec_with(&format!("http://{addr}/slow"), |m| {
        m.timeout = timeout("1s")
    });
    let outcome = prober().check(&spec, NOW_MS).await;

    let error = outcome.error.expect("an error");
    assert_eq!(error.kind, ProbeErrorKind::Timeout);
    assert!(error.message.contains("body"), "{}", error.message);
    assert_eq!(outcome.status_code, Some(200), "the head had arrived");
    assert_eq!(outcome.body, b"first part");
    assert!(outcome.timings.first_byte_ms.is_some());
}

#[tokio::test]
async fn a_huge_body_is_capped_at_one_mebibyte() {
    let app = Router::new().route("/huge", get(|| async { vec![b'a'; 5 * 1024 * 1024] }));
    let addr = serve_http(app).await;
    let outcome = prober()
        .check(&spec(&format!("http://{addr}/huge")), NOW_MS)
        .await;

    assert_eq!(outcome.error, None);
    assert_eq!(outcome.status_code, Some(200));
    assert_eq!(outcome.body.len(), 1024 * 1024);
    assert!(outcome.body_truncated);
}

#[tokio::test]
async fn reading_stops_at_the_cap_even_when_the_body_never_ends() {
    static CHUNK: [u8; 64 * 1024] = [b'x'; 64 * 1024];
    let app = Router::new().route(
        "/endless",
        get(|| async {
            Body::from_stream(futures::stream::repeat_with(|| {
                Ok::<_, std::io::Error>(Bytes::from_static(&CHUNK))
            }))
        }),
    );
    let addr = serve_http(app).await;
    let outcome = prober()
        .check(&spec(&format!("http://{addr}/endless")), NOW_MS)
        .await;

    assert_eq!(outcome.error, None, "finished without waiting for the end");
    assert_eq!(outcome.body.len(), 1024 * 1024);
    assert!(outcome.body_truncated);
}

#[tokio::test]
async fn a_body_of_exactly_the_cap_is_not_truncated() {
    let app = Router::new()
        .route("/ten", get(|| async { "0123456789" }))
        .route("/eleven", get(|| async { "0123456789A" }));
    let addr = serve_http(app).await;
    let prober = Prober::new(ProbeSettings {
        max_body_bytes: 10,
        ..ProbeSettings::default()
    })
    .unwrap();

    let exact = prober
        .check(&spec(&format!("http://{addr}/ten")), NOW_MS)
        .await;
    assert_eq!(exact.body, b"0123456789");
    assert!(!exact.body_truncated);

    let over = prober
        .check(&spec(&format!("http://{addr}/eleven")), NOW_MS)
        .await;
    assert_eq!(over.body, b"0123456789");
    assert!(over.body_truncated);
}

#[tokio::test]
async fn method_headers_and_body_reach_the_server() {
    let app = Router::new().route(
        "/echo",
        any(
            |method: Method, headers: HeaderMap, body: String| async move {
                let get = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-")
                        .to_owned()
                };
                format!(
                    "{method} host={} ua={} x-token={} body={body}",
                    get("host"),
                    get("user-agent"),
                    get("x-token")
                )
            },
        ),
    );
    let addr = serve_http(app).await;
    let spec = spec_with(&format!("http://{addr}/echo"), |m| {
        m.method = Some("POST".into());
        m.headers.insert("X-Token".into(), "secret".into());
        m.body = Some("{\"ping\":1}".into());
    });
    let outcome = prober().check(&spec, NOW_MS).await;

    assert_eq!(outcome.error, None);
    assert_eq!(
        String::from_utf8(outcome.body).unwrap(),
        format!("POST host={addr} ua={DEFAULT_USER_AGENT} x-token=secret body={{\"ping\":1}}")
    );
}

#[tokio::test]
async fn a_monitor_user_agent_header_replaces_the_default() {
    let app = Router::new().route(
        "/ua",
        get(|headers: HeaderMap| async move {
            headers
                .get_all(header::USER_AGENT)
                .iter()
                .map(|v| v.to_str().unwrap_or("?").to_owned())
                .collect::<Vec<_>>()
                .join("|")
        }),
    );
    let addr = serve_http(app).await;
    let spec = spec_with(&format!("http://{addr}/ua"), |m| {
        m.headers.insert("User-Agent".into(), "custom/1".into());
    });
    let outcome = prober().check(&spec, NOW_MS).await;
    assert_eq!(outcome.body, b"custom/1");
}

#[tokio::test]
async fn a_head_request_gets_no_body() {
    let addr = serve_http(app()).await;
    let spec = spec_with(&format!("http://{addr}/"), |m| {
        m.method = Some("HEAD".into())
    });
    let outcome = prober().check(&spec, NOW_MS).await;
    assert_eq!(outcome.error, None);
    assert_eq!(outcome.status_code, Some(200));
    assert!(outcome.body.is_empty());
}

fn redirect_app() -> Router {
    Router::new()
        .route("/start", get(|| async { Redirect::to("/middle") }))
        .route(
            "/middle",
            get(|| async { (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, "end")]) }),
        )
        .route("/end", get(|| async { "arrived" }))
        .route("/loop", get(|| async { Redirect::temporary("/loop") }))
        .route(
            "/to-metadata",
            get(|| async { Redirect::temporary("http://169.254.169.254/latest/meta-data/") }),
        )
        .route(
            "/form",
            any(|method: Method| async move {
                match method {
                    Method::POST => Redirect::to("/seen").into_response(),
                    _ => (StatusCode::METHOD_NOT_ALLOWED, "form wants POST").into_response(),
                }
            }),
        )
        .route(
            "/seen",
            any(|method: Method| async move { method.to_string() }),
        )
        .route(
            "/no-location",
            get(|| async { (StatusCode::FOUND, "nowhere") }),
        )
}

#[tokio::test]
async fn redirects_are_followed_to_the_final_response() {
    let addr = serve_http(redirect_app()).await;
    let outcome = prober()
        .check(&spec(&format!("http://{addr}/start")), NOW_MS)
        .await;

    assert_eq!(outcome.error, None);
    assert_eq!(outcome.status_code, Some(200));
    assert_eq!(outcome.body, b"arrived");
    let t = outcome.timings;
    assert!(t.total_ms >= t.connect_ms.unwrap() + t.first_byte_ms.unwrap());
}

#[tokio::test]
async fn redirects_are_reported_as_is_when_not_followed() {
    let addr = serve_http(redirect_app()).await;
    let spec = spec_with(&format!("http://{addr}/start"), |m| {
        m.follow_redirects = Some(false);
    });
    let outcome = prober().check(&spec, NOW_MS).await;

    assert_eq!(outcome.error, None);
    assert_eq!(outcome.status_code, Some(303));
    assert!(
        judge(&spec, &outcome).success,
        "3xx is up without conditions"
    );
}

#[tokio::test]
async fn a_redirect_loop_fails_with_too_many_redirects() {
    let addr = serve_http(redirect_app()).await;
    let outcome = prober()
        .check(&spec(&format!("http://{addr}/loop")), NOW_MS)
        .await;

    let error = outcome.error.expect("an error");
    assert_eq!(error.kind, ProbeErrorKind::Http);
    assert!(
        error.message.contains("too many redirects"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn a_see_other_after_post_is_followed_with_get() {
    let addr = serve_http(redirect_app()).await;
    let spec = spec_with(&format!("http://{addr}/form"), |m| {
        m.method = Some("POST".into());
        m.body = Some("a=1".into());
    });
    let outcome = prober().check(&spec, NOW_MS).await;
    assert_eq!(outcome.error, None);
    assert_eq!(outcome.body, b"GET");
}

#[tokio::test]
async fn a_redirect_without_location_is_the_final_response() {
    let addr = serve_http(redirect_app()).await;
    let outcome = prober()
        .check(&spec(&format!("http://{addr}/no-location")), NOW_MS)
        .await;
    assert_eq!(outcome.error, None);
    assert_eq!(outcome.status_code, Some(302));
    assert_eq!(outcome.body, b"nowhere");
}

#[tokio::test]
async fn every_redirect_hop_passes_the_ssrf_guard() {
    let addr = serve_http(redirect_app()).await;
    let outcome = prober()
        .check(&spec(&format!("http://{addr}/to-metadata")), NOW_MS)
        .await;

    let error = outcome.error.expect("an error");
    assert_eq!(error.kind, ProbeErrorKind::Blocked);
    assert!(!outcome.connected);
}

#[tokio::test]
async fn loopback_is_blocked_when_private_targets_are_off() {
    let addr = serve_http(app()).await;
    let outcome = public_only_prober()
        .check(&spec(&format!("http://{addr}/")), NOW_MS)
        .await;

    let error = outcome.error.expect("an error");
    assert_eq!(error.kind, ProbeErrorKind::Blocked);
    assert!(error.message.contains("loopback"), "{}", error.message);
    assert!(!outcome.connected);
    assert_eq!(outcome.ip, None);
}

#[tokio::test]
async fn a_hostname_resolving_to_loopback_is_blocked() {
    let addr = serve_http(app()).await;
    let outcome = public_only_prober()
        .check(&spec(&format!("http://localhost:{}/", addr.port())), NOW_MS)
        .await;

    let error = outcome.error.expect("an error");
    assert_eq!(error.kind, ProbeErrorKind::Blocked);
    assert!(
        error.message.starts_with("localhost resolves to"),
        "{}",
        error.message
    );
    assert!(outcome.timings.dns_ms.is_some());
    assert!(!outcome.connected);
}

#[tokio::test]
async fn metadata_addresses_are_blocked_even_when_private_targets_are_on() {
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://169.254.170.2/v2/credentials",
        // Decimal form of 169.254.169.254; URL parsing normalises it.
        "http://2852039166/",
    ] {
        let outcome = prober().check(&spec(url), NOW_MS).await;
        let error = outcome.error.expect("an error");
        assert_eq!(error.kind, ProbeErrorKind::Blocked, "{url}");
        assert!(
            error.message.contains("metadata"),
            "{url}: {}",
            error.message
        );
        assert!(!outcome.connected);
    }
}

#[tokio::test]
async fn an_unknown_host_is_a_dns_error() {
    let outcome = prober()
        .check(&spec("http://nosuch.invalid/"), NOW_MS)
        .await;
    let error = outcome.error.expect("an error");
    assert_eq!(error.kind, ProbeErrorKind::Dns);
    assert!(
        error.message.contains("nosuch.invalid"),
        "{}",
        error.message
    );
    assert!(outcome.timings.dns_ms.is_some());
}

#[tokio::test]
async fn a_server_that_speaks_garbage_is_an_http_error() {
    let addr = raw_server(b"SSH-2.0-OpenSSH_9.6\r\nthis is not http\r\n\r\n", false).await;
    let outcome = prober()
        .check(&spec(&format!("http://{addr}/")), NOW_MS)
        .await;

    let error = outcome.error.expect("an error");
    assert_eq!(error.kind, ProbeErrorKind::Http);
    assert!(error.message.contains("malformed"), "{}", error.message);
    assert!(outcome.connected);
}

#[tokio::test]
async fn a_server_that_hangs_up_without_answering_is_an_http_error() {
    let addr = raw_server(b"", true).await;
    let outcome = prober()
        .check(&spec(&format!("http://{addr}/")), NOW_MS)
        .await;

    let error = outcome.error.expect("an error");
    assert_eq!(error.kind, ProbeErrorKind::Http);
    assert!(error.message.contains("closed"), "{}", error.message);
}

#[tokio::test]
async fn a_body_cut_short_is_an_http_error() {
    let addr = raw_server(
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a little",
        true,
    )
    .await;
    let outcome = prober()
        .check(&spec(&format!("http://{addr}/")), NOW_MS)
        .await;

    let error = outcome.error.expect("an error");
    assert_eq!(error.kind, ProbeErrorKind::Http);
    assert!(error.message.contains("body"), "{}", error.message);
    assert_eq!(outcome.status_code, Some(200));
}

#[tokio::test]
async fn a_response_followed_by_close_is_read_completely() {
    let addr = raw_server(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
        true,
    )
    .await;
    let outcome = prober()
        .check(&spec(&format!("http://{addr}/")), NOW_MS)
        .await;
    assert_eq!(outcome.error, None);
    assert_eq!(outcome.body, b"hello");
}

// --- TLS -------------------------------------------------------------------------

const VALID_FROM: (i32, u8, u8) = (2024, 1, 1);
const VALID_UNTIL: (i32, u8, u8) = (2040, 1, 2);

#[tokio::test]
async fn a_valid_certificate_reports_its_expiry_and_a_tls_phase() {
    let ca = TestCa::new();
    let (chain, key) = ca.leaf(&["localhost", "127.0.0.1"], VALID_FROM, VALID_UNTIL);
    let addr = serve_https(app(), chain, key).await;
    let outcome = prober_trusting(&ca.cert)
        .check(
            &spec(&format!("https://localhost:{}/", addr.port())),
            NOW_MS,
        )
        .await;

    assert_eq!(outcome.error, None);
    assert_eq!(outcome.status_code, Some(200));
    assert_eq!(outcome.body, b"ok");
    assert_eq!(outcome.cert_expires_at, Some(date_ms(2040, 1, 2)));
    let t = outcome.timings;
    let phases = t.dns_ms.unwrap() + t.connect_ms.unwrap() + t.tls_ms.unwrap();
    assert!(t.total_ms >= phases + t.first_byte_ms.unwrap());
}

#[tokio::test]
async fn an_ip_literal_is_verified_against_the_certificate_ip() {
    let ca = TestCa::new();
    let (chain, key) = ca.leaf(&["localhost", "127.0.0.1"], VALID_FROM, VALID_UNTIL);
    let addr = serve_https(app(), chain, key).await;
    let outcome = prober_trusting(&ca.cert)
        .check(&spec(&format!("https://{addr}/")), NOW_MS)
        .await;
    assert_eq!(outcome.error, None);
    assert_eq!(outcome.timings.dns_ms, None);
    assert!(outcome.timings.tls_ms.is_some());
}

#[tokio::test]
async fn an_expired_certificate_is_a_tls_error() {
    let ca = TestCa::new();
    let (chain, key) = ca.leaf(&["localhost"], (2019, 1, 1), (2020, 1, 1));
    let addr = serve_https(app(), chain, key).await;
    let outcome = prober_trusting(&ca.cert)
        .check(
            &spec(&format!("https://localhost:{}/", addr.port())),
            NOW_MS,
        )
        .await;

    let error = outcome.error.expect("an error");
    assert_eq!(error.kind, ProbeErrorKind::Tls);
    assert!(
        error.message.starts_with("certificate has expired"),
        "{}",
        error.message
    );
    assert!(outcome.connected);
}

#[tokio::test]
async fn a_certificate_from_an_unknown_ca_is_a_tls_error() {
    let ca = TestCa::new();
    let (chain, key) = ca.leaf(&["localhost"], VALID_FROM, VALID_UNTIL);
    let addr = serve_https(app(), chain, key).await;
    let outcome = prober()
        .check(
            &spec(&format!("https://localhost:{}/", addr.port())),
            NOW_MS,
        )
        .await;

    let error = outcome.error.expect("an error");
    assert_eq!(error.kind, ProbeErrorKind::Tls);
    assert!(
        error.message.contains("unknown authority"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn a_certificate_for_another_name_is_a_tls_error() {
    let ca = TestCa::new();
    let (chain, key) = ca.leaf(&["other.example"], VALID_FROM, VALID_UNTIL);
    let addr = serve_https(app(), chain, key).await;
    let outcome = prober_trusting(&ca.cert)
        .check(
            &spec(&format!("https://localhost:{}/", addr.port())),
            NOW_MS,
        )
        .await;

    let error = outcome.error.expect("an error");
    assert_eq!(error.kind, ProbeErrorKind::Tls);
    assert!(
        error.message.contains("not valid for localhost"),
        "{}",
        error.message
    );
    assert!(error.message.contains("other.example"), "{}", error.message);
}

#[tokio::test]
async fn https_to_a_plain_http_port_is_a_tls_error() {
    let addr = serve_http(app()).await;
    let outcome = prober()
        .check(&spec(&format!("https://{addr}/")), NOW_MS)
        .await;
    let error = outcome.error.expect("an error");
    assert_eq!(error.kind, ProbeErrorKind::Tls);
}

#[tokio::test]
async fn ca_certificates_load_from_pem_files() {
    let ca = TestCa::new();
    let dir = std::env::temp_dir();
    let pem_path = dir.join(format!("sentinel-probe-ca-{}.pem", std::process::id()));
    let bad_path = dir.join(format!("sentinel-probe-bad-{}.pem", std::process::id()));
    std::fs::write(&pem_path, &ca.pem).unwrap();
    std::fs::write(&bad_path, "not a certificate").unwrap();

    let certs = load_pem_certificates([&pem_path]).unwrap();
    assert_eq!(certs, vec![ca.cert.clone()]);
    let error = load_pem_certificates([&bad_path]).unwrap_err();
    assert!(error.to_string().contains("no CERTIFICATE"), "{error}");
    let missing = load_pem_certificates([dir.join("sentinel-probe-missing.pem")]).unwrap_err();
    assert!(
        missing.to_string().contains("cannot read CA file"),
        "{missing}"
    );

    // The loaded CA makes the prober trust the leaf.
    let (chain, key) = ca.leaf(&["localhost"], VALID_FROM, VALID_UNTIL);
    let addr = serve_https(app(), chain, key).await;
    let prober = Prober::new(ProbeSettings {
        extra_root_certs: certs,
        ..ProbeSettings::default()
    })
    .unwrap();
    let outcome = prober
        .check(
            &spec(&format!("https://localhost:{}/", addr.port())),
            NOW_MS,
        )
        .await;
    assert_eq!(outcome.error, None);

    let _ = std::fs::remove_file(pem_path);
    let _ = std::fs::remove_file(bad_path);
}

// --- Batches -------------------------------------------------------------------

#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
}

fn counting_app(gauge: Arc<Gauge>) -> Router {
    Router::new().route(
        "/item/{n}",
        get(
            move |axum::extract::Path(n): axum::extract::Path<u32>| async move {
                let in_flight = gauge.now.fetch_add(1, Ordering::SeqCst) + 1;
                gauge.max.fetch_max(in_flight, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                gauge.now.fetch_sub(1, Ordering::SeqCst);
                n.to_string()
            },
        ),
    )
}

fn item_specs(addr: std::net::SocketAddr, count: usize) -> Vec<MonitorSpec> {
    (0..count)
        .map(|i| {
            spec_with(&format!("http://{addr}/item/{i}"), |m| {
                m.name = Some(format!("item {i}"));
            })
        })
        .collect()
}

#[tokio::test]
async fn a_batch_returns_one_outcome_per_monitor_in_order_within_the_concurrency() {
    let gauge = Arc::new(Gauge::default());
    let addr = serve_http(counting_app(gauge.clone())).await;
    let specs = item_specs(addr, 50);
    let clock = AtomicUsize::new(0);

    let outcomes = prober()
        .run_batch(&specs, 8, || {
            NOW_MS + clock.fetch_add(1, Ordering::SeqCst) as i64
        })
        .await;

    assert_eq!(outcomes.len(), 50);
    for (i, outcome) in outcomes.iter().enumerate() {
        assert_eq!(outcome.error, None, "monitor {i}");
        assert_eq!(
            outcome.body,
            i.to_string().as_bytes(),
            "outcome {i} is its own"
        );
    }
    let mut starts: Vec<i64> = outcomes.iter().map(|o| o.started_at).collect();
    starts.sort_unstable();
    starts.dedup();
    assert_eq!(starts.len(), 50, "the clock is read once per check");
    let max = gauge.max.load(Ordering::SeqCst);
    assert!(max <= 8, "at most 8 in flight, saw {max}");
    assert!(max > 1, "checks ran concurrently");
}

#[tokio::test]
async fn a_check_stream_pairs_each_outcome_with_its_monitor() {
    let gauge = Arc::new(Gauge::default());
    let addr = serve_http(counting_app(gauge)).await;
    let specs: Vec<Arc<MonitorSpec>> = item_specs(addr, 20).into_iter().map(Arc::new).collect();

    let prober = prober();
    let results: HashMap<String, Vec<u8>> = prober
        .check_stream(specs.iter().cloned(), 4, || NOW_MS)
        .map(|(spec, outcome)| (spec.url.as_str().to_owned(), outcome.body))
        .collect()
        .await;

    assert_eq!(results.len(), 20);
    for (url, body) in results {
        let n = url.rsplit('/').next().unwrap();
        assert_eq!(body, n.as_bytes(), "{url}");
    }
}

#[test]
fn a_check_is_send_and_the_prober_is_cheap_to_share() {
    fn assert_send<T: Send>(_: &T) {}
    fn assert_clone_sync<T: Clone + Send + Sync + 'static>() {}
    assert_clone_sync::<Prober>();
    let prober = prober();
    let spec = spec("http://127.0.0.1:9/");
    let check = prober.check(&spec, NOW_MS);
    assert_send(&check);
}
