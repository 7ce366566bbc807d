//! The whole API on `127.0.0.1:0`, as `sentinel serve` wires it (every route group,
//! the JSON fallbacks, the middleware), over a fresh in-memory SQLite store, a blob
//! folder and an outbox mailer in a temporary directory. One per test.
//!
//! ```ignore
//! let app = TestApp::spawn().await;
//! let admin = app.admin().await;                       // first user: admin
//! let alice = app.user(&admin, "alice@example.com", "user").await;
//! let reply = app.post_as(&alice, "/api/monitors", &json!({...})).await;
//! assert_eq!(reply.status, 201, "{}", reply.body);
//! let key = app.api_key(&alice, "read").await;          // plain `snt_…`
//! let reply = app.get_with_key(&key, "/api/monitors").await;
//! ```
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, SET_COOKIE};
use reqwest::{Method, RequestBuilder};
use sentinel_api::settings::ApiSettings;
use sentinel_api::{
    AccountStores, AppState, MonitorEvents, NoMonitorEvents, groups, middleware, with_fallbacks,
};
use sentinel_embedded::mail::OutboxMailer;
use sentinel_embedded::{FolderBlobStore, SqliteStore};
use sentinel_pipeline::ecs::EcsRefresh;
use sentinel_probe::{ProbeSettings, Prober};
use sentinel_store::{EcsAccountStore, EcsSnapshotStore, Stores};
use serde_json::{Value, json};

/// The JWT secret of every test app (so tests can forge tokens signed with it).
pub const TEST_JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";
pub const TEST_ENCRYPTION_KEYS: &str =
    "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
pub const FRONTEND_URL: &str = "https://sentinel.test";
/// Long enough for the password rules.
pub const PASSWORD: &str = "correct horse battery staple";
pub const ADMIN_EMAIL: &str = "admin@example.com";

/// Settings as in production, except a general rate limit high enough for any test.
/// The app state over `store`, with blobs and the mail outbox in `dir` (no scheduler).
pub fn state_over(
    store: &Arc<SqliteStore>,
    dir: &std::path::Path,
    settings: ApiSettings,
    events: Arc<dyn MonitorEvents>,
    probe: ProbeSettings,
) -> AppState {
    AppState {
        stores: Arc::clone(store) as Arc<dyn Stores>,
        accounts: Arc::clone(store) as Arc<dyn AccountStores>,
        blobs: Arc::new(FolderBlobStore::new(dir.join("blobs"))),
        mailer: Arc::new(OutboxMailer::new(dir.join("outbox"))),
        settings: Arc::new(settings),
        events,
        prober: Prober::new(probe).expect("prober"),
        last_tick: None,
        ecs_accounts: Arc::clone(store) as Arc<dyn EcsAccountStore>,
        ecs_snapshots: Arc::clone(store) as Arc<dyn EcsSnapshotStore>,
        ecs_refresh: None,
    }
}

pub fn test_settings() -> ApiSettings {
    let mut settings = ApiSettings::from_lookup(|name| match name {
        "JWT_SECRET" => Some(TEST_JWT_SECRET.to_owned()),
        "ENCRYPTION_KEYS" => Some(TEST_ENCRYPTION_KEYS.to_owned()),
        "FRONTEND_URL" => Some(FRONTEND_URL.to_owned()),
        _ => None,
    })
    .expect("test settings are valid");
    settings.rate_limit_max = 100_000;
    settings
}

pub struct TestAppBuilder {
    settings: ApiSettings,
    events: Arc<dyn MonitorEvents>,
    probe: ProbeSettings,
    ecs_refresh: Option<Arc<dyn EcsRefresh>>,
}

impl TestAppBuilder {
    /// Changes the settings before start (e.g. `|s| s.open_registration = true`).
    pub fn settings(mut self, change: impl FnOnce(&mut ApiSettings)) -> Self {
        change(&mut self.settings);
        self
    }

    /// What the API tells the scheduler (default: nothing).
    pub fn events(mut self, events: Arc<dyn MonitorEvents>) -> Self {
        self.events = events;
        self
    }

    pub fn probe_settings(mut self, probe: ProbeSettings) -> Self {
        self.probe = probe;
        self
    }

    /// What `POST /api/ecs/refresh` runs (default: none, so it answers 503).
    pub fn ecs_refresh(mut self, refresh: Arc<dyn EcsRefresh>) -> Self {
        self.ecs_refresh = Some(refresh);
        self
    }

    pub async fn start(self) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(SqliteStore::open_in_memory().await.expect("sqlite store"));
        let outbox = dir.path().join("outbox");
        let blobs = dir.path().join("blobs");
        let mut state = state_over(&store, dir.path(), self.settings, self.events, self.probe);
        state.ecs_refresh = self.ecs_refresh;
        let app = middleware::layers(with_fallbacks(groups::all_routes()), &state)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .expect("test server");
        });
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        TestApp {
            addr,
            base: format!("http://{addr}"),
            client,
            store,
            state,
            outbox,
            blobs,
            _dir: dir,
        }
    }
}

