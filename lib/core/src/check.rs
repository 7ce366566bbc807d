//! What a probe measured (`ProbeOutcome`) and what we concluded (`CheckResult`).

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::UnixMs;
use crate::condition::{EvalContext, evaluate_all};
use crate::monitor::{MonitorId, MonitorSpec};

/// Phases of one request on a fresh connection, in milliseconds. A phase that did not
/// happen (no DNS for an IP literal, no TLS for http) is `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Timings {
    pub dns_ms: Option<f64>,
    pub connect_ms: Option<f64>,
    pub tls_ms: Option<f64>,
    /// From request sent to the first byte of the response head.
    pub first_byte_ms: Option<f64>,
    /// From the start of the check to the end of the (capped) body, or to the failure.
    pub total_ms: f64,
}

/// Why a probe failed, in the classes users act on differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProbeErrorKind {
    /// Name did not resolve.
    Dns,
    /// TCP connection refused.
    Refused,
    /// Other connect failure (unreachable, reset).
    Connect,
    /// No answer within the monitor's timeout.
    Timeout,
    /// Handshake failed or certificate invalid.
    Tls,
    /// Malformed HTTP, bad redirect, connection closed mid-response.
    Http,
    /// The body exceeded the read cap while a condition needed it.
    TooLarge,
    /// Refused by the SSRF guard (metadata, private or loopback address).
    Blocked,
}

impl ProbeErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dns => "dns",
            Self::Refused => "refused",
            Self::Connect => "connect",
            Self::Timeout => "timeout",
            Self::Tls => "tls",
            Self::Http => "http",
            Self::TooLarge => "too_large",
            Self::Blocked => "blocked",
        }
    }
}

impl fmt::Display for ProbeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProbeError {
    pub kind: ProbeErrorKind,
    /// Human explanation, e.g. "connection refused by 127.0.0.1:8081".
    pub message: String,
}

/// Raw measurement of one request. The body is capped and never stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProbeOutcome {
    pub started_at: UnixMs,
    pub status_code: Option<u16>,
    pub timings: Timings,
    /// Address actually connected to (after DNS and the SSRF guard).
    pub ip: Option<IpAddr>,
    pub connected: bool,
    /// `notAfter` of the leaf certificate, https only.
    pub cert_expires_at: Option<UnixMs>,
    pub body: Vec<u8>,
    /// The body was longer than the cap; `body` holds the first part.
    pub body_truncated: bool,
    pub error: Option<ProbeError>,
}

/// The outcome of one condition in one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConditionResult {
    pub condition: String,
    pub success: bool,
    /// The value(s) the condition saw, e.g. `503` for `[STATUS] == 200`.
    pub actual: String,
}

/// One judged check: what is stored in the ping log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckResult {
    pub monitor_id: MonitorId,
    pub checked_at: UnixMs,
    pub success: bool,
    pub status_code: Option<u16>,
    pub timings: Timings,
    pub ip: Option<String>,
    pub cert_expires_at: Option<UnixMs>,
    pub error: Option<ProbeError>,
    /// One line a human reads: the probe error or the first failed condition.
    pub failure_reason: Option<String>,
    pub conditions: Vec<ConditionResult>,
}

impl CheckResult {
    pub fn response_time_ms(&self) -> f64 {
        self.timings.total_ms
    }
}

