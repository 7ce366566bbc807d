//! The mailers against a minimal local SMTP server and a temp outbox folder.

use std::sync::{Arc, Mutex};

use secrecy::SecretString;
use sentinel_embedded::mail::{OutboxMailer, SmtpMailer, SmtpSecurity, SmtpSettings};
use sentinel_store::{Mail, Mailer};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

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
                            store.lock().unwrap().push(std::mem::take(&mut data));
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
    let got = messages.lock().unwrap().clone();
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

#[test]
fn smtp_settings_never_print_the_password() {
    let settings = SmtpSettings {
        host: "smtp.example.com".into(),
        port: None,
        username: Some("u".into()),
        password: Some(SecretString::from("hunter2-very-secret")),
        security: SmtpSecurity::Starttls,
        from: None,
    };
    assert!(!format!("{settings:?}").contains("hunter2"));
}