/// An answer, read in full.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
    /// The body as JSON (`Null` when it is not JSON).
    pub json: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `error.code` of our error shape.
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }

    /// Every `Set-Cookie` line.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }

    /// The value a `Set-Cookie` gives `name` (`Some("")` when it clears it).
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies().iter().find_map(|line| {
            let (pair, _) = line.split_once(';').unwrap_or((line, ""));
            let (key, value) = pair.split_once('=')?;
            (key.trim() == name).then(|| value.trim().to_owned())
        })
    }
}

/// A signed-in browser: the access token and the two cookies.
#[derive(Debug, Clone)]
pub struct Session {
    pub access_token: String,
    pub csrf_token: String,
    /// The `sentinel_refresh` cookie's value.
    pub refresh_token: Option<String>,
    pub user_id: String,
    pub email: String,
    pub role: String,
}

impl Session {
    /// From a sign-in/registration/refresh answer (panics if it is not one).
    pub fn from_reply(reply: &Reply) -> Self {
        assert!(
            reply.json["accessToken"].is_string(),
            "not a session: {} {}",
            reply.status,
            reply.body
        );
        Self {
            access_token: reply.json["accessToken"].as_str().unwrap().to_owned(),
            csrf_token: reply
                .cookie("sentinel_csrf")
                .expect("a sentinel_csrf cookie"),
            refresh_token: reply.cookie("sentinel_refresh"),
            user_id: reply.json["user"]["id"].as_str().unwrap().to_owned(),
            email: reply.json["user"]["email"].as_str().unwrap().to_owned(),
            role: reply.json["user"]["role"].as_str().unwrap().to_owned(),
        }
    }

    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.access_token)
    }

    /// The `Cookie` header a browser would send to `/api/auth/*`.
    pub fn cookie_header(&self) -> String {
        let mut cookie = format!("sentinel_csrf={}", self.csrf_token);
        if let Some(refresh) = &self.refresh_token {
            cookie.push_str(&format!("; sentinel_refresh={refresh}"));
        }
        cookie
    }

    /// What the dashboard sends: Bearer token, cookies, and the CSRF header.
    pub fn apply(&self, request: RequestBuilder) -> RequestBuilder {
        request
            .header("authorization", self.bearer())
            .header("cookie", self.cookie_header())
            .header("x-csrf-token", &self.csrf_token)
    }

    /// Takes the new tokens of a successful refresh.
    pub fn update(&mut self, reply: &Reply) {
        let fresh = Session::from_reply(reply);
        *self = fresh;
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// No cookie store, no redirects: tests see exactly what the server sends.
    pub client: reqwest::Client,
    /// The same store the app uses (for arranging and checking state directly).
    pub store: Arc<SqliteStore>,
    pub state: AppState,
    /// Where the outbox mailer writes `.eml` files.
    pub outbox: PathBuf,
    pub blobs: PathBuf,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            settings: test_settings(),
            events: Arc::new(NoMonitorEvents),
            probe: ProbeSettings::default(),
            ecs_refresh: None,
        }
    }

    pub async fn spawn() -> Self {
        Self::builder().start().await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// Sends and reads the whole answer.
    pub async fn send(&self, request: RequestBuilder) -> Reply {
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.expect("body read");
        let json = serde_json::from_str(&body).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            json,
        }
    }

    // --- without credentials -------------------------------------------------------

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(self.request(Method::POST, path).json(body)).await
    }

    // --- as a signed-in browser ----------------------------------------------------

    pub async fn send_as(
        &self,
        session: &Session,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Reply {
        let mut request = session.apply(self.request(method, path));
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(request).await
    }

    pub async fn get_as(&self, session: &Session, path: &str) -> Reply {
        self.send_as(session, Method::GET, path, None).await
    }

    pub async fn post_as(&self, session: &Session, path: &str, body: &Value) -> Reply {
        self.send_as(session, Method::POST, path, Some(body)).await
    }

    pub async fn put_as(&self, session: &Session, path: &str, body: &Value) -> Reply {
        self.send_as(session, Method::PUT, path, Some(body)).await
    }

    pub async fn patch_as(&self, session: &Session, path: &str, body: &Value) -> Reply {
        self.send_as(session, Method::PATCH, path, Some(body)).await
    }

    pub async fn delete_as(&self, session: &Session, path: &str) -> Reply {
        self.send_as(session, Method::DELETE, path, None).await
    }

    // --- with an API key (`X-API-Key`) ---------------------------------------------

    pub async fn send_with_key(
        &self,
        key: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Reply {
        let mut request = self.request(method, path).header("x-api-key", key);
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(request).await
    }

    pub async fn get_with_key(&self, key: &str, path: &str) -> Reply {
        self.send_with_key(key, Method::GET, path, None).await
    }

    pub async fn post_with_key(&self, key: &str, path: &str, body: &Value) -> Reply {
        self.send_with_key(key, Method::POST, path, Some(body))
            .await
    }

    pub async fn put_with_key(&self, key: &str, path: &str, body: &Value) -> Reply {
        self.send_with_key(key, Method::PUT, path, Some(body)).await
    }

    pub async fn patch_with_key(&self, key: &str, path: &str, body: &Value) -> Reply {
        self.send_with_key(key, Method::PATCH, path, Some(body))
            .await
    }

    pub async fn delete_with_key(&self, key: &str, path: &str) -> Reply {
        self.send_with_key(key, Method::DELETE, path, None).await
    }

    // --- accounts --------------------------------------------------------------------

    pub async fn try_register(&self, email: &str, password: &str) -> Reply {
        self.post(
            "/api/auth/register",
            &json!({ "email": email, "password": password }),
        )
        .await
    }

    /// Registers (201 expected) and returns the new session.
    pub async fn register(&self, email: &str, password: &str) -> Session {
        let reply = self.try_register(email, password).await;
        assert_eq!(reply.status, 201, "register {email}: {}", reply.body);
        Session::from_reply(&reply)
    }

    pub async fn try_login(&self, email: &str, password: &str) -> Reply {
        self.post(
            "/api/auth/login",
            &json!({ "email": email, "password": password }),
        )
        .await
    }

    /// Signs in (200 expected).
    pub async fn login(&self, email: &str, password: &str) -> Session {
        let reply = self.try_login(email, password).await;
        assert_eq!(reply.status, 200, "login {email}: {}", reply.body);
        Session::from_reply(&reply)
    }

    /// Registers the first user (`ADMIN_EMAIL`, `PASSWORD`), who becomes admin.
    pub async fn admin(&self) -> Session {
        let session = self.register(ADMIN_EMAIL, PASSWORD).await;
        assert_eq!(session.role, "admin");
        session
    }

    /// An admin creates `email` with `role` (`admin`, `monitor`, `user`) and
    /// `PASSWORD`; returns that user's session.
    pub async fn user(&self, admin: &Session, email: &str, role: &str) -> Session {
        let reply = self
            .post_as(
                admin,
                "/api/users",
                &json!({ "email": email, "password": PASSWORD, "role": role }),
            )
            .await;
        assert_eq!(reply.status, 201, "create {email}: {}", reply.body);
        self.login(email, PASSWORD).await
    }

    /// Creates an API key (`read` or `write`) for the session's user; the plain key.
    pub async fn api_key(&self, session: &Session, scope: &str) -> String {
        let reply = self
            .post_as(
                session,
                "/api/api-keys",
                &json!({ "name": format!("test {scope} key"), "scope": scope }),
            )
            .await;
        assert_eq!(reply.status, 201, "create key: {}", reply.body);
        reply.json["key"].as_str().expect("key").to_owned()
    }

    /// A fresh CSRF token (`GET /api/auth/csrf-token`).
    pub async fn csrf(&self) -> String {
        let reply = self.get("/api/auth/csrf-token").await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json["csrfToken"]
            .as_str()
            .expect("csrfToken")
            .to_owned()
    }

    /// `POST /api/auth/refresh` as the session's browser (cookies + CSRF header).
    pub async fn refresh(&self, session: &Session) -> Reply {
        self.send(
            self.request(Method::POST, "/api/auth/refresh")
                .header("cookie", session.cookie_header())
                .header("x-csrf-token", &session.csrf_token),
        )
        .await
    }

    // --- mail ------------------------------------------------------------------------

    /// Every mail in the outbox so far, oldest first, bodies decoded.
    pub fn mails(&self) -> Vec<String> {
        read_outbox(&self.outbox)
    }

    /// Waits (up to 10 s) for a mail to `to` and returns it, decoded.
    pub async fn wait_for_mail(&self, to: &str) -> String {
        for _ in 0..200 {
            if let Some(mail) = self
                .mails()
                .into_iter()
                .rev()
                .find(|m| m.contains(&format!("To: {to}")))
            {
                return mail;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no mail to {to} in {}", self.outbox.display());
    }
}

fn read_outbox(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    files
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|raw| decode_mail(&raw))
        .collect()
}

/// Headers as they are, the body decoded from quoted-printable when it is.
pub fn decode_mail(raw: &str) -> String {
    let Some((head, body)) = raw.split_once("\r\n\r\n") else {
        return raw.to_owned();
    };
    if !head
        .to_ascii_lowercase()
        .contains("content-transfer-encoding: quoted-printable")
    {
        return raw.to_owned();
    }
    let joined = body.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'=')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        if let Some(byte) = escaped {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    format!("{head}\r\n\r\n{}", String::from_utf8_lossy(&out))
}

/// The `token` of the first reset link in a mail.
pub fn reset_token_in(mail: &str) -> String {
    let start = mail
        .find("/reset-password?token=")
        .unwrap_or_else(|| panic!("no reset link in {mail}"))
        + "/reset-password?token=".len();
    mail[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}
