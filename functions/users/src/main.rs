//! Lambda: the users route group (/api/users, /auth/create-user).

#[tokio::main]
async fn main() -> Result<(), sentinel_cloud::lambda::Error> {
    sentinel_cloud::lambda::run_http(sentinel_api::groups::users::routes()).await
}
