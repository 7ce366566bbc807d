//! Alerts of monitors created through the API go to their owner's channels (created
//! through the API, secrets decrypted per alert), never to another user's.

mod support;

use std::sync::Arc;
use std::time::Duration;

use sentinel_api::alert_routing::AccountChannels;
use sentinel_core::{MonitorId, Status, Transition, TransitionKind};
use sentinel_embedded::mail::OutboxMailer;
use sentinel_pipeline::channels::{ChannelDeps, http_client};
use sentinel_pipeline::{Notifier, RetryPolicy};
use sentinel_testkit::Receiver;
use serde_json::json;
use support::TestApp;

#[tokio::test]
async fn an_api_monitor_alerts_through_its_owners_channels_only() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let alice = app.user(&admin, "alice@example.com", "user").await;
    let bob = app.user(&admin, "bob@example.com", "user").await;
    let alices_hook = Receiver::start().await;
    let bobs_hook = Receiver::start().await;
    for (who, hook) in [(&alice, &alices_hook), (&bob, &bobs_hook)] {
        let reply = app
            .post_as(
                who,
                "/api/alert-channels",
                &json!({"name": "hook", "type": "webhook", "url": hook.url(),
                        "secret": "a-signing-secret-of-length"}),
            )
            .await;
        assert_eq!(reply.status, 201, "{:?}", reply.json);
    }
    let reply = app
        .post_as(
            &alice,
            "/api/monitors",
            &json!({"id": "alices-api", "name": "Alice's API", "url": "https://example.com/",
                    "alerts": ["hook"]}),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);

    let dir = tempfile::tempdir().unwrap();
    let source = AccountChannels {
        config_channels: Vec::new(),
        accounts: app.store.clone(),
        keyring: app.state.settings.encryption.clone(),
        deps: ChannelDeps {
            http: http_client(Duration::from_secs(5), true).unwrap(),
            mailer: Arc::new(OutboxMailer::new(dir.path())),
            default_from: "sentinel@example.com".into(),
            allow_private: true,
        },
    };
    let notifier = Notifier::new(app.store.clone(), Vec::new(), RetryPolicy::default())
        .with_source(Arc::new(source));
    let monitor_id = MonitorId::parse("alices-api").unwrap();
    let down = Transition {
        monitor_id: monitor_id.clone(),
        kind: TransitionKind::Down,
        from: Status::Up,
        to: Status::Down,
        at: 1_700_000_000_000,
        incident_id: Some(sentinel_core::IncidentId::new(
            &monitor_id,
            1_700_000_000_000,
        )),
        cause: Some("timeout".into()),
        downtime_ms: None,
    };
    let report = notifier.notify(&down).await.unwrap();
    assert_eq!(report.sent, ["hook"]);
    let got = alices_hook.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json()["monitor_id"], "alices-api");
    assert!(
        bobs_hook.received().is_empty(),
        "never another user's channel"
    );
}
