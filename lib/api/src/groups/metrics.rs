//! Route group `metrics`: a monitor's ping log (newest first, cursor-paginated), its
//! statistics over a period, and bucketed series for charts. Statistics and series come
//! from the hourly and daily rollups, never from a scan of raw pings.

use std::collections::HashMap;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sentinel_core::stats::{Granularity, Period, Rollup, WindowStats, plan_window, window_stats};
use sentinel_core::{CheckResult, MonitorId, UnixMs};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::groups::monitors::{load_visible, parse_limit};
use crate::{ApiError, ApiPath, ApiQuery, AppState, Principal, now_ms};

pub const DEFAULT_PAGE: usize = 100;
pub const MAX_PAGE: usize = 1000;
/// Most points a series may have.
pub const MAX_POINTS: i64 = 2000;
/// How many of a monitor's incidents the stats look through (newest first).
const INCIDENT_SCAN: usize = 1000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/metrics/{id}", get(pings))
        .route("/api/metrics/{id}/stats", get(stats))
        .route("/api/metrics/{id}/series", get(series))
}

/// Statistics of `period` up to `now` from rollups: whole UTC days from daily ones,
/// the edges from hourly ones.
pub(crate) async fn window(
    state: &AppState,
    id: &MonitorId,
    period: Period,
    now: UnixMs,
) -> Result<WindowStats, ApiError> {
    let plan = plan_window(now - period.duration_ms(), now);
    let rollups = state.stores.window_rollups(id, &plan).await?;
    Ok(window_stats(&rollups))
}

/// Uptime % of each monitor over `period` ending at `now`, in one store round trip;
/// monitors without checks in the window are absent.
pub(crate) async fn uptimes(
    state: &AppState,
    ids: &[MonitorId],
    period: Period,
    now: UnixMs,
) -> Result<HashMap<MonitorId, f64>, ApiError> {
    let plan = plan_window(now - period.duration_ms(), now);
    let counts = state.stores.window_counts(ids, &plan).await?;
    Ok(counts
        .into_iter()
        .filter_map(|(id, c)| c.uptime_pct().map(|pct| (id, pct)))
        .collect())
}

/// A time as clients write it: milliseconds since the epoch, or RFC 3339 / ISO 8601
/// (`2024-05-01T12:00:00Z`). `None` when it is neither (or out of range).
pub(crate) fn parse_time_text(raw: &str) -> Option<UnixMs> {
    let raw = raw.trim();
    if let Ok(ms) = raw.parse::<i64>() {
        return (0..=MAX_TIME_MS).contains(&ms).then_some(ms);
    }
    let t = humantime::parse_rfc3339_weak(raw).ok()?;
    let ms = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis();
    i64::try_from(ms).ok().filter(|ms| *ms <= MAX_TIME_MS)
}

/// Last millisecond of the year 9999.
const MAX_TIME_MS: UnixMs = 253_402_300_799_999;

pub(crate) const TIME_HINT: &str = "must be milliseconds since the epoch or an RFC 3339 time";

/// A time in a query string; 400 `invalid_query` naming `field` when unreadable.
fn parse_time(field: &str, raw: &str) -> Result<UnixMs, ApiError> {
    parse_time_text(raw)
        .ok_or_else(|| ApiError::invalid_query(field, format!("{field} {TIME_HINT}")))
}

/// RFC 3339 with milliseconds, UTC.
pub(crate) fn iso(ms: UnixMs) -> String {
    let t =
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_millis(t).to_string()
}

fn parse_period(raw: Option<&str>) -> Result<Period, ApiError> {
    match raw {
        None => Ok(Period::Day),
        Some(text) => Period::parse(text.trim())
            .ok_or_else(|| ApiError::invalid_query("period", "period must be 24h, 7d, 30d or 90d")),
    }
}

// ---- ping log ------------------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PingQuery {
    /// Oldest check to include: ms since the epoch or RFC 3339 (default: all).
    #[param(example = "2024-05-01T00:00:00Z")]
    from: Option<String>,
    /// End of the range, exclusive: ms since the epoch or RFC 3339 (default: now).
    to: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PingPage {
    /// Newest first.
    pub items: Vec<CheckResult>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The cursor is opaque to clients: base64url of the last `checked_at` returned. A
/// monitor has at most one ping per millisecond, so "older than the cursor" neither
/// skips nor repeats.
pub(crate) fn encode_cursor(checked_at: UnixMs) -> String {
    URL_SAFE_NO_PAD.encode(checked_at.to_string())
}

pub(crate) fn decode_cursor(raw: &str) -> Result<UnixMs, ApiError> {
    URL_SAFE_NO_PAD
        .decode(raw.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.parse::<i64>().ok())
        .ok_or_else(|| ApiError::invalid_query("cursor", "cursor is not one this API returned"))
}

/// A monitor's ping log, newest first, cursor-paginated: pass `next_cursor` as
/// `cursor` for the next (older) page.
#[utoipa::path(
    get,
    path = "/api/metrics/{id}",
    tag = "metrics",
    operation_id = "list_pings",
    params(("id" = String, Path, description = "Monitor id"), PingQuery),
    responses((status = 200, description = "One page of checks", body = PingPage)),
)]
pub(crate) async fn pings(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<PingQuery>,
) -> Result<Json<PingPage>, ApiError> {
    let limit = parse_limit(query.limit.as_deref(), DEFAULT_PAGE, MAX_PAGE)?;
    let from = query
        .from
        .as_deref()
        .map(|t| parse_time("from", t))
        .transpose()?
        .unwrap_or(0);
    // `to` is exclusive in the store; the default includes a ping taken right now.
    let to = query
        .to
        .as_deref()
        .map(|t| parse_time("to", t))
        .transpose()?
        .unwrap_or_else(|| now_ms().saturating_add(1));
    if from >= to {
        return Err(ApiError::invalid_query("from", "from must be before to"));
    }
    let before = match query.cursor.as_deref() {
        Some(c) => decode_cursor(c)?.min(to),
        None => to,
    };
    let record = load_visible(&state, &principal, &id).await?;
    let mut items = if from < before {
        state
            .stores
            .history(&record.spec.id, from, before, limit + 1)
            .await?
    } else {
        Vec::new()
    };
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|last| encode_cursor(last.checked_at))
    } else {
        None
    };
    Ok(Json(PingPage { items, next_cursor }))
}

