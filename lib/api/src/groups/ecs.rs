//! Route group `ecs`: the AWS accounts Sentinel watches, what the last collections saw
//! (clusters, services, CPU and memory history), a refresh on demand, and the view's
//! settings.
//!
//! Access: `admin` everything; `monitor` (and API keys of either) every read; `user`
//! nothing (403 `forbidden`) unless an admin set `users_can_view`, then the reads only.
//! A role's external id is sealed with the API keyring (like alert channel secrets) and
//! never returned: accounts only say whether one is stored.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use sentinel_core::UnixMs;
use sentinel_core::ecs::{
    EcsAccountInput, EcsMetric, Health, MetricPoint, RolloutState, ServiceKey, ServiceSnapshot,
    is_account_id, is_region,
};
use sentinel_pipeline::ecs::{EcsRefreshError, EcsRefreshReport};
use sentinel_store::{EcsAccountRecord, EcsSettings, SealedSecret, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::crypto;
use crate::settings::Keyring;
use crate::{ApiError, ApiJson, ApiPath, ApiQuery, AppState, Principal, now_ms};

/// Longest cluster or service name ECS allows.
const MAX_NAME_LEN: usize = 255;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/ecs/clusters", get(clusters))
        .route("/api/ecs/aliases", get(aliases))
        .route("/api/ecs/service-details", get(service_details))
        .route("/api/ecs/refresh", post(refresh))
        .route("/api/ecs/accounts", get(list_accounts).post(create_account))
        .route(
            "/api/ecs/accounts/{id}",
            put(update_account).delete(delete_account),
        )
        .route("/api/ecs/settings", get(get_settings).put(update_settings))
}

/// What the collection round needs to open stored external ids: the API keyring's
/// AES-GCM (the round lives in `sentinel-pipeline`, which knows no keys). The error
/// is that account's failure, for people.
pub type ExternalIdOpener = Arc<dyn Fn(&SealedSecret) -> Result<String, String> + Send + Sync>;

/// Opens external ids sealed by this group with `keyring`.
pub fn external_id_opener(keyring: Keyring) -> ExternalIdOpener {
    Arc::new(move |sealed: &SealedSecret| {
        let plain = crypto::open(&keyring, &sealed.key_id, &sealed.ciphertext)
            .map_err(|e| format!("cannot decrypt the stored external id: {e}; set it again"))?;
        String::from_utf8(plain)
            .map_err(|_| "the stored external id is not text; set it again".to_owned())
    })
}

// ---- access --------------------------------------------------------------------------

/// Reads: admins and `monitor` users always; `user` only when the setting allows it.
async fn require_view(state: &AppState, principal: &Principal) -> Result<(), ApiError> {
    if principal.role.reads_everything()
        || state.ecs_accounts.ecs_settings().await?.users_can_view_ecs
    {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "the ECS view is for admins and monitor users unless an admin opens it to everyone",
        ))
    }
}

// ---- views ---------------------------------------------------------------------------

/// A watched AWS account. The external id is never returned.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EcsAccountView {
    pub id: String,
    /// The label given at registration, if any.
    pub name: Option<String>,
    /// The 12-digit AWS account id: learned by a collection, or read from the role ARN
    /// (`null` for a local account never collected).
    pub account_id: Option<String>,
    /// The IAM account alias, once a collection read it.
    pub alias: Option<String>,
    pub regions: Vec<String>,
    /// `null`: the credentials Sentinel runs with (the local account).
    pub role_arn: Option<String>,
    /// Whether an external id is stored (it is write-only).
    pub has_external_id: bool,
    pub last_collected_at: Option<UnixMs>,
    /// Why the last collection failed (or what it could not read); `null` when it
    /// succeeded or none ran yet.
    pub last_error: Option<String>,
}

