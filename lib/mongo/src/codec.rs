//! BSON shapes of a stored check result and of a rollup, and their decoding.
//!
//! Field names are camelCase like the rest of the MongoDB world; times that are points
//! in time (`checkedAt`, `bucketStart`) are BSON dates so TTL and `$dateTrunc` work on
//! them, while `certExpiresAt` stays a plain integer (it may be any `i64`).

use std::collections::BTreeSet;

use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{Binary, Bson, DateTime, Document, doc};
use sentinel_core::check::{ConditionResult, ProbeError, ProbeErrorKind, Timings};
use sentinel_core::stats::{Granularity, LatencyHistogram, Rollup};
use sentinel_core::{CheckResult, MonitorId, UnixMs};
use sentinel_store::StoreError;

pub(crate) const MONITOR: &str = "monitorId";
pub(crate) const CHECKED_AT: &str = "checkedAt";
pub(crate) const SUCCESS: &str = "success";
pub(crate) const TOTAL_MS: &str = "totalMs";
pub(crate) const GRANULARITY: &str = "granularity";
pub(crate) const BUCKET_START: &str = "bucketStart";
pub(crate) const CHECKS: &str = "checks";
pub(crate) const UP: &str = "up";
/// Hourly rollups: optimistic-concurrency version, bumped on every write.
pub(crate) const VERSION: &str = "v";
/// Hourly rollups: the checks already folded in, as millisecond offsets in the hour.
pub(crate) const SEEN: &str = "seen";
/// Daily rollups: the sum of the versions of the hourly rollups they were merged from.
pub(crate) const SOURCE: &str = "src";

/// A document that does not have the shape we wrote.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {problem}")]
pub(crate) struct DecodeError {
    what: &'static str,
    problem: String,
}

impl DecodeError {
    fn new(what: &'static str, problem: impl Into<String>) -> Self {
        Self {
            what,
            problem: problem.into(),
        }
    }
}

