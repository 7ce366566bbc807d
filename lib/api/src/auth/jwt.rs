//! Access tokens: JWT, HS256 only, signed with `JWT_SECRET`. Claims `sub` (user id),
//! `role`, `jti`, `iat`, `exp`. Validation pins the algorithm, so `alg: none`, RS256 or
//! any other header is refused before the signature is even considered.

use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret;
use sentinel_core::account::Role;
use serde::{Deserialize, Serialize};

use crate::auth::tokens::random_bytes;
use crate::{ApiError, ApiSettings};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub jti: String,
    /// Seconds since the epoch.
    pub iat: i64,
    pub exp: i64,
}

/// A signed access token and how long it lives.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token: String,
    pub expires_in: Duration,
}

/// How long an access token for `role` lives: the `monitor` role (wall screens) longer.
pub fn access_ttl(settings: &ApiSettings, role: Role) -> Duration {
    match role {
        Role::Monitor => settings.monitor_access_ttl,
        Role::Admin | Role::User => settings.access_ttl,
    }
}

/// Signs an access token for `user_id` with `role`, issued at `now_ms`.
pub fn issue(
    settings: &ApiSettings,
    user_id: &str,
    role: Role,
    now_ms: i64,
) -> Result<AccessToken, ApiError> {
    let ttl = access_ttl(settings, role);
    let iat = now_ms.div_euclid(1000);
    let claims = Claims {
        sub: user_id.to_owned(),
        role,
        jti: hex::encode(random_bytes::<16>()?),
        iat,
        exp: iat.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX)),
    };
    let key = EncodingKey::from_secret(settings.jwt_secret.expose_secret().as_bytes());
    let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key)
        .map_err(|e| ApiError::Internal(format!("signing an access token failed: {e}")))?;
    Ok(AccessToken {
        token,
        expires_in: ttl,
    })
}

/// Checks signature, algorithm and expiry (no leeway beyond a few seconds of clock skew).
pub fn verify(settings: &ApiSettings, token: &str) -> Result<Claims, ApiError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.algorithms = vec![Algorithm::HS256];
    validation.leeway = 5;
    validation.validate_exp = true;
    validation.set_required_spec_claims(&["exp", "iat", "sub"]);
    let key = DecodingKey::from_secret(settings.jwt_secret.expose_secret().as_bytes());
    match jsonwebtoken::decode::<Claims>(token, &key, &validation) {
        Ok(data) => Ok(data.claims),
        Err(e) if matches!(e.kind(), ErrorKind::ExpiredSignature) => Err(ApiError::Unauthorized {
            code: "token_expired",
            message: "the access token has expired; refresh it".into(),
        }),
        Err(_) => Err(ApiError::Unauthorized {
            code: "invalid_token",
            message: "the access token is not valid".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn settings(secret: &str) -> ApiSettings {
        ApiSettings::from_lookup(|name| match name {
            "JWT_SECRET" => Some(secret.to_owned()),
            "ENCRYPTION_KEYS" => Some(format!("k1:{}", "00".repeat(32))),
            _ => None,
        })
        .unwrap()
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn code(e: ApiError) -> &'static str {
        match e {
            ApiError::Unauthorized { code, .. } => code,
            other => panic!("expected 401, got {other:?}"),
        }
    }

    #[test]
    fn issued_tokens_verify_and_carry_the_claims() {
        let s = settings(SECRET);
        let now = 1_700_000_000_000;
        let t = issue(&s, "u_1", Role::Admin, crate::now_ms()).unwrap();
        assert_eq!(t.expires_in, Duration::from_secs(900));
        let claims = verify(&s, &t.token).unwrap();
        assert_eq!(claims.sub, "u_1");
        assert_eq!(claims.role, Role::Admin);
        assert_eq!(claims.exp - claims.iat, 900);
        assert_eq!(claims.jti.len(), 32);
        // Monitors get the long lifetime.
        let m = issue(&s, "u_2", Role::Monitor, now).unwrap();
        assert_eq!(m.expires_in, s.monitor_access_ttl);
    }

    #[test]
    fn expired_wrong_key_tampered_and_unsigned_tokens_are_refused() {
        let s = settings(SECRET);
        let old = issue(&s, "u_1", Role::User, 1_000_000_000_000).unwrap();
        assert_eq!(code(verify(&s, &old.token).unwrap_err()), "token_expired");

        let now = crate::now_ms();
        let other = settings("another-secret-another-secret-another");
        let foreign = issue(&other, "u_1", Role::Admin, now).unwrap();
        assert_eq!(
            code(verify(&s, &foreign.token).unwrap_err()),
            "invalid_token"
        );

        let good = issue(&s, "u_1", Role::User, now).unwrap().token;
        let parts: Vec<&str> = good.split('.').collect();
        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims["role"] = "admin".into();
        let forged_body = URL_SAFE_NO_PAD.encode(claims.to_string());
        let tampered = format!("{}.{forged_body}.{}", parts[0], parts[2]);
        assert_eq!(code(verify(&s, &tampered).unwrap_err()), "invalid_token");

        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        for unsigned in [
            format!("{none_header}.{forged_body}."),
            format!("{none_header}.{forged_body}"),
        ] {
            assert_eq!(code(verify(&s, &unsigned).unwrap_err()), "invalid_token");
        }
        let rs_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT"}"#);
        let rs = format!("{rs_header}.{}.{}", parts[1], parts[2]);
        assert_eq!(code(verify(&s, &rs).unwrap_err()), "invalid_token");
        assert_eq!(code(verify(&s, "garbage").unwrap_err()), "invalid_token");
        assert_eq!(code(verify(&s, "").unwrap_err()), "invalid_token");
    }
}
