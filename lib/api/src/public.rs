//! Public, read-only routes: health, status JSON and SVG badges of public monitors.

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sentinel_core::badge::Badge;
use sentinel_core::stats::{CheckCounts, DAY_MS, Granularity, Period, Rollup};
use sentinel_core::{LiveState, MonitorId, MonitorSpec, Status, UnixMs};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use crate::groups::metrics::{iso, uptimes, window};
use crate::{ApiError, ApiPath, ApiQuery, AppState, now_ms};

pub const BADGE_CACHE_CONTROL: &str = "public, max-age=60, stale-while-revalidate=300";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/api/public/status", get(status_page))
        .route("/api/public/monitors/{id}/status", get(monitor_status))
        .route("/api/public/monitors/{id}/days", get(monitor_days))
        .route("/api/public/monitors/{id}/badge.svg", get(badge_svg))
        .route("/api/public/monitors/{id}/badge.json", get(badge_json))
        .route("/api/status/{id}", get(status_badge_alias))
        .route("/api/openapi.json", get(crate::openapi::openapi_json))
}

/// `GET /health` body.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok`, or `unavailable` (with 503) when the store cannot be read.
    #[schema(example = "ok")]
    pub status: String,
}

/// Liveness: whether the server can read its store.
#[utoipa::path(
    get,
    path = "/health",
    tag = "public",
    security(()),
    responses(
        (status = 200, description = "Serving", body = Health),
        (status = 503, description = "The store cannot be read", body = Health),
    ),
)]
pub(crate) async fn health(State(state): State<AppState>) -> Response {
    let status = |status: &str| {
        Json(Health {
            status: status.to_owned(),
        })
    };
    match state.stores.list_states().await {
        Ok(_) => status("ok").into_response(),
        Err(e) => {
            tracing::error!(
                error = &e as &dyn std::error::Error,
                "health check: store failed"
            );
            (StatusCode::SERVICE_UNAVAILABLE, status("unavailable")).into_response()
        }
    }
}

/// One monitor on the public status page.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PublicMonitor {
    pub id: String,
    pub name: String,
    pub status: Status,
    /// When the current status began (ms since epoch).
    pub since: Option<UnixMs>,
    pub uptime_24h: Option<f64>,
    pub last_check_at: Option<UnixMs>,
    pub last_response_ms: Option<f64>,
    pub tags: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PublicStatus {
    /// `up` when every public monitor is up, `down` when any is down, else `degraded`
    /// when some are pending/paused, or `unknown` with no monitors.
    pub overall: String,
    pub monitors: Vec<PublicMonitor>,
    /// Sentinel's own health: whether its store answers and its scheduler runs.
    pub system: SystemStatus,
    pub generated_at: UnixMs,
}

/// The seed's system status: components of Sentinel itself.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SystemStatus {
    /// `ok` when every component is ok, else `degraded`.
    pub status: String,
    /// `ok` (it answered this request).
    pub store: String,
    /// `ok` (ticked in the last 30 s), `stalled`, or `not_running` (no scheduler in this
    /// process, e.g. an API-only Lambda).
    pub scheduler: String,
    /// When the scheduler last ticked (ms since epoch).
    pub scheduler_last_tick: Option<UnixMs>,
}

/// A scheduler tick older than this means the scheduler is stuck.
const SCHEDULER_STALL_MS: i64 = 30_000;

type TickFn = std::sync::Arc<dyn Fn() -> Option<i64> + Send + Sync>;

fn system_status(ticks: &Option<TickFn>, now: UnixMs, store_ok: bool) -> SystemStatus {
    let last_tick = ticks.as_ref().and_then(|f| f());
    let scheduler = match (ticks, last_tick) {
        (None, _) => "not_running",
        (Some(_), Some(t)) if now - t <= SCHEDULER_STALL_MS => "ok",
        (Some(_), _) => "stalled",
    };
    let status = if scheduler == "stalled" || !store_ok {
        "degraded"
    } else {
        "ok"
    };
    SystemStatus {
        status: status.to_owned(),
        store: if store_ok { "ok" } else { "unavailable" }.to_owned(),
        scheduler: scheduler.to_owned(),
        scheduler_last_tick: last_tick,
    }
}

