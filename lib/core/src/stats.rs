//! Uptime and latency statistics from mergeable rollups. (Being implemented.)

use serde::{Deserialize, Serialize};

use crate::UnixMs;
use crate::check::CheckResult;
use crate::monitor::MonitorId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    Hour,
    Day,
}

impl Granularity {
    pub fn bucket_ms(self) -> i64 {
        match self {
            Self::Hour => 3_600_000,
            Self::Day => 86_400_000,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
        }
    }
    /// Start of the (UTC) bucket that contains `ts`.
    pub fn bucket_start(self, ts: UnixMs) -> UnixMs {
        ts - ts.rem_euclid(self.bucket_ms())
    }
}

/// Mergeable latency histogram with log-spaced buckets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyHistogram {
    counts: std::collections::BTreeMap<u16, u64>,
}

impl LatencyHistogram {
    pub fn record(&mut self, _ms: f64) {}
    pub fn merge(&mut self, _other: &Self) {}
    pub fn count(&self) -> u64 {
        0
    }
    pub fn quantile(&self, _q: f64) -> Option<f64> {
        None
    }
}

/// Aggregate of the checks of one monitor in one hour or day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollup {
    pub monitor_id: MonitorId,
    pub granularity: Granularity,
    pub bucket_start: UnixMs,
    pub checks: u64,
    pub up: u64,
    /// Latency of successful checks only.
    pub latency_sum_ms: f64,
    pub latency_min_ms: Option<f64>,
    pub latency_max_ms: Option<f64>,
    pub histogram: LatencyHistogram,
}

impl Rollup {
    pub fn empty(monitor_id: MonitorId, granularity: Granularity, bucket_start: UnixMs) -> Self {
        Self {
            monitor_id,
            granularity,
            bucket_start,
            checks: 0,
            up: 0,
            latency_sum_ms: 0.0,
            latency_min_ms: None,
            latency_max_ms: None,
            histogram: LatencyHistogram::default(),
        }
    }
    pub fn record(&mut self, _check: &CheckResult) {}
    pub fn merge(&mut self, _other: &Self) {}
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Period {
    #[serde(rename = "24h")]
    Day,
    #[serde(rename = "7d")]
    Week,
    #[serde(rename = "30d")]
    Month,
    #[serde(rename = "90d")]
    Quarter,
}

impl Period {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "24h" | "1d" => Some(Self::Day),
            "7d" => Some(Self::Week),
            "30d" => Some(Self::Month),
            "90d" => Some(Self::Quarter),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "24h",
            Self::Week => "7d",
            Self::Month => "30d",
            Self::Quarter => "90d",
        }
    }
    pub fn duration_ms(self) -> i64 {
        match self {
            Self::Day => 86_400_000,
            Self::Week => 7 * 86_400_000,
            Self::Month => 30 * 86_400_000,
            Self::Quarter => 90 * 86_400_000,
        }
    }
}

/// Which rollups cover `[from, to)`: whole UTC days from daily rollups, the ragged
/// edges from hourly ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowPlan {
    /// Hourly rollups with `bucket_start` in `[hours_before.0, hours_before.1)`.
    pub hours_before: (UnixMs, UnixMs),
    /// Daily rollups with `bucket_start` in `[days.0, days.1)`.
    pub days: (UnixMs, UnixMs),
    /// Hourly rollups with `bucket_start` in `[hours_after.0, hours_after.1)`.
    pub hours_after: (UnixMs, UnixMs),
}

pub fn plan_window(from: UnixMs, to: UnixMs) -> WindowPlan {
    WindowPlan {
        hours_before: (from, to),
        days: (from, from),
        hours_after: (to, to),
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct WindowStats {
    pub checks: u64,
    pub up: u64,
    /// `None` when there were no checks.
    pub uptime_pct: Option<f64>,
    pub avg_ms: Option<f64>,
    pub min_ms: Option<f64>,
    pub max_ms: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

pub fn window_stats(_rollups: &[Rollup]) -> WindowStats {
    WindowStats::default()
}
