//! Lambda: the auth route group (/api/auth/*).

#[tokio::main]
async fn main() -> Result<(), sentinel_cloud::lambda::Error> {
    sentinel_cloud::lambda::run_http(sentinel_api::groups::auth::routes()).await
}
