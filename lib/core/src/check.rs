//! What a probe measured (`ProbeOutcome`) and what we concluded (`CheckResult`).

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::UnixMs;
use crate::condition::EvalContext;
use crate::monitor::{MonitorId, MonitorSpec};

/// Phases of one request on a fresh connection, in milliseconds. A phase that did not
/// happen (no DNS for an IP literal, no TLS for http) is `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
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
pub struct ConditionResult {
    pub condition: String,
    pub success: bool,
    /// The value(s) the condition saw, e.g. `503` for `[STATUS] == 200`.
    pub actual: String,
}

/// One judged check: what is stored in the ping log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

    let certificate_expiration = outcome
        .cert_expires_at
        .map(|exp| {
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

    let conditions: Vec<ConditionResult> =
        spec.conditions.iter().map(|c| c.evaluate(&ctx)).collect();

    let (success, failure_reason) = if let Some(e) = &error {
        // `[CONNECTED] == false` style monitors succeed on connection failures — only if
        // they ask about [CONNECTED] (a lone `[RESPONSE_TIME] < 500` must not turn an
        // outage into "up"), and never when the SSRF guard refused to even try.
        let expects_failure = e.kind != ProbeErrorKind::Blocked
            && spec
                .conditions
                .iter()
                .any(|c| c.as_str().to_ascii_uppercase().contains("[CONNECTED]"))
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
