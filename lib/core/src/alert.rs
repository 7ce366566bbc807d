//! Alert messages: what a human reads when a monitor changes state.

use serde::{Deserialize, Serialize};

use crate::UnixMs;
use crate::monitor::MonitorSpec;
use crate::status::{Transition, TransitionKind};

/// Channel-neutral alert content, rendered by each channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertMessage {
    /// `down`, `recovered` or `reminder`.
    pub event: String,
    pub monitor_id: String,
    pub monitor_name: String,
    pub url: String,
    pub incident_id: Option<String>,
    pub at: UnixMs,
    pub title: String,
    pub text: String,
    pub cause: Option<String>,
    pub downtime_ms: Option<i64>,
    /// Unique per alertable event; receivers can deduplicate on it.
    pub idempotency_key: String,
}

/// Human duration for alert text: `3m 20s`, `2h 5m`, `1d 4h`.
pub fn human_duration(ms: i64) -> String {
    let secs = ms.max(0).saturating_add(500) / 1000;
    let (d, h, m, s) = (secs / 86_400, secs / 3_600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

/// The monitor URL as shown in alerts: without user name and password, which must not
/// leak into chat channels and mailboxes.
fn display_url(spec: &MonitorSpec) -> String {
    let mut url = spec.url.as_url().clone();
    // Only fails for URLs that cannot have credentials, which then have none.
    let _ = url.set_password(None);
    let _ = url.set_username("");
    url.into()
}

impl AlertMessage {
    pub fn for_transition(spec: &MonitorSpec, t: &Transition) -> Self {
        let name = &spec.name;
        let url = display_url(spec);
        let (title, text) = match t.kind {
            TransitionKind::Down => (
                format!("🔴 {name} is down"),
                format!(
                    "{name} ({url}) is down: {}",
                    t.cause.as_deref().unwrap_or("check failed")
                ),
            ),
            TransitionKind::Recovered => (
                format!("🟢 {name} is up again"),
                format!(
                    "{name} ({url}) recovered after {}",
                    human_duration(t.downtime_ms.unwrap_or(0))
                ),
            ),
            TransitionKind::Reminder => (
                format!("🔴 {name} is still down"),
                format!(
                    "{name} ({url}) has been down for {}: {}",
                    human_duration(t.downtime_ms.unwrap_or(0)),
                    t.cause.as_deref().unwrap_or("check failed")
                ),
            ),
            other => (
                format!("{name}: {}", other.as_str()),
                format!("{name} ({url}) is {}", t.to.as_str()),
            ),
        };
        Self {
            event: t.kind.as_str().to_owned(),
            monitor_id: spec.id.to_string(),
            monitor_name: name.clone(),
            url,
            incident_id: t.incident_id.as_ref().map(ToString::to_string),
            at: t.at,
            title,
            text,
            cause: t.cause.clone(),
            downtime_ms: t.downtime_ms,
            idempotency_key: t.idempotency_key(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::{MonitorId, MonitorInput};
    use crate::status::{IncidentId, Status};
    use proptest::prelude::*;

    #[test]
    fn human_duration_table() {
        let cases: &[(i64, &str)] = &[
            (i64::MIN, "0s"),
            (-5_000, "0s"),
            (0, "0s"),
            (499, "0s"),
            (500, "1s"),
            (59_400, "59s"),
            (59_499, "59s"),
            (59_500, "1m 0s"),
            (60_000, "1m 0s"),
            (200_000, "3m 20s"),
            (3_599_000, "59m 59s"),
            (3_600_000, "1h 0m"),
            (7_500_000, "2h 5m"),
            (86_399_000, "23h 59m"),
            (86_400_000, "1d 0h"),
            (100_000_000, "1d 3h"),
            (30 * 86_400_000, "30d 0h"),
            (i64::MAX, "106751991167d 7h"),
        ];
        for (ms, want) in cases {
            assert_eq!(human_duration(*ms), *want, "{ms}");
        }
    }

    fn spec(url: &str) -> MonitorSpec {
        MonitorInput {
            id: Some("shop".into()),
            name: Some("Shop".into()),
            url: Some(url.into()),
            ..MonitorInput::default()
        }
        .validate()
        .unwrap()
    }

    fn transition(
        kind: TransitionKind,
        cause: Option<&str>,
        downtime_ms: Option<i64>,
    ) -> Transition {
        let (from, to) = match kind {
            TransitionKind::FirstUp => (Status::Pending, Status::Up),
            TransitionKind::Down => (Status::Up, Status::Down),
            TransitionKind::Recovered => (Status::Down, Status::Up),
            TransitionKind::Reminder => (Status::Down, Status::Down),
            TransitionKind::Paused => (Status::Up, Status::Paused),
            TransitionKind::Resumed => (Status::Paused, Status::Pending),
        };
        let alerted = kind.is_alerted();
        Transition {
            monitor_id: MonitorId::parse("shop").unwrap(),
            kind,
            from,
            to,
            at: 1_000,
            incident_id: alerted.then(|| IncidentId("shop@900".into())),
            cause: cause.map(str::to_owned),
            downtime_ms,
        }
    }

    #[test]
    fn messages_per_transition_kind() {
        let spec = spec("https://shop.example.com/health");
        let u = "https://shop.example.com/health";
        // (transition, event, title, text)
        let cases = [
            (
                transition(TransitionKind::Down, Some("status 503"), None),
                "down",
                "🔴 Shop is down".to_owned(),
                format!("Shop ({u}) is down: status 503"),
            ),
            (
                transition(TransitionKind::Down, None, None),
                "down",
                "🔴 Shop is down".to_owned(),
                format!("Shop ({u}) is down: check failed"),
            ),
            (
                transition(TransitionKind::Recovered, None, Some(200_000)),
                "recovered",
                "🟢 Shop is up again".to_owned(),
                format!("Shop ({u}) recovered after 3m 20s"),
            ),
            (
                transition(TransitionKind::Recovered, None, None),
                "recovered",
                "🟢 Shop is up again".to_owned(),
                format!("Shop ({u}) recovered after 0s"),
            ),
            (
                transition(
                    TransitionKind::Reminder,
                    Some("timeout: 10s"),
                    Some(7_500_000),
                ),
                "reminder",
                "🔴 Shop is still down".to_owned(),
                format!("Shop ({u}) has been down for 2h 5m: timeout: 10s"),
            ),
            (
                transition(TransitionKind::Reminder, None, None),
                "reminder",
                "🔴 Shop is still down".to_owned(),
                format!("Shop ({u}) has been down for 0s: check failed"),
            ),
            (
                transition(TransitionKind::FirstUp, None, None),
                "first_up",
                "Shop: first_up".to_owned(),
                format!("Shop ({u}) is up"),
            ),
            (
                transition(TransitionKind::Paused, None, None),
                "paused",
                "Shop: paused".to_owned(),
                format!("Shop ({u}) is paused"),
            ),
            (
                transition(TransitionKind::Resumed, None, None),
                "resumed",
                "Shop: resumed".to_owned(),
                format!("Shop ({u}) is pending"),
            ),
        ];
        for (t, event, title, text) in cases {
            let m = AlertMessage::for_transition(&spec, &t);
            assert_eq!(m.event, event);
            assert_eq!(m.title, title, "{event}");
            assert_eq!(m.text, text, "{event}");
            assert_eq!(m.monitor_id, "shop");
            assert_eq!(m.monitor_name, "Shop");
            assert_eq!(m.url, u);
            assert_eq!(m.at, 1_000);
            assert_eq!(m.cause, t.cause);
            assert_eq!(m.downtime_ms, t.downtime_ms);
            assert_eq!(m.incident_id, t.incident_id.as_ref().map(|i| i.0.clone()));
            assert_eq!(m.idempotency_key, t.idempotency_key());
        }
    }

    #[test]
    fn idempotency_key_differs_per_event() {
        let spec = spec("https://shop.example.com");
        let keys: Vec<String> = [
            transition(TransitionKind::Down, None, None),
            transition(TransitionKind::Reminder, None, None),
            transition(TransitionKind::Recovered, None, None),
        ]
        .iter()
        .map(|t| AlertMessage::for_transition(&spec, t).idempotency_key)
        .collect();
        assert_eq!(
            keys,
            [
                "shop@900:down",
                "shop@900:reminder:1000",
                "shop@900:recovered"
            ]
        );
    }

    #[test]
    fn credentials_in_the_url_never_reach_an_alert() {
        let t = transition(TransitionKind::Down, Some("status 503"), None);
        for raw in [
            "https://admin:s3cret@shop.example.com/health",
            "https://admin@shop.example.com/health",
            "https://:s3cret@shop.example.com/health",
        ] {
            let m = AlertMessage::for_transition(&spec(raw), &t);
            assert_eq!(m.url, "https://shop.example.com/health", "{raw}");
            let json = serde_json::to_string(&m).unwrap();
            assert!(
                !json.contains("s3cret") && !json.contains("admin"),
                "{json}"
            );
        }
    }

    #[test]
    fn json_round_trip() {
        let m = AlertMessage::for_transition(
            &spec("https://shop.example.com"),
            &transition(TransitionKind::Recovered, None, Some(61_000)),
        );
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["event"], "recovered");
        assert_eq!(json["downtime_ms"], 61_000);
        assert_eq!(json["incident_id"], "shop@900");
        assert_eq!(serde_json::from_value::<AlertMessage>(json).unwrap(), m);
    }

    proptest! {
        #[test]
        fn human_duration_never_panics(ms in any::<i64>()) {
            let s = human_duration(ms);
            prop_assert!(s.ends_with('s') || s.ends_with('m') || s.ends_with('h'));
        }
    }
}