/// Judges a probe outcome against the monitor's conditions. With no conditions, a
/// response is up on any 2xx/3xx status.
pub fn judge(spec: &MonitorSpec, outcome: &ProbeOutcome) -> CheckResult {
    let mut error = outcome.error.clone();
    if error.is_none() && outcome.body_truncated && spec.reads_body() {
        error = Some(ProbeError {
            kind: ProbeErrorKind::TooLarge,
            message: format!(
                "response body exceeds the {}-byte read limit that body conditions need",
                outcome.body.len()
            ),
        });
    }

    let certificate_expiration = outcome.cert_expires_at.map(|exp| {
        Duration::from_millis(u64::try_from(exp.saturating_sub(outcome.started_at)).unwrap_or(0))
    });
    let ip = outcome.ip.map(|ip| ip.to_string());
    let ctx = EvalContext {
        status: outcome.status_code,
        response_time_ms: outcome.timings.total_ms.round().max(0.0) as u64,
        body: if error.is_some() { &[] } else { &outcome.body },
        connected: outcome.connected,
        ip: ip.as_deref(),
        certificate_expiration,
    };

    let conditions = evaluate_all(&spec.conditions, &ctx);

    let (success, failure_reason) = if let Some(e) = &error {
        // `[CONNECTED] == false` style monitors succeed on connection failures — only if
        // they ask about [CONNECTED] (a lone `[RESPONSE_TIME] < 500` must not turn an
        // outage into "up"), and never when the SSRF guard refused to even try.
        let expects_failure = e.kind != ProbeErrorKind::Blocked
            && spec
                .conditions
                .iter()
                .any(|c| c.as_str().contains("[CONNECTED]"))
            && conditions.iter().all(|c| c.success);
        if expects_failure && !outcome.connected {
            (true, None)
        } else {
            (false, Some(format!("{}: {}", e.kind, e.message)))
        }
    } else if conditions.is_empty() {
        match outcome.status_code {
            Some(200..=399) => (true, None),
            Some(code) => (false, Some(format!("status {code} is not 2xx/3xx"))),
            None => (false, Some("no response status".to_owned())),
        }
    } else {
        match conditions.iter().find(|c| !c.success) {
            None => (true, None),
            Some(failed) => (
                false,
                Some(format!(
                    "condition {} failed (actual: {})",
                    failed.condition, failed.actual
                )),
            ),
        }
    };

    CheckResult {
        monitor_id: spec.id.clone(),
        checked_at: outcome.started_at,
        success,
        status_code: outcome.status_code,
        timings: outcome.timings,
        ip,
        cert_expires_at: outcome.cert_expires_at,
        error,
        failure_reason,
        conditions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::MonitorInput;
    use proptest::prelude::*;

    const T0: UnixMs = 1_700_000_000_000;

    fn spec(conditions: &[&str]) -> MonitorSpec {
        MonitorInput {
            id: Some("api".into()),
            name: Some("API".into()),
            url: Some("https://example.com".into()),
            conditions: conditions.iter().map(|c| (*c).to_owned()).collect(),
            ..MonitorInput::default()
        }
        .validate()
        .unwrap()
    }

    fn response(status: u16) -> ProbeOutcome {
        ProbeOutcome {
            started_at: T0,
            status_code: Some(status),
            timings: Timings {
                dns_ms: Some(1.0),
                connect_ms: Some(2.0),
                tls_ms: Some(3.0),
                first_byte_ms: Some(4.0),
                total_ms: 12.4,
            },
            ip: Some("93.184.216.34".parse().unwrap()),
            connected: true,
            cert_expires_at: Some(T0 + 30 * 86_400_000),
            body: b"{\"ok\":true}".to_vec(),
            body_truncated: false,
            error: None,
        }
    }

    fn failed(kind: ProbeErrorKind, connected: bool) -> ProbeOutcome {
        ProbeOutcome {
            started_at: T0,
            status_code: None,
            timings: Timings {
                total_ms: 3.0,
                ..Timings::default()
            },
            ip: None,
            connected,
            cert_expires_at: None,
            body: Vec::new(),
            body_truncated: false,
            error: Some(ProbeError {
                kind,
                message: "it broke".into(),
            }),
        }
    }

    const ALL_KINDS: [ProbeErrorKind; 8] = [
        ProbeErrorKind::Dns,
        ProbeErrorKind::Refused,
        ProbeErrorKind::Connect,
        ProbeErrorKind::Timeout,
        ProbeErrorKind::Tls,
        ProbeErrorKind::Http,
        ProbeErrorKind::TooLarge,
        ProbeErrorKind::Blocked,
    ];

    #[test]
    fn without_conditions_2xx_and_3xx_are_up() {
        let spec = spec(&[]);
        let cases: &[(u16, bool)] = &[
            (100, false),
            (101, false),
            (199, false),
            (200, true),
            (201, true),
            (204, true),
            (299, true),
            (301, true),
            (304, true),
            (399, true),
            (400, false),
            (401, false),
            (404, false),
            (429, false),
            (500, false),
            (503, false),
            (599, false),
        ];
        for (code, up) in cases {
            let r = judge(&spec, &response(*code));
            assert_eq!(r.success, *up, "{code}");
            assert!(r.conditions.is_empty());
            assert_eq!(r.error, None);
            if *up {
                assert_eq!(r.failure_reason, None);
            } else {
                assert_eq!(
                    r.failure_reason,
                    Some(format!("status {code} is not 2xx/3xx"))
                );
            }
        }
    }

    #[test]
    fn without_conditions_no_status_is_down() {
        let mut outcome = response(200);
        outcome.status_code = None;
        let r = judge(&spec(&[]), &outcome);
        assert!(!r.success);
        assert_eq!(r.failure_reason.as_deref(), Some("no response status"));
    }

    #[test]
    fn measurements_are_carried_over() {
        let outcome = response(200);
        let r = judge(&spec(&[]), &outcome);
        assert_eq!(r.monitor_id.as_str(), "api");
        assert_eq!(r.checked_at, T0);
        assert_eq!(r.status_code, Some(200));
        assert_eq!(r.timings, outcome.timings);
        assert_eq!(r.response_time_ms(), 12.4);
        assert_eq!(r.ip.as_deref(), Some("93.184.216.34"));
        assert_eq!(r.cert_expires_at, outcome.cert_expires_at);

        let mut v6 = response(200);
        v6.ip = Some("2001:db8::1".parse().unwrap());
        assert_eq!(judge(&spec(&[]), &v6).ip.as_deref(), Some("2001:db8::1"));
    }

    #[test]
    fn probe_errors_are_down_with_the_error_as_reason() {
        for kind in ALL_KINDS {
            for connected in [false, true] {
                for conditions in [&[][..], &["[STATUS] == 200"][..]] {
                    let r = judge(&spec(conditions), &failed(kind, connected));
                    assert!(!r.success, "{kind} connected={connected} {conditions:?}");
                    assert_eq!(
                        r.failure_reason,
                        Some(format!("{}: it broke", kind.as_str()))
                    );
                    assert_eq!(r.error.as_ref().map(|e| e.kind), Some(kind));
                    assert_eq!(r.conditions.len(), conditions.len());
                }
            }
        }
    }

    #[test]
    fn a_probe_error_wins_over_a_good_status() {
        // E.g. the connection closed mid-body after a 200 head.
        let mut outcome = response(200);
        outcome.error = Some(ProbeError {
            kind: ProbeErrorKind::Http,
            message: "connection closed".into(),
        });
        let r = judge(&spec(&[]), &outcome);
        assert!(!r.success);
        assert_eq!(r.failure_reason.as_deref(), Some("http: connection closed"));
    }

    #[test]
    fn expecting_no_connection_succeeds_when_the_connection_failed() {
        let spec = spec(&["[CONNECTED] == false"]);
        for kind in [
            ProbeErrorKind::Dns,
            ProbeErrorKind::Refused,
            ProbeErrorKind::Connect,
            ProbeErrorKind::Timeout,
        ] {
            let r = judge(&spec, &failed(kind, false));
            assert!(r.success, "{kind}");
            assert_eq!(r.failure_reason, None);
            // The error is still recorded for the ping log.
            assert_eq!(r.error.map(|e| e.kind), Some(kind));
            assert_eq!(r.conditions.len(), 1);
            assert!(r.conditions[0].success);
        }
    }

    #[test]
    fn expecting_no_connection_fails_when_connected() {
        let spec = spec(&["[CONNECTED] == false"]);
        // Connected, then something went wrong: it was reachable.
        let r = judge(&spec, &failed(ProbeErrorKind::Timeout, true));
        assert!(!r.success);
        assert_eq!(r.failure_reason.as_deref(), Some("timeout: it broke"));
    }

    #[test]
    fn expecting_no_connection_fails_when_the_ssrf_guard_refused() {
        // We never tried, so "it is unreachable" is not proven.
        let r = judge(
            &spec(&["[CONNECTED] == false"]),
            &failed(ProbeErrorKind::Blocked, false),
        );
        assert!(!r.success);
        assert_eq!(r.failure_reason.as_deref(), Some("blocked: it broke"));
    }

    #[test]
    fn conditions_not_about_connected_never_turn_an_outage_into_up() {
        for conditions in [
            &["[RESPONSE_TIME] < 500"][..],
            &["[STATUS] == 200"][..],
            &["[STATUS] == 200", "[RESPONSE_TIME] < 500"][..],
        ] {
            let r = judge(&spec(conditions), &failed(ProbeErrorKind::Refused, false));
            assert!(!r.success, "{conditions:?}");
            assert_eq!(r.failure_reason.as_deref(), Some("refused: it broke"));
        }
    }

    #[test]
    fn truncated_body_fails_body_conditions() {
        let mut outcome = response(200);
        outcome.body = vec![b'x'; 4096];
        outcome.body_truncated = true;
        let r = judge(&spec(&["[BODY].ok == true"]), &outcome);
        assert!(!r.success);
        let e = r.error.clone().unwrap();
        assert_eq!(e.kind, ProbeErrorKind::TooLarge);
        assert!(e.message.contains("4096-byte"), "{}", e.message);
        assert_eq!(r.failure_reason, Some(format!("too_large: {}", e.message)));
        assert_eq!(r.status_code, Some(200));
    }

    #[test]
    fn truncated_body_is_fine_without_body_conditions() {
        let mut outcome = response(200);
        outcome.body_truncated = true;
        for conditions in [&[][..], &["[STATUS] == 200"][..]] {
            let r = judge(&spec(conditions), &outcome);
            assert!(r.success, "{conditions:?}");
            assert_eq!(r.error, None);
        }
    }

    #[test]
    fn truncated_body_keeps_an_existing_probe_error() {
        let mut outcome = failed(ProbeErrorKind::Timeout, true);
        outcome.body_truncated = true;
        let r = judge(&spec(&["[BODY] == x"]), &outcome);
        assert_eq!(r.error.unwrap().kind, ProbeErrorKind::Timeout);
    }

    #[test]
    fn conditions_that_hold_make_the_check_up() {
        let r = judge(
            &spec(&["[STATUS] == 200", "[RESPONSE_TIME] < 1000"]),
            &response(200),
        );
        assert!(r.success);
        assert_eq!(r.failure_reason, None);
        assert_eq!(r.conditions.len(), 2);
        assert_eq!(r.conditions[0].condition, "[STATUS] == 200");
        assert!(r.conditions.iter().all(|c| c.success));
    }

    #[test]
    fn conditions_replace_the_default_status_rule() {
        // A 503 is fine when the conditions say so.
        let r = judge(&spec(&["[STATUS] == 503"]), &response(503));
        assert!(r.success);
        assert_eq!(r.failure_reason, None);
    }

    #[test]
    fn first_failed_condition_is_the_reason() {
        let r = judge(
            &spec(&[
                "[RESPONSE_TIME] < 1000",
                "[STATUS] == 200",
                "[STATUS] < 300",
            ]),
            &response(503),
        );
        assert!(!r.success);
        assert_eq!(r.conditions.len(), 3);
        assert!(r.conditions[0].success);
        assert!(!r.conditions[1].success);
        assert_eq!(r.conditions[1].actual, "503");
        assert_eq!(
            r.failure_reason.as_deref(),
            Some("condition [STATUS] == 200 failed (actual: 503)")
        );
    }

    #[test]
    fn certificate_times_do_not_overflow() {
        for (started_at, expires) in [
            (i64::MIN, i64::MAX),
            (i64::MAX, i64::MIN),
            (0, i64::MAX),
            (T0, T0 - 1),
        ] {
            let mut outcome = response(200);
            outcome.started_at = started_at;
            outcome.cert_expires_at = Some(expires);
            let r = judge(&spec(&["[CERTIFICATE_EXPIRATION] > 48h"]), &outcome);
            assert_eq!(r.cert_expires_at, Some(expires));
        }
    }

    #[test]
    fn odd_timings_do_not_panic() {
        for total in [f64::NAN, f64::INFINITY, -5.0, 1e300] {
            let mut outcome = response(200);
            outcome.timings.total_ms = total;
            let r = judge(&spec(&["[RESPONSE_TIME] < 500"]), &outcome);
            assert_eq!(r.response_time_ms().to_bits(), total.to_bits());
        }
    }

    #[test]
    fn error_kind_names_and_serde() {
        let names = [
            "dns",
            "refused",
            "connect",
            "timeout",
            "tls",
            "http",
            "too_large",
            "blocked",
        ];
        for (kind, name) in ALL_KINDS.into_iter().zip(names) {
            assert_eq!(kind.as_str(), name);
            assert_eq!(kind.to_string(), name);
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{name}\""));
            assert_eq!(
                serde_json::from_str::<ProbeErrorKind>(&format!("\"{name}\"")).unwrap(),
                kind
            );
        }
    }

    #[test]
    fn check_result_json_round_trip() {
        for outcome in [
            response(200),
            response(500),
            failed(ProbeErrorKind::Tls, true),
        ] {
            let r = judge(&spec(&["[STATUS] == 200"]), &outcome);
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(serde_json::from_str::<CheckResult>(&json).unwrap(), r);
        }
    }

    fn arb_kind() -> impl Strategy<Value = ProbeErrorKind> {
        prop::sample::select(ALL_KINDS.to_vec())
    }

    proptest! {
        #[test]
        fn judge_never_panics_and_is_consistent(
            status in prop::option::of(any::<u16>()),
            total in any::<f64>(),
            started_at in any::<i64>(),
            cert in prop::option::of(any::<i64>()),
            connected in any::<bool>(),
            body in prop::collection::vec(any::<u8>(), 0..64),
            truncated in any::<bool>(),
            error in prop::option::of(arb_kind()),
            conditions in prop::sample::subsequence(
                vec!["[STATUS] == 200", "[BODY] == x", "[CONNECTED] == false", "[RESPONSE_TIME] < 500"],
                0..=2,
            ),
        ) {
            let outcome = ProbeOutcome {
                started_at,
                status_code: status,
                timings: Timings { total_ms: total, ..Timings::default() },
                ip: None,
                connected,
                cert_expires_at: cert,
                body,
                body_truncated: truncated,
                error: error.map(|kind| ProbeError { kind, message: "m".into() }),
            };
            let spec = spec(&conditions);
            let r = judge(&spec, &outcome);
            prop_assert_eq!(r.checked_at, started_at);
            prop_assert_eq!(r.conditions.len(), conditions.len());
            prop_assert_eq!(r.success, r.failure_reason.is_none());
            if r.error.is_some() && r.success {
                prop_assert!(!connected);
                prop_assert!(conditions.contains(&"[CONNECTED] == false"));
            }
            if conditions.is_empty() && r.success {
                prop_assert!(r.error.is_none());
                prop_assert!(matches!(status, Some(200..=399)));
            }
        }
    }
}
