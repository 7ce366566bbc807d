//! Route group `monitors`: list, create, read, change and delete monitors; pause and
//! resume; "check now" and "test before saving"; a monitor's incidents.
//!
//! Visibility follows [`Principal`]: a `user` sees its own monitors (another's answer
//! 404), `admin` and `monitor` see all; only owners and admins change them, and
//! monitors from the config file are read-only here (403 `read_only_monitor`).

use std::collections::{HashMap, HashSet};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use sentinel_core::check::judge;
use sentinel_core::monitor::MonitorInput;
use sentinel_core::stats::Period;
use sentinel_core::{CheckResult, Incident, LiveState, MonitorId, MonitorSpec, Status, UnixMs};
use sentinel_store::{MonitorOrigin, MonitorRecord};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::extract::parse_json;
use crate::groups::metrics::uptimes;
use crate::{ApiError, ApiJson, ApiPath, ApiQuery, AppState, Principal, now_ms};

/// `POST /api/monitors/test` is a static route beside `/api/monitors/{id}`, so a monitor
/// whose id is `test` is reached through aliases on the static path.
const TEST_ID: &str = "test";
const DEFAULT_INCIDENTS: usize = 50;
const MAX_INCIDENTS: usize = 500;
/// How many `-2`, `-3`, … suffixes are tried when an id derived from the name is taken.
const MAX_ID_SUFFIX: u32 = 100;
const MASK: &str = "****";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/monitors", get(list).post(create))
        .route(
            "/api/monitors/test",
            post(test_input)
                .get(get_test_alias)
                .patch(update_test_alias)
                .delete(delete_test_alias),
        )
        .route(
            "/api/monitors/{id}",
            get(get_one).patch(update).delete(remove),
        )
        .route("/api/monitors/{id}/pause", post(pause))
        .route("/api/monitors/{id}/resume", post(resume))
        .route("/api/monitors/{id}/check", post(check_now))
        .route("/api/monitors/{id}/incidents", get(incidents))
}

// ---- loading and access ------------------------------------------------------------

/// A monitor with its ownership. Config monitors that have no record are owned by the
/// admins (`owner: None`).
fn config_record(spec: MonitorSpec) -> MonitorRecord {
    MonitorRecord {
        spec,
        owner: None,
        origin: MonitorOrigin::Config,
        created_at: 0,
        updated_at: 0,
    }
}

/// The monitor `raw_id` if it exists and `principal` may see it; else 404. The spec
/// comes from the monitor store (what the scheduler runs), ownership from the records.
pub(crate) async fn load_visible(
    state: &AppState,
    principal: &Principal,
    raw_id: &str,
) -> Result<MonitorRecord, ApiError> {
    let id = MonitorId::parse(raw_id).map_err(|_| ApiError::not_found("monitor"))?;
    let Some(spec) = state.stores.get_monitor(&id).await? else {
        return Err(ApiError::not_found("monitor"));
    };
    let record = match state.accounts.get_monitor_record(&id).await? {
        Some(record) => MonitorRecord { spec, ..record },
        None => config_record(spec),
    };
    if principal.can_see(record.owner.as_ref()) {
        Ok(record)
    } else {
        Err(ApiError::not_found("monitor"))
    }
}

/// Like [`load_visible`], and the principal may change it (403 otherwise, incl. for
/// config monitors).
async fn load_modifiable(
    state: &AppState,
    principal: &Principal,
    raw_id: &str,
) -> Result<MonitorRecord, ApiError> {
    let record = load_visible(state, principal, raw_id).await?;
    principal.require_write()?;
    if record.origin == MonitorOrigin::Config {
        return Err(ApiError::Forbidden {
            code: "read_only_monitor",
            message: "this monitor comes from the config file; change it there".into(),
        });
    }
    principal.require_modify(record.owner.as_ref())?;
    Ok(record)
}