impl From<&EcsAccountRecord> for EcsAccountView {
    fn from(r: &EcsAccountRecord) -> Self {
        Self {
            id: r.id.clone(),
            name: r.name.clone(),
            account_id: r.known_account_id().map(str::to_owned),
            alias: r.alias.clone(),
            regions: r.regions.clone(),
            role_arn: r.role_arn.clone(),
            has_external_id: r.external_id.is_some(),
            last_collected_at: r.last_collected_at,
            last_error: r.last_error.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EcsAccountList {
    /// In registration order.
    pub accounts: Vec<EcsAccountView>,
}

/// One service in the cluster overview.
#[derive(Debug, Serialize, ToSchema)]
pub struct EcsServiceSummary {
    pub service: String,
    pub health: Health,
    pub health_reason: String,
    pub desired_count: i32,
    pub running_count: i32,
    pub pending_count: i32,
    /// The primary deployment's rollout state (`null` when ECS reports none).
    pub rollout_state: Option<RolloutState>,
    pub task_definition: String,
    pub launch_type: Option<String>,
    pub collected_at: UnixMs,
}

impl From<&ServiceSnapshot> for EcsServiceSummary {
    fn from(s: &ServiceSnapshot) -> Self {
        Self {
            service: s.key.service.clone(),
            health: s.health,
            health_reason: s.health_reason.clone(),
            desired_count: s.desired_count,
            running_count: s.running_count,
            pending_count: s.pending_count,
            rollout_state: s
                .deployments
                .iter()
                .find(|d| d.is_primary())
                .and_then(|d| d.rollout_state),
            task_definition: s.task_definition.clone(),
            launch_type: s.launch_type.clone(),
            collected_at: s.collected_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EcsClusterView {
    pub account_id: String,
    /// The account's IAM alias, else its id.
    pub alias: String,
    pub region: String,
    pub cluster: String,
    pub cluster_arn: String,
    /// By service name.
    pub services: Vec<EcsServiceSummary>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EcsClusters {
    pub accounts: Vec<EcsAccountView>,
    /// By account id, region, then cluster name.
    pub clusters: Vec<EcsClusterView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EcsAlias {
    pub account_id: String,
    /// The IAM alias, else the account id.
    pub alias: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EcsAliases {
    /// By account id.
    pub aliases: Vec<EcsAlias>,
}

/// How far back the charts of a service go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum EcsRange {
    #[serde(rename = "1h")]
    Hour,
    #[serde(rename = "24h")]
    Day,
    #[serde(rename = "7d")]
    Week,
}

impl EcsRange {
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        match raw.map(str::trim) {
            None | Some("") | Some("24h") => Ok(Self::Day),
            Some("1h") => Ok(Self::Hour),
            Some("7d") => Ok(Self::Week),
            Some(other) => Err(ApiError::invalid_query(
                "range",
                format!("range must be 1h, 24h or 7d, not {other:?}"),
            )),
        }
    }

    pub fn duration_ms(self) -> i64 {
        match self {
            Self::Hour => 3_600_000,
            Self::Day => 86_400_000,
            Self::Week => 7 * 86_400_000,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EcsServiceDetails {
    /// The service as the last collection saw it.
    pub service: ServiceSnapshot,
    pub range: EcsRange,
    /// CPU utilisation in percent of the reserved CPU, oldest first.
    pub cpu: Vec<MetricPoint>,
    /// Memory utilisation in percent of the reserved memory, oldest first.
    pub memory: Vec<MetricPoint>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EcsFailedAccount {
    /// The account record's id.
    pub id: String,
    pub error: String,
}

/// What one collection round did.
#[derive(Debug, Serialize, ToSchema)]
pub struct EcsRefreshView {
    /// Accounts collected successfully.
    pub accounts: usize,
    /// Services stored.
    pub services: usize,
    pub failed_accounts: Vec<EcsFailedAccount>,
    pub collected_at: UnixMs,
}

impl From<EcsRefreshReport> for EcsRefreshView {
    fn from(r: EcsRefreshReport) -> Self {
        Self {
            accounts: r.accounts,
            services: r.services,
            failed_accounts: r
                .failed_accounts
                .into_iter()
                .map(|f| EcsFailedAccount {
                    id: f.id,
                    error: f.error,
                })
                .collect(),
            collected_at: r.collected_at,
        }
    }
}

/// The ECS view's settings.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EcsSettingsView {
    /// Whether users with the `user` role may see the ECS view (read-only). Admins and
    /// `monitor` users always can.
    pub users_can_view: bool,
}

// ---- reads ---------------------------------------------------------------------------

/// Aliases by account id (the alias, else the id), from what collections learned.
fn alias_map(accounts: &[EcsAccountRecord]) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for record in accounts {
        if let Some(id) = record.known_account_id() {
            let alias = record.alias.clone().filter(|a| !a.is_empty());
            match (map.get(id), alias) {
                // Another record of the same account may know the alias.
                (Some(_), None) => {}
                (_, alias) => {
                    map.insert(id.to_owned(), alias.unwrap_or_else(|| id.to_owned()));
                }
            }
        }
    }
    map
}

/// Snapshots grouped into clusters (account, region, cluster), in key order.
pub fn group_clusters(
    snapshots: &[ServiceSnapshot],
    aliases: &BTreeMap<String, String>,
) -> Vec<EcsClusterView> {
    let mut grouped: BTreeMap<(&str, &str, &str), Vec<&ServiceSnapshot>> = BTreeMap::new();
    for snapshot in snapshots {
        let k = &snapshot.key;
        grouped
            .entry((&k.account_id, &k.region, &k.cluster))
            .or_default()
            .push(snapshot);
    }
    grouped
        .into_iter()
        .map(|((account_id, region, cluster), mut services)| {
            services.sort_by(|a, b| a.key.service.cmp(&b.key.service));
            EcsClusterView {
                account_id: account_id.to_owned(),
                alias: aliases
                    .get(account_id)
                    .cloned()
                    .unwrap_or_else(|| account_id.to_owned()),
                region: region.to_owned(),
                cluster: cluster.to_owned(),
                cluster_arn: services
                    .first()
                    .map(|s| s.cluster_arn.clone())
                    .unwrap_or_default(),
                services: services.into_iter().map(EcsServiceSummary::from).collect(),
            }
        })
        .collect()
}

/// Every watched account and every cluster with its services, as the last collections
/// saw them.
#[utoipa::path(
    get,
    path = "/api/ecs/clusters",
    tag = "ecs",
    operation_id = "ecs_clusters",
    responses((status = 200, description = "Accounts and clusters", body = EcsClusters)),
)]
pub(crate) async fn clusters(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<EcsClusters>, ApiError> {
    require_view(&state, &principal).await?;
    let accounts = state.ecs_accounts.list_ecs_accounts().await?;
    let snapshots = state.ecs_snapshots.list_snapshots().await?;
    let clusters = group_clusters(&snapshots, &alias_map(&accounts));
    Ok(Json(EcsClusters {
        accounts: accounts.iter().map(EcsAccountView::from).collect(),
        clusters,
    }))
}

/// The alias of every watched account whose id is known.
#[utoipa::path(
    get,
    path = "/api/ecs/aliases",
    tag = "ecs",
    operation_id = "ecs_aliases",
    responses((status = 200, description = "Aliases by account id", body = EcsAliases)),
)]
pub(crate) async fn aliases(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<EcsAliases>, ApiError> {
    require_view(&state, &principal).await?;
    let accounts = state.ecs_accounts.list_ecs_accounts().await?;
    let aliases = alias_map(&accounts)
        .into_iter()
        .map(|(account_id, alias)| EcsAlias { account_id, alias })
        .collect();
    Ok(Json(EcsAliases { aliases }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ServiceQuery {
    /// The 12-digit AWS account id.
    #[param(example = "123456789012")]
    account: Option<String>,
    #[param(example = "eu-west-1")]
    region: Option<String>,
    /// Cluster name (not ARN).
    cluster: Option<String>,
    /// Service name (not ARN).
    service: Option<String>,
    /// Chart range (default `24h`).
    #[param(value_type = Option<EcsRange>, inline)]
    range: Option<String>,
}

fn required<'a>(field: &str, value: &'a Option<String>) -> Result<&'a str, ApiError> {
    match value.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(ApiError::invalid_query(
            field,
            format!("{field} is required"),
        )),
    }
}

fn is_ecs_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The service a query names, every part checked.
fn service_key(query: &ServiceQuery) -> Result<ServiceKey, ApiError> {
    let account = required("account", &query.account)?;
    if !is_account_id(account) {
        return Err(ApiError::invalid_query(
            "account",
            "account must be a 12-digit AWS account id",
        ));
    }
    let region = required("region", &query.region)?;
    if !is_region(region) {
        return Err(ApiError::invalid_query(
            "region",
            "region must be an AWS region name like eu-west-1",
        ));
    }
    let mut names = Vec::new();
    for (field, value) in [("cluster", &query.cluster), ("service", &query.service)] {
        let name = required(field, value)?;
        if !is_ecs_name(name) {
            return Err(ApiError::invalid_query(
                field,
                format!("{field} must be 1 to {MAX_NAME_LEN} letters, digits, '-' or '_'"),
            ));
        }
        names.push(name.to_owned());
    }
    let service = names.pop().unwrap_or_default();
    let cluster = names.pop().unwrap_or_default();
    Ok(ServiceKey {
        account_id: account.to_owned(),
        region: region.to_owned(),
        cluster,
        service,
    })
}

/// One service: its last snapshot (deployments, events) and its CPU and memory history.
#[utoipa::path(
    get,
    path = "/api/ecs/service-details",
    tag = "ecs",
    operation_id = "ecs_service_details",
    params(ServiceQuery),
    responses(
        (status = 200, description = "The service and its charts", body = EcsServiceDetails),
        (status = 404, response = crate::openapi::NotFound),
    ),
)]
pub(crate) async fn service_details(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ServiceQuery>,
) -> Result<Json<EcsServiceDetails>, ApiError> {
    require_view(&state, &principal).await?;
    let key = service_key(&query)?;
    let range = EcsRange::parse(query.range.as_deref())?;
    let Some(service) = state.ecs_snapshots.get_snapshot(&key).await? else {
        return Err(ApiError::not_found("ECS service"));
    };
    let to = now_ms() + 1;
    let from = to - range.duration_ms();
    let cpu = state
        .ecs_snapshots
        .metrics(&key, EcsMetric::Cpu, from, to)
        .await?;
    let memory = state
        .ecs_snapshots
        .metrics(&key, EcsMetric::Memory, from, to)
        .await?;
    Ok(Json(EcsServiceDetails {
        service,
        range,
        cpu,
        memory,
    }))
}

// ---- refresh -------------------------------------------------------------------------

/// Collect every watched account now (admins). Answers when the round is done.
#[utoipa::path(
    post,
    path = "/api/ecs/refresh",
    tag = "ecs",
    operation_id = "ecs_refresh",
    responses(
        (status = 200, description = "What the round collected", body = EcsRefreshView),
        (status = 409, response = crate::openapi::Conflict),
    ),
)]
pub(crate) async fn refresh(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<EcsRefreshView>, ApiError> {
    principal.require_admin()?;
    let Some(collector) = state.ecs_refresh.as_ref() else {
        return Err(ApiError::Unavailable {
            code: "not_configured",
            message: "this deployment has no ECS collector".into(),
        });
    };
    match collector.refresh(now_ms()).await {
        Ok(report) => {
            tracing::info!(
                accounts = report.accounts,
                services = report.services,
                failed = report.failed_accounts.len(),
                "ECS refresh"
            );
            Ok(Json(report.into()))
        }
        Err(EcsRefreshError::Busy) => Err(ApiError::Conflict {
            code: "busy",
            message: "a collection is already running; try again when it is done".into(),
            field: None,
        }),
        Err(EcsRefreshError::Store(e)) => Err(e.into()),
    }
}

// ---- accounts ------------------------------------------------------------------------

/// Every watched account.
#[utoipa::path(
    get,
    path = "/api/ecs/accounts",
    tag = "ecs",
    operation_id = "list_ecs_accounts",
    responses((status = 200, description = "Accounts, in registration order", body = EcsAccountList)),
)]
pub(crate) async fn list_accounts(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<EcsAccountList>, ApiError> {
    require_view(&state, &principal).await?;
    let accounts = state.ecs_accounts.list_ecs_accounts().await?;
    Ok(Json(EcsAccountList {
        accounts: accounts.iter().map(EcsAccountView::from).collect(),
    }))
}

fn seal_external_id(state: &AppState, external_id: &str) -> Result<SealedSecret, ApiError> {
    let (key_id, ciphertext) = crypto::seal(&state.settings.encryption, external_id.as_bytes())
        .map_err(|e| ApiError::Internal(format!("cannot seal an external id: {e}")))?;
    Ok(SealedSecret { ciphertext, key_id })
}

fn new_id() -> Result<String, ApiError> {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes)
        .map_err(|e| ApiError::Internal(format!("random number generator failed: {e}")))?;
    Ok(format!("ecs_{}", hex::encode(bytes)))
}

fn already_watched(role_arn: Option<&str>) -> ApiError {
    match role_arn {
        Some(arn) => ApiError::Conflict {
            code: "conflict",
            message: format!("the role {arn} is already watched"),
            field: Some("role_arn".into()),
        },
        None => ApiError::Conflict {
            code: "conflict",
            message: "the local account (no role_arn) is already watched".into(),
            field: Some("role_arn".into()),
        },
    }
}

/// Watch an AWS account: the local one (no `role_arn`) or another through a role it
/// trusts Sentinel to assume. The external id is stored encrypted and never returned.
#[utoipa::path(
    post,
    path = "/api/ecs/accounts",
    tag = "ecs",
    operation_id = "create_ecs_account",
    request_body = EcsAccountInput,
    responses(
        (status = 201, description = "Registered", body = EcsAccountView),
        (status = 409, response = crate::openapi::Conflict),
    ),
)]
pub(crate) async fn create_account(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(input): ApiJson<EcsAccountInput>,
) -> Result<(StatusCode, Json<EcsAccountView>), ApiError> {
    principal.require_admin()?;
    let spec = input.validate().map_err(ApiError::Validation)?;
    let external_id = match &spec.external_id {
        Some(plain) => Some(seal_external_id(&state, plain)?),
        None => None,
    };
    let now = now_ms();
    let record = EcsAccountRecord {
        id: new_id()?,
        name: spec.name,
        role_arn: spec.role_arn,
        role_account_id: spec.role_account_id,
        regions: spec.regions,
        external_id,
        account_id: None,
        alias: None,
        last_collected_at: None,
        last_error: None,
        created_at: now,
        updated_at: now,
    };
    match state.ecs_accounts.create_ecs_account(&record).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return Err(already_watched(record.role_arn.as_deref())),
        Err(e) => return Err(e.into()),
    }
    tracing::info!(ecs_account = %record.id, local = record.role_arn.is_none(), "ECS account registered");
    Ok((StatusCode::CREATED, Json(EcsAccountView::from(&record))))
}

