//! The dashboard's static files at `/`: embedded into the binary at build time from
//! `frontend/dist`, or read from a folder named by `SENTINEL_DASHBOARD_DIR` (handy while
//! working on the dashboard). A path that is not a file gets `index.html`, so the
//! dashboard's own routes (`/monitors/web`, `/status`) load on refresh; API paths keep
//! their JSON 404 and 405.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use sentinel_api::{ApiError, AppState};

#[derive(rust_embed::Embed)]
#[folder = "$CARGO_MANIFEST_DIR/../frontend/dist/"]
#[allow_missing = true]
struct Embedded;

/// Where the dashboard's files come from.
#[derive(Debug, Clone)]
pub enum Dashboard {
    Embedded,
    Folder(PathBuf),
}

/// Build output with a content hash in its name: cacheable forever.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `index.html` and other unhashed files: revalidate every time.
const REVALIDATE: &str = "no-cache";

impl Dashboard {
    /// `SENTINEL_DASHBOARD_DIR` when set, else the files built into the binary.
    pub fn from_env() -> Self {
        match std::env::var_os("SENTINEL_DASHBOARD_DIR") {
            Some(dir) if !dir.is_empty() => Self::Folder(PathBuf::from(dir)),
            _ => Self::Embedded,
        }
    }

    /// Whether there is a dashboard to serve at all.
    pub fn is_available(&self) -> bool {
        match self {
            Self::Embedded => Embedded::get("index.html").is_some(),
            Self::Folder(dir) => dir.join("index.html").is_file(),
        }
    }

    async fn read(&self, relative: &str) -> Option<Cow<'static, [u8]>> {
        match self {
            Self::Embedded => Embedded::get(relative).map(|f| f.data),
            Self::Folder(dir) => {
                let path = dir.join(relative);
                match tokio::fs::read(&path).await {
                    Ok(bytes) => Some(Cow::Owned(bytes)),
                    Err(_) => None,
                }
            }
        }
    }

    async fn respond(&self, method: Method, uri: Uri) -> Response {
        let path = uri.path();
        if is_api_path(path) {
            return ApiError::not_found("route").into_response();
        }
        if method != Method::GET && method != Method::HEAD {
            return ApiError::MethodNotAllowed {
                method: method.to_string(),
            }
            .into_response();
        }
        let Some(relative) = safe_relative(path) else {
            return ApiError::not_found("file").into_response();
        };
        let relative = if relative.is_empty() {
            "index.html".to_owned()
        } else {
            relative
        };
        if let Some(bytes) = self.read(&relative).await {
            let cache = if relative.starts_with("assets/") {
                IMMUTABLE
            } else {
                REVALIDATE
            };
            return file_response(&method, &relative, bytes, cache);
        }
        // A dashboard route, not a file: the app decides what to show.
        if !last_segment_has_extension(&relative) {
            if let Some(bytes) = self.read("index.html").await {
                return file_response(&method, "index.html", bytes, REVALIDATE);
            }
            if relative == "index.html" {
                return not_built();
            }
        }
        ApiError::not_found("file").into_response()
    }
}

/// Adds the dashboard as the fallback of `router` (every path no route matched).
pub fn serve_at_root(router: Router<AppState>, dashboard: Dashboard) -> Router<AppState> {
    let dashboard = Arc::new(dashboard);
    router.fallback(move |method: Method, uri: Uri| {
        let dashboard = Arc::clone(&dashboard);
        async move { dashboard.respond(method, uri).await }
    })
}

fn is_api_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/") || path == "/health" || path.starts_with("/auth/")
}

/// The request path as a relative file path, or `None` when it tries to leave the
/// folder or names something no build output has (dot files, backslashes, NULs).
fn safe_relative(path: &str) -> Option<String> {
    let trimmed = path.trim_start_matches('/');
    let mut parts = Vec::new();
    for segment in trimmed.split('/') {
        if segment.is_empty() {
            continue;
        }
        if segment.starts_with('.') || segment.contains(['\\', '\0', '%']) {
            return None;
        }
        parts.push(segment);
    }
    Some(parts.join("/"))
}

fn last_segment_has_extension(relative: &str) -> bool {
    relative
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'))
}

fn file_response(
    method: &Method,
    relative: &str,
    bytes: Cow<'static, [u8]>,
    cache: &'static str,
) -> Response {
    let mime = mime_type(relative);
    let len = bytes.len();
    let body = if *method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(bytes)
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&mime) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    response
}

fn mime_type(relative: &str) -> String {
    let guess = mime_guess::from_path(Path::new(relative)).first_or_octet_stream();
    match guess.essence_str() {
        m if m.starts_with("text/") || m == "application/javascript" => {
            format!("{m}; charset=utf-8")
        }
        m => m.to_owned(),
    }
}

/// What `/` shows when the binary was built without the dashboard.
fn not_built() -> Response {
    let page = "<!doctype html><meta charset=utf-8><title>Sentinel</title>\
        <h1>Sentinel is running</h1>\
        <p>This binary was built without the dashboard. Build it with \
        <code>npm ci &amp;&amp; npm run build</code> in <code>frontend/</code>, then rebuild \
        Sentinel (or point <code>SENTINEL_DASHBOARD_DIR</code> at <code>frontend/dist</code>).</p>\
        <p>The API is described at <a href=\"/api/openapi.json\">/api/openapi.json</a>; \
        health at <a href=\"/health\">/health</a>.</p>";
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, REVALIDATE),
        ],
        page,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_outside_the_folder_are_refused() {
        assert_eq!(safe_relative("/"), Some(String::new()));
        assert_eq!(
            safe_relative("/assets/app-1a2b.js"),
            Some("assets/app-1a2b.js".into())
        );
        assert_eq!(
            safe_relative("//monitors///web"),
            Some("monitors/web".into())
        );
        for bad in [
            "/../etc/passwd",
            "/assets/../../x",
            "/.env",
            "/a\\b",
            "/%2e%2e/x",
        ] {
            assert_eq!(safe_relative(bad), None, "{bad}");
        }
    }

    #[test]
    fn api_paths_are_left_to_the_api() {
        for p in ["/api", "/api/nope", "/health", "/auth/create-user"] {
            assert!(is_api_path(p), "{p}");
        }
        for p in ["/", "/status", "/apis", "/monitors/api"] {
            assert!(!is_api_path(p), "{p}");
        }
    }

    #[test]
    fn text_types_carry_a_charset() {
        assert_eq!(mime_type("index.html"), "text/html; charset=utf-8");
        assert!(mime_type("assets/a.js").ends_with("; charset=utf-8"));
        assert_eq!(mime_type("logo.png"), "image/png");
        assert_eq!(mime_type("font.woff2"), "font/woff2");
    }
}
