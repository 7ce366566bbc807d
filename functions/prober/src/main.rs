//! Lambda: check jobs from SQS, recorded to MongoDB and DynamoDB, transitions to EventBridge.

#[tokio::main]
async fn main() -> Result<(), sentinel_cloud::lambda::Error> {
    sentinel_cloud::lambda::run_prober().await
}
