//! Route group `auth`: registration, sign-in, token refresh, sign-out, the current user,
//! password change and reset, and the CSRF token.
//!
//! Sessions: sign-in answers an access JWT in the body and sets two cookies: the refresh
//! token (`sentinel_refresh`, HTTP-only, `Path=/api/auth`) and a CSRF token
//! (`sentinel_csrf`, readable by script). The refresh token is rotated on every
//! `/refresh`; presenting a spent one revokes its whole family (theft suspected).
//!
//! CSRF: every state-changing request made with a session (Bearer JWT) must echo the
//! CSRF cookie in `X-CSRF-Token` (checked by the `Principal` extractor). `/refresh` and
//! `/logout` authenticate by the refresh cookie alone, which a browser attaches to
//! cross-site requests too, so they require the CSRF token as well. `/register`,
//! `/login`, `/forgot-password` and `/reset-password` need none: they carry their own
//! credentials in the body and act on no existing session.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sentinel_core::UnixMs;
use sentinel_core::account::{Email, Role, UserId, check_password};
use sentinel_store::{Mail, RefreshToken, RotateOutcome, User};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::cookies::{self, REFRESH_COOKIE, check_csrf};
use crate::auth::credentials::live_user;
use crate::auth::tokens::{self, is_token_shaped, random_token, sha256_hex};
use crate::auth::{jwt, password};
use crate::groups::users::{UserView, insert_user, parse_new_account};
use crate::middleware::ClientIp;
use crate::{ApiError, ApiJson, ApiQuery, ApiSettings, AppState, Principal, now_ms};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/register", post(register))
        .route("/api/auth/login", post(login))
        .route("/api/auth/refresh", post(refresh))
        .route("/api/auth/logout", post(logout))
        .route("/api/auth/logout-all", post(logout_all))
        .route("/api/auth/me", get(me))
        .route("/api/auth/change-password", post(change_password))
        .route("/api/auth/csrf-token", get(csrf_token))
        .route("/api/auth/forgot-password", post(forgot_password))
        .route("/api/auth/reset-password", post(reset_password))
        .route("/api/auth/verify-reset-token", get(verify_reset_token))
}

/// The same words for a wrong password and an unknown email.
const BAD_CREDENTIALS: &str = "invalid email or password";

fn ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// What sign-in, registration, refresh and password change answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionBody {
    /// The access JWT: `Authorization: Bearer <accessToken>`.
    access_token: String,
    /// Always `Bearer`.
    #[schema(value_type = String, example = "Bearer")]
    token_type: &'static str,
    /// Seconds the access token lives.
    expires_in: u64,
    user: UserView,
    /// Also in the `sentinel_csrf` cookie; send it back as `X-CSRF-Token`.
    csrf_token: String,
}

/// A plain confirmation.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageBody {
    pub message: String,
}

/// `GET /api/auth/csrf-token`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CsrfBody {
    pub csrf_token: String,
}

/// `GET /api/auth/verify-reset-token`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResetTokenValidity {
    pub valid: bool,
}

/// A refresh token's cookie value: `<256-bit secret>.<family>.<user id, base64url>`.
/// Only its SHA-256 is stored. Family and user ride along so rotation never has to
/// guess them; changing either changes the hash, so they cannot be forged.
fn refresh_value(secret: &str, family: &str, user: &UserId) -> String {
    format!("{secret}.{family}.{}", URL_SAFE_NO_PAD.encode(&user.0))
}

/// Family and user of a well-formed refresh cookie.
fn parse_refresh_value(value: &str) -> Option<(String, UserId)> {
    let mut parts = value.splitn(3, '.');
    let (secret, family, user) = (parts.next()?, parts.next()?, parts.next()?);
    if !is_token_shaped(secret) || family.is_empty() || family.len() > 64 {
        return None;
    }
    let user = String::from_utf8(URL_SAFE_NO_PAD.decode(user).ok()?).ok()?;
    Some((family.to_owned(), UserId(user)))
}

fn new_refresh(
    user: &UserId,
    family: &str,
    now: UnixMs,
    settings: &ApiSettings,
) -> Result<(String, RefreshToken), ApiError> {
    let value = refresh_value(&random_token()?, family, user);
    let token = RefreshToken {
        token_hash: sha256_hex(&value),
        user_id: user.clone(),
        family_id: family.to_owned(),
        created_at: now,
        expires_at: now.saturating_add(ms(settings.refresh_ttl)),
    };
    Ok((value, token))
}

