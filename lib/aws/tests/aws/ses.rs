//! SES v2 mail, checked in moto's record of sent messages.

use sentinel_aws::SesMailer;
use sentinel_store::{Mail, Mailer};

use crate::common::{config, endpoint, unique};

/// Everything moto recorded as sent, as JSON (`/moto-api/data.json` → `ses`).
async fn sent_messages() -> Vec<serde_json::Value> {
    let data: serde_json::Value = reqwest::get(format!("{}/moto-api/data.json", endpoint()))
        .await
        .expect("GET moto's data")
        .json()
        .await
        .expect("moto's data is JSON");
    let ses = &data["ses"];
    // moto lists each backend's models by class name; sent mail is `Message`, with
    // `source`, `destinations.ToAddresses`, `subject` and `body`.
    ses.get("Message")
        .and_then(|m| m.as_array())
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn mail_from_a_verified_sender_arrives_with_subject_body_and_recipients() {
    let config = config().await;
    let sender = format!("{}@example.com", unique("alerts"));
    config
        .ses()
        .create_email_identity()
        .email_identity(&sender)
        .send()
        .await
        .expect("verify the sender");
    let subject = format!("[Sentinel] api is DOWN ({})", unique("s"));
    let mail = Mail {
        from: sender.clone(),
        to: vec![
            "ops@example.com".to_owned(),
            "oncall@example.org".to_owned(),
        ],
        subject: subject.clone(),
        text: "api is down since 12:00 UTC\ncause: connect refused — «é✓»".to_owned(),
    };

    SesMailer::new(config.ses())
        .send(&mail)
        .await
        .expect("send");

    let messages = sent_messages().await;
    let sent = messages
        .iter()
        .find(|m| m["subject"] == serde_json::json!(subject))
        .unwrap_or_else(|| panic!("no sent message with subject {subject:?} in {messages:#?}"));
    assert_eq!(sent["source"], serde_json::json!(sender), "{sent:#}");
    assert_eq!(
        sent["destinations"]["ToAddresses"],
        serde_json::json!(["ops@example.com", "oncall@example.org"]),
        "{sent:#}"
    );
    assert_eq!(sent["body"], serde_json::json!(mail.text), "{sent:#}");
}

#[tokio::test]
async fn an_unverified_sender_is_refused_for_good() {
    let mail = Mail {
        from: format!("{}@unverified.example.com", unique("nobody")),
        to: vec!["ops@example.com".to_owned()],
        subject: "never sent".to_owned(),
        text: "x".to_owned(),
    };
    let err = SesMailer::new(config().await.ses())
        .send(&mail)
        .await
        .expect_err("an unverified sender must be rejected");
    assert!(
        !err.retryable,
        "a rejected sender will not pass later: {err}"
    );
}

#[tokio::test]
async fn a_mail_without_recipients_is_refused_for_good() {
    let mail = Mail {
        from: "alerts@example.com".to_owned(),
        to: Vec::new(),
        subject: "s".to_owned(),
        text: "x".to_owned(),
    };
    let err = SesMailer::new(config().await.ses())
        .send(&mail)
        .await
        .expect_err("no recipients");
    assert!(!err.retryable);
}

#[tokio::test]
async fn an_unreachable_endpoint_is_retryable() {
    // Nothing listens on port 9 of loopback: a network failure, which may pass.
    let config = sentinel_aws::AwsConfig::emulator("http://127.0.0.1:9").await;
    let mail = Mail {
        from: "alerts@example.com".to_owned(),
        to: vec!["ops@example.com".to_owned()],
        subject: "s".to_owned(),
        text: "x".to_owned(),
    };
    let err = SesMailer::new(config.ses())
        .send(&mail)
        .await
        .expect_err("nothing listens");
    assert!(err.retryable, "{err}");
}
