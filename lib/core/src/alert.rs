//! Alert messages: what a human reads when a monitor changes state.

use serde::{Deserialize, Serialize};

use crate::UnixMs;
use crate::ecs::{Health, ServiceKey};
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

/// An ECS service's health changed between two collections (the first sighting of a
/// service is not a transition). It travels from the collection round to the notifier:
/// in process, or as the detail of an EventBridge event on AWS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcsTransition {
    pub key: ServiceKey,
    /// The account's IAM alias, or its id when it has none.
    pub alias: String,
    pub from: Health,
    pub to: Health,
    /// The collection that saw the change.
    pub at: UnixMs,
    /// Why the service is `to` ("1 of 3 tasks running").
    pub reason: String,
    /// The incident this change opens, continues or closes.
    pub incident_id: String,
    /// When that incident began: a recovery reports `at - incident_started_at`.
    pub incident_started_at: UnixMs,
}

impl EcsTransition {
    /// `ecs_degraded`, `ecs_failed` or `ecs_recovered`: the alert's `event`.
    pub fn event(&self) -> &'static str {
        match self.to {
            Health::Healthy => "ecs_recovered",
            Health::Degraded => "ecs_degraded",
            Health::Failed => "ecs_failed",
        }
    }

    /// Unique per alertable change, stable across re-runs of the same change: the
    /// incident id with the kind; a change inside an incident (degraded ↔ failed, which
    /// can happen more than once) adds its time.
    pub fn idempotency_key(&self) -> String {
        match (self.from, self.to) {
            (Health::Healthy, to) => format!("{}:{}", self.incident_id, to.as_str()),
            (_, Health::Healthy) => format!("{}:recovered", self.incident_id),
            (_, to) => format!("{}:{}:{}", self.incident_id, to.as_str(), self.at),
        }
    }

    /// `alias/region/cluster/service`, as alerts name the service.
    pub fn service_path(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.alias, self.key.region, self.key.cluster, self.key.service
        )
    }
}

/// The incident id of an ECS service that left healthy at `started_at`: the same for
/// every collection that sees the same start, so alerts deduplicate on it.
pub fn ecs_incident_id(key: &ServiceKey, started_at: UnixMs) -> String {
    format!(
        "ecs:{}/{}/{}/{}@{started_at}",
        key.account_id, key.region, key.cluster, key.service
    )
}

/// The service's page in the AWS console.
fn ecs_console_url(key: &ServiceKey) -> String {
    format!(
        "https://{region}.console.aws.amazon.com/ecs/v2/clusters/{cluster}/services/{service}/health?region={region}",
        region = key.region,
        cluster = key.cluster,
        service = key.service
    )
}

