//! What wraps every route: security headers, the request body cap, the client's IP, and
//! the general rate limit.
//!
//! Wire it once, on the final router, after the route groups and the fallbacks:
//!
//! ```
//! use axum::Router;
//! use sentinel_api::{AppState, groups, middleware, with_fallbacks};
//!
//! fn app(state: AppState) -> Router {
//!     let routes = with_fallbacks(groups::all_routes());
//!     middleware::layers(routes, &state).with_state(state)
//! }
//! ```
//!
//! Serve it with `into_make_service_with_connect_info::<SocketAddr>()` so the client's IP
//! is the TCP peer. Without `ConnectInfo` (on Lambda), the last `X-Forwarded-For` hop is
//! used: API Gateway appends the address it saw, so that hop cannot be forged. Behind
//! your own single reverse proxy, use [`layers_with`] and [`ClientIpSource::ForwardedFor`].
//!
//! The general limit (`RATE_LIMIT_MAX_REQUESTS` per `RATE_LIMIT_WINDOW_MS`) counts
//! `/api/*` requests per live API key when one is presented, else per client IP. Public
//! read-only routes (`/api/public/*`, badges embedded in READMEs and fetched through
//! shared image proxies) and `/health` are not counted.

use std::net::{IpAddr, SocketAddr};

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};

use crate::auth::credentials::{LiveKey, Presented, find_live_key, presented};
use crate::extract::payload_too_large;
use crate::{ApiError, AppState, now_ms};

/// Where the client's IP comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientIpSource {
    /// The TCP peer (axum `ConnectInfo`); when there is none (Lambda behind API
    /// Gateway), the last `X-Forwarded-For` hop.
    #[default]
    Peer,
    /// The last `X-Forwarded-For` hop, falling back to the peer: for a self-hosted
    /// server behind exactly one reverse proxy that appends the address it saw.
    ForwardedFor,
}

/// The caller's IP address, as decided by the middleware (`None` when unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

impl ClientIp {
    /// For rate-limit keys.
    pub fn key(&self) -> String {
        self.0
            .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
    }

    fn resolve(parts_headers: &HeaderMap, peer: Option<IpAddr>, source: ClientIpSource) -> Self {
        let forwarded = || last_forwarded_hop(parts_headers);
        Self(match source {
            ClientIpSource::Peer => peer.or_else(forwarded),
            ClientIpSource::ForwardedFor => forwarded().or(peer),
        })
    }
}

fn last_forwarded_hop(headers: &HeaderMap) -> Option<IpAddr> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .last()
        .and_then(|hop| hop.trim().parse().ok())
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(ip) = parts.extensions.get::<ClientIp>() {
            return Ok(*ip);
        }
        // Without the middleware: the default rule.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        Ok(Self::resolve(&parts.headers, peer, ClientIpSource::Peer))
    }
}

#[derive(Clone)]
struct Guard {
    state: AppState,
    source: ClientIpSource,
}

/// Every layer, with the client IP taken from the peer (see [`ClientIpSource::Peer`]).
pub fn layers(router: Router<AppState>, state: &AppState) -> Router<AppState> {
    layers_with(router, state, ClientIpSource::default())
}

/// Every layer, outermost first: security headers (on every response, errors included),
/// the body cap (413 before reading when `Content-Length` is over it; extractors stop
/// reading at it too), the client IP, the general rate limit.
pub fn layers_with(
    router: Router<AppState>,
    state: &AppState,
    source: ClientIpSource,
) -> Router<AppState> {
    let guard = Guard {
        state: state.clone(),
        source,
    };
    router
        .layer(from_fn_with_state(guard, guard_layer))
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes))
        .layer(from_fn_with_state(state.clone(), security_headers))
}

/// Public reads (badges behind shared image proxies, status pages, the API document)
/// are not counted; everything else under `/api/` is.
fn is_rate_limited_path(path: &str) -> bool {
    path.starts_with("/api/")
        && !path.starts_with("/api/public/")
        && !path.starts_with("/api/status/")
        && path != "/api/openapi.json"
}