fn may_modify(principal: &Principal, record: &MonitorRecord) -> bool {
    record.origin == MonitorOrigin::Api && principal.require_modify(record.owner.as_ref()).is_ok()
}

/// Stores a record in both ports (ownership, and the spec the scheduler reads) and
/// tells the engine.
async fn save(state: &AppState, record: &MonitorRecord) -> Result<(), ApiError> {
    state.accounts.save_monitor_record(record).await?;
    state.stores.upsert_monitor(&record.spec).await?;
    state.events.upserted(&record.spec);
    Ok(())
}

// ---- request bodies ------------------------------------------------------------------

/// Deserializes a JSON value into `T` with the body rules of [`ApiJson`]: 400
/// `invalid_input` naming the field at fault.
pub(crate) fn from_json<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    let bytes = serde_json::to_vec(&value)
        .map_err(|e| ApiError::Internal(format!("cannot re-encode a JSON body: {e}")))?;
    parse_json(&bytes).map_err(name_the_field)
}

/// Internally tagged enums (alert channel configs) buffer their content, so serde's
/// path stops at the body: take the field from the message instead.
fn name_the_field(err: ApiError) -> ApiError {
    let ApiError::Validation(mut errors) = err else {
        return err;
    };
    for e in &mut errors.errors {
        if e.field != "body" {
            continue;
        }
        if let Some(name) = quoted_after(&e.message, "unknown field `") {
            e.field = name;
        } else if e.message.starts_with("unknown variant") {
            e.field = "type".to_owned();
        }
    }
    ApiError::Validation(errors)
}

fn quoted_after(text: &str, prefix: &str) -> Option<String> {
    let (_, rest) = text.split_once(prefix)?;
    let (name, _) = rest.split_once('`')?;
    (!name.is_empty()).then(|| name.to_owned())
}

fn body_object(body: Value) -> Result<serde_json::Map<String, Value>, ApiError> {
    match body {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::BadRequest {
            code: "invalid_input",
            message: "the body must be a JSON object".into(),
            field: None,
        }),
    }
}

// ---- responses -----------------------------------------------------------------------

/// A monitor as the API shows it: its editable fields (the same names as the create
/// body), ownership and live status.
#[derive(Debug, Serialize, ToSchema)]
pub struct MonitorView {
    #[serde(flatten)]
    pub input: MonitorInput,
    pub origin: MonitorOrigin,
    pub owner: Option<String>,
    /// Whether the caller may not change it (config monitor, read-only role or key,
    /// another user's monitor seen by the monitor role).
    pub read_only: bool,
    pub status: Status,
    /// When the current status began (ms since epoch).
    pub since: Option<UnixMs>,
    pub uptime_24h: Option<f64>,
    pub last_check_at: Option<UnixMs>,
    pub last_success: Option<bool>,
    pub last_response_ms: Option<f64>,
    pub last_failure_reason: Option<String>,
    pub open_incident: Option<String>,
    pub created_at: UnixMs,
    pub updated_at: UnixMs,
}

/// Header values and the URL password can hold credentials: shown only to those who may
/// change the monitor.
fn masked_input(spec: &MonitorSpec) -> MonitorInput {
    let mut input = spec.to_input();
    for value in input.headers.values_mut() {
        *value = MASK.to_owned();
    }
    let mut url = spec.url.as_url().clone();
    if url.password().is_some() {
        let _ = url.set_password(Some(MASK));
        input.url = Some(url.into());
    }
    input
}

