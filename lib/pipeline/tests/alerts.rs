//! The check stage and the notifier against real local servers: a target that goes down
//! and recovers, a webhook receiver, the outbox mailer, and SQLite.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use sentinel_core::monitor::DurationInput;
use sentinel_core::{MonitorInput, MonitorSpec, Status, TransitionKind};
use sentinel_embedded::SqliteStore;
use sentinel_embedded::mail::OutboxMailer;
use sentinel_pipeline::channels::{
    AlertChannel, ChannelConfig, ChannelDeps, SIGNATURE_HEADER, TIMESTAMP_HEADER, http_client, sign,
};
use sentinel_pipeline::{CheckStage, Notifier, RetryPolicy};
use sentinel_probe::{ProbeSettings, Prober};
use sentinel_store::{
    AlertLedger, DeliveryStatus, IncidentStore, LiveStateStore, MonitorStore, PingLog,
};
use support::{Receiver, Target};

const SECRET: &str = "a-test-secret-of-some-length";

fn monitor(url: &str, failure_threshold: i64) -> MonitorSpec {
    MonitorInput {
        name: Some("Target API".into()),
        url: Some(url.into()),
        interval: Some(DurationInput::Text("10s".into())),
        timeout: Some(DurationInput::Text("2s".into())),
        conditions: vec!["[STATUS] == 200".into()],
        failure_threshold: Some(failure_threshold),
        ..MonitorInput::default()
    }
    .validate()
    .unwrap()
}

struct Rig {
    store: Arc<SqliteStore>,
    stage: CheckStage<SqliteStore>,
    notifier: Notifier<SqliteStore>,
    spec: Arc<MonitorSpec>,
    outbox: tempfile::TempDir,
}

async fn rig(target: &Target, receiver: &Receiver, failure_threshold: i64) -> Rig {
    let store = Arc::new(SqliteStore::open_in_memory().await.unwrap());
    let spec = monitor(&target.url(), failure_threshold);
    store.upsert_monitor(&spec).await.unwrap();
    let prober = Prober::new(ProbeSettings::default()).unwrap();
    let stage = CheckStage::new(Arc::clone(&store), prober, 8);
    let outbox = tempfile::tempdir().unwrap();
    let deps = ChannelDeps {
        http: http_client(Duration::from_secs(5), true).unwrap(),
        allow_private: true,
        mailer: Arc::new(OutboxMailer::new(outbox.path())),
        default_from: "sentinel@example.com".into(),
    };
    let webhook = ChannelConfig::Webhook {
        url: receiver.url(),
        secret: SECRET.to_owned().into(),
        headers: BTreeMap::new(),
    }
    .build("ops", &deps)
    .unwrap();
    let email = ChannelConfig::Email {
        to: vec!["oncall@example.com".into()],
        from: None,
    }
    .build("mail", &deps)
    .unwrap();
    let channels: Vec<Arc<dyn AlertChannel>> = vec![webhook, email];
    let notifier = Notifier::new(
        Arc::clone(&store),
        channels,
        RetryPolicy {
            attempts: 3,
            first_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(100),
        },
    );
    Rig {
        store,
        stage,
        notifier,
        spec: Arc::new(spec),
        outbox,
    }
}

impl Rig {
    /// One scheduled round: check, record, alert.
    async fn round(&self) -> Vec<TransitionKind> {
        // Checks are keyed by their start time in ms; keep rounds apart.
        tokio::time::sleep(Duration::from_millis(5)).await;
        let report = self.stage.run(&[Arc::clone(&self.spec)]).await.unwrap();
        let mut kinds = Vec::new();
        for t in &report.transitions {
            self.notifier.notify(t).await.unwrap();
            kinds.push(t.kind);
        }
        kinds
    }

    async fn status(&self) -> Status {
        self.store
            .get_state(&self.spec.id)
            .await
            .unwrap()
            .unwrap()
            .status
    }

    fn outbox_mails(&self) -> Vec<String> {
        let mut mails: Vec<String> = std::fs::read_dir(self.outbox.path())
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                    .map(|e| std::fs::read_to_string(e.path()).unwrap())
                    .collect()
            })
            .unwrap_or_default();
        mails.sort();
        mails
    }
}

