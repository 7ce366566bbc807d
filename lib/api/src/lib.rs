//! Sentinel's HTTP route groups. Each group is its own `Router<AppState>`, so
//! `sentinel serve` merges them all and each Lambda function serves only its own.

use std::sync::Arc;

use axum::Router;
use axum::http::Method;
use sentinel_core::{MonitorId, MonitorSpec};
use sentinel_pipeline::ecs::EcsRefresh;
use sentinel_probe::Prober;
use sentinel_store::{
    ApiKeyStore, BlobStore, ChannelStore, EcsAccountStore, EcsSnapshotStore, Mailer,
    MonitorRecords, RateLimiter, Stores, TokenStore, UserStore,
};

pub mod alert_routing;
pub mod auth;
pub mod crypto;
pub mod error;
pub mod extract;
pub mod groups;
pub mod middleware;
pub mod openapi;
pub mod public;
pub mod settings;
pub mod signing;

pub use auth::principal::{AuthMethod, Principal};
pub use error::ApiError;
pub use extract::{ApiJson, ApiPath, ApiQuery};
pub use settings::ApiSettings;

/// The account-side ports one store serves (SQLite self-hosted, PostgreSQL on AWS).
pub trait AccountStores:
    UserStore + TokenStore + ApiKeyStore + ChannelStore + MonitorRecords + RateLimiter + Send + Sync
{
}

impl<T> AccountStores for T where
    T: UserStore
        + TokenStore
        + ApiKeyStore
        + ChannelStore
        + MonitorRecords
        + RateLimiter
        + Send
        + Sync
{
}

/// What the API tells the scheduler when monitors change. Self-hosted this is the
/// engine; on AWS nothing is needed (the scheduler reads the database every minute).
pub trait MonitorEvents: Send + Sync {
    fn upserted(&self, spec: &MonitorSpec);
    fn removed(&self, id: &MonitorId);
}

/// For deployments where the scheduler reads monitors from the database itself.
pub struct NoMonitorEvents;

impl MonitorEvents for NoMonitorEvents {
    fn upserted(&self, _spec: &MonitorSpec) {}
    fn removed(&self, _id: &MonitorId) {}
}

/// What handlers need. Built once at start-up (once per cold start on Lambda).
#[derive(Clone)]
pub struct AppState {
    pub stores: Arc<dyn Stores>,
    pub accounts: Arc<dyn AccountStores>,
    pub blobs: Arc<dyn BlobStore>,
    pub mailer: Arc<dyn Mailer>,
    pub settings: Arc<ApiSettings>,
    pub events: Arc<dyn MonitorEvents>,
    /// Runs "check now" and "test before saving".
    pub prober: Prober,
    /// Milliseconds since the epoch of the scheduler's last tick, if one runs here.
    pub last_tick: Option<Arc<dyn Fn() -> Option<i64> + Send + Sync>>,
    /// Watched AWS accounts and the ECS view's settings (SQLite self-hosted, PostgreSQL
    /// on AWS). Its own port rather than part of [`AccountStores`]: on AWS the account
    /// stores are split (rate limits in DynamoDB) and ECS accounts live in PostgreSQL.
    pub ecs_accounts: Arc<dyn EcsAccountStore>,
    /// What ECS collections saw (SQLite self-hosted, DynamoDB on AWS).
    pub ecs_snapshots: Arc<dyn EcsSnapshotStore>,
    /// Runs a collection round for `POST /api/ecs/refresh`; `None` where this
    /// deployment has no collector (the route then answers 503 `not_configured`).
    pub ecs_refresh: Option<Arc<dyn EcsRefresh>>,
}

/// Answers unknown paths with 404 `not_found` and known paths with a wrong method with
/// 405 `method_not_allowed` (axum keeps its `Allow` header), both in our JSON error shape.
///
/// Apply it **once**, to the final router, **after** every route group is merged:
///
/// ```
/// use axum::Router;
/// use sentinel_api::{AppState, public, with_fallbacks};
///
/// fn app(state: AppState) -> Router {
///     with_fallbacks(
///         Router::new().merge(public::routes()), // .merge(other_group::routes())...
///     )
///     .with_state(state)
/// }
/// ```
///
/// Calling it before `.with_state` or after does not matter. Two things do: the 405
/// handler only covers routes registered before the call, so routes added later keep
/// axum's empty 405; and axum panics when merging two routers that both have a fallback,
/// so do not apply it to the individual groups that are later merged.
pub fn with_fallbacks<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router
        .fallback(not_found_fallback)
        .method_not_allowed_fallback(method_not_allowed_fallback)
}

async fn not_found_fallback() -> ApiError {
    ApiError::NotFound {
        message: "no such route".to_owned(),
    }
}

async fn method_not_allowed_fallback(method: Method) -> ApiError {
    ApiError::MethodNotAllowed {
        method: method.to_string(),
    }
}

/// Wall-clock milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