fn view(
    principal: &Principal,
    record: &MonitorRecord,
    live: Option<&LiveState>,
    uptime_24h: Option<f64>,
) -> MonitorView {
    let writable = may_modify(principal, record);
    let status = status_of(&record.spec, live);
    MonitorView {
        input: if writable {
            record.spec.to_input()
        } else {
            masked_input(&record.spec)
        },
        origin: record.origin,
        owner: record.owner.as_ref().map(|o| o.0.clone()),
        read_only: !writable,
        status,
        since: live.map(|l| l.since),
        uptime_24h,
        last_check_at: live.and_then(|l| l.last_check_at),
        last_success: live.and_then(|l| l.last_success),
        last_response_ms: live.and_then(|l| l.last_response_ms),
        last_failure_reason: live.and_then(|l| l.last_failure_reason.clone()),
        open_incident: live.and_then(|l| l.open_incident.as_ref().map(|i| i.0.clone())),
        created_at: record.created_at,
        updated_at: record.updated_at,
    }
}

/// Paused specs are paused whatever the live state says (the engine may not have
/// caught up yet); a monitor never checked is pending.
fn status_of(spec: &MonitorSpec, live: Option<&LiveState>) -> Status {
    match (live, spec.paused) {
        (_, true) => Status::Paused,
        (Some(l), false) => l.status,
        (None, false) => Status::Pending,
    }
}

async fn view_one(
    state: &AppState,
    principal: &Principal,
    record: &MonitorRecord,
) -> Result<MonitorView, ApiError> {
    let live = state.stores.get_state(&record.spec.id).await?;
    let id = std::slice::from_ref(&record.spec.id);
    let uptime = uptimes(state, id, Period::Day, now_ms()).await?;
    Ok(view(
        principal,
        record,
        live.as_ref(),
        uptime.get(&record.spec.id).copied(),
    ))
}

// ---- list and create -----------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only monitors with this tag.
    tag: Option<String>,
    /// Only monitors with this status.
    #[param(value_type = Option<Status>, inline)]
    status: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MonitorList {
    pub monitors: Vec<MonitorView>,
}

fn parse_status(raw: &str) -> Result<Status, ApiError> {
    Ok(match raw {
        "pending" => Status::Pending,
        "up" => Status::Up,
        "down" => Status::Down,
        "paused" => Status::Paused,
        _ => {
            return Err(ApiError::invalid_query(
                "status",
                "status must be pending, up, down or paused",
            ));
        }
    })
}

/// The monitors the caller may see (own for `user`, all for `admin` and `monitor`),
/// with live status and 24 h uptime.
#[utoipa::path(
    get,
    path = "/api/monitors",
    tag = "monitors",
    operation_id = "list_monitors",
    params(ListQuery),
    responses((status = 200, description = "Monitors, by id", body = MonitorList)),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<MonitorList>, ApiError> {
    let wanted_status = query.status.as_deref().map(parse_status).transpose()?;
    let all = principal.role.reads_everything();
    let owner_filter = (!all).then_some(&principal.user_id);
    let mut records = state.accounts.list_monitor_records(owner_filter).await?;
    if all {
        // Adapters that keep config monitors apart from the records: add those.
        let known: HashSet<MonitorId> = records.iter().map(|r| r.spec.id.clone()).collect();
        for spec in state.stores.list_monitors().await? {
            if !known.contains(&spec.id) {
                records.push(config_record(spec));
            }
        }
        records.sort_by(|a, b| a.spec.id.cmp(&b.spec.id));
    }
    let states: HashMap<MonitorId, LiveState> = state
        .stores
        .list_states()
        .await?
        .into_iter()
        .map(|s| (s.monitor_id.clone(), s))
        .collect();
    records.retain(|record| {
        principal.can_see(record.owner.as_ref())
            && query
                .tag
                .as_ref()
                .is_none_or(|tag| record.spec.tags.iter().any(|t| t == tag))
            && wanted_status
                .is_none_or(|s| s == status_of(&record.spec, states.get(&record.spec.id)))
    });
    let ids: Vec<MonitorId> = records.iter().map(|r| r.spec.id.clone()).collect();
    let uptime = uptimes(&state, &ids, Period::Day, now_ms()).await?;
    let monitors = records
        .iter()
        .map(|record| {
            let id = &record.spec.id;
            view(&principal, record, states.get(id), uptime.get(id).copied())
        })
        .collect();
    Ok(Json(MonitorList { monitors }))
}

