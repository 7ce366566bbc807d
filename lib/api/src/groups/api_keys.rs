//! Route group `api_keys`: a user's API keys. The plain key (`snt_` + 256 random bits)
//! is answered once, at creation; only its SHA-256 is stored. Scopes: `read` (GET only)
//! and `write`. Keys are made and deleted by a signed-in user (a key cannot mint keys);
//! admins may delete anyone's.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use sentinel_core::UnixMs;
use sentinel_core::account::KeyScope;
use sentinel_core::monitor::DurationInput;
use sentinel_store::ApiKey;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::credentials::API_KEY_PREFIX;
use crate::auth::tokens::{random_id, random_token, sha256_hex};
use crate::{ApiError, ApiJson, ApiPath, AppState, AuthMethod, Principal, now_ms};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/api-keys", get(list_keys).post(create_key))
        .route("/api/api-keys/{id}", delete(delete_key))
}

pub const MAX_NAME_CHARS: usize = 100;
/// Characters of the key kept for lists (`snt_` and 8 more).
pub const SHOWN_PREFIX_CHARS: usize = 12;
const MIN_LIFETIME_MS: i64 = 60_000;
const MAX_LIFETIME_MS: i64 = 10 * 366 * 86_400_000;

/// A key as lists show it: never the key itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyView {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub scope: KeyScope,
    /// Milliseconds since the epoch.
    #[schema(value_type = i64)]
    pub created_at: UnixMs,
    /// Milliseconds since the epoch.
    #[schema(value_type = Option<i64>)]
    pub expires_at: Option<UnixMs>,
    /// Milliseconds since the epoch.
    #[schema(value_type = Option<i64>)]
    pub last_used_at: Option<UnixMs>,
}

impl From<&ApiKey> for KeyView {
    fn from(key: &ApiKey) -> Self {
        Self {
            id: key.id.clone(),
            name: key.name.clone(),
            prefix: key.prefix.clone(),
            scope: key.scope,
            created_at: key.created_at,
            expires_at: key.expires_at,
            last_used_at: key.last_used_at,
        }
    }
}

/// The answer to a creation: the metadata and, this once, the key.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedKey {
    #[serde(flatten)]
    view: KeyView,
    /// The key itself (`snt_…`): shown this once, never again.
    key: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateKey {
    name: String,
    /// `read` (default) or `write`.
    #[schema(nullable = false)]
    scope: Option<String>,
    /// A lifetime: seconds, or text like `90d`.
    #[schema(nullable = false)]
    expires_in: Option<DurationInput>,
    /// An instant, in milliseconds since the epoch.
    #[schema(value_type = Option<i64>, nullable = false)]
    expires_at: Option<UnixMs>,
}

fn parse_name(raw: &str) -> Result<String, ApiError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(ApiError::invalid_field("name", "is required"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::invalid_field(
            "name",
            format!("must be at most {MAX_NAME_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::invalid_field(
            "name",
            "must not contain control characters",
        ));
    }
    Ok(name.to_owned())
}

fn parse_expiry(body: &CreateKey, now: UnixMs) -> Result<Option<UnixMs>, ApiError> {
    let in_bounds = |at: i64, field: &str| {
        if at - now < MIN_LIFETIME_MS {
            Err(ApiError::invalid_field(
                field,
                "must be at least a minute away",
            ))
        } else if at - now > MAX_LIFETIME_MS {
            Err(ApiError::invalid_field(
                field,
                "must be at most ten years away",
            ))
        } else {
            Ok(Some(at))
        }
    };
    match (&body.expires_in, body.expires_at) {
        (Some(_), Some(_)) => Err(ApiError::invalid_field(
            "expiresAt",
            "give expiresIn or expiresAt, not both",
        )),
        (Some(input), None) => {
            let lifetime = input
                .to_duration()
                .map_err(|m| ApiError::invalid_field("expiresIn", m))?;
            let lifetime_ms = i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX);
            in_bounds(now.saturating_add(lifetime_ms), "expiresIn")
        }
        (None, Some(at)) => in_bounds(at, "expiresAt"),
        (None, None) => Ok(None),
    }
}