#[tokio::test]
async fn a_target_going_down_is_reported_after_the_failure_threshold_and_alerted_once() {
    let target = Target::start().await;
    let receiver = Receiver::start().await;
    let rig = rig(&target, &receiver, 3).await;

    assert_eq!(rig.round().await, vec![TransitionKind::FirstUp]);
    assert_eq!(rig.status().await, Status::Up);

    target.set_healthy(false);
    assert!(rig.round().await.is_empty());
    assert!(rig.round().await.is_empty());
    assert_eq!(rig.status().await, Status::Up, "two failures < threshold 3");
    assert_eq!(rig.round().await, vec![TransitionKind::Down]);
    assert_eq!(rig.status().await, Status::Down);
    // Still down: no further alerts.
    assert!(rig.round().await.is_empty());
    assert!(rig.round().await.is_empty());

    let got = receiver.received();
    assert_eq!(got.len(), 1, "exactly one down alert");
    let alert = got[0].json();
    assert_eq!(alert["event"], "down");
    assert_eq!(alert["monitor_id"], rig.spec.id.as_str());
    assert!(alert["cause"].as_str().unwrap().contains("503"), "{alert}");
    assert_eq!(rig.outbox_mails().len(), 1, "exactly one down email");
    assert!(rig.outbox_mails()[0].contains("Target API is down"));

    // The incident holds the checks that proved it.
    let incidents = rig.store.list_incidents(&rig.spec.id, 10).await.unwrap();
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0].proof.len(), 3);
    assert!(incidents[0].ended_at.is_none());

    target.set_healthy(true);
    assert_eq!(rig.round().await, vec![TransitionKind::Recovered]);
    assert!(rig.round().await.is_empty());
    let got = receiver.received();
    assert_eq!(got.len(), 2, "exactly one recovery alert");
    assert_eq!(got[1].json()["event"], "recovered");
    assert_eq!(rig.outbox_mails().len(), 2);
    let incidents = rig.store.list_incidents(&rig.spec.id, 10).await.unwrap();
    assert!(incidents[0].ended_at.is_some());

    // Every check is in the history.
    let history = rig
        .store
        .history(&rig.spec.id, 0, i64::MAX, 100)
        .await
        .unwrap();
    assert_eq!(history.len(), 8);
    assert_eq!(history.iter().filter(|r| !r.success).count(), 5);
}

#[tokio::test]
async fn webhooks_are_signed_over_timestamp_and_body() {
    let target = Target::start().await;
    let receiver = Receiver::start().await;
    let rig = rig(&target, &receiver, 1).await;
    target.set_healthy(false);
    rig.round().await;
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    let timestamp = got[0].headers[TIMESTAMP_HEADER].to_str().unwrap();
    let signature = got[0].headers[SIGNATURE_HEADER].to_str().unwrap();
    assert_eq!(signature, sign(SECRET.as_bytes(), timestamp, &got[0].body));
    assert_ne!(
        signature,
        sign(b"wrong-secret-entirely", timestamp, &got[0].body)
    );
}

#[tokio::test]
async fn the_same_transition_is_never_alerted_twice() {
    let target = Target::start().await;
    let receiver = Receiver::start().await;
    let rig = rig(&target, &receiver, 1).await;
    target.set_healthy(false);
    let report = rig.stage.run(&[Arc::clone(&rig.spec)]).await.unwrap();
    let down = report.transitions[0].clone();
    let first = rig.notifier.notify(&down).await.unwrap();
    let again = rig.notifier.notify(&down).await.unwrap();
    assert_eq!(first.sent.len(), 2);
    assert!(again.sent.is_empty());
    assert_eq!(again.duplicates.len(), 2);
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(rig.outbox_mails().len(), 1);

    // Redelivering the same results applies nothing twice either.
    let replay = rig
        .stage
        .record(&[Arc::clone(&rig.spec)], report.results.clone())
        .await
        .unwrap();
    assert!(replay.transitions.is_empty());
    let history = rig
        .store
        .history(&rig.spec.id, 0, i64::MAX, 100)
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
}

#[tokio::test]
async fn a_flaky_receiver_is_retried_and_a_dead_one_recorded_as_failed() {
    let target = Target::start().await;
    let receiver = Receiver::start().await;
    let rig = rig(&target, &receiver, 1).await;

    // Two 500s, then success on the third attempt.
    receiver.fail_next(2);
    target.set_healthy(false);
    assert_eq!(rig.round().await, vec![TransitionKind::Down]);
    assert_eq!(receiver.received().len(), 1);
    let deliveries = rig.store.list_deliveries(10).await.unwrap();
    let webhook = deliveries.iter().find(|d| d.channel == "ops").unwrap();
    assert_eq!(webhook.status, DeliveryStatus::Sent);
    assert_eq!(webhook.attempts, 3);

    // Receiver down for the recovery: retried, then recorded as failed.
    receiver.set_down(true);
    target.set_healthy(true);
    assert_eq!(rig.round().await, vec![TransitionKind::Recovered]);
    let deliveries = rig.store.list_deliveries(10).await.unwrap();
    let failed = deliveries
        .iter()
        .find(|d| d.channel == "ops" && d.event == "recovered")
        .unwrap();
    assert_eq!(failed.status, DeliveryStatus::Failed);
    assert_eq!(failed.attempts, 3);
    assert!(failed.last_error.as_deref().unwrap().contains("500"));
    // Email still went out for the recovery.
    assert_eq!(rig.outbox_mails().len(), 2);

    // The next transition still alerts once the receiver is back.
    receiver.set_down(false);
    target.set_healthy(false);
    assert_eq!(rig.round().await, vec![TransitionKind::Down]);
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].json()["event"], "down");
}

