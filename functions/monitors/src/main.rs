//! Lambda: monitors and alert channels (/api/monitors/*, /api/alert-channels/*).

#[tokio::main]
async fn main() -> Result<(), sentinel_cloud::lambda::Error> {
    let routes =
        sentinel_api::groups::monitors::routes().merge(sentinel_api::groups::channels::routes());
    sentinel_cloud::lambda::run_http(routes).await
}
