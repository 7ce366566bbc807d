//! Lambda: every ECS_COLLECT_MINUTES, one ECS collection round over the watched accounts.

#[tokio::main]
async fn main() -> Result<(), sentinel_cloud::lambda::Error> {
    sentinel_cloud::lambda::run_ecs_collector().await
}
