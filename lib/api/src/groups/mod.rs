//! Route groups. Each is its own router so each Lambda function serves only its own;
//! `all_routes` merges them for `sentinel serve`.

pub mod api_keys;
pub mod auth;
pub mod channels;
pub mod ecs;
pub mod export;
pub mod metrics;
pub mod monitors;
pub mod users;

use axum::Router;

use crate::AppState;

/// Every route group, merged (apply `with_fallbacks` once after this).
pub fn all_routes() -> Router<AppState> {
    Router::new()
        .merge(crate::public::routes())
        .merge(auth::routes())
        .merge(users::routes())
        .merge(monitors::routes())
        .merge(channels::routes())
        .merge(metrics::routes())
        .merge(export::routes())
        .merge(api_keys::routes())
        .merge(ecs::routes())
}