async fn public_monitor(state: &AppState, raw_id: &str) -> Result<MonitorSpec, ApiError> {
    let id = MonitorId::parse(raw_id).map_err(|_| ApiError::not_found("monitor"))?;
    match state.stores.get_monitor(&id).await? {
        Some(spec) if spec.public => Ok(spec),
        _ => Err(ApiError::not_found("monitor")),
    }
}

fn describe(spec: &MonitorSpec, live: Option<LiveState>, uptime_24h: Option<f64>) -> PublicMonitor {
    let status = match (&live, spec.paused) {
        (_, true) => Status::Paused,
        (Some(l), false) => l.status,
        (None, false) => Status::Pending,
    };
    PublicMonitor {
        id: spec.id.to_string(),
        name: spec.name.clone(),
        status,
        since: live.as_ref().map(|l| l.since),
        uptime_24h,
        last_check_at: live.as_ref().and_then(|l| l.last_check_at),
        last_response_ms: live.as_ref().and_then(|l| l.last_response_ms),
        tags: spec.tags.clone(),
    }
}

/// The public status page: every public monitor and the overall status.
#[utoipa::path(
    get,
    path = "/api/public/status",
    tag = "public",
    security(()),
    responses(
        (status = 200, description = "Public monitors", body = PublicStatus),
        (status = 503, description = "The store cannot be read: no monitors, `system.store` is `unavailable`", body = PublicStatus),
    ),
)]
pub(crate) async fn status_page(State(state): State<AppState>) -> Response {
    let now = now_ms();
    match public_monitors(&state, now).await {
        Ok(monitors) => Json(public_status(&state, monitors, now, true)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "status page: store failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(public_status(&state, Vec::new(), now, false)),
            )
                .into_response()
        }
    }
}

async fn public_monitors(state: &AppState, now: UnixMs) -> Result<Vec<PublicMonitor>, ApiError> {
    let monitors: Vec<MonitorSpec> = state
        .stores
        .list_monitors()
        .await?
        .into_iter()
        .filter(|m| m.public)
        .collect();
    let mut states: HashMap<MonitorId, LiveState> = state
        .stores
        .list_states()
        .await?
        .into_iter()
        .map(|s| (s.monitor_id.clone(), s))
        .collect();
    let ids: Vec<MonitorId> = monitors.iter().map(|m| m.id.clone()).collect();
    let uptime = uptimes(state, &ids, Period::Day, now).await?;
    Ok(monitors
        .iter()
        .map(|spec| describe(spec, states.remove(&spec.id), uptime.get(&spec.id).copied()))
        .collect())
}

fn public_status(
    state: &AppState,
    monitors: Vec<PublicMonitor>,
    now: UnixMs,
    store_ok: bool,
) -> PublicStatus {
    let overall = if monitors.is_empty() {
        "unknown"
    } else if monitors.iter().any(|m| m.status == Status::Down) {
        "down"
    } else if monitors.iter().all(|m| m.status == Status::Up) {
        "up"
    } else {
        "degraded"
    };
    PublicStatus {
        overall: overall.to_owned(),
        monitors,
        system: system_status(&state.last_tick, now, store_ok),
        generated_at: now,
    }
}