async fn guard_layer(State(guard): State<Guard>, mut req: Request, next: Next) -> Response {
    let settings = &guard.state.settings;
    let too_long = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|len| len > settings.max_body_bytes as u64);
    if too_long {
        return payload_too_large();
    }

    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let ip = ClientIp::resolve(req.headers(), peer, guard.source);
    req.extensions_mut().insert(ip);

    if !is_rate_limited_path(req.uri().path()) {
        return next.run(req).await;
    }
    let now = now_ms();
    // A live key gets its own bucket; a bad or expired one counts against the IP (so
    // made-up keys cannot dodge the limit) and the extractor then refuses it.
    let mut bucket = format!("api:ip:{}", ip.key());
    let mut limit = settings.rate_limit_max;
    match presented(req.headers()) {
        Presented::ApiKey(text) => {
            if let Ok(key) = find_live_key(&guard.state, &text, now).await {
                bucket = format!("api:key:{}", key.id);
                req.extensions_mut().insert(LiveKey(key));
            }
        }
        // A valid session (signature and expiry; the extractor re-checks the user)
        // counts per user, with the dashboard's larger allowance.
        Presented::Jwt(token) => {
            if let Ok(claims) = crate::auth::jwt::verify(settings, &token) {
                bucket = format!("api:user:{}", claims.sub);
                limit = settings.rate_limit_session_max;
            }
        }
        Presented::None | Presented::Malformed => {}
    }
    let window_ms = i64::try_from(settings.rate_limit_window.as_millis()).unwrap_or(i64::MAX);
    match guard
        .state
        .accounts
        .hit(&bucket, limit, window_ms, now)
        .await
    {
        Ok(decision) => {
            let reset_secs =
                u64::try_from((decision.reset_at - now).max(0).div_euclid(1000) + 1).unwrap_or(1);
            let mut response = if decision.allowed {
                next.run(req).await
            } else {
                ApiError::TooManyRequests {
                    retry_after_secs: reset_secs,
                }
                .into_response()
            };
            let headers = response.headers_mut();
            for (name, value) in [
                ("ratelimit-limit", limit.to_string()),
                ("ratelimit-remaining", decision.remaining.to_string()),
                ("ratelimit-reset", reset_secs.to_string()),
            ] {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    headers.insert(HeaderName::from_static(name), value);
                }
            }
            response
        }
        Err(e) => {
            // Fail open: a limiter outage must not take the API down with it.
            tracing::error!(
                error = &e as &dyn std::error::Error,
                "rate limiter failed; request let through"
            );
            next.run(req).await
        }
    }
}

/// For the API: nothing may load, nothing may frame it.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";
/// For anything else (the dashboard's static files), unless the handler set its own.
pub const PAGE_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
pub const HSTS: &str = "max-age=63072000; includeSubDomains";

async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    let api = path.starts_with("/api/") || path == "/health";
    let mut set = |name: HeaderName, value: &'static str| {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    };
    set(
        header::CONTENT_SECURITY_POLICY,
        if api { API_CSP } else { PAGE_CSP },
    );
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "no-referrer");
    set(header::X_FRAME_OPTIONS, "DENY");
    if state.settings.secure_cookies {
        set(header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
    if path.starts_with("/api/auth/") || path == "/auth/create-user" {
        // Tokens travel in these bodies: never cached anywhere.
        set(header::CACHE_CONTROL, "no-store");
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_client_ip_is_the_peer_unless_told_to_trust_the_proxy() {
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        let spoofed = xff(&["6.6.6.6, 203.0.113.9"]);
        assert_eq!(
            ClientIp::resolve(&spoofed, Some(peer), ClientIpSource::Peer).0,
            Some(peer)
        );
        assert_eq!(
            ClientIp::resolve(&spoofed, Some(peer), ClientIpSource::ForwardedFor).0,
            Some("203.0.113.9".parse().unwrap())
        );
        // Lambda: no peer, the last hop (the one API Gateway appended).
        assert_eq!(
            ClientIp::resolve(&xff(&["1.1.1.1", "2.2.2.2"]), None, ClientIpSource::Peer).0,
            Some("2.2.2.2".parse().unwrap())
        );
        assert_eq!(
            ClientIp::resolve(&xff(&["junk"]), None, ClientIpSource::Peer).key(),
            "unknown"
        );
    }

    #[test]
    fn public_routes_are_not_rate_limited() {
        assert!(is_rate_limited_path("/api/monitors"));
        assert!(is_rate_limited_path("/api/auth/login"));
        assert!(!is_rate_limited_path("/api/public/monitors/web/badge.svg"));
        assert!(!is_rate_limited_path("/health"));
        assert!(!is_rate_limited_path("/index.html"));
    }
}
