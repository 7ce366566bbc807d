//! Lambda: the metrics route group (/api/metrics/*).

#[tokio::main]
async fn main() -> Result<(), sentinel_cloud::lambda::Error> {
    sentinel_cloud::lambda::run_http(sentinel_api::groups::metrics::routes()).await
}
