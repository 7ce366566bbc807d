//! Test data for the contract suite, usable by adapters' own tests too.

use std::collections::BTreeMap;

use sentinel_core::check::{ConditionResult, ProbeError, ProbeErrorKind, Timings};
use sentinel_core::monitor::{DurationInput, MonitorInput};
use sentinel_core::stats::{Granularity, Rollup};
use sentinel_core::{
    CheckResult, Incident, IncidentId, LiveState, MonitorId, MonitorSpec, Status, UnixMs,
};

use sentinel_core::account::{Email, KeyScope, Role, UserId};

use crate::{
    ApiKey, ChannelRecord, Delivery, DeliveryStatus, MonitorOrigin, MonitorRecord, RefreshToken,
    User,
};

/// 2026-01-01T00:00:00Z: the start of a UTC day, so hour and day buckets are easy to read.
pub const T0: UnixMs = 1_767_225_600_000;
pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 3_600_000;
pub const DAY: i64 = 86_400_000;

pub fn monitor_id(raw: &str) -> MonitorId {
    MonitorId::parse(raw).expect("fixture monitor id is valid")
}

/// A monitor with every optional field set, so a lossy adapter shows.
pub fn monitor_spec(id: &str, name: &str) -> MonitorSpec {
    MonitorInput {
        id: Some(id.to_owned()),
        name: Some(name.to_owned()),
        url: Some(format!("https://{id}.example.com/health?full=1")),
        method: Some("POST".to_owned()),
        headers: BTreeMap::from([
            ("Authorization".to_owned(), "Bearer x".to_owned()),
            ("X-Trace".to_owned(), "é✓".to_owned()),
        ]),
        body: Some("{\"ping\":true}".to_owned()),
        interval: Some(DurationInput::Text("90s".to_owned())),
        timeout: Some(DurationInput::Seconds(7)),
        conditions: vec![
            "[STATUS] == 200".to_owned(),
            "[RESPONSE_TIME] < 500".to_owned(),
            "[BODY].status == UP".to_owned(),
        ],
        failure_threshold: Some(3),
        success_threshold: Some(2),
        follow_redirects: Some(false),
        tags: vec!["prod".to_owned(), "eu".to_owned()],
        public: Some(true),
        paused: Some(false),
        alerts: vec!["slack".to_owned()],
    }
    .validate()
    .expect("fixture monitor spec is valid")
}

/// A check with only the required fields. Latencies in the suite are multiples of 1/4
/// so sums are exact whatever order an adapter adds them in.
pub fn check(monitor: &str, checked_at: UnixMs, success: bool, total_ms: f64) -> CheckResult {
    CheckResult {
        monitor_id: monitor_id(monitor),
        checked_at,
        success,
        status_code: Some(if success { 200 } else { 503 }),
        timings: Timings {
            total_ms,
            ..Timings::default()
        },
        ip: None,
        cert_expires_at: None,
        error: None,
        failure_reason: (!success).then(|| "status 503 is not 2xx/3xx".to_owned()),
        conditions: Vec::new(),
    }
}

/// A check with every optional field set.
pub fn full_check(monitor: &str, checked_at: UnixMs) -> CheckResult {
    CheckResult {
        monitor_id: monitor_id(monitor),
        checked_at,
        success: false,
        status_code: Some(418),
        timings: Timings {
            dns_ms: Some(1.125),
            connect_ms: Some(0.1 + 0.2),
            tls_ms: Some(12.345_678_9),
            first_byte_ms: Some(f64::MIN_POSITIVE),
            total_ms: 123.456_789_012_345,
        },
        ip: Some("2001:db8::1".to_owned()),
        cert_expires_at: Some(checked_at + 30 * DAY),
        error: Some(ProbeError {
            kind: ProbeErrorKind::Timeout,
            message: "no answer within 7s from 2001:db8::1 — «timeout»".to_owned(),
        }),
        failure_reason: Some("timeout: no answer within 7s".to_owned()),
        conditions: vec![
            ConditionResult {
                condition: "[STATUS] == 200".to_owned(),
                success: false,
                actual: "418".to_owned(),
            },
            ConditionResult {
                condition: "[BODY].status == UP".to_owned(),
                success: true,
                actual: "\"UP\"\n".to_owned(),
            },
        ],
    }
}

/// A live state with every optional field set.
pub fn live_state(monitor: &str, version: u64) -> LiveState {
    LiveState {
        monitor_id: monitor_id(monitor),
        status: Status::Down,
        since: T0,
        consecutive_failures: 3,
        consecutive_successes: 0,
        failing_streak: vec![T0, T0 + MINUTE, T0 + 2 * MINUTE],
        last_check_at: Some(T0 + 2 * MINUTE),
        last_success: Some(false),
        last_response_ms: Some(1_234.567_890_123),
        last_failure_reason: Some(format!("version {version}")),
        open_incident: Some(IncidentId::new(&monitor_id(monitor), T0)),
        last_reminder_at: Some(T0 + 2 * MINUTE),
        version,
    }
}

