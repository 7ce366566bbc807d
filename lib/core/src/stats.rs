//! Uptime and latency statistics from mergeable rollups.
//!
//! Checks are folded into hourly and daily [`Rollup`]s; a window of any length is answered
//! by merging a few of them ([`plan_window`] says which) and summarising the result
//! ([`window_stats`]). Everything here is associative and commutative, so rollups can be
//! built in any order, on any machine, and merged later.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::UnixMs;
use crate::check::CheckResult;
use crate::monitor::MonitorId;

const HOUR_MS: i64 = 3_600_000;
/// One UTC day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    Hour,
    Day,
}

impl Granularity {
    pub fn bucket_ms(self) -> i64 {
        match self {
            Self::Hour => HOUR_MS,
            Self::Day => DAY_MS,
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
///
/// Bucket `0` holds every value up to [`Self::MIN_MS`]; bucket `i > 0` holds the values in
/// `(MIN_MS·γ^(i-1), MIN_MS·γ^i]` with `γ = (1+α)/(1-α)`, and reports them as one value
/// within a relative error of `α` ([`Self::RELATIVE_ERROR`], 2 %). Values above
/// [`Self::MAX_MS`] (10 minutes) land in the last bucket, so there are at most
/// [`Self::bucket_count`] (392) buckets; only non-empty ones are stored.
///
/// Serialises as `{"counts":{"<bucket>":<count>,…}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyHistogram {
    counts: BTreeMap<u16, u64>,
}

impl LatencyHistogram {
    /// Relative error of [`Self::quantile`] for values in `[MIN_MS, MAX_MS]`.
    pub const RELATIVE_ERROR: f64 = 0.02;
    /// Smallest value told apart from zero; everything at or below it shares bucket 0.
    pub const MIN_MS: f64 = 0.1;
    /// Largest value told apart; everything above shares the last bucket.
    pub const MAX_MS: f64 = 600_000.0;

    const GAMMA: f64 = (1.0 + Self::RELATIVE_ERROR) / (1.0 - Self::RELATIVE_ERROR);

    /// Number of distinct buckets (the largest index is one less).
    pub fn bucket_count() -> usize {
        usize::from(Self::max_index()) + 1
    }

    fn max_index() -> u16 {
        // ceil(ln(6e6) / ln γ) = 391; computed rather than hard-coded so it follows α.
        let raw = ((Self::MAX_MS / Self::MIN_MS).ln() / Self::GAMMA.ln()).ceil();
        raw as u16
    }

    /// Bucket that holds `ms` (which must be a number ≥ 0).
    fn index_of(ms: f64) -> u16 {
        if ms <= Self::MIN_MS {
            return 0;
        }
        let raw = ((ms / Self::MIN_MS).ln() / Self::GAMMA.ln()).ceil();
        // `as` saturates; the clamp keeps values above MAX_MS in the last bucket.
        (raw.max(1.0) as u16).min(Self::max_index())
    }

    /// The value reported for bucket `index`: the point whose relative distance to both
    /// ends of the bucket is `α`.
    pub fn representative(index: u16) -> f64 {
        if index == 0 {
            return Self::MIN_MS;
        }
        Self::MIN_MS * Self::GAMMA.powi(i32::from(index)) * 2.0 / (Self::GAMMA + 1.0)
    }

    /// Records one latency. NaN is ignored, negative values count as 0, and +∞ is ignored
    /// (a latency that is not a number says nothing about the distribution).
    pub fn record(&mut self, ms: f64) {
        self.record_n(ms, 1);
    }

    /// Records the same latency `n` times.
    pub fn record_n(&mut self, ms: f64, n: u64) {
        let Some(ms) = sanitize_ms(ms) else {
            return;
        };
        if n == 0 {
            return;
        }
        let slot = self.counts.entry(Self::index_of(ms)).or_insert(0);
        *slot = slot.saturating_add(n);
    }

    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, other: &Self) {
        for (&index, &n) in &other.counts {
            if n == 0 {
                continue;
            }
            let slot = self.counts.entry(index).or_insert(0);
            *slot = slot.saturating_add(n);
        }
    }

    /// Number of recorded values.
    pub fn count(&self) -> u64 {
        self.counts
            .values()
            .fold(0u64, |acc, &n| acc.saturating_add(n))
    }

    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }

    /// The value at quantile `q` (`0.0` = smallest, `0.5` = median, `1.0` = largest), as
    /// its bucket's representative: within [`Self::RELATIVE_ERROR`] of the true order
    /// statistic of rank `ceil(q·n)`. `q` outside `0..=1` is clamped; `None` when empty or
    /// `q` is NaN.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if q.is_nan() {
            return None;
        }
        let total = self.count();
        if total == 0 {
            return None;
        }
        let q = q.clamp(0.0, 1.0);
        // Rank of the wanted value, 1-based: ceil(q·n), at least 1.
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0u64;
        for (&index, &n) in &self.counts {
            seen = seen.saturating_add(n);
            if seen >= rank {
                return Some(Self::representative(index));
            }
        }
        // Unreachable when counts sum to `total`; fall back to the largest bucket.
        self.counts
            .keys()
            .next_back()
            .map(|&i| Self::representative(i))
    }

    /// Non-empty buckets as `(index, count)`, lowest first.
    pub fn buckets(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        self.counts
            .iter()
            .filter(|&(_, &n)| n > 0)
            .map(|(&i, &n)| (i, n))
    }
}