async fn id_taken(state: &AppState, id: &MonitorId) -> Result<bool, ApiError> {
    Ok(state.stores.get_monitor(id).await?.is_some()
        || state.accounts.get_monitor_record(id).await?.is_some())
}

/// `base-2`, `base-3`, … within the 64-character limit.
fn suffixed(base: &MonitorId, n: u32) -> Option<MonitorId> {
    let suffix = format!("-{n}");
    let keep = 64usize.saturating_sub(suffix.len());
    let stem: String = base.as_str().chars().take(keep).collect();
    MonitorId::parse(&format!("{stem}{suffix}")).ok()
}

/// Create a monitor owned by the caller. The id is derived from the name unless given;
/// a derived id that is taken gets a `-2`, `-3`, ... suffix, a given one answers 409.
#[utoipa::path(
    post,
    path = "/api/monitors",
    tag = "monitors",
    operation_id = "create_monitor",
    request_body = MonitorInput,
    responses(
        (status = 201, description = "Created", body = MonitorView),
        (status = 409, response = crate::openapi::Conflict),
    ),
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(input): ApiJson<MonitorInput>,
) -> Result<(StatusCode, Json<MonitorView>), ApiError> {
    principal.require_write()?;
    let explicit_id = input.id.is_some();
    let mut spec = input.validate().map_err(ApiError::Validation)?;
    if spec.public {
        require_public_rights(&principal)?;
    }
    if id_taken(&state, &spec.id).await? {
        if explicit_id {
            return Err(ApiError::Conflict {
                code: "monitor_exists",
                message: format!("a monitor with id {} already exists", spec.id),
                field: Some("id".into()),
            });
        }
        // A derived id: the name is what the user chose, so find a free variant.
        let mut free = None;
        for n in 2..=MAX_ID_SUFFIX {
            if let Some(candidate) = suffixed(&spec.id, n)
                && !id_taken(&state, &candidate).await?
            {
                free = Some(candidate);
                break;
            }
        }
        spec.id = free.ok_or_else(|| ApiError::Conflict {
            code: "monitor_exists",
            message: format!("the id {} is taken; set an id explicitly", spec.id),
            field: Some("id".into()),
        })?;
    }
    let now = now_ms();
    let record = MonitorRecord {
        spec,
        owner: Some(principal.user_id.clone()),
        origin: MonitorOrigin::Api,
        created_at: now,
        updated_at: now,
    };
    save(&state, &record).await?;
    tracing::info!(monitor_id = %record.spec.id, user_id = %principal.user_id.0, "monitor created");
    Ok((
        StatusCode::CREATED,
        Json(view(&principal, &record, None, None)),
    ))
}

// ---- one monitor ---------------------------------------------------------------------

async fn get_one_inner(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<Json<MonitorView>, ApiError> {
    let record = load_visible(state, principal, id).await?;
    Ok(Json(view_one(state, principal, &record).await?))
}

/// One monitor.
#[utoipa::path(
    get,
    path = "/api/monitors/{id}",
    tag = "monitors",
    operation_id = "get_monitor",
    params(("id" = String, Path, description = "Monitor id")),
    responses((status = 200, description = "The monitor", body = MonitorView)),
)]
pub(crate) async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<MonitorView>, ApiError> {
    get_one_inner(&state, &principal, &id).await
}

