//! Lambda: transition events to alerts (SES email, webhooks).

#[tokio::main]
async fn main() -> Result<(), sentinel_cloud::lambda::Error> {
    sentinel_cloud::lambda::run_notifier().await
}