/// NaN and +∞ say nothing; negative latencies (clock steps) count as 0.
fn sanitize_ms(ms: f64) -> Option<f64> {
    if ms.is_nan() || ms == f64::INFINITY {
        None
    } else {
        Some(ms.max(0.0))
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

    /// Folds one check in. Every check counts towards `checks`, successful ones towards
    /// `up`; only successful checks contribute latency (a timeout's "latency" is the
    /// timeout). The caller picks the rollup: this does not look at `checked_at`.
    pub fn record(&mut self, check: &CheckResult) {
        self.checks = self.checks.saturating_add(1);
        if !check.success {
            return;
        }
        self.up = self.up.saturating_add(1);
        self.record_latency(check.timings.total_ms);
    }

    fn record_latency(&mut self, ms: f64) {
        let Some(ms) = sanitize_ms(ms) else {
            return;
        };
        self.latency_sum_ms += ms;
        self.latency_min_ms = Some(self.latency_min_ms.map_or(ms, |m| m.min(ms)));
        self.latency_max_ms = Some(self.latency_max_ms.map_or(ms, |m| m.max(ms)));
        self.histogram.record(ms);
    }

    /// Adds `other`'s counts and latencies to these. Identity (`monitor_id`,
    /// `granularity`, `bucket_start`) stays `self`'s.
    pub fn merge(&mut self, other: &Self) {
        self.checks = self.checks.saturating_add(other.checks);
        self.up = self.up.saturating_add(other.up);
        self.latency_sum_ms += other.latency_sum_ms;
        self.latency_min_ms = min_opt(self.latency_min_ms, other.latency_min_ms);
        self.latency_max_ms = max_opt(self.latency_max_ms, other.latency_max_ms);
        self.histogram.merge(&other.histogram);
    }
}

fn min_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

fn max_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
            Self::Day => DAY_MS,
            Self::Week => 7 * DAY_MS,
            Self::Month => 30 * DAY_MS,
            Self::Quarter => 90 * DAY_MS,
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

impl WindowPlan {
    /// The time actually covered, `[start, end)`, on hour boundaries.
    pub fn span(&self) -> (UnixMs, UnixMs) {
        (self.hours_before.0, self.hours_after.1)
    }

    /// Whether the plan covers no time at all.
    pub fn is_empty(&self) -> bool {
        self.hours_before.0 >= self.hours_after.1
    }

    /// Whether a rollup of `granularity` starting at `bucket_start` belongs to the window.
    /// Handy to filter rollups that were fetched by a wider range.
    pub fn includes(&self, granularity: Granularity, bucket_start: UnixMs) -> bool {
        let within = |(a, b): (UnixMs, UnixMs)| a <= bucket_start && bucket_start < b;
        match granularity {
            Granularity::Hour => within(self.hours_before) || within(self.hours_after),
            Granularity::Day => within(self.days),
        }
    }

    /// Keeps the rollups that [`Self::includes`], in input order.
    pub fn select<'a>(&self, rollups: &'a [Rollup]) -> Vec<&'a Rollup> {
        rollups
            .iter()
            .filter(|r| self.includes(r.granularity, r.bucket_start))
            .collect()
    }
}

/// Floors `ts` to a multiple of `step` (UTC, works for negative `ts`).
fn floor_to(ts: UnixMs, step: i64) -> UnixMs {
    ts.saturating_sub(ts.rem_euclid(step))
}

/// Ceils `ts` to a multiple of `step`, saturating near `i64::MAX`.
fn ceil_to(ts: UnixMs, step: i64) -> UnixMs {
    let rem = ts.rem_euclid(step);
    if rem == 0 {
        ts
    } else {
        ts.saturating_sub(rem).saturating_add(step)
    }
}

/// Plans which rollups answer the window `[from, to)`.
///
/// Rollups have hour resolution, so the window is widened to hour boundaries: `from` is
/// rounded **down** and `to` rounded **up**, which includes the current, partial hour
/// (`to = now`) and the whole first hour. Every UTC day lying entirely inside the widened
/// window comes from one daily rollup; the hours before the first such day and after
/// the last come from hourly rollups. When the window holds no whole UTC day, it is all
/// hours. The three ranges are contiguous and together cover exactly the widened window.
/// An empty or inverted window (`to <= from`) gives an empty plan.
pub fn plan_window(from: UnixMs, to: UnixMs) -> WindowPlan {
    let start = floor_to(from, HOUR_MS);
    let end = ceil_to(to, HOUR_MS);
    if to <= from {
        return WindowPlan {
            hours_before: (start, start),
            days: (start, start),
            hours_after: (start, start),
        };
    }
    let first_day = ceil_to(start, DAY_MS);
    let last_day_end = floor_to(end, DAY_MS);
    if first_day >= last_day_end {
        return WindowPlan {
            hours_before: (start, end),
            days: (end, end),
            hours_after: (end, end),
        };
    }
    WindowPlan {
        hours_before: (start, first_day),
        days: (first_day, last_day_end),
        hours_after: (last_day_end, end),
    }
}

/// How many checks ran in a window and how many of them were up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckCounts {
    pub checks: u64,
    pub up: u64,
}

impl CheckCounts {
    /// `None` when there were no checks.
    pub fn uptime_pct(self) -> Option<f64> {
        (self.checks > 0).then(|| self.up as f64 / self.checks as f64 * 100.0)
    }

