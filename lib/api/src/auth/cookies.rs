//! The two cookies: the refresh token (`sentinel_refresh`, HTTP-only, only sent to
//! `/api/auth`) and the CSRF token (`sentinel_csrf`, readable by the dashboard's script,
//! which echoes it in the `X-CSRF-Token` header: double submit).

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, header};

use crate::ApiError;
use crate::ApiSettings;
use crate::auth::tokens::{constant_time_eq, is_token_shaped};

pub const REFRESH_COOKIE: &str = "sentinel_refresh";
pub const REFRESH_PATH: &str = "/api/auth";
pub const CSRF_COOKIE: &str = "sentinel_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The first cookie called `name` in the request's `Cookie` headers.
pub fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"').to_owned())
}

fn build(
    settings: &ApiSettings,
    name: &str,
    value: &str,
    path: &str,
    max_age: Duration,
    http_only: bool,
) -> Result<HeaderValue, ApiError> {
    let mut cookie = format!(
        "{name}={value}; Path={path}; Max-Age={}; SameSite=Strict",
        max_age.as_secs()
    );
    if http_only {
        cookie.push_str("; HttpOnly");
    }
    if settings.secure_cookies {
        cookie.push_str("; Secure");
    }
    HeaderValue::from_str(&cookie)
        .map_err(|_| ApiError::Internal(format!("cookie {name} has a bad value")))
}

/// `Set-Cookie` for a refresh token that lives `settings.refresh_ttl`.
pub fn refresh(settings: &ApiSettings, value: &str) -> Result<HeaderValue, ApiError> {
    build(
        settings,
        REFRESH_COOKIE,
        value,
        REFRESH_PATH,
        settings.refresh_ttl,
        true,
    )
}

/// `Set-Cookie` that removes the refresh token.
pub fn clear_refresh(settings: &ApiSettings) -> Result<HeaderValue, ApiError> {
    build(
        settings,
        REFRESH_COOKIE,
        "",
        REFRESH_PATH,
        Duration::ZERO,
        true,
    )
}

/// `Set-Cookie` for a CSRF token: site-wide path, not HTTP-only (the dashboard reads it).
pub fn csrf(settings: &ApiSettings, value: &str) -> Result<HeaderValue, ApiError> {
    build(
        settings,
        CSRF_COOKIE,
        value,
        "/",
        settings.refresh_ttl,
        false,
    )
}

/// The double-submit check: the `X-CSRF-Token` header must equal the `sentinel_csrf`
/// cookie (compared in constant time), and both must be one of our tokens. A cross-site
/// page can make the browser send the cookie, but can neither read it nor set the header.
pub fn check_csrf(headers: &HeaderMap) -> Result<(), ApiError> {
    let failed = |message: &str| ApiError::Forbidden {
        code: "csrf_failed",
        message: message.to_owned(),
    };
    let cookie = read(headers, CSRF_COOKIE)
        .ok_or_else(|| failed("the CSRF cookie is missing; get one from /api/auth/csrf-token"))?;
    let header_value = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| failed("the X-CSRF-Token header is missing"))?;
    if is_token_shaped(&cookie) && constant_time_eq(&cookie, header_value.trim()) {
        Ok(())
    } else {
        Err(failed(
            "the X-CSRF-Token header does not match the CSRF cookie",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(secure: bool) -> ApiSettings {
        let mut s = ApiSettings::from_lookup(|name| match name {
            "JWT_SECRET" => Some("0123456789abcdef0123456789abcdef".to_owned()),
            "ENCRYPTION_KEYS" => Some(format!("k1:{}", "00".repeat(32))),
            _ => None,
        })
        .unwrap();
        s.secure_cookies = secure;
        s
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    #[test]
    fn cookies_are_read_from_every_cookie_header() {
        let h = headers(&[("cookie", "a=1; sentinel_csrf=xyz"), ("cookie", "b=2")]);
        assert_eq!(read(&h, "sentinel_csrf").as_deref(), Some("xyz"));
        assert_eq!(read(&h, "b").as_deref(), Some("2"));
        assert_eq!(read(&h, "sentinel"), None);
    }

    #[test]
    fn refresh_cookies_carry_every_attribute() {
        let c = refresh(&settings(true), "tok").unwrap();
        assert_eq!(
            c.to_str().unwrap(),
            "sentinel_refresh=tok; Path=/api/auth; Max-Age=604800; SameSite=Strict; HttpOnly; Secure"
        );
        let cleared = clear_refresh(&settings(false)).unwrap();
        assert_eq!(
            cleared.to_str().unwrap(),
            "sentinel_refresh=; Path=/api/auth; Max-Age=0; SameSite=Strict; HttpOnly"
        );
        let csrf_cookie = csrf(&settings(true), "t").unwrap();
        assert!(!csrf_cookie.to_str().unwrap().contains("HttpOnly"));
        assert!(csrf_cookie.to_str().unwrap().contains("Path=/;"));
    }

    #[test]
    fn csrf_needs_a_matching_header_and_cookie() {
        let token = crate::auth::tokens::random_token().unwrap();
        let cookie = format!("sentinel_csrf={token}");
        assert!(check_csrf(&headers(&[("cookie", &cookie), ("x-csrf-token", &token)])).is_ok());
        for bad in [
            headers(&[("cookie", &cookie)]),
            headers(&[("x-csrf-token", &token)]),
            headers(&[("cookie", &cookie), ("x-csrf-token", "nope")]),
            headers(&[("cookie", "sentinel_csrf=short"), ("x-csrf-token", "short")]),
            headers(&[]),
        ] {
            assert!(matches!(
                check_csrf(&bad),
                Err(ApiError::Forbidden {
                    code: "csrf_failed",
                    ..
                })
            ));
        }
    }
}