// ---- stats ---------------------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// Default `24h`.
    #[param(value_type = Option<Period>, inline)]
    period: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MonitorStats {
    pub monitor_id: String,
    pub period: Period,
    pub from: UnixMs,
    pub to: UnixMs,
    #[serde(flatten)]
    pub stats: WindowStats,
    /// Incidents that were open at some time in the period.
    pub incidents: u64,
    /// Time down within the period, from those incidents.
    pub downtime_ms: i64,
}

/// Incidents overlapping `[from, to)` and the downtime within it.
fn incident_overlap(incidents: &[sentinel_core::Incident], from: UnixMs, to: UnixMs) -> (u64, i64) {
    let mut count = 0u64;
    let mut down = 0i64;
    for incident in incidents {
        let start = incident.started_at.max(from);
        let end = incident.ended_at.unwrap_or(to).min(to);
        if incident.started_at < to && incident.ended_at.is_none_or(|e| e > from) {
            count += 1;
            down = down.saturating_add((end - start).max(0));
        }
    }
    (count, down)
}

/// A monitor's statistics over a period: uptime, latency average and percentiles,
/// checks, incidents and time down.
#[utoipa::path(
    get,
    path = "/api/metrics/{id}/stats",
    tag = "metrics",
    operation_id = "monitor_stats",
    params(("id" = String, Path, description = "Monitor id"), PeriodQuery),
    responses((status = 200, description = "Statistics", body = MonitorStats)),
)]
pub(crate) async fn stats(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<PeriodQuery>,
) -> Result<Json<MonitorStats>, ApiError> {
    let period = parse_period(query.period.as_deref())?;
    let record = load_visible(&state, &principal, &id).await?;
    let id = &record.spec.id;
    let to = now_ms();
    let from = to - period.duration_ms();
    let stats = window(&state, id, period, to).await?;
    let incidents = state.stores.list_incidents(id, INCIDENT_SCAN).await?;
    let (incidents, downtime_ms) = incident_overlap(&incidents, from, to);
    Ok(Json(MonitorStats {
        monitor_id: id.to_string(),
        period,
        from,
        to,
        stats,
        incidents,
        downtime_ms,
    }))
}

// ---- series --------------------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesQuery {
    /// Default `24h`.
    #[param(value_type = Option<Period>, inline)]
    period: Option<String>,
    /// `1h` or `1d` (default: `1h` up to 7 days, else `1d`).
    #[param(example = "1h")]
    bucket: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SeriesPoint {
    /// Start of the bucket (ms since epoch, UTC hour or day).
    pub start: UnixMs,
    pub checks: u64,
    pub up: u64,
    pub uptime_pct: Option<f64>,
    pub avg_ms: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Series {
    pub monitor_id: String,
    pub period: Period,
    /// `1h` or `1d`.
    #[schema(value_type = String, example = "1h")]
    pub bucket: &'static str,
    /// Oldest first, one per bucket (empty buckets included, with no checks).
    pub points: Vec<SeriesPoint>,
}

fn parse_bucket(raw: Option<&str>, period: Period) -> Result<Granularity, ApiError> {
    match raw.map(str::trim) {
        None | Some("") if period.duration_ms() <= Period::Week.duration_ms() => {
            Ok(Granularity::Hour)
        }
        None | Some("") => Ok(Granularity::Day),
        Some("1h" | "hour") => Ok(Granularity::Hour),
        Some("1d" | "day") => Ok(Granularity::Day),
        Some(_) => Err(ApiError::invalid_query("bucket", "bucket must be 1h or 1d")),
    }
}

fn bucket_label(g: Granularity) -> &'static str {
    match g {
        Granularity::Hour => "1h",
        Granularity::Day => "1d",
    }
}