/// Signs an access token and builds the answer with both cookies.
fn session_response(
    state: &AppState,
    status: StatusCode,
    user: &User,
    refresh_cookie_value: &str,
    now: UnixMs,
) -> Result<Response, ApiError> {
    let access = jwt::issue(&state.settings, &user.id.0, user.role, now)?;
    let csrf = random_token()?;
    let body = SessionBody {
        access_token: access.token,
        token_type: "Bearer",
        expires_in: access.expires_in.as_secs(),
        user: UserView::from(user),
        csrf_token: csrf.clone(),
    };
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        cookies::refresh(&state.settings, refresh_cookie_value)?,
    );
    headers.append(header::SET_COOKIE, cookies::csrf(&state.settings, &csrf)?);
    Ok(response)
}

/// A new refresh family for `user` (a sign-in), and the answer.
async fn open_session(
    state: &AppState,
    status: StatusCode,
    user: &User,
) -> Result<Response, ApiError> {
    let now = now_ms();
    let family = tokens::random_id("f_")?;
    let (value, token) = new_refresh(&user.id, &family, now, &state.settings)?;
    state.accounts.insert_refresh(&token).await?;
    session_response(state, status, user, &value, now)
}

/// An error answer that also removes the refresh cookie.
fn refusal(state: &AppState, error: ApiError) -> Response {
    let mut response = error.into_response();
    if let Ok(clear) = cookies::clear_refresh(&state.settings) {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Credentials {
    email: String,
    password: String,
}

/// Create an account (the first one always, and it becomes admin; others when
/// registration is open) and sign in.
#[utoipa::path(
    post,
    path = "/api/auth/register",
    tag = "auth",
    request_body = Credentials,
    security(()),
    responses(
        (status = 201, description = "Registered and signed in; sets the refresh and CSRF cookies", body = SessionBody),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 409, response = crate::openapi::Conflict),
    ),
)]
async fn register(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Credentials>,
) -> Result<Response, ApiError> {
    let email = parse_new_account(&body.email, &body.password)?;
    // The first account may always register, and runs the instance. Registrations
    // racing on an empty instance all see no users: a one-per-minute claim (the rate
    // limiter's atomic counter) lets exactly one of them be first.
    let first = state.accounts.count_users().await? == 0
        && state
            .accounts
            .hit("register:first-admin", 1, 60_000, now_ms())
            .await?
            .allowed;
    if !first && !state.settings.open_registration {
        return Err(ApiError::Forbidden {
            code: "registration_closed",
            message: "registration is closed; ask an admin for an account".into(),
        });
    }
    let role = if first { Role::Admin } else { Role::User };
    let user = insert_user(&state, email, body.password, role).await?;
    tracing::info!(user = %user.id, role = %user.role, "user registered");
    open_session(&state, StatusCode::CREATED, &user).await
}

/// One bucket per client IP and email, so one attacker cannot lock a victim out from
/// everywhere and one IP cannot spray many accounts faster than the general limit.
async fn limit_per_ip_and_email(
    state: &AppState,
    action: &str,
    ip: ClientIp,
    raw_email: &str,
) -> Result<(), ApiError> {
    let now = now_ms();
    let email_key = &sha256_hex(&raw_email.trim().to_lowercase())[..32];
    let bucket = format!("{action}:{}:{email_key}", ip.key());
    let decision = state
        .accounts
        .hit(&bucket, state.settings.login_limit_per_minute, 60_000, now)
        .await?;
    if decision.allowed {
        Ok(())
    } else {
        Err(ApiError::TooManyRequests {
            retry_after_secs: u64::try_from((decision.reset_at - now).max(0).div_euclid(1000) + 1)
                .unwrap_or(60),
        })
    }
}

/// Sign in.
#[utoipa::path(
    post,
    path = "/api/auth/login",
    tag = "auth",
    request_body = Credentials,
    security(()),
    responses(
        (status = 200, description = "Signed in; sets the refresh and CSRF cookies", body = SessionBody),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
    ),
)]
async fn login(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(body): ApiJson<Credentials>,
) -> Result<Response, ApiError> {
    limit_per_ip_and_email(&state, "login", ip, &body.email).await?;
    let user = match Email::parse(&body.email) {
        Ok(email) => state.accounts.find_user_by_email(&email).await?,
        Err(_) => None,
    };
    // Unknown emails spend a hash too: timing does not tell who has an account.
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let matches = password::verify(body.password, stored).await?;
    let user = match user {
        Some(user) if matches => user,
        _ => return Err(ApiError::unauthorized(BAD_CREDENTIALS)),
    };
    if user.disabled {
        return Err(ApiError::Forbidden {
            code: "account_disabled",
            message: "this account is disabled; ask an admin".into(),
        });
    }
    open_session(&state, StatusCode::OK, &user).await
}

