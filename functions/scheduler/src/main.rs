//! Lambda: every minute, the next minute's check jobs to SQS.

#[tokio::main]
async fn main() -> Result<(), sentinel_cloud::lambda::Error> {
    sentinel_cloud::lambda::run_scheduler().await
}