/// Replace a watched account's settings. Omitting `external_id` keeps the stored one;
/// `""` removes it.
#[utoipa::path(
    put,
    path = "/api/ecs/accounts/{id}",
    tag = "ecs",
    operation_id = "update_ecs_account",
    params(("id" = String, Path, description = "Account record id")),
    request_body = EcsAccountInput,
    responses(
        (status = 200, description = "The changed account", body = EcsAccountView),
        (status = 409, response = crate::openapi::Conflict),
    ),
)]
pub(crate) async fn update_account(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<EcsAccountInput>,
) -> Result<Json<EcsAccountView>, ApiError> {
    principal.require_admin()?;
    let Some(mut record) = state.ecs_accounts.get_ecs_account(&id).await? else {
        return Err(ApiError::not_found("ECS account"));
    };
    let spec = input.validate().map_err(ApiError::Validation)?;
    record.external_id = match (input.external_id.as_deref(), &spec.external_id) {
        (_, Some(plain)) => Some(seal_external_id(&state, plain)?),
        (Some(_), None) => None,
        // The local account has no use for one kept from a former role.
        (None, None) if spec.role_arn.is_none() => None,
        (None, None) => record.external_id,
    };
    record.name = spec.name;
    record.role_arn = spec.role_arn;
    record.role_account_id = spec.role_account_id;
    record.regions = spec.regions;
    record.updated_at = now_ms();
    match state.ecs_accounts.update_ecs_account(&record).await {
        Ok(true) => {}
        Ok(false) => return Err(ApiError::not_found("ECS account")),
        Err(StoreError::Conflict(_)) => return Err(already_watched(record.role_arn.as_deref())),
        Err(e) => return Err(e.into()),
    }
    // Re-read: the store keeps what collections learned (alias, errors).
    let stored = state
        .ecs_accounts
        .get_ecs_account(&id)
        .await?
        .unwrap_or(record);
    Ok(Json(EcsAccountView::from(&stored)))
}