/// Rotate the refresh cookie and get a new access token (needs `X-CSRF-Token`).
#[utoipa::path(
    post,
    path = "/api/auth/refresh",
    tag = "auth",
    security(()),
    responses(
        (status = 200, description = "A new access token; the refresh cookie is rotated", body = SessionBody),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
    ),
)]
async fn refresh(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match try_refresh(&state, &headers).await {
        Ok(response) => response,
        Err(e @ ApiError::Unauthorized { .. }) => refusal(&state, e),
        Err(e) => e.into_response(),
    }
}

async fn try_refresh(state: &AppState, headers: &HeaderMap) -> Result<Response, ApiError> {
    check_csrf(headers)?;
    let invalid = || ApiError::Unauthorized {
        code: "invalid_refresh_token",
        message: "the session has ended; sign in again".into(),
    };
    let old = cookies::read(headers, REFRESH_COOKIE).ok_or_else(|| ApiError::Unauthorized {
        code: "unauthorized",
        message: "no session; sign in".into(),
    })?;
    let (family, user_id) = parse_refresh_value(&old).ok_or_else(invalid)?;
    let now = now_ms();
    let (value, token) = new_refresh(&user_id, &family, now, &state.settings)?;
    match state
        .accounts
        .rotate_refresh(&sha256_hex(&old), &token, now)
        .await?
    {
        RotateOutcome::Rotated { user_id } => match live_user(state, &user_id).await {
            Ok(user) => session_response(state, StatusCode::OK, &user, &value, now),
            Err(e) => {
                state
                    .accounts
                    .revoke_refresh_family(&token.token_hash)
                    .await?;
                Err(e)
            }
        },
        RotateOutcome::Reused { user_id, family_id } => {
            tracing::warn!(
                user = %user_id,
                family = %family_id,
                "spent refresh token presented; session family revoked"
            );
            Err(ApiError::Unauthorized {
                code: "refresh_token_reused",
                message: "this session was ended for your safety; sign in again".into(),
            })
        }
        RotateOutcome::Invalid => Err(invalid()),
    }
}

/// Sign out: revoke the refresh cookie's session (needs `X-CSRF-Token`).
#[utoipa::path(
    post,
    path = "/api/auth/logout",
    tag = "auth",
    security(()),
    responses(
        (status = 204, description = "Signed out; the refresh cookie is cleared"),
        (status = 403, response = crate::openapi::Forbidden),
    ),
)]
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    check_csrf(&headers)?;
    if let Some(value) = cookies::read(&headers, REFRESH_COOKIE) {
        state
            .accounts
            .revoke_refresh_family(&sha256_hex(&value))
            .await?;
    }
    signed_out(&state)
}

/// Sign out everywhere: every session of the caller ends (all refresh tokens are
/// revoked) and this browser's cookie is cleared. Access tokens already issued stay
/// valid until they expire (15 min by default). Session only, with `X-CSRF-Token`.
#[utoipa::path(
    post,
    path = "/api/auth/logout-all",
    tag = "auth",
    responses(
        (status = 204, description = "Every session ended; the refresh cookie is cleared"),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
    ),
)]
async fn logout_all(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Response, ApiError> {
    principal.require_session()?;
    let revoked = state
        .accounts
        .revoke_user_refresh(&principal.user_id)
        .await?;
    tracing::info!(user = %principal.user_id, sessions = revoked, "signed out everywhere");
    signed_out(&state)
}

/// 204 with the refresh cookie cleared.
fn signed_out(state: &AppState) -> Result<Response, ApiError> {
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, cookies::clear_refresh(&state.settings)?);
    Ok(response)
}

