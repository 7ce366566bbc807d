//! Route group `users` (admins, signed in — never through an API key): list, create with
//! a role (`POST /api/users`, and `POST /auth/create-user` as HeartBeat's alias), change
//! role, disable, delete. The last enabled admin can be neither demoted, disabled nor
//! deleted (409 `last_admin`), so the instance always has someone to run it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use sentinel_core::UnixMs;
use sentinel_core::account::{Email, Role, UserId, check_password};
use sentinel_store::{StoreError, User};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{password, tokens};
use crate::{ApiError, ApiJson, ApiPath, AppState, Principal, now_ms};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/users", get(list_users).post(create_user))
        .route("/auth/create-user", post(create_user_alias))
        .route("/api/users/{id}", patch(update_user).delete(delete_user))
}

/// A user as the API shows it (never the password hash).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub disabled: bool,
    /// Milliseconds since the epoch.
    #[schema(value_type = i64)]
    pub created_at: UnixMs,
    /// Milliseconds since the epoch.
    #[schema(value_type = i64)]
    pub updated_at: UnixMs,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.0.clone(),
            email: user.email.as_str().to_owned(),
            role: user.role,
            disabled: user.disabled,
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

fn require_admin_session(principal: &Principal) -> Result<(), ApiError> {
    principal.require_session()?;
    principal.require_admin()
}

/// Parses an email and a password the way registration and admin creation both do.
pub(crate) fn parse_new_account(raw_email: &str, raw_password: &str) -> Result<Email, ApiError> {
    let email = Email::parse(raw_email).map_err(|m| ApiError::invalid_field("email", m))?;
    check_password(raw_password, Some(&email))
        .map_err(|m| ApiError::invalid_field("password", m))?;
    Ok(email)
}

/// Hashes the password and stores a new user; a taken email is 409 `email_taken`.
pub(crate) async fn insert_user(
    state: &AppState,
    email: Email,
    raw_password: String,
    role: Role,
) -> Result<User, ApiError> {
    let now = now_ms();
    let user = User {
        id: UserId(tokens::random_id("u_")?),
        email,
        role,
        password_hash: password::hash(raw_password).await?,
        disabled: false,
        created_at: now,
        updated_at: now,
    };
    match state.accounts.create_user(&user).await {
        Ok(()) => Ok(user),
        Err(StoreError::Conflict(_)) => Err(ApiError::Conflict {
            code: "email_taken",
            message: "an account with this email already exists".into(),
            field: Some("email".into()),
        }),
        Err(e) => Err(e.into()),
    }
}

