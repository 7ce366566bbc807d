//! Sentinel's HTTP route groups. Each group is its own `Router<AppState>`, so
//! `sentinel serve` merges them all and each Lambda function serves only its own.

use std::sync::Arc;

use sentinel_store::Stores;

pub mod error;
pub mod public;

pub use error::ApiError;

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

/// Wall-clock milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