/// The signed-in user.
#[utoipa::path(
    get,
    path = "/api/auth/me",
    tag = "auth",
    responses((status = 200, description = "The caller", body = UserView)),
)]
async fn me(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<UserView>, ApiError> {
    let user = live_user(&state, &principal.user_id).await?;
    Ok(Json(UserView::from(&user)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ChangePassword {
    current_password: String,
    new_password: String,
}

/// Change the password (session only); every other session ends.
#[utoipa::path(
    post,
    path = "/api/auth/change-password",
    tag = "auth",
    request_body = ChangePassword,
    responses((status = 200, description = "Changed; a fresh session for this browser", body = SessionBody)),
)]
async fn change_password(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<ChangePassword>,
) -> Result<Response, ApiError> {
    principal.require_session()?;
    let mut user = live_user(&state, &principal.user_id).await?;
    if !password::verify(body.current_password, Some(user.password_hash.clone())).await? {
        return Err(ApiError::invalid_field(
            "currentPassword",
            "is not your current password",
        ));
    }
    check_password(&body.new_password, Some(&user.email))
        .map_err(|m| ApiError::invalid_field("newPassword", m))?;
    user.password_hash = password::hash(body.new_password).await?;
    user.updated_at = now_ms();
    if !state.accounts.update_user(&user).await? {
        return Err(ApiError::unauthorized("the account no longer exists"));
    }
    // Every other session ends; this one continues with a fresh family.
    state.accounts.revoke_user_refresh(&user.id).await?;
    tracing::info!(user = %user.id, "password changed");
    open_session(&state, StatusCode::OK, &user).await
}

/// A fresh CSRF token, in the body and in the `sentinel_csrf` cookie.
/// A fresh CSRF token (also set as the `sentinel_csrf` cookie).
#[utoipa::path(
    get,
    path = "/api/auth/csrf-token",
    tag = "auth",
    security(()),
    responses((status = 200, description = "The token", body = CsrfBody)),
)]
async fn csrf_token(State(state): State<AppState>) -> Result<Response, ApiError> {
    let token = random_token()?;
    let mut response = Json(CsrfBody {
        csrf_token: token.clone(),
    })
    .into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, cookies::csrf(&state.settings, &token)?);
    Ok(response)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Forgot {
    email: String,
}

