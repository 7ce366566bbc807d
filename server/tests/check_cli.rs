//! `sentinel check`: exit 0 up, 1 down, 2 bad input; the breakdown and conditions printed.

use std::process::{Command, Output};
use std::time::Duration;

use axum::Router;
use axum::routing::get;

async fn target() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/ok", get(|| async { r#"{"status":"UP","items":[1,2]}"# }))
        .route(
            "/hang",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn check(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_sentinel"))
            .arg("check")
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn an_up_target_exits_0_and_prints_the_breakdown() {
    let addr = target().await;
    let url = format!("http://localhost:{}/ok", addr.port());
    let out = check(&[
        &url,
        "-c",
        "[STATUS] == 200",
        "-c",
        "len([BODY].items) == 2",
    ])
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.starts_with("UP  GET "), "{stdout}");
    for line in ["dns", "connect", "first byte", "total", "✓ [STATUS] == 200"] {
        assert!(stdout.contains(line), "missing {line}: {stdout}");
    }
}

#[tokio::test]
async fn a_failed_condition_exits_1_and_shows_the_actual_value() {
    let addr = target().await;
    let url = format!("http://{addr}/ok");
    let out = check(&[&url, "-c", "[BODY].status == DOWN"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("✗ [BODY].status == DOWN"), "{stdout}");
    assert!(stdout.contains("UP"), "the actual value is shown: {stdout}");
}

#[tokio::test]
async fn a_hanging_target_times_out_and_exits_1() {
    let addr = target().await;
    let url = format!("http://{addr}/hang");
    let out = check(&[&url, "--timeout", "1s", "--json"]).await;
    assert_eq!(out.status.code(), Some(1));
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["error"]["kind"], "timeout", "{result}");
}

#[tokio::test]
async fn bad_input_exits_2_naming_the_flag() {
    let out = check(&["ftp://example.com/"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("url"));
    let out = check(&["http://127.0.0.1/", "-c", "[STATUS] =="]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--condition"));
    let out = check(&["http://127.0.0.1/", "--timeout", "soon"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--timeout"));
    let out = check(&["http://127.0.0.1/", "-H", "no colon"]).await;
    assert_eq!(out.status.code(), Some(2));
    let out = check(&[]).await;
    assert_eq!(out.status.code(), Some(2), "clap usage error");
}
