//! Lambda: the ECS view (/api/ecs/*): accounts, clusters, services, refresh, settings.

#[tokio::main]
async fn main() -> Result<(), sentinel_cloud::lambda::Error> {
    sentinel_cloud::lambda::run_ecs_http(sentinel_api::groups::ecs::routes()).await
}
