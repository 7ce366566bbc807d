//! Each channel's wire format, received by real local servers: Slack and Discord
//! webhooks, and SMTP through a minimal local mail server.

mod support;

use std::sync::Arc;
use std::time::Duration;

use sentinel_core::alert::AlertMessage;
use sentinel_embedded::mail::OutboxMailer;
use sentinel_pipeline::channels::{ChannelConfig, ChannelDeps, http_client};
use support::Receiver;

fn message(event: &str) -> AlertMessage {
    AlertMessage {
        event: event.into(),
        monitor_id: "api".into(),
        monitor_name: "API <prod> & co".into(),
        url: "https://api.example.com/health".into(),
        incident_id: Some("api@1700000000000".into()),
        at: 1_700_000_000_000,
        title: "🔴 API <prod> & co is down".into(),
        text: "API <prod> & co is down: @everyone look".into(),
        cause: Some("timeout: no response within 10s".into()),
        downtime_ms: None,
        idempotency_key: "api@1700000000000:down:1700000000000".into(),
    }
}

fn deps(outbox: &std::path::Path) -> ChannelDeps {
    ChannelDeps {
        http: http_client(Duration::from_secs(5), true).unwrap(),
        allow_private: true,
        mailer: Arc::new(OutboxMailer::new(outbox)),
        default_from: "sentinel@example.com".into(),
    }
}

#[tokio::test]
async fn slack_gets_escaped_text_and_a_coloured_attachment() {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let channel = ChannelConfig::Slack {
        webhook_url: receiver.url(),
    }
    .build("slack", &deps(dir.path()))
    .unwrap();
    channel.send(&message("down")).await.unwrap();
    channel.send(&message("recovered")).await.unwrap();
    let got = receiver.received();
    let down = got[0].json();
    assert_eq!(down["text"], "🔴 API &lt;prod&gt; &amp; co is down");
    assert_eq!(down["attachments"][0]["color"], "#e01e5a");
    assert_eq!(
        down["attachments"][0]["fields"][1]["value"],
        "timeout: no response within 10s"
    );
    assert_eq!(got[1].json()["attachments"][0]["color"], "#2eb886");
}

#[tokio::test]
async fn discord_gets_an_embed_and_never_pings_everyone() {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let channel = ChannelConfig::Discord {
        webhook_url: receiver.url(),
    }
    .build("discord", &deps(dir.path()))
    .unwrap();
    channel.send(&message("down")).await.unwrap();
    let body = receiver.received()[0].json();
    assert_eq!(body["allowed_mentions"]["parse"], serde_json::json!([]));
    let embed = &body["embeds"][0];
    assert_eq!(embed["title"], "🔴 API <prod> & co is down");
    assert_eq!(embed["color"], 0xe0_1e_5a);
    assert_eq!(embed["timestamp"], "2023-11-14T22:13:20Z");
}

#[tokio::test]
async fn a_receiver_answering_4xx_is_not_retried_and_5xx_is() {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let missing = ChannelConfig::Slack {
        webhook_url: format!("http://{}/nope", receiver.addr),
    }
    .build("slack", &deps(dir.path()))
    .unwrap();
    let err = missing.send(&message("down")).await.unwrap_err();
    assert!(!err.retryable, "{}", err.message);
    assert!(
        err.message.contains("405") || err.message.contains("404"),
        "{}",
        err.message
    );
    receiver.set_down(true);
    let flaky = ChannelConfig::Slack {
        webhook_url: receiver.url(),
    }
    .build("slack", &deps(dir.path()))
    .unwrap();
    let err = flaky.send(&message("down")).await.unwrap_err();
    assert!(err.retryable);
}

#[test]
fn bad_channel_configs_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    let deps = deps(dir.path());
    let cases = [
        (
            ChannelConfig::Slack {
                webhook_url: "ftp://x/".into(),
            },
            "webhook-url",
        ),
        (
            ChannelConfig::Webhook {
                url: "https://x.example/".into(),
                secret: "short".to_owned().into(),
                headers: Default::default(),
            },
            "secret",
        ),
        (
            ChannelConfig::Webhook {
                url: "https://x.example/".into(),
                secret: "long-enough-secret-value".to_owned().into(),
                headers: [("Bad Header".to_owned(), "v".to_owned())].into(),
            },
            "headers.Bad Header",
        ),
        (
            ChannelConfig::Email {
                to: vec![],
                from: None,
            },
            "to",
        ),
        (
            ChannelConfig::Email {
                to: vec!["a@example.com".into(), "nope".into()],
                from: None,
            },
            "to[1]",
        ),
    ];
    for (config, field) in cases {
        match config.build("c", &deps) {
            Ok(_) => panic!("{field} should be refused"),
            Err(e) => assert_eq!(e.field, field, "{}", e.message),
        }
    }
}

#[tokio::test]
async fn webhooks_to_internal_addresses_are_refused_unless_allowed() {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let strict = ChannelDeps {
        http: http_client(Duration::from_secs(5), false).unwrap(),
        mailer: Arc::new(OutboxMailer::new(dir.path())),
        default_from: "sentinel@example.com".into(),
        allow_private: false,
    };
    for url in [
        receiver.url(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://[::1]:9/hook".to_owned(),
        "http://10.0.0.1/hook".to_owned(),
    ] {
        let err = ChannelConfig::Slack {
            webhook_url: url.clone(),
        }
        .build("slack", &strict)
        .err()
        .unwrap_or_else(|| panic!("{url} should be refused"));
        assert_eq!(err.field, "webhook-url");
    }
    // A name that resolves to loopback is refused at send time.
    let by_name = ChannelConfig::Slack {
        webhook_url: format!("http://localhost:{}/hook", receiver.addr.port()),
    }
    .build("slack", &strict)
    .unwrap();
    let err = by_name.send(&message("down")).await.unwrap_err();
    assert!(err.retryable, "{}", err.message);
    assert!(receiver.received().is_empty());

    // Metadata stays refused even when private addresses are allowed.
    let lenient = deps(dir.path());
    assert!(
        ChannelConfig::Slack {
            webhook_url: "http://169.254.169.254/".into()
        }
        .build("slack", &lenient)
        .is_err()
    );
}
