//! Each channel's wire format, received by real local servers: Slack and Discord
//! webhooks, and SMTP through a minimal local mail server.

mod support;

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use sentinel_core::alert::AlertMessage;
use sentinel_pipeline::channels::{ChannelConfig, ChannelDeps, http_client};
use sentinel_pipeline::mail::{OutboxMailer, SmtpMailer, SmtpSecurity, SmtpSettings};
use sentinel_store::{Mail, Mailer};
use support::Receiver;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

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
                secret: "short".into(),
                headers: Default::default(),
            },
            "secret",
        ),
        (
            ChannelConfig::Webhook {
                url: "https://x.example/".into(),
                secret: "long-enough-secret-value".into(),
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
            Ok(_) => panic!("{config:?} should be refused"),
            Err(e) => assert_eq!(e.field, field, "{config:?}: {}", e.message),
        }
    }
}

/// A minimal SMTP server: enough of RFC 5321 for one client, recording each message.
async fn smtp_sink() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let messages = Arc::new(Mutex::new(Vec::new()));
    let store = Arc::clone(&messages);
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut in_data = false;
                let mut data = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            store.lock().push(std::mem::take(&mut data));
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            data.push_str(&line);
                            data.push('\n');
                        }
                        continue;
                    }
                    let verb = line
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
                        "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 ok\r\n",
                        "DATA" => {
                            in_data = true;
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.unwrap();
                            return;
                        }
                        _ => b"502 not implemented\r\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, messages)
}

#[tokio::test]
async fn smtp_delivers_to_a_local_mail_server() {
    let (port, messages) = smtp_sink().await;
    let mailer = SmtpMailer::new(&SmtpSettings {
        host: "127.0.0.1".into(),
        port: Some(port),
        username: None,
        password: None,
        security: SmtpSecurity::None,
        from: None,
    })
    .unwrap();
    mailer
        .send(&Mail {
            from: "sentinel@example.com".into(),
            to: vec!["oncall@example.com".into()],
            subject: "API is down".into(),
            text: "API is down: timeout".into(),
        })
        .await
        .unwrap();
    let got = messages.lock().clone();
    assert_eq!(got.len(), 1);
    assert!(got[0].contains("Subject: API is down"), "{}", got[0]);
    assert!(got[0].contains("To: oncall@example.com"), "{}", got[0]);
    assert!(got[0].contains("API is down: timeout"), "{}", got[0]);
}

#[tokio::test]
async fn an_unreachable_smtp_server_is_a_retryable_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mailer = SmtpMailer::new(&SmtpSettings {
        host: "127.0.0.1".into(),
        port: Some(port),
        username: None,
        password: None,
        security: SmtpSecurity::None,
        from: None,
    })
    .unwrap();
    let err = mailer
        .send(&Mail {
            from: "sentinel@example.com".into(),
            to: vec!["oncall@example.com".into()],
            subject: "s".into(),
            text: "t".into(),
        })
        .await
        .unwrap_err();
    assert!(err.retryable, "{}", err.message);
}

#[tokio::test]
async fn the_outbox_writes_one_complete_eml_per_mail() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = OutboxMailer::new(dir.path().join("outbox"));
    for i in 0..3 {
        outbox
            .send(&Mail {
                from: "sentinel@example.com".into(),
                to: vec!["oncall@example.com".into()],
                subject: format!("mail {i}"),
                text: "body".into(),
            })
            .await
            .unwrap();
    }
    let files: Vec<_> = std::fs::read_dir(dir.path().join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 3, "no temp files left behind: {files:?}");
    assert!(
        files
            .iter()
            .all(|p| p.extension().is_some_and(|x| x == "eml"))
    );
    let bad = outbox
        .send(&Mail {
            from: "not an address".into(),
            to: vec!["oncall@example.com".into()],
            subject: "s".into(),
            text: "t".into(),
        })
        .await
        .unwrap_err();
    assert!(!bad.retryable);
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