/// Stop watching an account; its snapshots and metric history are deleted too.
#[utoipa::path(
    delete,
    path = "/api/ecs/accounts/{id}",
    tag = "ecs",
    operation_id = "delete_ecs_account",
    params(("id" = String, Path, description = "Account record id")),
    responses((status = 204, description = "Deleted")),
)]
pub(crate) async fn delete_account(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    principal.require_admin()?;
    let Some(record) = state.ecs_accounts.get_ecs_account(&id).await? else {
        return Err(ApiError::not_found("ECS account"));
    };
    if !state.ecs_accounts.delete_ecs_account(&id).await? {
        return Err(ApiError::not_found("ECS account"));
    }
    if let Some(account_id) = record.known_account_id() {
        // Two records may watch one AWS account (two roles): keep its data while
        // another still does.
        let remaining = state.ecs_accounts.list_ecs_accounts().await?;
        let still_watched: BTreeSet<&str> = remaining
            .iter()
            .filter_map(EcsAccountRecord::known_account_id)
            .collect();
        if !still_watched.contains(account_id) {
            state.ecs_snapshots.delete_account_data(account_id).await?;
        }
    }
    tracing::info!(ecs_account = %id, "ECS account removed");
    Ok(StatusCode::NO_CONTENT)
}

// ---- settings ------------------------------------------------------------------------