/// The monitor whose id is `test` (the path is shared with "test before saving").
#[utoipa::path(
    get,
    path = "/api/monitors/test",
    tag = "monitors",
    operation_id = "get_monitor_test",
    responses(
        (status = 200, description = "The monitor", body = MonitorView),
        (status = 404, response = crate::openapi::NotFound),
    ),
)]
pub(crate) async fn get_test_alias(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<MonitorView>, ApiError> {
    get_one_inner(&state, &principal, TEST_ID).await
}

/// The public status page and badges belong to the instance: only admins put monitors
/// on them.
fn require_public_rights(principal: &Principal) -> Result<(), ApiError> {
    if principal.role.is_admin() {
        Ok(())
    } else {
        Err(ApiError::Forbidden {
            code: "public_requires_admin",
            message: "only admins can make a monitor public".into(),
        })
    }
}

/// Merges the given fields over the stored monitor (JSON merge-patch: `null` resets a
/// field to its default) and validates the result as a whole.
fn merge_patch(spec: &MonitorSpec, patch: Value) -> Result<MonitorSpec, ApiError> {
    let patch = body_object(patch)?;
    if let Some(id) = patch.get("id")
        && id.as_str() != Some(spec.id.as_str())
    {
        return Err(ApiError::invalid_field("id", "cannot be changed"));
    }
    let mut merged = match serde_json::to_value(spec.to_input()) {
        Ok(Value::Object(map)) => map,
        _ => return Err(ApiError::Internal("monitor input is not an object".into())),
    };
    for (key, value) in patch {
        if value.is_null() {
            merged.remove(&key);
        } else {
            merged.insert(key, value);
        }
    }
    let input: MonitorInput = from_json(Value::Object(merged))?;
    input.validate().map_err(ApiError::Validation)
}

async fn update_inner(
    state: &AppState,
    principal: &Principal,
    id: &str,
    body: Value,
) -> Result<Json<MonitorView>, ApiError> {
    let mut record = load_modifiable(state, principal, id).await?;
    let was_public = record.spec.public;
    record.spec = merge_patch(&record.spec, body)?;
    if record.spec.public && !was_public {
        require_public_rights(principal)?;
    }
    record.updated_at = now_ms();
    save(state, &record).await?;
    Ok(Json(view_one(state, principal, &record).await?))
}

/// Change a monitor: the given fields are merged over the stored ones (`null` resets a
/// field to its default) and the result is validated as a whole. The id cannot change.
#[utoipa::path(
    patch,
    path = "/api/monitors/{id}",
    tag = "monitors",
    operation_id = "update_monitor",
    params(("id" = String, Path, description = "Monitor id")),
    request_body(content = MonitorInput, description = "Only the fields to change"),
    responses((status = 200, description = "The changed monitor", body = MonitorView)),
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<MonitorView>, ApiError> {
    update_inner(&state, &principal, &id, body).await
}

/// Change the monitor whose id is `test`.
#[utoipa::path(
    patch,
    path = "/api/monitors/test",
    tag = "monitors",
    operation_id = "update_monitor_test",
    request_body(content = MonitorInput, description = "Only the fields to change"),
    responses(
        (status = 200, description = "The changed monitor", body = MonitorView),
        (status = 404, response = crate::openapi::NotFound),
    ),
)]
pub(crate) async fn update_test_alias(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<MonitorView>, ApiError> {
    update_inner(&state, &principal, TEST_ID, body).await
}

async fn remove_inner(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<StatusCode, ApiError> {
    let record = load_modifiable(state, principal, id).await?;
    let id = &record.spec.id;
    state.stores.delete_monitor(id).await?;
    state.stores.delete_state(id).await?;
    state.events.removed(id);
    tracing::info!(monitor_id = %id, user_id = %principal.user_id.0, "monitor deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Delete a monitor (its ping log stays until pruned).
#[utoipa::path(
    delete,
    path = "/api/monitors/{id}",
    tag = "monitors",
    operation_id = "delete_monitor",
    params(("id" = String, Path, description = "Monitor id")),
    responses((status = 204, description = "Deleted")),
)]
pub(crate) async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    remove_inner(&state, &principal, &id).await
}

/// Delete the monitor whose id is `test`.
#[utoipa::path(
    delete,
    path = "/api/monitors/test",
    tag = "monitors",
    operation_id = "delete_monitor_test",
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, response = crate::openapi::NotFound),
    ),
)]
pub(crate) async fn delete_test_alias(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<StatusCode, ApiError> {
    remove_inner(&state, &principal, TEST_ID).await
}

async fn set_paused(
    state: &AppState,
    principal: &Principal,
    id: &str,
    paused: bool,
) -> Result<Json<MonitorView>, ApiError> {
    let mut record = load_modifiable(state, principal, id).await?;
    if record.spec.paused != paused {
        record.spec.paused = paused;
        record.updated_at = now_ms();
        save(state, &record).await?;
    }
    Ok(Json(view_one(state, principal, &record).await?))
}

/// Pause a monitor: no checks, no alerts, status `paused`.
#[utoipa::path(
    post,
    path = "/api/monitors/{id}/pause",
    tag = "monitors",
    operation_id = "pause_monitor",
    params(("id" = String, Path, description = "Monitor id")),
    responses((status = 200, description = "The paused monitor", body = MonitorView)),
)]
pub(crate) async fn pause(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<MonitorView>, ApiError> {
    set_paused(&state, &principal, &id, true).await
}

/// Resume a paused monitor (it starts again from `pending`).
#[utoipa::path(
    post,
    path = "/api/monitors/{id}/resume",
    tag = "monitors",
    operation_id = "resume_monitor",
    params(("id" = String, Path, description = "Monitor id")),
    responses((status = 200, description = "The resumed monitor", body = MonitorView)),
)]
pub(crate) async fn resume(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<MonitorView>, ApiError> {
    set_paused(&state, &principal, &id, false).await
}

// ---- checks --------------------------------------------------------------------------

async fn run_once(state: &AppState, spec: &MonitorSpec) -> CheckResult {
    let outcome = state.prober.check(spec, now_ms()).await;
    judge(spec, &outcome)
}

/// Run the monitor once now and return the judged result; nothing is recorded. Needs
/// the right to change the monitor (it makes the server send a request).
#[utoipa::path(
    post,
    path = "/api/monitors/{id}/check",
    tag = "monitors",
    operation_id = "check_monitor",
    params(("id" = String, Path, description = "Monitor id")),
    responses((status = 200, description = "The check's outcome", body = CheckResult)),
)]
pub(crate) async fn check_now(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CheckResult>, ApiError> {
    let record = load_visible(&state, &principal, &id).await?;
    principal.require_modify(record.owner.as_ref())?;
    Ok(Json(run_once(&state, &record.spec).await))
}

/// Validate a monitor body and run it once without saving ("test before saving");
/// `name` may be left out.
#[utoipa::path(
    post,
    path = "/api/monitors/test",
    tag = "monitors",
    operation_id = "test_monitor",
    request_body = MonitorInput,
    responses((status = 200, description = "The check's outcome", body = CheckResult)),
)]
pub(crate) async fn test_input(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(mut input): ApiJson<MonitorInput>,
) -> Result<Json<CheckResult>, ApiError> {
    principal.require_write()?;
    if input.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
        input.name = Some(TEST_ID.to_owned());
    }
    if input.id.is_none() {
        input.id = Some(TEST_ID.to_owned());
    }
    let spec = input.validate().map_err(ApiError::Validation)?;
    Ok(Json(run_once(&state, &spec).await))
}

