//! Lambda: CSV exports (/api/export/*).

#[tokio::main]
async fn main() -> Result<(), sentinel_cloud::lambda::Error> {
    sentinel_cloud::lambda::run_http(sentinel_api::groups::export::routes()).await
}