impl AlertMessage {
    /// The alert for an ECS health change. `monitor_id` is `ecs:` and the service key
    /// (`account/region/cluster/service`), `url` the service in the AWS console.
    pub fn for_ecs(t: &EcsTransition) -> Self {
        let path = t.service_path();
        let k = &t.key;
        let place = format!(
            "ECS service {} in cluster {} ({}, {})",
            k.service, k.cluster, t.alias, k.region
        );
        let lasted = t.at - t.incident_started_at;
        let (title, text, cause, downtime_ms) = match t.to {
            Health::Healthy => (
                format!(
                    "🟢 ECS {path} is healthy again after {}",
                    human_duration(lasted)
                ),
                format!(
                    "{place} is healthy again after being {} for {}: {}",
                    t.from.as_str(),
                    human_duration(lasted),
                    t.reason
                ),
                None,
                Some(lasted),
            ),
            to => {
                let icon = if to == Health::Failed { "🔴" } else { "🟠" };
                let was = match t.from {
                    Health::Healthy => String::new(),
                    from => format!(" (was {} for {})", from.as_str(), human_duration(lasted)),
                };
                (
                    format!(
                        "{icon} ECS {path} is {}: {}",
                        to.as_str().to_uppercase(),
                        t.reason
                    ),
                    format!("{place} is {}{was}: {}", to.as_str(), t.reason),
                    Some(t.reason.clone()),
                    None,
                )
            }
        };
        Self {
            event: t.event().to_owned(),
            monitor_id: format!(
                "ecs:{}/{}/{}/{}",
                k.account_id, k.region, k.cluster, k.service
            ),
            monitor_name: path,
            url: ecs_console_url(k),
            incident_id: Some(t.incident_id.clone()),
            at: t.at,
            title,
            text,
            cause,
            downtime_ms,
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

    fn ecs(from: Health, to: Health, reason: &str) -> EcsTransition {
        let key = ServiceKey {
            account_id: "123456789012".into(),
            region: "eu-west-1".into(),
            cluster: "web".into(),
            service: "api".into(),
        };
        EcsTransition {
            incident_id: ecs_incident_id(&key, 1_000),
            key,
            alias: "prod".into(),
            from,
            to,
            at: 721_000,
            reason: reason.into(),
            incident_started_at: 1_000,
        }
    }

    #[test]
    fn ecs_messages_per_transition() {
        use Health::{Degraded, Failed, Healthy};
        // (from, to, event, title, text, cause, downtime)
        let cases = [
            (
                Healthy,
                Degraded,
                "ecs_degraded",
                "🟠 ECS prod/eu-west-1/web/api is DEGRADED: 1 of 3 tasks running",
                "ECS service api in cluster web (prod, eu-west-1) is degraded: 1 of 3 tasks running",
                Some("1 of 3 tasks running"),
                None,
            ),
            (
                Healthy,
                Failed,
                "ecs_failed",
                "🔴 ECS prod/eu-west-1/web/api is FAILED: 1 of 3 tasks running",
                "ECS service api in cluster web (prod, eu-west-1) is failed: 1 of 3 tasks running",
                Some("1 of 3 tasks running"),
                None,
            ),
            (
                Degraded,
                Failed,
                "ecs_failed",
                "🔴 ECS prod/eu-west-1/web/api is FAILED: 1 of 3 tasks running",
                "ECS service api in cluster web (prod, eu-west-1) is failed (was degraded for 12m 0s): 1 of 3 tasks running",
                Some("1 of 3 tasks running"),
                None,
            ),
            (
                Failed,
                Healthy,
                "ecs_recovered",
                "🟢 ECS prod/eu-west-1/web/api is healthy again after 12m 0s",
                "ECS service api in cluster web (prod, eu-west-1) is healthy again after being failed for 12m 0s: 1 of 3 tasks running",
                None,
                Some(720_000),
            ),
        ];
        for (from, to, event, title, text, cause, downtime) in cases {
            let t = ecs(from, to, "1 of 3 tasks running");
            let m = AlertMessage::for_ecs(&t);
            assert_eq!(m.event, event);
            assert_eq!(m.title, title, "{event}");
            assert_eq!(m.text, text, "{event}");
            assert_eq!(m.cause.as_deref(), cause, "{event}");
            assert_eq!(m.downtime_ms, downtime, "{event}");
            assert_eq!(m.monitor_id, "ecs:123456789012/eu-west-1/web/api");
            assert_eq!(m.monitor_name, "prod/eu-west-1/web/api");
            assert_eq!(
                m.url,
                "https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/web/services/api/health?region=eu-west-1"
            );
            assert_eq!(
                m.incident_id.as_deref(),
                Some("ecs:123456789012/eu-west-1/web/api@1000")
            );
            assert_eq!(m.at, 721_000);
        }
    }

    #[test]
    fn ecs_idempotency_keys_are_per_incident_and_kind() {
        use Health::{Degraded, Failed, Healthy};
        let keys: Vec<String> = [
            ecs(Healthy, Degraded, "r"),
            ecs(Degraded, Failed, "r"),
            ecs(Failed, Healthy, "r"),
        ]
        .iter()
        .map(|t| AlertMessage::for_ecs(t).idempotency_key)
        .collect();
        let incident = "ecs:123456789012/eu-west-1/web/api@1000";
        assert_eq!(
            keys,
            [
                format!("{incident}:degraded"),
                format!("{incident}:failed:721000"),
                format!("{incident}:recovered"),
            ]
        );
        // The same change seen again (a second run) has the same key.
        assert_eq!(
            ecs(Healthy, Degraded, "other words").idempotency_key(),
            keys[0]
        );
    }

    #[test]
    fn ecs_transition_json_round_trip() {
        let t = ecs(Health::Healthy, Health::Failed, "0 of 2 tasks running");
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(json["from"], "healthy");
        assert_eq!(json["to"], "failed");
        assert_eq!(json["key"]["cluster"], "web");
        assert_eq!(serde_json::from_value::<EcsTransition>(json).unwrap(), t);
    }

    proptest! {
        #[test]
        fn human_duration_never_panics(ms in any::<i64>()) {
            let s = human_duration(ms);
            prop_assert!(s.ends_with('s') || s.ends_with('m') || s.ends_with('h'));
        }
    }
}