#[tokio::test]
async fn an_unreachable_target_fails_with_its_reason() {
    // Bind then drop a listener so the port is (very likely) closed.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let store = Arc::new(SqliteStore::open_in_memory().await.unwrap());
    let spec = Arc::new(monitor(&format!("http://127.0.0.1:{port}/"), 1));
    store.upsert_monitor(&spec).await.unwrap();
    let stage = CheckStage::new(
        Arc::clone(&store),
        Prober::new(ProbeSettings::default()).unwrap(),
        4,
    );
    let report = stage.run(&[Arc::clone(&spec)]).await.unwrap();
    assert_eq!(report.transitions[0].kind, TransitionKind::Down);
    let reason = report.results[0].failure_reason.clone().unwrap();
    assert!(reason.starts_with("refused"), "{reason}");
}

#[tokio::test]
async fn reminders_repeat_while_down_only_when_configured() {
    let target = Target::start().await;
    let receiver = Receiver::start().await;
    let mut rig = rig(&target, &receiver, 1).await;
    let store = Arc::clone(&rig.store);
    rig.stage = CheckStage::new(store, Prober::new(ProbeSettings::default()).unwrap(), 4)
        .with_reminders(Some(Duration::from_millis(30)));
    target.set_healthy(false);
    assert_eq!(rig.round().await, vec![TransitionKind::Down]);
    // Too soon for a reminder.
    assert!(rig.round().await.is_empty());
    tokio::time::sleep(Duration::from_millis(40)).await;
    assert_eq!(rig.round().await, vec![TransitionKind::Reminder]);
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].json()["event"], "reminder");
    assert!(
        got[1].json()["text"].as_str().unwrap().contains("still")
            || got[1].json()["title"].as_str().unwrap().contains("still")
    );
}