/// Create an API key (session only). The key is in this answer and nowhere else.
#[utoipa::path(
    post,
    path = "/api/api-keys",
    tag = "api-keys",
    request_body = CreateKey,
    responses((status = 201, description = "Created, with the key", body = CreatedKey)),
)]
async fn create_key(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<CreateKey>,
) -> Result<Response, ApiError> {
    principal.require_session()?;
    principal.require_write()?;
    let name = parse_name(&body.name)?;
    let scope = match body.scope.as_deref().map(str::trim) {
        None => KeyScope::Read,
        Some(raw) => KeyScope::parse(raw)
            .ok_or_else(|| ApiError::invalid_field("scope", "must be read or write"))?,
    };
    let now = now_ms();
    let expires_at = parse_expiry(&body, now)?;
    let plain = format!("{API_KEY_PREFIX}{}", random_token()?);
    let key = ApiKey {
        id: random_id("key_")?,
        user_id: principal.user_id.clone(),
        name,
        prefix: plain.chars().take(SHOWN_PREFIX_CHARS).collect(),
        key_hash: sha256_hex(&plain),
        scope,
        created_at: now,
        expires_at,
        last_used_at: None,
    };
    state.accounts.create_key(&key).await?;
    tracing::info!(
        user = %principal.user_id,
        key_id = %key.id,
        scope = scope.as_str(),
        "API key created"
    );
    Ok((
        StatusCode::CREATED,
        Json(CreatedKey {
            view: KeyView::from(&key),
            key: plain,
        }),
    )
        .into_response())
}

/// The caller's own keys, newest first.
/// The caller's API keys (never the keys themselves).
#[utoipa::path(
    get,
    path = "/api/api-keys",
    tag = "api-keys",
    responses((status = 200, description = "Keys, newest first", body = Vec<KeyView>)),
)]
async fn list_keys(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<KeyView>>, ApiError> {
    let keys = state.accounts.list_keys(&principal.user_id).await?;
    Ok(Json(keys.iter().map(KeyView::from).collect()))
}

/// Deletes one of the caller's keys; a signed-in admin may delete anyone's. Someone
/// else's key is 404, as if it did not exist.
/// Delete one of the caller's keys (a signed-in admin: anyone's).
#[utoipa::path(
    delete,
    path = "/api/api-keys/{id}",
    tag = "api-keys",
    params(("id" = String, Path, description = "Key id")),
    responses((status = 204, description = "Deleted")),
)]
async fn delete_key(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    principal.require_write()?;
    // Keys do not manage keys (a leaked key must not revoke the others).
    principal.require_session()?;
    let any_owner = principal.role.is_admin() && principal.method == AuthMethod::Session;
    let owner = (!any_owner).then_some(&principal.user_id);
    if state.accounts.delete_key(&id, owner).await? {
        tracing::info!(user = %principal.user_id, key_id = %id, "API key deleted");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("API key"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(expires_in: Option<DurationInput>, expires_at: Option<UnixMs>) -> CreateKey {
        CreateKey {
            name: "ci".into(),
            scope: None,
            expires_in,
            expires_at,
        }
    }

    #[test]
    fn expiries_are_relative_or_absolute_and_bounded() {
        let now = 1_700_000_000_000;
        assert_eq!(parse_expiry(&body(None, None), now).unwrap(), None);
        assert_eq!(
            parse_expiry(&body(Some(DurationInput::Text("1d".into())), None), now).unwrap(),
            Some(now + 86_400_000)
        );
        assert_eq!(
            parse_expiry(&body(Some(DurationInput::Seconds(3600)), None), now).unwrap(),
            Some(now + 3_600_000)
        );
        assert_eq!(
            parse_expiry(&body(None, Some(now + 120_000)), now).unwrap(),
            Some(now + 120_000)
        );
        for bad in [
            body(Some(DurationInput::Seconds(1)), None),
            body(Some(DurationInput::Seconds(-5)), None),
            body(Some(DurationInput::Text("soon".into())), None),
            body(Some(DurationInput::Text("99999d".into())), None),
            body(None, Some(now - 1)),
            body(Some(DurationInput::Seconds(3600)), Some(now + 3_600_000)),
        ] {
            assert!(parse_expiry(&bad, now).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_are_trimmed_and_kept_verbatim() {
        assert_eq!(parse_name("  <b>ci</b> ").unwrap(), "<b>ci</b>");
        assert_eq!(
            parse_name("'; DROP TABLE api_keys; --").unwrap(),
            "'; DROP TABLE api_keys; --"
        );
        assert!(parse_name("   ").is_err());
        assert!(parse_name("a\u{0}b").is_err());
        assert!(parse_name(&"x".repeat(101)).is_err());
    }
}