    pub fn plus(self, other: CheckCounts) -> CheckCounts {
        CheckCounts {
            checks: self.checks.saturating_add(other.checks),
            up: self.up.saturating_add(other.up),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// Summarises rollups (already selected, e.g. by a [`WindowPlan`]) as one window.
///
/// Latency figures come from successful checks only, and are `None` when there were
/// none. The average is over the latencies the histograms counted; percentiles are the
/// histogram's estimates, clamped into the exact `[min, max]`.
pub fn window_stats(rollups: &[Rollup]) -> WindowStats {
    let mut checks = 0u64;
    let mut up = 0u64;
    let mut sum = 0.0f64;
    let mut min = None;
    let mut max = None;
    let mut histogram = LatencyHistogram::default();
    for r in rollups {
        checks = checks.saturating_add(r.checks);
        up = up.saturating_add(r.up);
        sum += r.latency_sum_ms;
        min = min_opt(min, r.latency_min_ms);
        max = max_opt(max, r.latency_max_ms);
        histogram.merge(&r.histogram);
    }

    let uptime_pct = CheckCounts { checks, up }.uptime_pct();
    let latencies = histogram.count();
    let avg_ms = (latencies > 0).then(|| clamp_opt(sum / latencies as f64, min, max));
    let quantile = |q: f64| histogram.quantile(q).map(|v| clamp_opt(v, min, max));

    WindowStats {
        checks,
        up,
        uptime_pct,
        avg_ms,
        min_ms: min,
        max_ms: max,
        p50_ms: quantile(0.50),
        p95_ms: quantile(0.95),
        p99_ms: quantile(0.99),
    }
}

/// Clamps `v` into `[min, max]` where those are known (and ordered).
fn clamp_opt(v: f64, min: Option<f64>, max: Option<f64>) -> f64 {
    let v = min.map_or(v, |m| v.max(m));
    max.map_or(v, |m| v.min(m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Timings;
    use proptest::prelude::*;

    const T0: UnixMs = 1_700_006_400_000; // 2023-11-15T00:00:00Z, a UTC midnight

    fn id() -> MonitorId {
        MonitorId::parse("api").expect("valid id")
    }

    fn check(at: UnixMs, success: bool, total_ms: f64) -> CheckResult {
        CheckResult {
            monitor_id: id(),
            checked_at: at,
            success,
            status_code: Some(if success { 200 } else { 503 }),
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

    fn hist(values: &[f64]) -> LatencyHistogram {
        let mut h = LatencyHistogram::default();
        for &v in values {
            h.record(v);
        }
        h
    }

    fn rel_err(estimate: f64, truth: f64) -> f64 {
        (estimate - truth).abs() / truth
    }

    /// Slack for floating-point rounding at bucket edges.
    const TOL: f64 = LatencyHistogram::RELATIVE_ERROR + 1e-9;

    // ---- Granularity -------------------------------------------------------------

    #[test]
    fn bucket_start_floors_to_utc_boundaries_including_before_the_epoch() {
        assert_eq!(Granularity::Hour.bucket_start(T0 + 5_400_000), T0 + HOUR_MS);
        assert_eq!(Granularity::Day.bucket_start(T0 + DAY_MS - 1), T0);
        assert_eq!(Granularity::Day.bucket_start(T0), T0);
        assert_eq!(Granularity::Hour.bucket_start(-1), -HOUR_MS);
        assert_eq!(Granularity::Day.bucket_start(-1), -DAY_MS);
    }

    #[test]
    fn t0_is_a_utc_midnight() {
        assert_eq!(T0 % DAY_MS, 0);
    }

    // ---- LatencyHistogram --------------------------------------------------------

    #[test]
    fn empty_histogram_has_no_quantiles() {
        let h = LatencyHistogram::default();
        assert_eq!(h.count(), 0);
        assert!(h.is_empty());
        assert_eq!(h.quantile(0.5), None);
        assert_eq!(h.quantile(0.0), None);
        assert_eq!(h.quantile(1.0), None);
    }

    #[test]
    fn single_value_is_every_quantile_within_the_error() {
        let h = hist(&[123.0]);
        for q in [0.0, 0.01, 0.5, 0.99, 1.0] {
            let v = h.quantile(q).expect("non-empty");
            assert!(rel_err(v, 123.0) <= TOL, "q={q} v={v}");
        }
    }

    #[test]
    fn bucket_count_covers_a_tenth_of_a_millisecond_to_ten_minutes() {
        assert_eq!(LatencyHistogram::bucket_count(), 392);
        let last = LatencyHistogram::max_index();
        assert_eq!(LatencyHistogram::index_of(LatencyHistogram::MAX_MS), last);
        assert!(LatencyHistogram::index_of(LatencyHistogram::MAX_MS * 0.9) < last);
    }

    #[test]
    fn every_value_in_range_is_reported_within_the_relative_error() {
        let mut v = LatencyHistogram::MIN_MS;
        while v <= LatencyHistogram::MAX_MS {
            let rep = LatencyHistogram::representative(LatencyHistogram::index_of(v));
            assert!(rel_err(rep, v) <= TOL, "v={v} rep={rep}");
            v *= 1.003;
        }
        for v in [
            0.1, 0.11, 1.0, 1.5, 10.0, 99.9, 100.0, 250.0, 1000.0, 599_999.0,
        ] {
            let rep = LatencyHistogram::representative(LatencyHistogram::index_of(v));
            assert!(rel_err(rep, v) <= TOL, "v={v} rep={rep}");
        }
    }

    #[test]
    fn bucket_indices_increase_with_the_value() {
        let mut prev = 0;
        let mut v = 0.0;
        while v < 700_000.0 {
            let i = LatencyHistogram::index_of(v);
            assert!(i >= prev, "v={v}");
            prev = i;
            v = v * 1.01 + 0.01;
        }
    }

    #[test]
    fn out_of_range_values_clamp_to_the_end_buckets() {
        let h = hist(&[0.0, 0.05, 1e9, 1e300]);
        assert_eq!(h.count(), 4);
        let keys: Vec<u16> = h.buckets().map(|(i, _)| i).collect();
        assert_eq!(keys, vec![0, LatencyHistogram::max_index()]);
        assert_eq!(h.quantile(0.0), Some(LatencyHistogram::MIN_MS));
        let top = h.quantile(1.0).expect("non-empty");
        assert!(rel_err(top, LatencyHistogram::MAX_MS) <= 2.0 * TOL, "{top}");
    }

    #[test]
    fn nan_and_infinity_are_ignored_and_negatives_count_as_zero() {
        let mut h = LatencyHistogram::default();
        h.record(f64::NAN);
        h.record(f64::INFINITY);
        assert_eq!(h.count(), 0);
        h.record(-5.0);
        h.record(f64::NEG_INFINITY);
        assert_eq!(h.count(), 2);
        assert_eq!(h.buckets().collect::<Vec<_>>(), vec![(0, 2)]);
    }

    #[test]
    fn quantile_rejects_nan_and_clamps_q() {
        let h = hist(&[10.0, 20.0, 30.0]);
        assert_eq!(h.quantile(f64::NAN), None);
        assert_eq!(h.quantile(-1.0), h.quantile(0.0));
        assert_eq!(h.quantile(2.0), h.quantile(1.0));
        assert_eq!(h.quantile(f64::INFINITY), h.quantile(1.0));
    }

    #[test]
    fn quantiles_pick_the_nearest_rank() {
        // 1..=100 ms: the q-quantile is the value ceil(100·q).
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        let h = hist(&values);
        for (q, truth) in [
            (0.0, 1.0),
            (0.01, 1.0),
            (0.25, 25.0),
            (0.5, 50.0),
            (0.95, 95.0),
            (0.99, 99.0),
            (1.0, 100.0),
        ] {
            let v = h.quantile(q).expect("non-empty");
            assert!(rel_err(v, truth) <= TOL, "q={q} v={v} truth={truth}");
        }
    }

    #[test]
    fn quantiles_of_a_log_uniform_distribution_are_within_the_bucket_error() {
        // 10_000 values spread log-uniformly over 1 ms .. 100 s.
        let n = 10_000;
        let values: Vec<f64> = (0..n)
            .map(|k| 10f64.powf(5.0 * f64::from(k) / f64::from(n - 1)))
            .collect();
        let h = hist(&values);
        assert_eq!(h.count(), 10_000);
        for q in [
            0.0, 0.001, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0,
        ] {
            let rank = ((q * f64::from(n)).ceil() as usize).max(1);
            let truth = values[rank - 1];
            let v = h.quantile(q).expect("non-empty");
            assert!(rel_err(v, truth) <= TOL, "q={q} v={v} truth={truth}");
        }
    }

    #[test]
    fn quantiles_of_a_bimodal_distribution_land_in_the_right_mode() {
        // 90 % fast (20 ms), 10 % slow (2 s): p50 is fast, p95 and p99 are slow.
        let mut h = LatencyHistogram::default();
        h.record_n(20.0, 900);
        h.record_n(2000.0, 100);
        h.record_n(5.0, 0);
        assert_eq!(h.count(), 1000);
        assert!(rel_err(h.quantile(0.5).unwrap_or(0.0), 20.0) <= TOL);
        assert!(rel_err(h.quantile(0.899).unwrap_or(0.0), 20.0) <= TOL);
        assert!(rel_err(h.quantile(0.901).unwrap_or(0.0), 2000.0) <= TOL);
        assert!(rel_err(h.quantile(0.95).unwrap_or(0.0), 2000.0) <= TOL);
        assert!(rel_err(h.quantile(0.99).unwrap_or(0.0), 2000.0) <= TOL);
    }

    #[test]
    fn merging_equals_recording_everything_in_one() {
        let a = [1.0, 5.0, 5.0, 80.0];
        let b = [0.0, 5.0, 12_000.0];
        let mut merged = hist(&a);
        merged.merge(&hist(&b));
        let all: Vec<f64> = a.iter().chain(b.iter()).copied().collect();
        assert_eq!(merged, hist(&all));
        assert_eq!(merged.count(), 7);
    }

    #[test]
    fn merging_an_empty_histogram_changes_nothing() {
        let mut h = hist(&[3.0, 4.0]);
        let before = h.clone();
        h.merge(&LatencyHistogram::default());
        assert_eq!(h, before);
        let mut e = LatencyHistogram::default();
        e.merge(&before);
        assert_eq!(e, before);
    }

    #[test]
    fn histogram_serialises_sparsely_and_round_trips() {
        let h = hist(&[0.0, 100.0, 100.0]);
        let json = serde_json::to_string(&h).expect("serialise");
        let i = LatencyHistogram::index_of(100.0);
        assert_eq!(json, format!(r#"{{"counts":{{"0":1,"{i}":2}}}}"#));
        let back: LatencyHistogram = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, h);
    }

    #[test]
    fn full_histogram_stays_small_when_serialised() {
        let mut h = LatencyHistogram::default();
        for i in 0..LatencyHistogram::bucket_count() {
            h.record(LatencyHistogram::representative(i as u16));
        }
        assert_eq!(h.buckets().count(), LatencyHistogram::bucket_count());
        let json = serde_json::to_string(&h).expect("serialise");
        assert!(json.len() < 4_500, "{}", json.len());
    }

    #[test]
    fn deserialised_zero_counts_are_harmless() {
        let h: LatencyHistogram =
            serde_json::from_str(r#"{"counts":{"5":0,"60":2,"65535":0}}"#).expect("parse");
        assert_eq!(h.count(), 2);
        assert_eq!(h.buckets().collect::<Vec<_>>(), vec![(60, 2)]);
        assert_eq!(h.quantile(0.0), Some(LatencyHistogram::representative(60)));
        assert_eq!(h.quantile(1.0), Some(LatencyHistogram::representative(60)));
    }

    #[test]
    fn counts_saturate_instead_of_overflowing() {
        let mut h = LatencyHistogram::default();
        h.record_n(10.0, u64::MAX);
        h.record(10.0);
        h.merge(&h.clone());
        assert_eq!(h.count(), u64::MAX);
        assert!(h.quantile(0.5).is_some());
    }

    // ---- Rollup ------------------------------------------------------------------

    #[test]
    fn rollup_counts_every_check_but_only_successful_latency() {
        let mut r = Rollup::empty(id(), Granularity::Hour, T0);
        r.record(&check(T0, true, 100.0));
        r.record(&check(T0 + 1, false, 30_000.0));
        r.record(&check(T0 + 2, true, 300.0));
        r.record(&check(T0 + 3, false, 1.0));
        assert_eq!(r.checks, 4);
        assert_eq!(r.up, 2);
        assert_eq!(r.latency_sum_ms, 400.0);
        assert_eq!(r.latency_min_ms, Some(100.0));
        assert_eq!(r.latency_max_ms, Some(300.0));
        assert_eq!(r.histogram.count(), 2);
        assert_eq!(r.bucket_start, T0);
        assert_eq!(r.granularity, Granularity::Hour);
    }

    #[test]
    fn rollup_of_only_failures_has_no_latency() {
        let mut r = Rollup::empty(id(), Granularity::Day, T0);
        r.record(&check(T0, false, 10_000.0));
        assert_eq!((r.checks, r.up), (1, 0));
        assert_eq!(r.latency_sum_ms, 0.0);
        assert_eq!(r.latency_min_ms, None);
        assert_eq!(r.latency_max_ms, None);
        assert!(r.histogram.is_empty());
    }

    #[test]
    fn rollup_ignores_nan_latency_but_counts_the_check() {
        let mut r = Rollup::empty(id(), Granularity::Hour, T0);
        r.record(&check(T0, true, f64::NAN));
        r.record(&check(T0, true, -3.0));
        assert_eq!((r.checks, r.up), (2, 2));
        assert_eq!(r.latency_sum_ms, 0.0);
        assert_eq!(r.latency_min_ms, Some(0.0));
        assert_eq!(r.histogram.count(), 1);
        assert!(r.latency_sum_ms.is_finite());
    }

    #[test]
    fn rollup_merge_adds_everything_and_keeps_identity() {
        let mut a = Rollup::empty(id(), Granularity::Day, T0);
        a.record(&check(T0, true, 50.0));
        a.record(&check(T0, false, 0.0));
        let mut b = Rollup::empty(id(), Granularity::Hour, T0 + HOUR_MS);
        b.record(&check(T0, true, 10.0));
        b.record(&check(T0, true, 900.0));
        a.merge(&b);
        assert_eq!(a.granularity, Granularity::Day);
        assert_eq!(a.bucket_start, T0);
        assert_eq!((a.checks, a.up), (4, 3));
        assert_eq!(a.latency_sum_ms, 960.0);
        assert_eq!(a.latency_min_ms, Some(10.0));
        assert_eq!(a.latency_max_ms, Some(900.0));
        assert_eq!(a.histogram, hist(&[50.0, 10.0, 900.0]));
    }

    #[test]
    fn rollup_serde_round_trips() {
        let mut r = Rollup::empty(id(), Granularity::Hour, T0);
        r.record(&check(T0, true, 42.5));
        let json = serde_json::to_string(&r).expect("serialise");
        assert!(json.contains(r#""granularity":"hour""#), "{json}");
        let back: Rollup = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, r);
    }

    // ---- Period ------------------------------------------------------------------

    #[test]
    fn periods_parse_print_and_measure() {
        for p in [Period::Day, Period::Week, Period::Month, Period::Quarter] {
            assert_eq!(Period::parse(p.as_str()), Some(p));
            let json = serde_json::to_string(&p).expect("serialise");
            assert_eq!(json, format!("\"{}\"", p.as_str()));
        }
        assert_eq!(Period::parse("1d"), Some(Period::Day));
        assert_eq!(Period::parse("1y"), None);
        assert_eq!(Period::Quarter.duration_ms(), 90 * DAY_MS);
    }

    // ---- plan_window -------------------------------------------------------------

    /// Checks the invariants every plan must hold, and returns the covered span.
    fn assert_well_formed(plan: &WindowPlan) -> (UnixMs, UnixMs) {
        let (s, e) = plan.span();
        assert_eq!(plan.hours_before.1, plan.days.0, "{plan:?}");
        assert_eq!(plan.days.1, plan.hours_after.0, "{plan:?}");
        for (a, b) in [plan.hours_before, plan.days, plan.hours_after] {
            assert!(a <= b, "{plan:?}");
            assert_eq!(a % HOUR_MS, 0, "{plan:?}");
            assert_eq!(b % HOUR_MS, 0, "{plan:?}");
        }
        if plan.days.0 < plan.days.1 {
            assert_eq!(plan.days.0 % DAY_MS, 0, "{plan:?}");
            assert_eq!(plan.days.1 % DAY_MS, 0, "{plan:?}");
            // Edges are shorter than a day, else they would hold a whole day.
            assert!(
                plan.hours_before.1 - plan.hours_before.0 < DAY_MS,
                "{plan:?}"
            );
            assert!(plan.hours_after.1 - plan.hours_after.0 < DAY_MS, "{plan:?}");
        }
        (s, e)
    }

    #[test]
    fn window_on_exact_day_edges_is_all_days() {
        let plan = plan_window(T0, T0 + 3 * DAY_MS);
        assert_eq!(
            plan,
            WindowPlan {
                hours_before: (T0, T0),
                days: (T0, T0 + 3 * DAY_MS),
                hours_after: (T0 + 3 * DAY_MS, T0 + 3 * DAY_MS),
            }
        );
        assert_well_formed(&plan);
    }

    #[test]
    fn exactly_one_day_on_midnight_is_one_daily_rollup() {
        let plan = plan_window(T0, T0 + DAY_MS);
        assert_eq!(plan.days, (T0, T0 + DAY_MS));
        assert_eq!(plan.hours_before, (T0, T0));
        assert_eq!(plan.hours_after, (T0 + DAY_MS, T0 + DAY_MS));
    }

    #[test]
    fn ragged_edges_come_from_hours() {
        // 2023-11-14 18:30 .. 2023-11-17 05:10 → hours 18..24, days 15 and 16, hours 0..6.
        let from = T0 - 5 * HOUR_MS - 30 * 60_000;
        let to = T0 + 2 * DAY_MS + 5 * HOUR_MS + 10 * 60_000;
        let plan = plan_window(from, to);
        assert_eq!(
            plan,
            WindowPlan {
                hours_before: (T0 - 6 * HOUR_MS, T0),
                days: (T0, T0 + 2 * DAY_MS),
                hours_after: (T0 + 2 * DAY_MS, T0 + 2 * DAY_MS + 6 * HOUR_MS),
            }
        );
        assert_well_formed(&plan);
    }

    #[test]
    fn from_rounds_down_and_to_rounds_up_to_the_hour() {
        let plan = plan_window(T0 + 10 * HOUR_MS + 1, T0 + 12 * HOUR_MS + 1);
        assert_eq!(plan.span(), (T0 + 10 * HOUR_MS, T0 + 13 * HOUR_MS));
        // Already on the hour: unchanged.
        let plan = plan_window(T0 + 10 * HOUR_MS, T0 + 12 * HOUR_MS);
        assert_eq!(plan.span(), (T0 + 10 * HOUR_MS, T0 + 12 * HOUR_MS));
        // One millisecond before the hour still includes that hour.
        let plan = plan_window(T0 + 10 * HOUR_MS - 1, T0 + 12 * HOUR_MS - 1);
        assert_eq!(plan.span(), (T0 + 9 * HOUR_MS, T0 + 12 * HOUR_MS));
    }

    #[test]
    fn less_than_a_day_is_all_hours() {
        let from = T0 + 3 * HOUR_MS + 17;
        let to = T0 + 20 * HOUR_MS + 5;
        let plan = plan_window(from, to);
        assert_eq!(plan.hours_before, (T0 + 3 * HOUR_MS, T0 + 21 * HOUR_MS));
        assert!(plan.days.0 == plan.days.1);
        assert!(plan.hours_after.0 == plan.hours_after.1);
        assert_well_formed(&plan);
    }

    #[test]
    fn a_day_across_midnight_is_all_hours() {
        // 24 h from 12:00 to 12:00 holds no whole UTC day.
        let plan = plan_window(T0 + 12 * HOUR_MS, T0 + DAY_MS + 12 * HOUR_MS);
        assert_eq!(
            plan.hours_before,
            (T0 + 12 * HOUR_MS, T0 + DAY_MS + 12 * HOUR_MS)
        );
        assert_eq!(plan.days.0, plan.days.1);
        assert_well_formed(&plan);
    }

    #[test]
    fn thirty_hours_without_a_whole_day_is_all_hours() {
        let plan = plan_window(T0 + HOUR_MS, T0 + DAY_MS + 7 * HOUR_MS);
        assert_eq!(plan.hours_before, (T0 + HOUR_MS, T0 + DAY_MS + 7 * HOUR_MS));
        assert_eq!(plan.days.0, plan.days.1);
    }

    #[test]
    fn window_ending_at_midnight_has_no_hours_after() {
        let plan = plan_window(T0 - 2 * HOUR_MS, T0 + DAY_MS);
        assert_eq!(plan.hours_before, (T0 - 2 * HOUR_MS, T0));
        assert_eq!(plan.days, (T0, T0 + DAY_MS));
        assert_eq!(plan.hours_after, (T0 + DAY_MS, T0 + DAY_MS));
    }

    #[test]
    fn window_starting_at_midnight_has_no_hours_before() {
        let plan = plan_window(T0, T0 + DAY_MS + 90 * 60_000);
        assert_eq!(plan.hours_before, (T0, T0));
        assert_eq!(plan.days, (T0, T0 + DAY_MS));
        assert_eq!(plan.hours_after, (T0 + DAY_MS, T0 + DAY_MS + 2 * HOUR_MS));
    }

    #[test]
    fn ninety_days_from_now_uses_89_days_and_two_ragged_edges() {
        let now = T0 + 100 * DAY_MS + 13 * HOUR_MS + 42 * 60_000;
        let plan = plan_window(now - Period::Quarter.duration_ms(), now);
        assert_eq!(
            plan.hours_before,
            (T0 + 10 * DAY_MS + 13 * HOUR_MS, T0 + 11 * DAY_MS)
        );
        assert_eq!(plan.days, (T0 + 11 * DAY_MS, T0 + 100 * DAY_MS));
        assert_eq!(
            plan.hours_after,
            (T0 + 100 * DAY_MS, T0 + 100 * DAY_MS + 14 * HOUR_MS)
        );
        assert_eq!((plan.days.1 - plan.days.0) / DAY_MS, 89);
        let (s, e) = assert_well_formed(&plan);
        // 90 days plus the partial current hour, widened to whole hours.
        assert_eq!(e - s, 90 * DAY_MS + HOUR_MS);
    }

    #[test]
    fn empty_and_inverted_windows_plan_nothing() {
        for (from, to) in [
            (T0, T0),
            (T0 + 5, T0 + 5),
            (T0 + DAY_MS, T0),
            (T0 + 5, T0 + 2),
        ] {
            let plan = plan_window(from, to);
            assert!(plan.is_empty(), "{from}..{to}: {plan:?}");
            assert_eq!(plan.span().0, plan.span().1);
            assert!(!plan.includes(Granularity::Hour, Granularity::Hour.bucket_start(from)));
            assert!(!plan.includes(Granularity::Day, Granularity::Day.bucket_start(from)));
        }
    }

    #[test]
    fn a_sub_hour_window_is_the_hour_that_holds_it() {
        let plan = plan_window(T0 + 2, T0 + 5);
        assert_eq!(plan.span(), (T0, T0 + HOUR_MS));
        assert!(!plan.is_empty());
    }

    #[test]
    fn windows_before_the_epoch_plan_correctly() {
        let plan = plan_window(-DAY_MS - HOUR_MS - 1, HOUR_MS + 1);
        assert_eq!(plan.hours_before, (-DAY_MS - 2 * HOUR_MS, -DAY_MS));
        assert_eq!(plan.days, (-DAY_MS, 0));
        assert_eq!(plan.hours_after, (0, 2 * HOUR_MS));
    }

    #[test]
    fn extreme_timestamps_do_not_panic() {
        let _ = plan_window(i64::MIN + DAY_MS, i64::MAX - DAY_MS);
        let _ = plan_window(i64::MAX - 1, i64::MAX);
        let _ = plan_window(i64::MAX, i64::MIN + DAY_MS);
    }

    #[test]
    fn includes_and_select_follow_the_ranges() {
        let plan = plan_window(T0 - 2 * HOUR_MS, T0 + DAY_MS + HOUR_MS);
        assert!(plan.includes(Granularity::Hour, T0 - 2 * HOUR_MS));
        assert!(plan.includes(Granularity::Hour, T0 - HOUR_MS));
        assert!(!plan.includes(Granularity::Hour, T0 - 3 * HOUR_MS));
        // Hours inside a planned day come from the daily rollup, not twice.
        assert!(!plan.includes(Granularity::Hour, T0));
        assert!(!plan.includes(Granularity::Hour, T0 + 5 * HOUR_MS));
        assert!(plan.includes(Granularity::Day, T0));
        assert!(!plan.includes(Granularity::Day, T0 - DAY_MS));
        assert!(!plan.includes(Granularity::Day, T0 + DAY_MS));
        assert!(plan.includes(Granularity::Hour, T0 + DAY_MS));
        assert!(!plan.includes(Granularity::Hour, T0 + DAY_MS + HOUR_MS));

        let rollups = vec![
            Rollup::empty(id(), Granularity::Hour, T0 - HOUR_MS),
            Rollup::empty(id(), Granularity::Hour, T0),
            Rollup::empty(id(), Granularity::Day, T0),
            Rollup::empty(id(), Granularity::Day, T0 + DAY_MS),
            Rollup::empty(id(), Granularity::Hour, T0 + DAY_MS),
        ];
        let picked: Vec<(Granularity, UnixMs)> = plan
            .select(&rollups)
            .into_iter()
            .map(|r| (r.granularity, r.bucket_start))
            .collect();
        assert_eq!(
            picked,
            vec![
                (Granularity::Hour, T0 - HOUR_MS),
                (Granularity::Day, T0),
                (Granularity::Hour, T0 + DAY_MS),
            ]
        );
    }

    /// Every hour of the widened window is covered exactly once by the plan.
    fn assert_hours_covered_once(from: UnixMs, to: UnixMs) {
        let plan = plan_window(from, to);
        let (s, e) = assert_well_formed(&plan);
        assert_eq!(s, Granularity::Hour.bucket_start(from));
        let mut hour = s;
        while hour < e {
            let via_hour = plan.includes(Granularity::Hour, hour);
            let day = Granularity::Day.bucket_start(hour);
            let via_day = plan.includes(Granularity::Day, day);
            assert!(via_hour != via_day, "hour {hour} in {plan:?}");
            hour += HOUR_MS;
        }
        assert!(e >= to && e - to < HOUR_MS, "{from}..{to}: {plan:?}");
        assert!(!plan.includes(Granularity::Hour, s - HOUR_MS));
        assert!(!plan.includes(Granularity::Hour, e));
    }

    #[test]
    fn every_hour_is_covered_exactly_once_for_many_windows() {
        let starts = [0, 1, HOUR_MS - 1, HOUR_MS, 23 * HOUR_MS, DAY_MS - 1, DAY_MS];
        let lengths = [
            1,
            HOUR_MS,
            DAY_MS - 1,
            DAY_MS,
            DAY_MS + 1,
            2 * DAY_MS - HOUR_MS,
            7 * DAY_MS + 5,
            90 * DAY_MS,
        ];
        for s in starts {
            for len in lengths {
                assert_hours_covered_once(T0 + s, T0 + s + len);
            }
        }
    }

    // ---- window_stats ------------------------------------------------------------

    #[test]
    fn no_rollups_is_no_data() {
        assert_eq!(window_stats(&[]), WindowStats::default());
        let empty = Rollup::empty(id(), Granularity::Hour, T0);
        let s = window_stats(&[empty]);
        assert_eq!(s.checks, 0);
        assert_eq!(s.uptime_pct, None);
        assert_eq!(s.avg_ms, None);
        assert_eq!(s.p99_ms, None);
    }

    #[test]
    fn all_down_has_zero_uptime_and_no_latency() {
        let mut r = Rollup::empty(id(), Granularity::Hour, T0);
        for _ in 0..5 {
            r.record(&check(T0, false, 5_000.0));
        }
        let s = window_stats(&[r]);
        assert_eq!(s.uptime_pct, Some(0.0));
        assert_eq!((s.avg_ms, s.min_ms, s.max_ms), (None, None, None));
        assert_eq!((s.p50_ms, s.p95_ms, s.p99_ms), (None, None, None));
    }

    #[test]
    fn stats_merge_rollups_and_count_only_successful_latency() {
        let mut a = Rollup::empty(id(), Granularity::Hour, T0);
        let mut b = Rollup::empty(id(), Granularity::Hour, T0 + HOUR_MS);
        for ms in 1..=50 {
            a.record(&check(T0, true, f64::from(ms)));
        }
        for ms in 51..=100 {
            b.record(&check(T0 + HOUR_MS, true, f64::from(ms)));
        }
        for _ in 0..100 {
            b.record(&check(T0 + HOUR_MS, false, 60_000.0));
        }
        let s = window_stats(&[a, b]);
        assert_eq!((s.checks, s.up), (200, 100));
        assert_eq!(s.uptime_pct, Some(50.0));
        assert_eq!(s.avg_ms, Some(50.5));
        assert_eq!(s.min_ms, Some(1.0));
        assert_eq!(s.max_ms, Some(100.0));
        for (p, truth) in [(s.p50_ms, 50.0), (s.p95_ms, 95.0), (s.p99_ms, 99.0)] {
            let p = p.expect("has latency");
            assert!(rel_err(p, truth) <= TOL, "{p} vs {truth}");
        }
    }

    #[test]
    fn quantiles_are_clamped_into_min_and_max() {
        let mut r = Rollup::empty(id(), Granularity::Hour, T0);
        r.record(&check(T0, true, 101.0));
        let s = window_stats(&[r]);
        assert_eq!(s.p50_ms, Some(101.0));
        assert_eq!(s.p99_ms, Some(101.0));
        assert_eq!(s.avg_ms, Some(101.0));
    }

    #[test]
    fn uptime_is_a_percentage_of_checks() {
        let mut r = Rollup::empty(id(), Granularity::Day, T0);
        for i in 0..10_000 {
            r.record(&check(T0, i != 0, 10.0));
        }
        let s = window_stats(&[r]);
        assert_eq!(s.uptime_pct, Some(99.99));
    }

    /// 90 days of checks every 7 minutes; latency a deterministic function of time, in
    /// quarter milliseconds so that sums are exact in any order.
    fn ninety_days_of_checks() -> Vec<CheckResult> {
        let step = 7 * 60_000;
        let n = 90 * DAY_MS / step;
        (0..n)
            .map(|k| {
                let at = T0 + k * step + 13;
                let success = k % 97 != 0;
                let ms = ((k * 7919) % 4000 + 40) as f64 / 4.0;
                check(at, success, ms)
            })
            .collect()
    }

    fn rollups_of(checks: &[CheckResult], g: Granularity) -> Vec<Rollup> {
        let mut by_bucket: BTreeMap<UnixMs, Rollup> = BTreeMap::new();
        for c in checks {
            let start = g.bucket_start(c.checked_at);
            by_bucket
                .entry(start)
                .or_insert_with(|| Rollup::empty(id(), g, start))
                .record(c);
        }
        by_bucket.into_values().collect()
    }

    #[test]
    fn ninety_days_of_hourly_rollups_merged_equal_the_daily_ones() {
        let checks = ninety_days_of_checks();
        let hourly = rollups_of(&checks, Granularity::Hour);
        let daily = rollups_of(&checks, Granularity::Day);
        assert_eq!(hourly.len(), 90 * 24);
        assert_eq!(daily.len(), 90);

        // Each day's hours merge to exactly that day's rollup.
        for day in &daily {
            let mut merged = Rollup::empty(id(), Granularity::Day, day.bucket_start);
            for h in hourly
                .iter()
                .filter(|h| Granularity::Day.bucket_start(h.bucket_start) == day.bucket_start)
            {
                merged.merge(h);
            }
            assert_eq!(&merged, day);
        }

        let from_hours = window_stats(&hourly);
        let from_days = window_stats(&daily);
        assert_eq!(from_hours, from_days);
        assert_eq!(from_hours.checks, checks.len() as u64);
        let exact_up = checks.iter().filter(|c| c.success).count() as u64;
        assert_eq!(from_hours.up, exact_up);
    }

    #[test]
    fn a_planned_window_equals_the_same_window_from_hours_only() {
        let checks = ninety_days_of_checks();
        let hourly = rollups_of(&checks, Granularity::Hour);
        let daily = rollups_of(&checks, Granularity::Day);
        let mut all = hourly.clone();
        all.extend(daily.iter().cloned());

        let from = T0 + 3 * DAY_MS + 7 * HOUR_MS + 123;
        let to = T0 + 40 * DAY_MS + 17 * HOUR_MS + 59 * 60_000;
        let plan = plan_window(from, to);
        let planned: Vec<Rollup> = plan.select(&all).into_iter().cloned().collect();
        assert!(planned.iter().any(|r| r.granularity == Granularity::Day));
        assert!(planned.len() < 24 * 3 + 40);

        let (s, e) = plan.span();
        let only_hours: Vec<Rollup> = hourly
            .iter()
            .filter(|r| s <= r.bucket_start && r.bucket_start < e)
            .cloned()
            .collect();
        let exact: Vec<CheckResult> = checks
            .iter()
            .filter(|c| s <= c.checked_at && c.checked_at < e)
            .cloned()
            .collect();
        let direct = {
            let mut r = Rollup::empty(id(), Granularity::Hour, s);
            for c in &exact {
                r.record(c);
            }
            r
        };
        assert_eq!(window_stats(&planned), window_stats(&only_hours));
        assert_eq!(window_stats(&planned), window_stats(&[direct]));
    }

    // ---- properties --------------------------------------------------------------

    /// Latencies in quarter milliseconds: exact in f64, so sums do not depend on order.
    fn latency() -> impl Strategy<Value = f64> {
        prop_oneof![
            (0u32..4_000_000).prop_map(|q| f64::from(q) / 4.0),
            Just(0.0),
            Just(-1.0),
            Just(f64::NAN),
            Just(1e12),
        ]
    }

    fn rollup() -> impl Strategy<Value = Rollup> {
        prop::collection::vec((any::<bool>(), latency()), 0..40).prop_map(|cs| {
            let mut r = Rollup::empty(id(), Granularity::Hour, T0);
            for (ok, ms) in cs {
                r.record(&check(T0, ok, ms));
            }
            r
        })
    }

    fn merged(parts: &[&Rollup]) -> Rollup {
        let mut acc = Rollup::empty(id(), Granularity::Hour, T0);
        for p in parts {
            acc.merge(p);
        }
        acc
    }

    proptest! {
        #[test]
        fn rollup_merge_is_commutative(a in rollup(), b in rollup()) {
            let mut ab = a.clone();
            ab.merge(&b);
            let mut ba = b.clone();
            ba.merge(&a);
            prop_assert_eq!(ab, ba);
        }

        #[test]
        fn rollup_merge_is_associative(a in rollup(), b in rollup(), c in rollup()) {
            let mut left = a.clone();
            left.merge(&b);
            left.merge(&c);
            let mut bc = b.clone();
            bc.merge(&c);
            let mut right = a.clone();
            right.merge(&bc);
            prop_assert_eq!(left, right);
        }

        #[test]
        fn empty_rollup_is_the_identity(a in rollup()) {
            let mut x = a.clone();
            x.merge(&Rollup::empty(id(), Granularity::Hour, T0));
            prop_assert_eq!(&x, &a);
            prop_assert_eq!(merged(&[&a]), a);
        }

        #[test]
        fn histogram_merge_is_commutative_and_associative(
            a in prop::collection::vec(latency(), 0..50),
            b in prop::collection::vec(latency(), 0..50),
            c in prop::collection::vec(latency(), 0..50),
        ) {
            let (ha, hb, hc) = (hist(&a), hist(&b), hist(&c));
            let mut ab = ha.clone();
            ab.merge(&hb);
            let mut ba = hb.clone();
            ba.merge(&ha);
            prop_assert_eq!(&ab, &ba);
            let mut ab_c = ab.clone();
            ab_c.merge(&hc);
            let mut bc = hb.clone();
            bc.merge(&hc);
            let mut a_bc = ha.clone();
            a_bc.merge(&bc);
            prop_assert_eq!(ab_c, a_bc);
        }

        #[test]
        fn window_stats_do_not_depend_on_order(rs in prop::collection::vec(rollup(), 0..8)) {
            let mut reversed = rs.clone();
            reversed.reverse();
            prop_assert_eq!(window_stats(&rs), window_stats(&reversed));
            let refs: Vec<&Rollup> = rs.iter().collect();
            prop_assert_eq!(window_stats(&rs), window_stats(&[merged(&refs)]));
        }

        #[test]
        fn quantiles_are_within_the_error_of_the_exact_order_statistic(
            values in prop::collection::vec(0.1f64..600_000.0, 1..300),
            q in 0.0f64..=1.0,
        ) {
            let h = hist(&values);
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
            let truth = sorted[rank - 1];
            let v = h.quantile(q).expect("non-empty");
            prop_assert!(rel_err(v, truth) <= TOL, "q={} v={} truth={}", q, v, truth);
        }

        #[test]
        fn quantiles_never_decrease_with_q(
            values in prop::collection::vec(latency(), 1..100),
            q1 in 0.0f64..=1.0,
            q2 in 0.0f64..=1.0,
        ) {
            let h = hist(&values);
            let (lo, hi) = if q1 <= q2 { (q1, q2) } else { (q2, q1) };
            if let (Some(a), Some(b)) = (h.quantile(lo), h.quantile(hi)) {
                prop_assert!(a <= b);
            }
        }

        #[test]
        fn window_stats_are_consistent(rs in prop::collection::vec(rollup(), 0..6)) {
            let s = window_stats(&rs);
            prop_assert!(s.up <= s.checks);
            if let Some(u) = s.uptime_pct {
                prop_assert!((0.0..=100.0).contains(&u));
            } else {
                prop_assert_eq!(s.checks, 0);
            }
            if let (Some(min), Some(max)) = (s.min_ms, s.max_ms) {
                for p in [s.avg_ms, s.p50_ms, s.p95_ms, s.p99_ms].into_iter().flatten() {
                    prop_assert!(min <= p && p <= max, "{} not in [{}, {}]", p, min, max);
                }
                let (p50, p95, p99) = (s.p50_ms.unwrap_or(0.0), s.p95_ms.unwrap_or(0.0), s.p99_ms.unwrap_or(0.0));
                prop_assert!(p50 <= p95 && p95 <= p99);
            }
        }

        #[test]
        fn planned_windows_cover_each_hour_once(
            from in -10 * DAY_MS..200 * DAY_MS,
            len in 0i64..120 * DAY_MS,
        ) {
            let plan = plan_window(T0 + from, T0 + from + len);
            if len == 0 {
                prop_assert!(plan.is_empty());
            } else {
                assert_hours_covered_once(T0 + from, T0 + from + len);
            }
        }
    }
}