pub fn incident(monitor: &str, started_at: UnixMs) -> Incident {
    let id = monitor_id(monitor);
    Incident {
        id: IncidentId::new(&id, started_at),
        monitor_id: id,
        started_at,
        ended_at: None,
        cause: "connect: connection refused by 127.0.0.1:8081".to_owned(),
        proof: vec![started_at, started_at + MINUTE],
    }
}

pub fn delivery(key: &str, monitor: &str, created_at: UnixMs) -> Delivery {
    Delivery {
        key: key.to_owned(),
        channel: "slack".to_owned(),
        monitor_id: monitor_id(monitor),
        event: "down".to_owned(),
        status: DeliveryStatus::Pending,
        attempts: 0,
        last_error: None,
        created_at,
        updated_at: created_at,
    }
}

/// The rollups `results` should produce, computed with `Rollup::record` in order, one per
/// (monitor, bucket), ordered by monitor then bucket start.
pub fn expected_rollups(results: &[CheckResult], granularity: Granularity) -> Vec<Rollup> {
    let mut buckets: BTreeMap<(MonitorId, UnixMs), Rollup> = BTreeMap::new();
    for result in results {
        let start = granularity.bucket_start(result.checked_at);
        buckets
            .entry((result.monitor_id.clone(), start))
            .or_insert_with(|| Rollup::empty(result.monitor_id.clone(), granularity, start))
            .record(result);
    }
    let rollups: Vec<Rollup> = buckets.into_values().collect();
    let counted: u64 = rollups.iter().map(|r| r.checks).sum();
    assert_eq!(
        counted,
        results.len() as u64,
        "sentinel_core::stats::Rollup::record must count every check for the rollup \
         behaviours to mean anything"
    );
    rollups
}

pub fn user_id(raw: &str) -> UserId {
    UserId(raw.to_owned())
}

pub fn email(raw: &str) -> Email {
    Email::parse(raw).expect("fixture email is valid")
}

/// A user with every field set; `id` also names its email (`<id>@example.com`).
pub fn user(id: &str, created_at: UnixMs) -> User {
    User {
        id: user_id(id),
        email: email(&format!("{id}@example.com")),
        role: Role::User,
        password_hash: format!("$pbkdf2-sha256$i=600000,l=32$c2FsdA${id}"),
        disabled: false,
        created_at,
        updated_at: created_at + 1,
    }
}

/// A refresh token of `user` in `family`, live for a day from `created_at`.
pub fn refresh_token(hash: &str, user: &str, family: &str, created_at: UnixMs) -> RefreshToken {
    RefreshToken {
        token_hash: hash.to_owned(),
        user_id: user_id(user),
        family_id: family.to_owned(),
        created_at,
        expires_at: created_at + DAY,
    }
}

/// An API key with every optional field set but `last_used_at`.
pub fn api_key(id: &str, user: &str, created_at: UnixMs) -> ApiKey {
    ApiKey {
        id: id.to_owned(),
        user_id: user_id(user),
        name: format!("key {id} — CI"),
        prefix: format!("snt_{id}"),
        key_hash: format!("{:0>64}", format!("{id}f00d")),
        scope: KeyScope::Write,
        created_at,
        expires_at: Some(created_at + 90 * DAY),
        last_used_at: None,
    }
}

/// A channel whose secret holds every byte value, so a lossy BLOB shows.
pub fn channel(id: &str, owner: &str, name: &str) -> ChannelRecord {
    ChannelRecord {
        id: id.to_owned(),
        owner: user_id(owner),
        name: name.to_owned(),
        kind: "webhook".to_owned(),
        config: serde_json::json!({
            "host": "hooks.example.com",
            "events": ["down", "up"],
            "nested": {"n": 1.5, "none": null, "text": "é✓"},
        }),
        secret: (0..=255u8).chain([0, 0, 255]).collect(),
        key_id: "k1".to_owned(),
        created_at: T0,
        updated_at: T0 + 1,
    }
}

/// A monitor made through the API by `owner`.
pub fn monitor_record(id: &str, owner: &str, created_at: UnixMs) -> MonitorRecord {
    MonitorRecord {
        spec: monitor_spec(id, &format!("Monitor {id}")),
        owner: Some(user_id(owner)),
        origin: MonitorOrigin::Api,
        created_at,
        updated_at: created_at + MINUTE,
    }
}
