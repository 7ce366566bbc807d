//! Sentinel's HTTP route groups. Each group is its own `Router<AppState>`, so
//! `sentinel serve` merges them all and each Lambda function serves only its own.

use std::sync::Arc;

use axum::Router;
use axum::http::Method;
use sentinel_store::Stores;

pub mod error;
pub mod extract;
pub mod public;

pub use error::ApiError;
pub use extract::{ApiPath, ApiQuery};

/// What handlers need. Built once at start-up.
#[derive(Clone)]
pub struct AppState {
    pub stores: Arc<dyn Stores>,
    /// Milliseconds since the epoch of the scheduler's last tick, if one runs here.
    pub last_tick: Option<Arc<dyn Fn() -> Option<i64> + Send + Sync>>,
}

impl AppState {
    pub fn new(stores: Arc<dyn Stores>) -> Self {
        Self {
            stores,
            last_tick: None,
        }
    }
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