/// Sender of account mail: `sentinel@<FRONTEND_URL host>` when that is a domain name.
fn mail_from(settings: &ApiSettings) -> String {
    match url::Url::parse(&settings.frontend_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
    {
        Some(host)
            if host.contains('.')
                && host.parse::<std::net::IpAddr>().is_err()
                && !host.starts_with('[') =>
        {
            format!("sentinel@{host}")
        }
        _ => "sentinel@localhost.localdomain".to_owned(),
    }
}

fn reset_mail(settings: &ApiSettings, to: &Email, token: &str) -> Mail {
    let link = format!("{}/reset-password?token={token}", settings.frontend_url);
    let valid_for = humantime::format_duration(settings.reset_token_ttl);
    Mail {
        from: mail_from(settings),
        to: vec![to.as_str().to_owned()],
        subject: "Reset your Sentinel password".into(),
        text: format!(
            "Someone (hopefully you) asked to reset the password of the Sentinel account \
             {to}.\n\nOpen this link within {valid_for} to choose a new password:\n\n{link}\n\n\
             If you did not ask for this, ignore this mail: your password stays as it is.\n"
        ),
    }
}

/// Always 202 for a well-formed email, whether or not it has an account.
/// Mail a password reset link, if the account exists (the answer is the same either way).
#[utoipa::path(
    post,
    path = "/api/auth/forgot-password",
    tag = "auth",
    request_body = Forgot,
    security(()),
    responses((status = 202, description = "Accepted", body = MessageBody)),
)]
async fn forgot_password(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(body): ApiJson<Forgot>,
) -> Result<Response, ApiError> {
    let email = Email::parse(&body.email).map_err(|m| ApiError::invalid_field("email", m))?;
    limit_per_ip_and_email(&state, "forgot", ip, email.as_str()).await?;
    if let Some(user) = state.accounts.find_user_by_email(&email).await?
        && !user.disabled
    {
        let token = random_token()?;
        let expires_at = now_ms().saturating_add(ms(state.settings.reset_token_ttl));
        state
            .accounts
            .insert_reset(&sha256_hex(&token), &user.id, expires_at)
            .await?;
        let mail = reset_mail(&state.settings, &user.email, &token);
        let mailer = state.mailer.clone();
        // Sent in the background: the answer takes as long whether or not the account
        // exists.
        tokio::spawn(async move {
            if let Err(e) = mailer.send(&mail).await {
                tracing::error!(
                    error = %e,
                    retryable = e.retryable,
                    "password reset mail not sent"
                );
            }
        });
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(MessageBody {
            message: "if an account exists for this email, a reset link is on its way".into(),
        }),
    )
        .into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Reset {
    token: String,
    new_password: String,
}

fn invalid_reset_token() -> ApiError {
    ApiError::BadRequest {
        code: "invalid_reset_token",
        message: "this reset link is invalid, used or expired; ask for a new one".into(),
        field: Some("token".into()),
    }
}

/// Set a new password with a reset token (single use); every session ends.
#[utoipa::path(
    post,
    path = "/api/auth/reset-password",
    tag = "auth",
    request_body = Reset,
    security(()),
    responses((status = 200, description = "Changed; sign in with the new password", body = MessageBody)),
)]
async fn reset_password(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Reset>,
) -> Result<Response, ApiError> {
    if !is_token_shaped(&body.token) {
        return Err(invalid_reset_token());
    }
    let hash = sha256_hex(&body.token);
    // Check the new password before spending the token, so a too-short one can be
    // corrected with the same link.
    let user_id = state
        .accounts
        .peek_reset(&hash, now_ms())
        .await?
        .ok_or_else(invalid_reset_token)?;
    let mut user = state
        .accounts
        .get_user(&user_id)
        .await?
        .ok_or_else(invalid_reset_token)?;
    check_password(&body.new_password, Some(&user.email))
        .map_err(|m| ApiError::invalid_field("newPassword", m))?;
    let new_hash = password::hash(body.new_password).await?;
    match state.accounts.consume_reset(&hash, now_ms()).await? {
        Some(spent_for) if spent_for == user.id => {}
        _ => return Err(invalid_reset_token()),
    }
    user.password_hash = new_hash;
    user.updated_at = now_ms();
    if !state.accounts.update_user(&user).await? {
        return Err(invalid_reset_token());
    }
    state.accounts.revoke_user_refresh(&user.id).await?;
    tracing::info!(user = %user.id, "password reset");
    Ok(Json(MessageBody {
        message: "password changed; sign in with the new one".into(),
    })
    .into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct TokenQuery {
    /// The token from the reset link.
    token: String,
}

/// Whether a reset token is still usable (does not spend it).
#[utoipa::path(
    get,
    path = "/api/auth/verify-reset-token",
    tag = "auth",
    params(TokenQuery),
    security(()),
    responses((status = 200, description = "Valid or not", body = ResetTokenValidity)),
)]
async fn verify_reset_token(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<TokenQuery>,
) -> Result<Json<ResetTokenValidity>, ApiError> {
    let valid = is_token_shaped(&query.token)
        && state
            .accounts
            .peek_reset(&sha256_hex(&query.token), now_ms())
            .await?
            .is_some();
    Ok(Json(ResetTokenValidity { valid }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_cookie_values_carry_family_and_user_and_parse_back() {
        let secret = random_token().unwrap();
        let user = UserId("u_0123.weird id".into());
        let value = refresh_value(&secret, "f_abc", &user);
        assert_eq!(parse_refresh_value(&value), Some(("f_abc".into(), user)));
        assert_eq!(parse_refresh_value("junk"), None);
        assert_eq!(parse_refresh_value("a.b.c"), None);
        assert_eq!(parse_refresh_value(&format!("{secret}.f_abc.!!!")), None);
        // The value is a valid cookie value (no separators or spaces).
        assert!(
            value
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b';' && b != b',')
        );
    }

    #[test]
    fn reset_mail_links_to_the_frontend() {
        let settings = ApiSettings::from_lookup(|name| match name {
            "JWT_SECRET" => Some("0123456789abcdef0123456789abcdef".to_owned()),
            "ENCRYPTION_KEYS" => Some(format!("k1:{}", "00".repeat(32))),
            "FRONTEND_URL" => Some("https://status.example.com/".to_owned()),
            _ => None,
        })
        .unwrap();
        let to = Email::parse("ops@example.com").unwrap();
        let mail = reset_mail(&settings, &to, "TOKEN");
        assert!(
            mail.text
                .contains("https://status.example.com/reset-password?token=TOKEN")
        );
        assert_eq!(mail.from, "sentinel@status.example.com");
        assert_eq!(mail.to, vec!["ops@example.com".to_owned()]);
        let mut local = settings.clone();
        local.frontend_url = "http://127.0.0.1:8080".into();
        assert_eq!(mail_from(&local), "sentinel@localhost.localdomain");
    }
}