/// Polls until `f` holds or 10 s pass.
async fn eventually(mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..200 {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    f()
}

#[tokio::test]
async fn alerts_lost_in_a_crash_are_sent_at_the_next_start_exactly_once() {
    use sentinel_pipeline::{Engine, EngineConfig};
    use sentinel_store::{Delivery, DeliveryStatus};
    use tokio_util::sync::CancellationToken;

    let target = Target::start().await;
    let receiver = Receiver::start().await;
    let mut rig = rig(&target, &receiver, 1).await;
    // A daily monitor, so the engine does not check it again during the test.
    let mut daily = (*rig.spec).clone();
    daily.interval = Duration::from_secs(86_400);
    rig.store.upsert_monitor(&daily).await.unwrap();
    rig.spec = Arc::new(daily.clone());

    // The target fails; the state and incident are written, then the process "dies"
    // before the notifier claims anything...
    target.set_healthy(false);
    let report = rig.stage.run(&[Arc::clone(&rig.spec)]).await.unwrap();
    let down = report.transitions[0].clone();
    assert_eq!(down.kind, TransitionKind::Down);
    // ...except the email, which it had claimed and was sending.
    let now = sentinel_pipeline::now_ms();
    rig.store
        .claim(&Delivery {
            key: format!("{}:mail", down.idempotency_key()),
            channel: "mail".into(),
            monitor_id: daily.id.clone(),
            event: "down".into(),
            status: DeliveryStatus::Pending,
            attempts: 0,
            last_error: None,
            created_at: now - 1_000,
            updated_at: now - 1_000,
        })
        .await
        .unwrap();

    for run in 0..2 {
        let shutdown = CancellationToken::new();
        let (_, done) = Engine::spawn(
            Arc::new(CheckStage::new(
                Arc::clone(&rig.store),
                Prober::new(ProbeSettings::default()).unwrap(),
                4,
            )),
            Arc::new(Notifier::new(
                Arc::clone(&rig.store),
                rig.notifier.channels().to_vec(),
                RetryPolicy::default(),
            )),
            vec![daily.clone()],
            EngineConfig::default(),
            shutdown.clone(),
        );
        assert!(
            eventually(|| receiver.received().len() == 1 && rig.outbox_mails().len() == 1).await,
            "run {run}: webhook {} mails {}",
            receiver.received().len(),
            rig.outbox_mails().len()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        shutdown.cancel();
        done.await.unwrap();
    }
    let got = receiver.received();
    assert_eq!(got.len(), 1, "sent once across two restarts");
    assert_eq!(got[0].json()["idempotency_key"], down.idempotency_key());
    assert_eq!(rig.outbox_mails().len(), 1);
    let deliveries = rig.store.list_deliveries(10).await.unwrap();
    assert!(
        deliveries.iter().all(|d| d.status == DeliveryStatus::Sent),
        "{deliveries:?}"
    );
}

#[tokio::test]
async fn a_recovery_never_overtakes_a_down_alert_in_backoff() {
    use sentinel_pipeline::{Alert, spawn_notifier};

    let target = Target::start().await;
    let receiver = Receiver::start().await;
    let rig = rig(&target, &receiver, 1).await;
    target.set_healthy(false);
    let down = rig
        .stage
        .run(&[Arc::clone(&rig.spec)])
        .await
        .unwrap()
        .transitions;
    tokio::time::sleep(Duration::from_millis(5)).await;
    target.set_healthy(true);
    let up = rig
        .stage
        .run(&[Arc::clone(&rig.spec)])
        .await
        .unwrap()
        .transitions;
    assert_eq!(up[0].kind, TransitionKind::Recovered);

    // The down alert fails twice and waits in backoff; the recovery is queued meanwhile.
    receiver.fail_next(2);
    let notifier = Arc::new(rig.notifier);
    let (alerts, done) = spawn_notifier(Arc::clone(&notifier));
    for transition in down.into_iter().chain(up) {
        alerts
            .send(Alert {
                transition,
                stale_before: None,
            })
            .unwrap();
    }
    drop(alerts);
    done.await.unwrap();
    let events: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| r.json()["event"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(events, ["down", "recovered"]);
}

#[tokio::test]
async fn an_https_target_is_judged_on_its_certificate_and_alerts_when_it_nears_expiry() {
    use axum::Router;
    use axum::routing::get;
    use support::{TestCa, serve_https};

    let ca = TestCa::new();
    // Expires in 20 days: up for "> 72h", down for "> 720h" (30 days).
    let (chain, key) = ca.leaf_expiring_in(&["localhost"], 20);
    let app = Router::new().route("/", get(|| async { "secure" }));
    let addr = serve_https(app, chain, key).await;

    let store = Arc::new(SqliteStore::open_in_memory().await.unwrap());
    let prober = Prober::new(ProbeSettings {
        extra_root_certs: vec![ca.cert.clone()],
        ..ProbeSettings::default()
    })
    .unwrap();
    let stage = CheckStage::new(Arc::clone(&store), prober, 2);
    let spec = |id: &str, condition: &str| {
        Arc::new(
            MonitorInput {
                id: Some(id.into()),
                name: Some(id.into()),
                url: Some(format!("https://localhost:{}/", addr.port())),
                conditions: vec!["[STATUS] == 200".into(), condition.into()],
                failure_threshold: Some(1),
                ..MonitorInput::default()
            }
            .validate()
            .unwrap(),
        )
    };
    let relaxed = spec("relaxed", "[CERTIFICATE_EXPIRATION] > 72h");
    let strict = spec("strict", "[CERTIFICATE_EXPIRATION] > 720h");
    for s in [&relaxed, &strict] {
        store.upsert_monitor(s).await.unwrap();
    }
    let report = stage
        .run(&[Arc::clone(&relaxed), Arc::clone(&strict)])
        .await
        .unwrap();
    let by_id = |id: &str| {
        report
            .results
            .iter()
            .find(|r| r.monitor_id.as_str() == id)
            .unwrap()
    };
    let ok = by_id("relaxed");
    assert!(ok.success, "{ok:?}");
    assert!(ok.timings.tls_ms.is_some() && ok.timings.dns_ms.is_some());
    let expires_in_days = (ok.cert_expires_at.unwrap() - ok.checked_at) / 86_400_000;
    assert!((18..=20).contains(&expires_in_days), "{expires_in_days}");
    let bad = by_id("strict");
    assert!(!bad.success);
    assert!(
        bad.failure_reason
            .as_deref()
            .unwrap()
            .contains("[CERTIFICATE_EXPIRATION] > 720h"),
        "{bad:?}"
    );
    let kinds: Vec<_> = report
        .transitions
        .iter()
        .map(|t| (t.monitor_id.as_str().to_owned(), t.kind))
        .collect();
    assert!(
        kinds.contains(&("strict".to_owned(), TransitionKind::Down)),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("relaxed".to_owned(), TransitionKind::FirstUp)),
        "{kinds:?}"
    );
}