/// The ECS view's settings.
#[utoipa::path(
    get,
    path = "/api/ecs/settings",
    tag = "ecs",
    operation_id = "get_ecs_settings",
    responses((status = 200, description = "The settings", body = EcsSettingsView)),
)]
pub(crate) async fn get_settings(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<EcsSettingsView>, ApiError> {
    require_view(&state, &principal).await?;
    let settings = state.ecs_accounts.ecs_settings().await?;
    Ok(Json(EcsSettingsView {
        users_can_view: settings.users_can_view_ecs,
    }))
}

/// Change the ECS view's settings (admins).
#[utoipa::path(
    put,
    path = "/api/ecs/settings",
    tag = "ecs",
    operation_id = "update_ecs_settings",
    request_body = EcsSettingsView,
    responses((status = 200, description = "The settings as stored", body = EcsSettingsView)),
)]
pub(crate) async fn update_settings(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<EcsSettingsView>,
) -> Result<Json<EcsSettingsView>, ApiError> {
    principal.require_admin()?;
    let mut settings: EcsSettings = state.ecs_accounts.ecs_settings().await?;
    settings.users_can_view_ecs = body.users_can_view;
    state.ecs_accounts.set_ecs_settings(&settings).await?;
    tracing::info!(users_can_view = body.users_can_view, "ECS settings changed");
    Ok(Json(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(account: &str, region: &str, cluster: &str, service: &str) -> ServiceQuery {
        ServiceQuery {
            account: Some(account.into()),
            region: Some(region.into()),
            cluster: Some(cluster.into()),
            service: Some(service.into()),
            range: None,
        }
    }

    fn field_of(e: ApiError) -> Option<String> {
        match e {
            ApiError::BadRequest { field, .. } => field,
            other => panic!("not a 400: {other:?}"),
        }
    }

    #[test]
    fn service_queries_name_the_bad_parameter() {
        let key = service_key(&query("123456789012", "eu-west-1", "prod", "web_api")).unwrap();
        assert_eq!(key.cluster, "prod");
        assert_eq!(key.service, "web_api");
        for (q, field) in [
            (query("12345", "eu-west-1", "c", "s"), "account"),
            (query("123456789012", "Europe", "c", "s"), "region"),
            (query("123456789012", "eu-west-1", "a#b", "s"), "cluster"),
            (query("123456789012", "eu-west-1", "c", ""), "service"),
        ] {
            assert_eq!(
                field_of(service_key(&q).unwrap_err()).as_deref(),
                Some(field)
            );
        }
        assert_eq!(EcsRange::parse(None).unwrap(), EcsRange::Day);
        assert_eq!(EcsRange::parse(Some("7d")).unwrap(), EcsRange::Week);
        assert_eq!(
            field_of(EcsRange::parse(Some("30d")).unwrap_err()).as_deref(),
            Some("range")
        );
    }

    #[test]
    fn sealed_external_ids_open_with_the_keyring() {
        let ring =
            Keyring::parse("k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
                .unwrap();
        let (key_id, ciphertext) = crypto::seal(&ring, b"sentinel-7f3a").unwrap();
        let open = external_id_opener(ring);
        let sealed = SealedSecret { ciphertext, key_id };
        assert_eq!(open(&sealed).unwrap(), "sentinel-7f3a");
        let unknown = SealedSecret {
            key_id: "gone".into(),
            ..sealed
        };
        assert!(open(&unknown).unwrap_err().contains("set it again"));
    }
}
