//! What a Lambda (or `sentinel serve` on the cloud adapters) reads from its environment.

use std::time::Duration;

/// Minutes between ECS collections unless `ECS_COLLECT_MINUTES` says otherwise.
pub const DEFAULT_ECS_COLLECT_MINUTES: u64 = 5;

/// A setting that is missing or unreadable.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {message}")]
pub struct ConfigError {
    pub name: &'static str,
    pub message: String,
}

/// Where everything lives. Names follow `template.yaml`.
#[derive(Debug, Clone)]
pub struct CloudConfig {
    /// `POSTGRES_URL`: accounts, monitors, channels.
    pub postgres_url: String,
    /// `MONGODB_URI`: ping logs and rollups.
    pub mongodb_uri: String,
    /// `MONGODB_DATABASE` (default `sentinel`).
    pub mongodb_database: String,
    /// `TABLE_NAME`: the DynamoDB table (live state, incidents, ledger, rate limits).
    pub table_name: String,
    /// `CHECKS_QUEUE_URL`: where the scheduler sends check jobs.
    pub checks_queue_url: Option<String>,
    /// `EVENT_BUS_NAME`: where the prober publishes transitions.
    pub event_bus_name: Option<String>,
    /// `REPORTS_BUCKET`: CSV exports.
    pub reports_bucket: Option<String>,
    /// `MAIL_FROM`: the verified SES sender of alerts and password resets.
    pub mail_from: Option<String>,
    /// `PING_RETENTION_DAYS` (default 90): raw pings expire after this; rollups stay.
    pub ping_retention: Duration,
    /// `PROBE_CONCURRENCY` (default 64): checks in flight in one prober invocation.
    pub probe_concurrency: usize,
    /// `STATE_HEARTBEAT_SECONDS` (default 3600): steady state is stored this often.
    /// Every write is a DynamoDB write unit; status changes are always written at once.
    pub state_heartbeat: Duration,
    /// `CHECK_SLOT_SECONDS` (default 15, 1 to 60): the longest slot checks are grouped
    /// into (see `sentinel_pipeline::schedule::slot_seconds`); 1 runs every monitor at
    /// its own second, at the price of one prober invocation per second.
    pub check_slot_seconds: u64,
    /// `ALERT_REMINDER_MINUTES` (off by default): re-alert while down this often.
    pub reminder_every: Option<Duration>,
    /// `ALLOW_PRIVATE_TARGETS` (default `false`): whether checks and webhooks may reach
    /// loopback and private addresses. Off on AWS (SSRF); on for local runs.
    pub allow_private: bool,
    /// `ECS_COLLECT_MINUTES` (default 5, 1 to 1440): how often ECS accounts are
    /// collected (the `EcsCollectorFunction` schedule is set from the same parameter).
    pub ecs_collect_every: Duration,
}