/// Every user (admins).
#[utoipa::path(
    get,
    path = "/api/users",
    tag = "users",
    responses((status = 200, description = "Users, oldest first", body = Vec<UserView>)),
)]
async fn list_users(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<UserView>>, ApiError> {
    principal.require_session()?;
    if !principal.role.is_admin() {
        return Err(ApiError::forbidden("admins only"));
    }
    let users = state.accounts.list_users().await?;
    Ok(Json(users.iter().map(UserView::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateUser {
    email: String,
    password: String,
    /// `admin`, `monitor` or `user` (default).
    #[schema(nullable = false)]
    role: Option<String>,
}

fn parse_role(raw: &str) -> Result<Role, ApiError> {
    Role::parse(raw.trim())
        .ok_or_else(|| ApiError::invalid_field("role", "must be admin, monitor or user"))
}

/// Create a user with a role (admins).
#[utoipa::path(
    post,
    path = "/api/users",
    tag = "users",
    request_body = CreateUser,
    responses(
        (status = 201, description = "Created", body = UserView),
        (status = 409, response = crate::openapi::Conflict),
    ),
)]
async fn create_user(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<CreateUser>,
) -> Result<Response, ApiError> {
    require_admin_session(&principal)?;
    let role = body.role.as_deref().map_or(Ok(Role::User), parse_role)?;
    let email = parse_new_account(&body.email, &body.password)?;
    let user = insert_user(&state, email, body.password, role).await?;
    tracing::info!(admin = %principal.user_id, user = %user.id, role = %role, "user created");
    Ok((StatusCode::CREATED, Json(UserView::from(&user))).into_response())
}

/// `POST /api/users` under HeartBeat's name.
#[utoipa::path(
    post,
    path = "/auth/create-user",
    tag = "users",
    request_body = CreateUser,
    responses(
        (status = 201, description = "Created", body = UserView),
        (status = 409, response = crate::openapi::Conflict),
    ),
)]
async fn create_user_alias(
    state: State<AppState>,
    principal: Principal,
    body: ApiJson<CreateUser>,
) -> Result<Response, ApiError> {
    create_user(state, principal, body).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UpdateUser {
    /// `admin`, `monitor` or `user`.
    #[schema(nullable = false)]
    role: Option<String>,
    /// A disabled user cannot sign in; their sessions end at once.
    #[schema(nullable = false)]
    disabled: Option<bool>,
}

/// Enabled admins other than `except`.
async fn other_active_admins(state: &AppState, except: &UserId) -> Result<usize, ApiError> {
    Ok(state
        .accounts
        .list_users()
        .await?
        .iter()
        .filter(|u| u.role.is_admin() && !u.disabled && &u.id != except)
        .count())
}

fn last_admin(action: &str) -> ApiError {
    ApiError::Conflict {
        code: "last_admin",
        message: format!("cannot {action} the last enabled admin; make another admin first"),
        field: None,
    }
}

async fn find_user(state: &AppState, id: &str) -> Result<User, ApiError> {
    state
        .accounts
        .get_user(&UserId(id.to_owned()))
        .await?
        .ok_or_else(|| ApiError::not_found("user"))
}

/// Change a user's role or disable them (admins). The last enabled admin stays.
#[utoipa::path(
    patch,
    path = "/api/users/{id}",
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    request_body = UpdateUser,
    responses(
        (status = 200, description = "The user as changed", body = UserView),
        (status = 409, response = crate::openapi::Conflict),
    ),
)]
async fn update_user(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateUser>,
) -> Result<Json<UserView>, ApiError> {
    require_admin_session(&principal)?;
    let role = body.role.as_deref().map(parse_role).transpose()?;
    let mut user = find_user(&state, &id).await?;
    let new_role = role.unwrap_or(user.role);
    let new_disabled = body.disabled.unwrap_or(user.disabled);
    let was_active_admin = user.role.is_admin() && !user.disabled;
    let stays_active_admin = new_role.is_admin() && !new_disabled;
    if was_active_admin && !stays_active_admin && other_active_admins(&state, &user.id).await? == 0
    {
        return Err(last_admin(if new_disabled { "disable" } else { "demote" }));
    }
    let newly_disabled = new_disabled && !user.disabled;
    if new_role == user.role && new_disabled == user.disabled {
        return Ok(Json(UserView::from(&user)));
    }
    user.role = new_role;
    user.disabled = new_disabled;
    user.updated_at = now_ms();
    if !state.accounts.update_user(&user).await? {
        return Err(ApiError::not_found("user"));
    }
    if newly_disabled {
        // Sessions end now; access tokens die on their next request (the user is read
        // on every request).
        state.accounts.revoke_user_refresh(&user.id).await?;
    }
    tracing::info!(
        admin = %principal.user_id,
        user = %user.id,
        role = %user.role,
        disabled = user.disabled,
        "user changed"
    );
    Ok(Json(UserView::from(&user)))
}

/// Delete a user and their sessions and keys (admins). The last enabled admin stays.
#[utoipa::path(
    delete,
    path = "/api/users/{id}",
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, response = crate::openapi::Conflict),
    ),
)]
async fn delete_user(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    require_admin_session(&principal)?;
    let user = find_user(&state, &id).await?;
    if user.role.is_admin() && !user.disabled && other_active_admins(&state, &user.id).await? == 0 {
        return Err(last_admin("delete"));
    }
    // What the user owned goes with them: their monitors stop being checked and their
    // channels (with encrypted secrets) are not left behind.
    for record in state.accounts.list_monitor_records(Some(&user.id)).await? {
        state.stores.delete_monitor(&record.spec.id).await?;
        state.events.removed(&record.spec.id);
    }
    for channel in state.accounts.list_channels(Some(&user.id)).await? {
        state.accounts.delete_channel(&channel.id).await?;
    }
    if !state.accounts.delete_user(&user.id).await? {
        return Err(ApiError::not_found("user"));
    }
    tracing::info!(admin = %principal.user_id, user = %user.id, "user deleted");
    Ok(StatusCode::NO_CONTENT)
}
