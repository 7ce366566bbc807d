//! Lambda: API keys (/api/api-keys/*).

#[tokio::main]
async fn main() -> Result<(), sentinel_cloud::lambda::Error> {
    sentinel_cloud::lambda::run_http(sentinel_api::groups::api_keys::routes()).await
}
