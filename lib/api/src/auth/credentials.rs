//! Who is calling: the [`Principal`] extractor. It reads `Authorization: Bearer <jwt>`
//! (a browser session) or an API key (`Authorization: Bearer snt_…` or `X-API-Key:
//! snt_…`), checks the user still exists and is enabled (one indexed read per request),
//! and for sessions on state-changing methods checks the CSRF token. Any failure is 401
//! (403 `csrf_failed` for CSRF); it never reveals which part was wrong beyond the code.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use sentinel_core::UnixMs;
use sentinel_core::account::UserId;
use sentinel_store::{ApiKey, User};

use crate::auth::cookies::check_csrf;
use crate::auth::jwt;
use crate::auth::tokens::{is_token_shaped, sha256_hex};
use crate::{ApiError, AppState, AuthMethod, Principal, now_ms};

/// Every API key starts with this, so leaked keys are easy to spot (secret scanners).
pub const API_KEY_PREFIX: &str = "snt_";
pub const API_KEY_HEADER: &str = "x-api-key";
/// `last_used_at` is written at most this often per key (a read must not always write).
const TOUCH_EVERY_MS: i64 = 60_000;

/// The credential a request carries, before it is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Presented {
    None,
    ApiKey(String),
    Jwt(String),
    /// An `Authorization` header we cannot read (another scheme, not UTF-8, empty).
    Malformed,
}

pub(crate) fn presented(headers: &HeaderMap) -> Presented {
    if let Some(value) = headers.get(API_KEY_HEADER) {
        return match value.to_str() {
            Ok(key) if !key.trim().is_empty() => Presented::ApiKey(key.trim().to_owned()),
            _ => Presented::Malformed,
        };
    }
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Presented::None;
    };
    let Ok(text) = value.to_str() else {
        return Presented::Malformed;
    };
    let Some((scheme, credential)) = text.trim().split_once(' ') else {
        return Presented::Malformed;
    };
    let credential = credential.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || credential.is_empty() {
        Presented::Malformed
    } else if credential.starts_with(API_KEY_PREFIX) {
        Presented::ApiKey(credential.to_owned())
    } else {
        Presented::Jwt(credential.to_owned())
    }
}

/// An API key found live by the middleware, kept in the request's extensions so the
/// extractor does not read it twice.
#[derive(Debug, Clone)]
pub(crate) struct LiveKey(pub ApiKey);

fn invalid_key() -> ApiError {
    ApiError::Unauthorized {
        code: "invalid_api_key",
        message: "the API key is not valid".into(),
    }
}

/// Looks up a presented API key by its hash; refuses unknown and expired keys.
pub(crate) async fn find_live_key(
    state: &AppState,
    key: &str,
    now: UnixMs,
) -> Result<ApiKey, ApiError> {
    let well_formed = key
        .strip_prefix(API_KEY_PREFIX)
        .is_some_and(is_token_shaped);
    if !well_formed {
        return Err(invalid_key());
    }
    let found = state
        .accounts
        .find_key_by_hash(&sha256_hex(key))
        .await?
        .ok_or_else(invalid_key)?;
    if found.expires_at.is_some_and(|at| at <= now) {
        return Err(ApiError::Unauthorized {
            code: "api_key_expired",
            message: "the API key has expired".into(),
        });
    }
    Ok(found)
}

/// The user behind a credential, if they still exist and are enabled.
pub(crate) async fn live_user(state: &AppState, id: &UserId) -> Result<User, ApiError> {
    match state.accounts.get_user(id).await? {
        Some(user) if !user.disabled => Ok(user),
        Some(_) => Err(ApiError::Unauthorized {
            code: "account_disabled",
            message: "this account is disabled".into(),
        }),
        None => Err(ApiError::Unauthorized {
            code: "invalid_token",
            message: "the account no longer exists".into(),
        }),
    }
}

async fn authenticate(parts: &Parts, state: &AppState) -> Result<Principal, ApiError> {
    let now = now_ms();
    match presented(&parts.headers) {
        Presented::None => Err(ApiError::unauthorized(
            "sign in, or send an API key in the X-API-Key header",
        )),
        Presented::Malformed => Err(ApiError::Unauthorized {
            code: "invalid_token",
            message: "the Authorization header must be `Bearer <token>`".into(),
        }),
        Presented::ApiKey(text) => {
            let cached = parts
                .extensions
                .get::<LiveKey>()
                .filter(|k| k.0.key_hash == sha256_hex(&text))
                .map(|k| k.0.clone());
            let key = match cached {
                Some(key) => key,
                None => find_live_key(state, &text, now).await?,
            };
            let user = live_user(state, &key.user_id).await?;
            if key.last_used_at.is_none_or(|at| now - at >= TOUCH_EVERY_MS)
                && let Err(e) = state.accounts.touch_key(&key.id, now).await
            {
                // Bookkeeping only: the request goes on.
                tracing::warn!(
                    error = &e as &dyn std::error::Error,
                    key_id = %key.id,
                    "could not record API key use"
                );
            }
            Ok(Principal {
                user_id: user.id,
                role: user.role,
                method: AuthMethod::ApiKey {
                    key_id: key.id,
                    scope: key.scope,
                },
            })
        }
        Presented::Jwt(token) => {
            let claims = jwt::verify(&state.settings, &token)?;
            // The role comes from the store, not the token: a demotion takes effect at
            // once, and a disabled or deleted user's tokens die with the account.
            let user = live_user(state, &UserId(claims.sub)).await?;
            if !parts.method.is_safe() {
                check_csrf(&parts.headers)?;
            }
            Ok(Principal {
                user_id: user.id,
                role: user.role,
                method: AuthMethod::Session,
            })
        }
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(known) = parts.extensions.get::<Principal>() {
            return Ok(known.clone());
        }
        let principal = authenticate(parts, state).await?;
        parts.extensions.insert(principal.clone());
        Ok(principal)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn with(name: &str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
        h
    }

    #[test]
    fn credentials_are_told_apart_by_header_and_prefix() {
        assert_eq!(presented(&HeaderMap::new()), Presented::None);
        assert_eq!(
            presented(&with("authorization", "Bearer a.b.c")),
            Presented::Jwt("a.b.c".into())
        );
        assert_eq!(
            presented(&with("authorization", "bearer snt_abc")),
            Presented::ApiKey("snt_abc".into())
        );
        assert_eq!(
            presented(&with("x-api-key", "snt_abc")),
            Presented::ApiKey("snt_abc".into())
        );
        for bad in ["Basic dXNlcjpwdw==", "Bearer", "Bearer ", "token"] {
            assert_eq!(
                presented(&with("authorization", bad)),
                Presented::Malformed,
                "{bad}"
            );
        }
        assert_eq!(presented(&with("x-api-key", " ")), Presented::Malformed);
    }
}
