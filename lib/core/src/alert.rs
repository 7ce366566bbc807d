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

    #[test]
    fn human_duration_picks_two_units() {
        assert_eq!(human_duration(0), "0s");
        assert_eq!(human_duration(59_400), "59s");
        assert_eq!(human_duration(200_000), "3m 20s");
        assert_eq!(human_duration(7_500_000), "2h 5m");
        assert_eq!(human_duration(100_000_000), "1d 3h");
    }
}
