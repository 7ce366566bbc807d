//! Lambda: public routes (health, status, badges, OpenAPI).

#[tokio::main]
async fn main() -> Result<(), sentinel_cloud::lambda::Error> {
    sentinel_cloud::lambda::run_http(sentinel_api::public::routes()).await
}