/// One public monitor's status.
#[utoipa::path(
    get,
    path = "/api/public/monitors/{id}/status",
    tag = "public",
    security(()),
    params(MonitorIdParam),
    responses(
        (status = 200, description = "The monitor", body = PublicMonitor),
        (status = 404, response = crate::openapi::NotFound),
    ),
)]
pub(crate) async fn monitor_status(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<PublicMonitor>, ApiError> {
    let spec = public_monitor(&state, &id).await?;
    let live = state.stores.get_state(&spec.id).await?;
    let uptime = uptimes(
        &state,
        std::slice::from_ref(&spec.id),
        Period::Day,
        now_ms(),
    )
    .await?;
    Ok(Json(describe(&spec, live, uptime.get(&spec.id).copied())))
}

/// One UTC day of a public monitor, for uptime bars.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DayUptime {
    /// `YYYY-MM-DD` (UTC).
    #[schema(example = "2026-11-25")]
    pub date: String,
    /// Start of the day (ms since epoch).
    pub start: UnixMs,
    pub checks: u64,
    pub up: u64,
    /// `null` when there were no checks that day.
    pub uptime_pct: Option<f64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MonitorDays {
    pub monitor_id: String,
    /// Oldest first, exactly `days` entries, the last one today (so far).
    pub days: Vec<DayUptime>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DaysQuery {
    /// How many days back, today included: 1 to 90 (default 90).
    #[param(minimum = 1, maximum = 90)]
    days: Option<String>,
}

const MAX_DAYS: i64 = 90;

/// Daily uptime of a public monitor over the last `days` UTC days, from daily rollups.
#[utoipa::path(
    get,
    path = "/api/public/monitors/{id}/days",
    tag = "public",
    security(()),
    params(MonitorIdParam, DaysQuery),
    responses(
        (status = 200, description = "Daily uptime, oldest first", body = MonitorDays),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 404, response = crate::openapi::NotFound),
    ),
)]
pub(crate) async fn monitor_days(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<DaysQuery>,
) -> Result<Json<MonitorDays>, ApiError> {
    let days = match query.days.as_deref().map(str::trim) {
        None => MAX_DAYS,
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=MAX_DAYS).contains(d))
            .ok_or_else(|| {
                ApiError::invalid_query("days", "days must be a whole number from 1 to 90")
            })?,
    };
    let spec = public_monitor(&state, &id).await?;
    let today = Granularity::Day.bucket_start(now_ms());
    let first = today - (days - 1) * DAY_MS;
    let rollups: HashMap<UnixMs, Rollup> = state
        .stores
        .rollups(&spec.id, Granularity::Day, first, today + DAY_MS)
        .await?
        .into_iter()
        .map(|r| (r.bucket_start, r))
        .collect();
    let days = (0..days)
        .map(|i| {
            let start = first + i * DAY_MS;
            let counts = rollups
                .get(&start)
                .map_or(CheckCounts::default(), |r| CheckCounts {
                    checks: r.checks,
                    up: r.up,
                });
            DayUptime {
                date: iso(start).chars().take(10).collect(),
                start,
                checks: counts.checks,
                up: counts.up,
                uptime_pct: counts.uptime_pct(),
            }
        })
        .collect();
    Ok(Json(MonitorDays {
        monitor_id: spec.id.to_string(),
        days,
    }))
}

/// The `{id}` of a public monitor.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // documentation only
pub struct MonitorIdParam {
    /// Monitor id (a public monitor; others answer 404).
    #[param(example = "web")]
    id: String,
}

/// `If-None-Match` of cacheable responses.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // documentation only
pub struct ConditionalGet {
    /// An `ETag` from an earlier response: 304 when it still matches.
    #[param(rename = "If-None-Match", nullable = false)]
    if_none_match: Option<String>,
}

/// What a badge shows.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // documentation only
pub enum BadgeKind {
    Status,
    Uptime,
    Response,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BadgeQuery {
    /// `status` (default), `uptime` or `response` (average response time).
    #[param(value_type = Option<BadgeKind>, inline)]
    kind: Option<String>,
    /// Window of `uptime` and `response` badges (default `24h`).
    #[param(value_type = Option<Period>, inline)]
    period: Option<String>,
    /// Left-hand text (default: the monitor's name, `uptime 24h` or `response time`).
    #[param(max_length = 64)]
    label: Option<String>,
}

async fn build_badge(state: &AppState, id: &str, query: &BadgeQuery) -> Result<Badge, ApiError> {
    let period = match query.period.as_deref() {
        None => Period::Day,
        Some(raw) => Period::parse(raw).ok_or_else(|| {
            ApiError::invalid_query("period", "period must be 24h, 7d, 30d or 90d")
        })?,
    };
    let kind = query.kind.as_deref().unwrap_or("status");
    if !matches!(kind, "status" | "uptime" | "response") {
        return Err(ApiError::invalid_query(
            "kind",
            "kind must be status, uptime or response",
        ));
    }
    if let Some(label) = &query.label
        && label.chars().count() > 64
    {
        return Err(ApiError::invalid_query(
            "label",
            "label must be at most 64 characters",
        ));
    }
    let spec = public_monitor(state, id).await?;
    let now = now_ms();
    Ok(match kind {
        "uptime" => {
            let label = query
                .label
                .clone()
                .unwrap_or_else(|| Badge::default_uptime_label(period));
            let uptime = uptimes(state, std::slice::from_ref(&spec.id), period, now).await?;
            Badge::uptime(&label, period, uptime.get(&spec.id).copied())
        }
        "response" => {
            let label = query.label.as_deref().unwrap_or("response time");
            let stats = window(state, &spec.id, period, now).await?;
            Badge::response_time(label, stats.avg_ms)
        }
        _ => {
            let label = query.label.as_deref().unwrap_or(&spec.name);
            let status = if spec.paused {
                Status::Paused
            } else {
                state
                    .stores
                    .get_state(&spec.id)
                    .await?
                    .map_or(Status::Pending, |s| s.status)
            };
            Badge::status(label, status)
        }
    })
}

/// A cacheable response with a strong ETag; answers 304 when the client has it.
pub(crate) fn cached(
    headers: &HeaderMap,
    content_type: &'static str,
    cache_control: &'static str,
    body: Vec<u8>,
) -> Response {
    let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&body))[..32]);
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    let h = response.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    response
}