/// The buckets of `period` ending with the one holding `now`: `[start, end)`, count.
fn bucket_range(g: Granularity, period: Period, now: UnixMs) -> (UnixMs, UnixMs, i64) {
    let step = g.bucket_ms();
    let start = g.bucket_start(now - period.duration_ms());
    let end = g.bucket_start(now) + step;
    (start, end, (end - start) / step)
}

/// A monitor's statistics per hour or day, for charts (at most 2,000 points).
#[utoipa::path(
    get,
    path = "/api/metrics/{id}/series",
    tag = "metrics",
    operation_id = "monitor_series",
    params(("id" = String, Path, description = "Monitor id"), SeriesQuery),
    responses((status = 200, description = "One point per bucket, oldest first", body = Series)),
)]
pub(crate) async fn series(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<SeriesQuery>,
) -> Result<Json<Series>, ApiError> {
    let period = parse_period(query.period.as_deref())?;
    let granularity = parse_bucket(query.bucket.as_deref(), period)?;
    let (start, end, count) = bucket_range(granularity, period, now_ms());
    if count > MAX_POINTS {
        return Err(ApiError::invalid_query(
            "bucket",
            format!(
                "{} buckets over {} make {count} points (at most {MAX_POINTS}); use a larger bucket",
                bucket_label(granularity),
                period.as_str()
            ),
        ));
    }
    let record = load_visible(&state, &principal, &id).await?;
    let rollups: HashMap<UnixMs, Rollup> = state
        .stores
        .rollups(&record.spec.id, granularity, start, end)
        .await?
        .into_iter()
        .map(|r| (r.bucket_start, r))
        .collect();
    let step = granularity.bucket_ms();
    let points = (0..count)
        .map(|i| {
            let bucket = start + i * step;
            let stats = rollups
                .get(&bucket)
                .map(|r| window_stats(std::slice::from_ref(r)))
                .unwrap_or_default();
            SeriesPoint {
                start: bucket,
                checks: stats.checks,
                up: stats.up,
                uptime_pct: stats.uptime_pct,
                avg_ms: stats.avg_ms,
                p50_ms: stats.p50_ms,
                p95_ms: stats.p95_ms,
            }
        })
        .collect();
    Ok(Json(Series {
        monitor_id: record.spec.id.to_string(),
        period,
        bucket: bucket_label(granularity),
        points,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sentinel_core::{Incident, IncidentId};

    const NOW: UnixMs = 1_700_006_400_000 + 5 * 3_600_000 + 123; // 05:00:00.123 UTC

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = encode_cursor(1_700_000_000_123);
        assert_eq!(decode_cursor(&c).unwrap(), 1_700_000_000_123);
        for bad in ["", "!!!", "eA", &URL_SAFE_NO_PAD.encode("12a")] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_are_milliseconds_or_rfc3339() {
        assert_eq!(
            parse_time("from", "1700000000000").unwrap(),
            1_700_000_000_000
        );
        assert_eq!(
            parse_time("from", "2023-11-14T22:13:20Z").unwrap(),
            1_700_000_000_000
        );
        assert_eq!(
            parse_time("from", "2023-11-14T22:13:20.5Z").unwrap(),
            1_700_000_000_500
        );
        for bad in ["yesterday", "-5", "99999999999999999999", ""] {
            assert!(parse_time("from", bad).is_err(), "{bad}");
        }
        assert_eq!(iso(1_700_000_000_500), "2023-11-14T22:13:20.500Z");
    }

    #[test]
    fn series_bucket_counts_follow_period_and_bucket() {
        let cases = [
            (Granularity::Hour, Period::Day, 25),
            (Granularity::Hour, Period::Week, 169),
            (Granularity::Hour, Period::Month, 721),
            (Granularity::Hour, Period::Quarter, 2161),
            (Granularity::Day, Period::Month, 31),
            (Granularity::Day, Period::Quarter, 91),
        ];
        for (g, p, n) in cases {
            let (start, end, count) = bucket_range(g, p, NOW);
            assert_eq!(count, n, "{g:?} {p:?}");
            assert_eq!(start % g.bucket_ms(), 0);
            assert!(start <= NOW - p.duration_ms() && NOW < end);
        }
        assert_eq!(parse_bucket(None, Period::Week).unwrap(), Granularity::Hour);
        assert_eq!(parse_bucket(None, Period::Month).unwrap(), Granularity::Day);
        assert!(parse_bucket(Some("5m"), Period::Day).is_err());
    }

    #[test]
    fn downtime_counts_only_the_part_inside_the_period() {
        let inc = |start: UnixMs, end: Option<UnixMs>| Incident {
            id: IncidentId(format!("api@{start}")),
            monitor_id: MonitorId::parse("api").unwrap(),
            started_at: start,
            ended_at: end,
            cause: "down".into(),
            proof: vec![],
        };
        let incidents = [
            inc(50, Some(150)),  // straddles `from`: 50 inside
            inc(300, Some(400)), // inside: 100
            inc(900, None),      // open: 100 up to `to`
            inc(10, Some(90)),   // before: ignored
            inc(1000, None),     // starts at `to`: ignored
        ];
        assert_eq!(incident_overlap(&incidents, 100, 1000), (3, 250));
    }
}