// ---- incidents -----------------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LimitQuery {
    /// At most this many (1 to 500, default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    limit: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentList {
    pub incidents: Vec<Incident>,
}

pub(crate) fn parse_limit(
    raw: Option<&str>,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    match raw {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                ApiError::invalid_query("limit", format!("limit must be a number from 1 to {max}"))
            }),
    }
}

/// A monitor's incidents, newest first.
#[utoipa::path(
    get,
    path = "/api/monitors/{id}/incidents",
    tag = "monitors",
    operation_id = "list_monitor_incidents",
    params(("id" = String, Path, description = "Monitor id"), LimitQuery),
    responses((status = 200, description = "Incidents, newest first", body = IncidentList)),
)]
pub(crate) async fn incidents(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<LimitQuery>,
) -> Result<Json<IncidentList>, ApiError> {
    let limit = parse_limit(query.limit.as_deref(), DEFAULT_INCIDENTS, MAX_INCIDENTS)?;
    let record = load_visible(&state, &principal, &id).await?;
    let incidents = state.stores.list_incidents(&record.spec.id, limit).await?;
    Ok(Json(IncidentList { incidents }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> MonitorSpec {
        MonitorInput {
            name: Some("API".into()),
            url: Some("https://user:pw@example.com/health".into()),
            headers: [("Authorization".to_owned(), "Bearer s3cret".to_owned())].into(),
            tags: vec!["prod".into()],
            ..MonitorInput::default()
        }
        .validate()
        .unwrap()
    }

    fn field_of(err: ApiError) -> Option<String> {
        match err {
            ApiError::Validation(e) => e.errors.first().map(|e| e.field.clone()),
            ApiError::BadRequest { field, .. } => field,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn body_errors_name_the_field() {
        let unknown = from_json::<MonitorInput>(serde_json::json!({"name": "a", "owner": "u"}));
        assert_eq!(field_of(unknown.unwrap_err()).as_deref(), Some("owner"));
        let wrong_type =
            from_json::<MonitorInput>(serde_json::json!({"name": "a", "failure_threshold": "x"}));
        assert_eq!(
            field_of(wrong_type.unwrap_err()).as_deref(),
            Some("failure_threshold")
        );
        let not_object = from_json::<MonitorInput>(serde_json::json!([1]));
        assert!(not_object.is_err());
    }

    #[test]
    fn a_patch_merges_over_the_stored_monitor_and_revalidates() {
        let spec = spec();
        let patched =
            merge_patch(&spec, serde_json::json!({"interval": "5m", "tags": null})).unwrap();
        assert_eq!(patched.interval.as_secs(), 300);
        assert!(patched.tags.is_empty());
        assert_eq!(patched.url, spec.url);
        assert_eq!(patched.headers, spec.headers);

        let bad = merge_patch(&spec, serde_json::json!({"interval": "1s"})).unwrap_err();
        assert_eq!(field_of(bad).as_deref(), Some("interval"));
        let renamed = merge_patch(&spec, serde_json::json!({"id": "other"})).unwrap_err();
        assert_eq!(field_of(renamed).as_deref(), Some("id"));
        let same_id = merge_patch(&spec, serde_json::json!({"id": "api", "name": "New"}));
        assert_eq!(same_id.unwrap().name, "New");
    }

    #[test]
    fn credentials_are_masked_for_read_only_viewers() {
        let input = masked_input(&spec());
        assert_eq!(input.headers["Authorization"], MASK);
        let url = input.url.unwrap();
        assert!(!url.contains("pw"), "{url}");
        assert!(url.contains("user:****@"), "{url}");
    }

    #[test]
    fn suffixed_ids_stay_within_the_limit() {
        let long = MonitorId::parse(&"a".repeat(64)).unwrap();
        let s = suffixed(&long, 12).unwrap();
        assert_eq!(s.as_str().len(), 64);
        assert!(s.as_str().ends_with("-12"));
        assert_eq!(
            suffixed(&MonitorId::parse("api").unwrap(), 2)
                .unwrap()
                .as_str(),
            "api-2"
        );
    }

    #[test]
    fn limits_are_checked() {
        assert_eq!(parse_limit(None, 50, 500).unwrap(), 50);
        assert_eq!(parse_limit(Some("500"), 50, 500).unwrap(), 500);
        for bad in ["0", "501", "-1", "x", ""] {
            assert!(parse_limit(Some(bad), 50, 500).is_err(), "{bad}");
        }
    }
}