/// A shields.io-style SVG badge of a public monitor.
#[utoipa::path(
    get,
    path = "/api/public/monitors/{id}/badge.svg",
    tag = "public",
    security(()),
    params(MonitorIdParam, BadgeQuery, ConditionalGet),
    responses(
        (status = 200, description = "The badge", content_type = "image/svg+xml", body = String),
        (status = 304, description = "Not modified (the `If-None-Match` tag matches)"),
        (status = 404, response = crate::openapi::NotFound),
    ),
)]
pub(crate) async fn badge_svg(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<BadgeQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let badge = build_badge(&state, &id, &query).await?;
    Ok(cached(
        &headers,
        "image/svg+xml; charset=utf-8",
        BADGE_CACHE_CONTROL,
        badge.to_svg().into_bytes(),
    ))
}

/// A badge as shields.io endpoint JSON.
#[utoipa::path(
    get,
    path = "/api/public/monitors/{id}/badge.json",
    tag = "public",
    security(()),
    params(MonitorIdParam, BadgeQuery, ConditionalGet),
    responses(
        (status = 200, description = "The badge", body = Badge),
        (status = 304, description = "Not modified (the `If-None-Match` tag matches)"),
        (status = 404, response = crate::openapi::NotFound),
    ),
)]
pub(crate) async fn badge_json(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<BadgeQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let badge = build_badge(&state, &id, &query).await?;
    let body = serde_json::to_vec(&badge).unwrap_or_default();
    Ok(cached(
        &headers,
        "application/json",
        BADGE_CACHE_CONTROL,
        body,
    ))
}

/// The status badge (SVG) under its HeartBeat path.
#[utoipa::path(
    get,
    path = "/api/status/{id}",
    tag = "public",
    security(()),
    params(MonitorIdParam, ConditionalGet),
    responses(
        (status = 200, description = "The badge", content_type = "image/svg+xml", body = String),
        (status = 304, description = "Not modified (the `If-None-Match` tag matches)"),
        (status = 404, response = crate::openapi::NotFound),
    ),
)]
pub(crate) async fn status_badge_alias(
    state: State<AppState>,
    id: ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let query = BadgeQuery {
        kind: Some("status".into()),
        period: None,
        label: None,
    };
    badge_svg(state, id, ApiQuery(query), headers).await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn with_tick(tick: Option<Option<i64>>) -> SystemStatus {
        let ticks = tick.map(|t| Arc::new(move || t) as TickFn);
        system_status(&ticks, 100_000, true)
    }

    #[test]
    fn the_scheduler_is_ok_stalled_or_not_running() {
        let ok = with_tick(Some(Some(100_000 - 5_000)));
        assert_eq!((ok.scheduler.as_str(), ok.status.as_str()), ("ok", "ok"));
        let stalled = with_tick(Some(Some(100_000 - 31_000)));
        assert_eq!(
            (stalled.scheduler.as_str(), stalled.status.as_str()),
            ("stalled", "degraded")
        );
        let never = with_tick(Some(None));
        assert_eq!(
            never.scheduler, "stalled",
            "a scheduler that never ticked is stuck"
        );
        let none = with_tick(None);
        assert_eq!(
            (none.scheduler.as_str(), none.status.as_str()),
            ("not_running", "ok")
        );
    }

    #[test]
    fn an_unreadable_store_degrades_the_system() {
        let status = system_status(&None, 0, false);
        assert_eq!(
            (status.store.as_str(), status.status.as_str()),
            ("unavailable", "degraded")
        );
    }
}