impl CloudConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let required = |name: &'static str| {
            get(name).ok_or_else(|| ConfigError {
                name,
                message: "is required".into(),
            })
        };
        let number = |name: &'static str, default: u64, max: u64| -> Result<u64, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(raw) => raw
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .ok_or_else(|| ConfigError {
                        name,
                        message: format!("must be a whole number from 1 to {max}, not {raw:?}"),
                    }),
            }
        };
        let postgres_url = required("POSTGRES_URL")?;
        if !(postgres_url.starts_with("postgres://") || postgres_url.starts_with("postgresql://")) {
            return Err(ConfigError {
                name: "POSTGRES_URL",
                message: "must be a postgres:// URL".into(),
            });
        }
        let mongodb_uri = required("MONGODB_URI")?;
        if !(mongodb_uri.starts_with("mongodb://") || mongodb_uri.starts_with("mongodb+srv://")) {
            return Err(ConfigError {
                name: "MONGODB_URI",
                message: "must be a mongodb:// or mongodb+srv:// URI".into(),
            });
        }
        Ok(Self {
            postgres_url,
            mongodb_uri,
            mongodb_database: get("MONGODB_DATABASE").unwrap_or_else(|| "sentinel".into()),
            table_name: required("TABLE_NAME")?,
            checks_queue_url: get("CHECKS_QUEUE_URL"),
            event_bus_name: get("EVENT_BUS_NAME"),
            reports_bucket: get("REPORTS_BUCKET"),
            mail_from: get("MAIL_FROM"),
            ping_retention: Duration::from_secs(number("PING_RETENTION_DAYS", 90, 3650)? * 86_400),
            probe_concurrency: number("PROBE_CONCURRENCY", 64, 1024)? as usize,
            state_heartbeat: Duration::from_secs(number(
                "STATE_HEARTBEAT_SECONDS",
                sentinel_pipeline::cloud::DEFAULT_HEARTBEAT.as_secs(),
                86_400,
            )?),
            check_slot_seconds: number(
                "CHECK_SLOT_SECONDS",
                sentinel_pipeline::cloud::DEFAULT_SLOT_SECONDS,
                60,
            )?,
            allow_private: match get("ALLOW_PRIVATE_TARGETS").as_deref() {
                None | Some("false") => false,
                Some("true") => true,
                Some(other) => {
                    return Err(ConfigError {
                        name: "ALLOW_PRIVATE_TARGETS",
                        message: format!("must be true or false, not {other:?}"),
                    });
                }
            },
            ecs_collect_every: Duration::from_secs(
                number("ECS_COLLECT_MINUTES", DEFAULT_ECS_COLLECT_MINUTES, 1440)? * 60,
            ),
            reminder_every: match get("ALERT_REMINDER_MINUTES") {
                None => None,
                Some(_) => Some(Duration::from_secs(
                    number("ALERT_REMINDER_MINUTES", 60, 10_080)? * 60,
                )),
            },
        })
    }

    /// A setting a particular function cannot run without.
    pub fn need<'a>(
        &'a self,
        name: &'static str,
        value: &'a Option<String>,
    ) -> Result<&'a str, ConfigError> {
        value.as_deref().ok_or_else(|| ConfigError {
            name,
            message: "is required by this function".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const BASE: [(&str, &str); 3] = [
        ("POSTGRES_URL", "postgres://u:p@db.example.com/sentinel"),
        ("MONGODB_URI", "mongodb+srv://cluster.example.com"),
        ("TABLE_NAME", "sentinel"),
    ];

    #[test]
    fn defaults_fill_what_is_not_set() {
        let c = CloudConfig::from_lookup(lookup(&BASE)).unwrap();
        assert_eq!(c.mongodb_database, "sentinel");
        assert_eq!(c.ping_retention, Duration::from_secs(90 * 86_400));
        assert_eq!(c.state_heartbeat, Duration::from_secs(3600));
        assert_eq!(c.check_slot_seconds, 15);
        assert_eq!(c.reminder_every, None);
        assert_eq!(c.ecs_collect_every, Duration::from_secs(5 * 60));
        assert!(
            !c.allow_private,
            "private targets are refused unless asked for"
        );
        assert!(c.checks_queue_url.is_none());
        assert!(c.need("CHECKS_QUEUE_URL", &c.checks_queue_url).is_err());
    }

    #[test]
    fn bad_settings_name_the_variable() {
        for (name, value) in [
            ("POSTGRES_URL", "mysql://x"),
            ("MONGODB_URI", "http://x"),
            ("PING_RETENTION_DAYS", "0"),
            ("PROBE_CONCURRENCY", "many"),
            ("STATE_HEARTBEAT_SECONDS", "-5"),
            ("CHECK_SLOT_SECONDS", "61"),
            ("ALERT_REMINDER_MINUTES", "0"),
            ("ALLOW_PRIVATE_TARGETS", "yes"),
            ("ECS_COLLECT_MINUTES", "0"),
            ("ECS_COLLECT_MINUTES", "1441"),
        ] {
            let mut pairs = BASE.to_vec();
            pairs.retain(|(k, _)| *k != name);
            pairs.push((name, value));
            let err = CloudConfig::from_lookup(lookup(&pairs)).unwrap_err();
            assert_eq!(err.name, name, "{err}");
        }
        let err = CloudConfig::from_lookup(lookup(&BASE[1..])).unwrap_err();
        assert_eq!(err.name, "POSTGRES_URL");
        assert_eq!(err.to_string(), "POSTGRES_URL: is required");
    }
}