impl From<DecodeError> for StoreError {
    fn from(e: DecodeError) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

pub(crate) fn date(ms: UnixMs) -> DateTime {
    DateTime::from_millis(ms)
}

/// First and last millisecond of years 1..=9999, the dates every server can decode
/// (SecantusDB, being Python, rejects others even in a query).
const QUERY_MIN_MS: UnixMs = -62_135_596_800_000;
const QUERY_MAX_MS: UnixMs = 253_402_300_799_999;

/// A range bound in a query: open-ended callers pass `0` or `i64::MAX`, which mean
/// "no bound"; clamping keeps them decodable without changing which stored (real)
/// times match.
pub(crate) fn bound(ms: UnixMs) -> DateTime {
    DateTime::from_millis(ms.clamp(QUERY_MIN_MS, QUERY_MAX_MS))
}

/// `_id` of a rollup: one document per (monitor, granularity, bucket).
pub(crate) fn rollup_id(monitor: &MonitorId, granularity: Granularity, start: UnixMs) -> String {
    format!("{}|{}|{}", monitor.as_str(), granularity.as_str(), start)
}

// ---- check results ---------------------------------------------------------------

pub(crate) fn encode_check(r: &CheckResult) -> Document {
    let t = &r.timings;
    let mut d = doc! {
        CHECKED_AT: date(r.checked_at),
        MONITOR: r.monitor_id.as_str(),
        SUCCESS: r.success,
        TOTAL_MS: t.total_ms,
    };
    if let Some(code) = r.status_code {
        d.insert("statusCode", i32::from(code));
    }
    for (key, value) in [
        ("dnsMs", t.dns_ms),
        ("connectMs", t.connect_ms),
        ("tlsMs", t.tls_ms),
        ("firstByteMs", t.first_byte_ms),
    ] {
        if let Some(v) = value {
            d.insert(key, v);
        }
    }
    if let Some(ip) = &r.ip {
        d.insert("ip", ip.as_str());
    }
    if let Some(at) = r.cert_expires_at {
        d.insert("certExpiresAt", at);
    }
    if let Some(e) = &r.error {
        d.insert(
            "error",
            doc! { "kind": e.kind.as_str(), "message": e.message.as_str() },
        );
    }
    if let Some(reason) = &r.failure_reason {
        d.insert("failureReason", reason.as_str());
    }
    if !r.conditions.is_empty() {
        let conditions: Vec<Bson> = r
            .conditions
            .iter()
            .map(|c| {
                Bson::Document(doc! {
                    "condition": c.condition.as_str(),
                    "success": c.success,
                    "actual": c.actual.as_str(),
                })
            })
            .collect();
        d.insert("conditions", conditions);
    }
    d
}

pub(crate) fn decode_check(d: &Document) -> Result<CheckResult, DecodeError> {
    const W: &str = "check result";
    let monitor_id = monitor_of(d, W)?;
    let status_code = match d.get("statusCode") {
        None | Some(Bson::Null) => None,
        Some(v) => {
            let n = int(v).ok_or_else(|| DecodeError::new(W, "statusCode is not an integer"))?;
            Some(u16::try_from(n).map_err(|_| DecodeError::new(W, "statusCode out of range"))?)
        }
    };
    let error = match d.get("error") {
        None | Some(Bson::Null) => None,
        Some(Bson::Document(e)) => {
            let kind = str_field(e, "kind", W)?;
            let kind: ProbeErrorKind =
                serde_json::from_value(serde_json::Value::String(kind.to_owned()))
                    .map_err(|_| DecodeError::new(W, format!("unknown error kind {kind:?}")))?;
            Some(ProbeError {
                kind,
                message: str_field(e, "message", W)?.to_owned(),
            })
        }
        Some(_) => return Err(DecodeError::new(W, "error is not a document")),
    };
    let conditions = match d.get("conditions") {
        None | Some(Bson::Null) => Vec::new(),
        Some(Bson::Array(items)) => items
            .iter()
            .map(|item| match item {
                Bson::Document(c) => Ok(ConditionResult {
                    condition: str_field(c, "condition", W)?.to_owned(),
                    success: bool_field(c, "success", W)?,
                    actual: str_field(c, "actual", W)?.to_owned(),
                }),
                _ => Err(DecodeError::new(W, "a condition is not a document")),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(DecodeError::new(W, "conditions is not an array")),
    };
    Ok(CheckResult {
        monitor_id,
        checked_at: date_field(d, CHECKED_AT, W)?,
        success: bool_field(d, SUCCESS, W)?,
        status_code,
        timings: Timings {
            dns_ms: opt_f64(d, "dnsMs", W)?,
            connect_ms: opt_f64(d, "connectMs", W)?,
            tls_ms: opt_f64(d, "tlsMs", W)?,
            first_byte_ms: opt_f64(d, "firstByteMs", W)?,
            total_ms: opt_f64(d, TOTAL_MS, W)?.unwrap_or(f64::NAN),
        },
        ip: opt_str(d, "ip", W)?,
        cert_expires_at: match d.get("certExpiresAt") {
            None | Some(Bson::Null) => None,
            Some(v) => {
                Some(int(v).ok_or_else(|| DecodeError::new(W, "certExpiresAt is not an integer"))?)
            }
        },
        error,
        failure_reason: opt_str(d, "failureReason", W)?,
        conditions,
    })
}

/// What a rollup needs of a stored check: its key, success and latency.
pub(crate) fn decode_ping(d: &Document) -> Result<CheckResult, DecodeError> {
    const W: &str = "check result";
    Ok(ping(
        monitor_of(d, W)?,
        date_field(d, CHECKED_AT, W)?,
        bool_field(d, SUCCESS, W)?,
        opt_f64(d, TOTAL_MS, W)?.unwrap_or(f64::NAN),
    ))
}

/// A check result carrying only what [`Rollup::record`] reads.
pub(crate) fn ping(
    monitor_id: MonitorId,
    checked_at: UnixMs,
    success: bool,
    total_ms: f64,
) -> CheckResult {
    CheckResult {
        monitor_id,
        checked_at,
        success,
        status_code: None,
        timings: Timings {
            total_ms,
            ..Timings::default()
        },
        ip: None,
        cert_expires_at: None,
        error: None,
        failure_reason: None,
        conditions: Vec::new(),
    }
}

// ---- rollups ---------------------------------------------------------------------

/// The fields every rollup document has (no `_id`, no bookkeeping).
pub(crate) fn encode_rollup(r: &Rollup) -> Document {
    let mut histogram = Document::new();
    for (index, n) in r.histogram.buckets() {
        histogram.insert(index.to_string(), saturate(n));
    }
    doc! {
        MONITOR: r.monitor_id.as_str(),
        GRANULARITY: r.granularity.as_str(),
        BUCKET_START: date(r.bucket_start),
        CHECKS: saturate(r.checks),
        UP: saturate(r.up),
        "latencySumMs": r.latency_sum_ms,
        "latencyMinMs": r.latency_min_ms.map_or(Bson::Null, Bson::Double),
        "latencyMaxMs": r.latency_max_ms.map_or(Bson::Null, Bson::Double),
        "histogram": histogram,
    }
}

pub(crate) fn decode_rollup(d: &Document) -> Result<Rollup, DecodeError> {
    const W: &str = "rollup";
    let granularity = match str_field(d, GRANULARITY, W)? {
        "hour" => Granularity::Hour,
        "day" => Granularity::Day,
        other => {
            return Err(DecodeError::new(
                W,
                format!("unknown granularity {other:?}"),
            ));
        }
    };
    let histogram = match d.get("histogram") {
        None | Some(Bson::Null) => LatencyHistogram::default(),
        Some(Bson::Document(h)) => {
            // LatencyHistogram is built through its serde shape, `{"counts":{"<i>":n}}`.
            let mut counts = serde_json::Map::new();
            for (index, n) in h {
                let n = int(n)
                    .and_then(|n| u64::try_from(n).ok())
                    .ok_or_else(|| DecodeError::new(W, "histogram count is not a count"))?;
                counts.insert(index.clone(), serde_json::Value::from(n));
            }
            serde_json::from_value(serde_json::json!({ "counts": counts }))
                .map_err(|e| DecodeError::new(W, format!("histogram: {e}")))?
        }
        Some(_) => return Err(DecodeError::new(W, "histogram is not a document")),
    };
    Ok(Rollup {
        monitor_id: monitor_of(d, W)?,
        granularity,
        bucket_start: date_field(d, BUCKET_START, W)?,
        checks: count_field(d, CHECKS, W)?,
        up: count_field(d, UP, W)?,
        latency_sum_ms: opt_f64(d, "latencySumMs", W)?.unwrap_or(0.0),
        latency_min_ms: opt_f64(d, "latencyMinMs", W)?,
        latency_max_ms: opt_f64(d, "latencyMaxMs", W)?,
        histogram,
    })
}

/// The version of a bookkeeping field (`v`, `src`); absent is 0.
pub(crate) fn version_of(d: &Document, key: &str) -> Result<i64, DecodeError> {
    match d.get(key) {
        None | Some(Bson::Null) => Ok(0),
        Some(v) => {
            int(v).ok_or_else(|| DecodeError::new("rollup", format!("{key} is not an integer")))
        }
    }
}

/// The set of folded-in checks of an hourly rollup: sorted little-endian `u32` offsets.
pub(crate) fn encode_seen(seen: &BTreeSet<u32>) -> Binary {
    let mut bytes = Vec::with_capacity(seen.len() * 4);
    for offset in seen {
        bytes.extend_from_slice(&offset.to_le_bytes());
    }
    Binary {
        subtype: BinarySubtype::Generic,
        bytes,
    }
}

pub(crate) fn decode_seen(d: &Document) -> Result<BTreeSet<u32>, DecodeError> {
    match d.get(SEEN) {
        None | Some(Bson::Null) => Ok(BTreeSet::new()),
        Some(Bson::Binary(b)) if b.bytes.len() % 4 == 0 => Ok(b
            .bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()),
        Some(_) => Err(DecodeError::new(
            "rollup",
            "seen is not a packed offset list",
        )),
    }
}

// ---- field helpers ---------------------------------------------------------------

fn saturate(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// An integer however the server chose to encode it (`$sum` may widen or narrow).
pub(crate) fn int(v: &Bson) -> Option<i64> {
    match v {
        Bson::Int32(n) => Some(i64::from(*n)),
        Bson::Int64(n) => Some(*n),
        Bson::Double(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
        _ => None,
    }
}

pub(crate) fn count_field(d: &Document, key: &str, what: &'static str) -> Result<u64, DecodeError> {
    d.get(key)
        .and_then(int)
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| DecodeError::new(what, format!("{key} is not a count")))
}

pub(crate) fn monitor_of(d: &Document, what: &'static str) -> Result<MonitorId, DecodeError> {
    let raw = str_field(d, MONITOR, what)?;
    MonitorId::parse(raw).map_err(|e| DecodeError::new(what, format!("monitor id {raw:?}: {e}")))
}

pub(crate) fn str_field<'a>(
    d: &'a Document,
    key: &str,
    what: &'static str,
) -> Result<&'a str, DecodeError> {
    d.get_str(key)
        .map_err(|_| DecodeError::new(what, format!("{key} is not a string")))
}

fn bool_field(d: &Document, key: &str, what: &'static str) -> Result<bool, DecodeError> {
    d.get_bool(key)
        .map_err(|_| DecodeError::new(what, format!("{key} is not a boolean")))
}

fn date_field(d: &Document, key: &str, what: &'static str) -> Result<UnixMs, DecodeError> {
    match d.get(key) {
        Some(Bson::DateTime(t)) => Ok(t.timestamp_millis()),
        _ => Err(DecodeError::new(what, format!("{key} is not a date"))),
    }
}

fn opt_f64(d: &Document, key: &str, what: &'static str) -> Result<Option<f64>, DecodeError> {
    match d.get(key) {
        None | Some(Bson::Null) => Ok(None),
        Some(Bson::Double(f)) => Ok(Some(*f)),
        Some(Bson::Int32(n)) => Ok(Some(f64::from(*n))),
        Some(Bson::Int64(n)) => Ok(Some(*n as f64)),
        Some(_) => Err(DecodeError::new(what, format!("{key} is not a number"))),
    }
}

fn opt_str(d: &Document, key: &str, what: &'static str) -> Result<Option<String>, DecodeError> {
    match d.get(key) {
        None | Some(Bson::Null) => Ok(None),
        Some(Bson::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(DecodeError::new(what, format!("{key} is not a string"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sentinel_store::contract::fixtures::{T0, check, full_check};

    #[test]
    fn check_results_round_trip_through_bson() {
        let mut minimal = check("api", T0, true, 0.0);
        minimal.status_code = None;
        for r in [full_check("api", T0), minimal] {
            let d = encode_check(&r);
            assert_eq!(decode_check(&d).expect("decodes"), r);
        }
    }

    #[test]
    fn rollups_round_trip_through_bson() {
        let mut r = Rollup::empty(MonitorId::parse("api").expect("id"), Granularity::Hour, T0);
        r.record(&check("api", T0, true, 12.25));
        r.record(&check("api", T0 + 1, false, 99.0));
        r.record(&check("api", T0 + 2, true, 0.0));
        assert_eq!(decode_rollup(&encode_rollup(&r)).expect("decodes"), r);
        let empty = Rollup::empty(MonitorId::parse("api").expect("id"), Granularity::Day, T0);
        assert_eq!(
            decode_rollup(&encode_rollup(&empty)).expect("decodes"),
            empty
        );
    }

    #[test]
    fn seen_offsets_round_trip() {
        let seen: BTreeSet<u32> = [0, 1, 59_999, 3_599_999].into();
        let d = doc! { SEEN: encode_seen(&seen) };
        assert_eq!(decode_seen(&d).expect("decodes"), seen);
        assert!(decode_seen(&doc! { SEEN: "nope" }).is_err());
    }

    #[test]
    fn a_foreign_document_is_corrupt_not_a_panic() {
        let err = decode_check(&doc! { MONITOR: "api", CHECKED_AT: 5 }).expect_err("not a date");
        assert!(matches!(StoreError::from(err), StoreError::Corrupt(_)));
        assert!(decode_rollup(&doc! { MONITOR: "API!", GRANULARITY: "hour" }).is_err());
    }
}
