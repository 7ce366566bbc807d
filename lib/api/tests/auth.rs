//! Accounts, sessions, API keys and the attack suite, against the whole app on port 0.

mod support;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use sentinel_core::account::{KeyScope, UserId};
use sentinel_store::{ApiKey, ApiKeyStore};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::{
    ADMIN_EMAIL, FRONTEND_URL, PASSWORD, Reply, TEST_JWT_SECRET, TestApp, reset_token_in,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn assert_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.code(), code, "{}", reply.body);
    assert!(
        reply.json["error"]["message"].is_string(),
        "error shape: {}",
        reply.body
    );
}

fn sign(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

async fn get_with_bearer(app: &TestApp, token: &str, path: &str) -> Reply {
    app.send(
        app.request(Method::GET, path)
            .header("authorization", format!("Bearer {token}")),
    )
    .await
}

#[tokio::test]
async fn the_first_user_becomes_admin_and_later_ones_need_open_registration() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    assert_eq!(admin.email, ADMIN_EMAIL);

    let refused = app.try_register("bob@example.com", PASSWORD).await;
    assert_error(&refused, 403, "registration_closed");
    assert_error(
        &app.try_login("bob@example.com", PASSWORD).await,
        401,
        "unauthorized",
    );

    let me = app.get_as(&admin, "/api/auth/me").await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json["role"], "admin");
    assert!(me.json.get("passwordHash").is_none() && !me.body.contains("pbkdf2"));
}

#[tokio::test]
async fn open_registration_lets_anyone_register_as_a_plain_user() {
    let app = TestApp::builder()
        .settings(|s| s.open_registration = true)
        .start()
        .await;
    app.admin().await;
    let bob = app.register("  Bob@Example.COM ", PASSWORD).await;
    assert_eq!(bob.role, "user");
    assert_eq!(bob.email, "bob@example.com");

    let again = app.try_register("bob@example.com", PASSWORD).await;
    assert_error(&again, 409, "email_taken");
    assert_eq!(again.json["error"]["field"], "email");

    let bad_email = app.try_register("not-an-email", PASSWORD).await;
    assert_error(&bad_email, 400, "invalid_input");
    assert_eq!(bad_email.json["error"]["field"], "email");
    let short = app.try_register("carol@example.com", "short").await;
    assert_error(&short, 400, "invalid_input");
    assert_eq!(short.json["error"]["field"], "password");
}

#[tokio::test]
async fn racing_first_registrations_make_exactly_one_admin() {
    for open in [false, true] {
        let app = TestApp::builder()
            .settings(|s| s.open_registration = open)
            .start()
            .await;
        let (a, b) = tokio::join!(
            app.try_register("first@example.com", PASSWORD),
            app.try_register("second@example.com", PASSWORD)
        );
        let replies = [a, b];
        let admins = replies
            .iter()
            .filter(|r| r.status == 201 && r.json["user"]["role"] == "admin")
            .count();
        assert_eq!(
            admins,
            1,
            "open={open}: {:?}",
            replies.iter().map(|r| &r.body).collect::<Vec<_>>()
        );
        for reply in &replies {
            if reply.status == 201 {
                continue;
            }
            assert!(!open, "with open registration both get accounts");
            assert_error(reply, 403, "registration_closed");
        }
        let created = replies.iter().filter(|r| r.status == 201).count();
        assert_eq!(created, if open { 2 } else { 1 }, "open={open}");
    }
}

#[tokio::test]
async fn every_session_write_needs_the_csrf_token() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let mut no_csrf = admin.clone();
    no_csrf.csrf_token = String::new();
    let mut wrong_csrf = admin.clone();
    wrong_csrf.csrf_token = "not-the-cookie-value".into();
    let body = json!({});
    let writes = [
        (Method::POST, "/api/monitors"),
        (Method::POST, "/api/monitors/test"),
        (Method::PATCH, "/api/monitors/some-id"),
        (Method::DELETE, "/api/monitors/some-id"),
        (Method::POST, "/api/monitors/some-id/pause"),
        (Method::POST, "/api/monitors/some-id/resume"),
        (Method::POST, "/api/monitors/some-id/check"),
        (Method::POST, "/api/alert-channels"),
        (Method::PATCH, "/api/alert-channels/some-id"),
        (Method::DELETE, "/api/alert-channels/some-id"),
        (Method::POST, "/api/alert-channels/some-id/test"),
        (Method::POST, "/api/users"),
        (Method::PATCH, "/api/users/some-id"),
        (Method::DELETE, "/api/users/some-id"),
        (Method::POST, "/auth/create-user"),
        (Method::POST, "/api/api-keys"),
        (Method::DELETE, "/api/api-keys/some-id"),
        (Method::POST, "/api/export/csv/some-id"),
        (Method::POST, "/api/auth/change-password"),
        (Method::POST, "/api/auth/logout-all"),
    ];
    for (method, path) in writes {
        for session in [&no_csrf, &wrong_csrf] {
            let reply = app
                .send_as(session, method.clone(), path, Some(&body))
                .await;
            assert_error(&reply, 403, "csrf_failed");
        }
    }
    // Reads need none.
    assert_eq!(app.get_as(&no_csrf, "/api/monitors").await.status, 200);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let app = TestApp::spawn().await;
    app.admin().await;
    let wrong = app.try_login(ADMIN_EMAIL, "not the password at all").await;
    let unknown = app.try_login("nobody@example.com", PASSWORD).await;
    let malformed = app.try_login("nobody", PASSWORD).await;
    for reply in [&wrong, &unknown, &malformed] {
        assert_error(reply, 401, "unauthorized");
        assert_eq!(reply.json, wrong.json);
        assert!(reply.set_cookies().is_empty());
    }
}

#[tokio::test]
async fn login_answers_an_access_token_and_sets_hardened_cookies() {
    let app = TestApp::spawn().await;
    app.admin().await;
    let reply = app.try_login(ADMIN_EMAIL, PASSWORD).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json["expiresIn"], 900);
    assert_eq!(reply.json["tokenType"], "Bearer");
    assert_eq!(reply.json["user"]["email"], ADMIN_EMAIL);
    assert_eq!(reply.header("cache-control"), Some("no-store"));

    let cookies = reply.set_cookies();
    let refresh = cookies
        .iter()
        .find(|c| c.starts_with("sentinel_refresh="))
        .unwrap();
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/api/auth",
        "Max-Age=604800",
    ] {
        assert!(
            refresh.contains(attribute),
            "{attribute} missing: {refresh}"
        );
    }
    let csrf = cookies
        .iter()
        .find(|c| c.starts_with("sentinel_csrf="))
        .unwrap();
    assert!(!csrf.contains("HttpOnly") && csrf.contains("SameSite=Strict"));
    assert_eq!(
        reply.cookie("sentinel_csrf").unwrap(),
        reply.json["csrfToken"]
    );

    // The access token works, and only the hash of the refresh token is stored.
    let session = support::Session::from_reply(&reply);
    assert_eq!(app.get_as(&session, "/api/auth/me").await.status, 200);
    assert_error(&app.get("/api/auth/me").await, 401, "unauthorized");
    let csrf_reply = app.get("/api/auth/csrf-token").await;
    assert_eq!(
        csrf_reply.cookie("sentinel_csrf").unwrap(),
        csrf_reply.json["csrfToken"]
    );
}

#[tokio::test]
async fn forged_access_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.user(&admin, "user@example.com", "user").await;
    let now = now_secs();
    let claims = |sub: &str, role: &str, iat: i64, exp: i64| json!({ "sub": sub, "role": role, "jti": "j", "iat": iat, "exp": exp });

    let expired = sign(
        &claims(&user.user_id, "user", now - 3600, now - 1800),
        TEST_JWT_SECRET,
    );
    let wrong_key = sign(
        &claims(&user.user_id, "admin", now, now + 900),
        "a-completely-different-secret-of-40-chars",
    );
    let header_none = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let admin_body =
        URL_SAFE_NO_PAD.encode(claims(&user.user_id, "admin", now, now + 900).to_string());
    let alg_none = format!("{header_none}.{admin_body}.");
    let parts: Vec<&str> = user.access_token.split('.').collect();
    let tampered_role = format!("{}.{admin_body}.{}", parts[0], parts[2]);
    let header_rs = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT"}"#);
    let rs256 = format!("{header_rs}.{}.{}", parts[1], parts[2]);
    let ghost = sign(
        &claims("u_does_not_exist", "admin", now, now + 900),
        TEST_JWT_SECRET,
    );

    for (what, token, code) in [
        ("expired", expired, "token_expired"),
        ("wrong key", wrong_key, "invalid_token"),
        ("alg none", alg_none, "invalid_token"),
        ("tampered role", tampered_role, "invalid_token"),
        ("RS256 header", rs256, "invalid_token"),
        ("unknown user", ghost, "invalid_token"),
        ("garbage", "not.a.jwt".to_owned(), "invalid_token"),
    ] {
        let reply = get_with_bearer(&app, &token, "/api/users").await;
        assert_eq!(reply.status, 401, "{what}: {}", reply.body);
        assert_eq!(reply.code(), code, "{what}");
    }
    let basic = app
        .send(
            app.request(Method::GET, "/api/auth/me")
                .header("authorization", "Basic YWRtaW46cHc="),
        )
        .await;
    assert_error(&basic, 401, "invalid_token");
    // The genuine token still works, with the role the store says.
    let me = app.get_as(&user, "/api/auth/me").await;
    assert_eq!(me.json["role"], "user");
}

#[tokio::test]
async fn refresh_rotates_the_token_and_reuse_revokes_the_whole_family() {
    let app = TestApp::spawn().await;
    let first = app.admin().await;

    let rotated = app.refresh(&first).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let second = {
        let mut s = first.clone();
        s.update(&rotated);
        s
    };
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_ne!(second.access_token, first.access_token);
    assert_eq!(app.get_as(&second, "/api/auth/me").await.status, 200);

    // The first token comes back: someone kept a copy.
    let reuse = app.refresh(&first).await;
    assert_error(&reuse, 401, "refresh_token_reused");
    assert_eq!(reuse.cookie("sentinel_refresh").as_deref(), Some(""));
    // The legitimate successor is dead too.
    assert_error(&app.refresh(&second).await, 401, "invalid_refresh_token");
    // Signing in again starts a new, working family.
    let again = app.login(ADMIN_EMAIL, PASSWORD).await;
    assert_eq!(app.refresh(&again).await.status, 200);

    let mut no_cookie = again.clone();
    no_cookie.refresh_token = None;
    assert_error(&app.refresh(&no_cookie).await, 401, "unauthorized");
    let mut junk = again.clone();
    junk.refresh_token = Some("junk".into());
    assert_error(&app.refresh(&junk).await, 401, "invalid_refresh_token");
}

#[tokio::test]
async fn refresh_and_logout_need_the_csrf_token() {
    let app = TestApp::spawn().await;
    let session = app.admin().await;
    let cookie = session.cookie_header();

    let no_header = app
        .send(
            app.request(Method::POST, "/api/auth/refresh")
                .header("cookie", &cookie),
        )
        .await;
    assert_error(&no_header, 403, "csrf_failed");
    let logout_forged = app
        .send(
            app.request(Method::POST, "/api/auth/logout")
                .header("cookie", &cookie)
                .header("x-csrf-token", "forged"),
        )
        .await;
    assert_error(&logout_forged, 403, "csrf_failed");

    let logout = app
        .send(
            app.request(Method::POST, "/api/auth/logout")
                .header("cookie", &cookie)
                .header("x-csrf-token", &session.csrf_token),
        )
        .await;
    assert_eq!(logout.status, 204, "{}", logout.body);
    assert_eq!(logout.cookie("sentinel_refresh").as_deref(), Some(""));
    assert_error(&app.refresh(&session).await, 401, "invalid_refresh_token");
}

#[tokio::test]
async fn session_writes_need_the_csrf_token_and_api_keys_are_exempt() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let body = json!({ "name": "ci", "scope": "write" });

    let without = app
        .send(
            app.request(Method::POST, "/api/api-keys")
                .header("authorization", admin.bearer())
                .json(&body),
        )
        .await;
    assert_error(&without, 403, "csrf_failed");
    let mismatched = app
        .send(
            app.request(Method::POST, "/api/api-keys")
                .header("authorization", admin.bearer())
                .header("cookie", admin.cookie_header())
                .header("x-csrf-token", app.csrf().await)
                .json(&body),
        )
        .await;
    assert_error(&mismatched, 403, "csrf_failed");
    // Reads need none.
    let read = get_with_bearer(&app, &admin.access_token, "/api/api-keys").await;
    assert_eq!(read.status, 200, "{}", read.body);

    let created = app.post_as(&admin, "/api/api-keys", &body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let key = created.json["key"].as_str().unwrap().to_owned();
    // A write key changes things with no cookie and no CSRF header.
    let created = app
        .post_with_key(
            &key,
            "/api/monitors",
            &json!({"name": "made by a key", "url": "https://example.com/"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    // ...but does not manage keys, even its own kind.
    let listed = app.get_with_key(&key, "/api/api-keys").await;
    let id = listed.json[0]["id"].as_str().unwrap().to_owned();
    let refused = app
        .delete_with_key(&key, &format!("/api/api-keys/{id}"))
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
}

#[tokio::test]
async fn the_monitor_role_reads_but_cannot_write() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let login = {
        app.post_as(
            &admin,
            "/api/users",
            &json!({ "email": "wall@example.com", "password": PASSWORD, "role": "monitor" }),
        )
        .await;
        app.try_login("wall@example.com", PASSWORD).await
    };
    assert_eq!(login.status, 200, "{}", login.body);
    assert_eq!(login.json["expiresIn"], 12 * 3600);
    let wall = support::Session::from_reply(&login);

    assert_eq!(
        app.get_as(&wall, "/api/auth/me").await.json["role"],
        "monitor"
    );
    assert_eq!(app.get_as(&wall, "/api/api-keys").await.status, 200);
    let write = app
        .post_as(
            &wall,
            "/api/api-keys",
            &json!({ "name": "k", "scope": "read" }),
        )
        .await;
    assert_error(&write, 403, "read_only_role");
    assert_error(
        &app.patch_as(
            &wall,
            &format!("/api/users/{}", admin.user_id),
            &json!({ "role": "user" }),
        )
        .await,
        403,
        "read_only_role",
    );
    assert_error(&app.get_as(&wall, "/api/users").await, 403, "forbidden");
}

#[tokio::test]
async fn brute_force_login_is_rate_limited_with_retry_after() {
    let app = TestApp::spawn().await;
    app.admin().await;
    for attempt in 0..5 {
        let reply = app
            .try_login(ADMIN_EMAIL, &format!("guess number {attempt}"))
            .await;
        assert_error(&reply, 401, "unauthorized");
    }
    let limited = app.try_login(ADMIN_EMAIL, PASSWORD).await;
    assert_error(&limited, 429, "rate_limited");
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    // Case and spaces do not make a new bucket.
    assert_eq!(
        app.try_login(" ADMIN@example.com", PASSWORD).await.status,
        429
    );
    // Another account from the same address is its own bucket.
    assert_error(
        &app.try_login("other@example.com", PASSWORD).await,
        401,
        "unauthorized",
    );
}

#[tokio::test]
async fn the_general_rate_limit_counts_per_ip_and_per_api_key() {
    let app = TestApp::builder()
        .settings(|s| s.rate_limit_max = 3)
        .start()
        .await;
    let admin = app.admin().await; // 1 from this IP
    let key = app.api_key(&admin, "read").await; // the session's own bucket
    for _ in 0..3 {
        let reply = app.get_with_key(&key, "/api/auth/me").await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let over = app.get_with_key(&key, "/api/auth/me").await;
    assert_error(&over, 429, "rate_limited");
    assert!(over.header("retry-after").is_some());
    assert_eq!(over.header("ratelimit-limit"), Some("3"));
    assert_eq!(over.header("ratelimit-remaining"), Some("0"));

    assert_eq!(app.get("/api/auth/csrf-token").await.status, 200); // 2
    assert_eq!(app.get("/api/auth/csrf-token").await.status, 200); // 3
    assert_error(&app.get("/api/auth/csrf-token").await, 429, "rate_limited");
    // Made-up keys count against the address, not a bucket of their own.
    let fake = format!("snt_{}", "A".repeat(43));
    assert_eq!(app.get_with_key(&fake, "/api/auth/me").await.status, 429);
    // Health and public pages are not limited.
    assert_eq!(app.get("/health").await.status, 200);
    assert_eq!(app.get("/api/public/status").await.status, 200);
}

#[tokio::test]
async fn a_session_counts_per_user_with_the_dashboard_allowance() {
    let app = TestApp::builder()
        .settings(|s| {
            s.rate_limit_max = 2;
            s.rate_limit_session_max = 5;
        })
        .start()
        .await;
    let admin = app.admin().await; // 1 from this IP
    for _ in 0..5 {
        let reply = app.get_as(&admin, "/api/monitors").await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let over = app.get_as(&admin, "/api/monitors").await;
    assert_error(&over, 429, "rate_limited");
    assert_eq!(over.header("ratelimit-limit"), Some("5"));
    // The address still has its own (smaller) allowance left.
    assert_eq!(app.get("/api/auth/csrf-token").await.status, 200); // 2
    assert_error(&app.get("/api/auth/csrf-token").await, 429, "rate_limited");
    // A forged token does not get a session bucket: it counts against the address.
    let mut forged = admin.clone();
    forged.access_token = format!("{}x", admin.access_token);
    assert_error(
        &app.get_as(&forged, "/api/monitors").await,
        429,
        "rate_limited",
    );
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_session_of_the_user() {
    let app = TestApp::spawn().await;
    let laptop = app.admin().await;
    let phone = app.login(ADMIN_EMAIL, PASSWORD).await;
    // Needs the CSRF token, like every session write.
    let mut no_csrf = laptop.clone();
    no_csrf.csrf_token = String::new();
    assert_error(
        &app.post_as(&no_csrf, "/api/auth/logout-all", &json!({}))
            .await,
        403,
        "csrf_failed",
    );
    let reply = app
        .post_as(&laptop, "/api/auth/logout-all", &json!({}))
        .await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    assert_eq!(reply.cookie("sentinel_refresh").as_deref(), Some(""));
    assert_error(&app.refresh(&laptop).await, 401, "invalid_refresh_token");
    assert_error(&app.refresh(&phone).await, 401, "invalid_refresh_token");
    // API keys cannot end sessions.
    let again = app.login(ADMIN_EMAIL, PASSWORD).await;
    let key = app.api_key(&again, "write").await;
    let reply = app
        .send_with_key(&key, Method::POST, "/api/auth/logout-all", Some(&json!({})))
        .await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert_eq!(app.refresh(&again).await.status, 200);
}

#[tokio::test]
async fn bad_bodies_get_json_errors_and_oversized_ones_413() {
    let app = TestApp::spawn().await;
    let big = json!({ "email": "a@example.com", "password": "x".repeat(70 * 1024) });
    let too_big = app.post("/api/auth/login", &big).await;
    assert_error(&too_big, 413, "payload_too_large");
    assert_eq!(too_big.header("x-content-type-options"), Some("nosniff"));

    let not_json = app
        .send(
            app.request(Method::POST, "/api/auth/login")
                .header("content-type", "text/plain")
                .body("email=a"),
        )
        .await;
    assert_error(&not_json, 415, "unsupported_media_type");
    let broken = app
        .send(
            app.request(Method::POST, "/api/auth/login")
                .header("content-type", "application/json")
                .body("{\"email\": "),
        )
        .await;
    assert_error(&broken, 400, "invalid_json");
    let unknown = app
        .post(
            "/api/auth/register",
            &json!({ "email": "a@example.com", "password": PASSWORD, "role": "admin" }),
        )
        .await;
    assert_error(&unknown, 400, "invalid_input");
    assert_eq!(unknown.json["error"]["field"], "role");
    let missing = app
        .post("/api/auth/login", &json!({ "email": "a@example.com" }))
        .await;
    assert_error(&missing, 400, "invalid_input");
    assert_eq!(missing.json["error"]["field"], "password");
    let wrong_type = app
        .post(
            "/api/auth/login",
            &json!({ "email": 5, "password": PASSWORD }),
        )
        .await;
    assert_eq!(wrong_type.json["error"]["field"], "email");

    // A chunked body, with no Content-Length to refuse up front.
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let chunk = "x".repeat(80 * 1024);
    let head = "POST /api/auth/login HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
                Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    let request = format!("{head}{:x}\r\n{chunk}\r\n0\r\n\r\n", chunk.len());
    let _ = stream.write_all(request.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("payload_too_large"), "{answer}");
}

#[tokio::test]
async fn hostile_text_is_stored_verbatim_and_returned_as_escaped_json() {
    let app = TestApp::builder()
        .settings(|s| s.open_registration = true)
        .start()
        .await;
    let admin = app.admin().await;
    let sqlish_email = "o'brien--+1=1@example.com";
    let sql_user = app
        .register(sqlish_email, "' OR '1'='1' -- long enough")
        .await;
    assert_eq!(sql_user.email, sqlish_email);
    app.login(sqlish_email, "' OR '1'='1' -- long enough").await;
    assert_error(
        &app.try_login(sqlish_email, "' OR '1'='1").await,
        401,
        "unauthorized",
    );
    let html_email = app.try_register("<script>@example.com", PASSWORD).await;
    assert_error(&html_email, 400, "invalid_input");

    let name = "<script>alert('x')</script>\"; DROP TABLE api_keys; --";
    let created = app
        .post_as(
            &admin,
            "/api/api-keys",
            &json!({ "name": name, "scope": "read" }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let listed = app.get_as(&admin, "/api/api-keys").await;
    assert_eq!(listed.json[0]["name"], name);
    assert!(listed.body.contains(r#"\"; DROP TABLE"#), "{}", listed.body);
    assert!(
        listed
            .header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(listed.header("x-content-type-options"), Some("nosniff"));
    let users = app.get_as(&admin, "/api/users").await;
    assert_eq!(users.json[1]["email"], sqlish_email);
}

#[tokio::test]
async fn admins_manage_users_and_the_last_admin_stays() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let carol = app.user(&admin, "carol@example.com", "user").await;
    let alias = app
        .post_as(
            &admin,
            "/auth/create-user",
            &json!({ "email": "dave@example.com", "password": PASSWORD, "role": "monitor" }),
        )
        .await;
    assert_eq!(alias.status, 201, "{}", alias.body);
    assert_eq!(alias.json["role"], "monitor");
    let bad_role = app
        .post_as(
            &admin,
            "/api/users",
            &json!({ "email": "eve@example.com", "password": PASSWORD, "role": "root" }),
        )
        .await;
    assert_error(&bad_role, 400, "invalid_input");
    assert_eq!(bad_role.json["error"]["field"], "role");

    let list = app.get_as(&admin, "/api/users").await;
    let emails: Vec<&str> = list
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        [ADMIN_EMAIL, "carol@example.com", "dave@example.com"]
    );
    assert!(!list.body.contains("pbkdf2"));

    // Not for users, nor for an admin's API key.
    assert_error(&app.get_as(&carol, "/api/users").await, 403, "forbidden");
    let admin_key = app.api_key(&admin, "write").await;
    assert_error(
        &app.get_with_key(&admin_key, "/api/users").await,
        403,
        "session_required",
    );

    // The only admin can neither demote, disable nor delete themselves.
    let me = format!("/api/users/{}", admin.user_id);
    assert_error(
        &app.patch_as(&admin, &me, &json!({ "role": "user" })).await,
        409,
        "last_admin",
    );
    assert_error(
        &app.patch_as(&admin, &me, &json!({ "disabled": true }))
            .await,
        409,
        "last_admin",
    );
    assert_error(&app.delete_as(&admin, &me).await, 409, "last_admin");

    // Promote Carol; now the first admin may step down.
    let carol_path = format!("/api/users/{}", carol.user_id);
    let promoted = app
        .patch_as(&admin, &carol_path, &json!({ "role": "admin" }))
        .await;
    assert_eq!(promoted.json["role"], "admin", "{}", promoted.body);
    assert_eq!(app.get_as(&carol, "/api/users").await.status, 200);
    let demoted = app.patch_as(&admin, &me, &json!({ "role": "user" })).await;
    assert_eq!(demoted.status, 200, "{}", demoted.body);
    // The role is read on every request: the old token lost its power at once.
    assert_error(&app.get_as(&admin, "/api/users").await, 403, "forbidden");

    // Disabling ends Dave's sessions and sign-ins.
    let dave_id = alias.json["id"].as_str().unwrap();
    let dave = app.login("dave@example.com", PASSWORD).await;
    let disabled = app
        .patch_as(
            &carol,
            &format!("/api/users/{dave_id}"),
            &json!({ "disabled": true }),
        )
        .await;
    assert_eq!(disabled.json["disabled"], true, "{}", disabled.body);
    assert_error(
        &app.get_as(&dave, "/api/auth/me").await,
        401,
        "account_disabled",
    );
    assert_error(&app.refresh(&dave).await, 401, "invalid_refresh_token");
    assert_error(
        &app.try_login("dave@example.com", PASSWORD).await,
        403,
        "account_disabled",
    );

    assert_error(
        &app.delete_as(&carol, "/api/users/u_nobody").await,
        404,
        "not_found",
    );
    assert_error(
        &app.patch_as(&carol, "/api/users/u_nobody", &json!({ "disabled": true }))
            .await,
        404,
        "not_found",
    );
    assert_error(
        &app.patch_as(&carol, &carol_path, &json!({ "admin": true }))
            .await,
        400,
        "invalid_input",
    );
}

#[tokio::test]
async fn a_deleted_users_tokens_and_keys_stop_working() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let frank = app.user(&admin, "frank@example.com", "user").await;
    let key = app.api_key(&frank, "write").await;
    assert_eq!(app.get_with_key(&key, "/api/auth/me").await.status, 200);

    let deleted = app
        .delete_as(&admin, &format!("/api/users/{}", frank.user_id))
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    assert_error(
        &app.get_as(&frank, "/api/auth/me").await,
        401,
        "invalid_token",
    );
    assert_error(
        &app.get_with_key(&key, "/api/auth/me").await,
        401,
        "invalid_api_key",
    );
    assert_eq!(app.refresh(&frank).await.status, 401);
    assert_error(
        &app.try_login("frank@example.com", PASSWORD).await,
        401,
        "unauthorized",
    );
    let again = app
        .delete_as(&admin, &format!("/api/users/{}", frank.user_id))
        .await;
    assert_error(&again, 404, "not_found");
}

#[tokio::test]
async fn forgot_and_reset_password_work_end_to_end_through_the_outbox() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;

    let unknown = app
        .post(
            "/api/auth/forgot-password",
            &json!({ "email": "ghost@example.com" }),
        )
        .await;
    assert_eq!(unknown.status, 202, "{}", unknown.body);
    let known = app
        .post(
            "/api/auth/forgot-password",
            &json!({ "email": ADMIN_EMAIL }),
        )
        .await;
    assert_eq!(known.status, 202);
    assert_eq!(known.json, unknown.json);

    let mail = app.wait_for_mail(ADMIN_EMAIL).await;
    assert!(
        mail.contains(&format!("{FRONTEND_URL}/reset-password?token=")),
        "{mail}"
    );
    assert!(app.mails().iter().all(|m| !m.contains("ghost@example.com")));
    let token = reset_token_in(&mail);
    assert_eq!(token.len(), 43);

    let check = |token: String| {
        let app = &app;
        async move {
            app.get(&format!("/api/auth/verify-reset-token?token={token}"))
                .await
                .json["valid"]
                .clone()
        }
    };
    assert_eq!(check(token.clone()).await, true);
    assert_eq!(
        check(token.clone()).await,
        true,
        "checking does not spend it"
    );
    assert_eq!(check("nope".into()).await, false);
    assert_error(
        &app.get("/api/auth/verify-reset-token").await,
        400,
        "invalid_query",
    );

    let weak = app
        .post(
            "/api/auth/reset-password",
            &json!({ "token": token, "newPassword": "short" }),
        )
        .await;
    assert_error(&weak, 400, "invalid_input");
    assert_eq!(weak.json["error"]["field"], "newPassword");
    assert_eq!(
        check(token.clone()).await,
        true,
        "a weak password does not spend it"
    );

    let new_password = "a brand new passphrase";
    let reset = app
        .post(
            "/api/auth/reset-password",
            &json!({ "token": token, "newPassword": new_password }),
        )
        .await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    let reused = app
        .post(
            "/api/auth/reset-password",
            &json!({ "token": token, "newPassword": "yet another passphrase" }),
        )
        .await;
    assert_error(&reused, 400, "invalid_reset_token");
    assert_eq!(check(token).await, false);

    assert_error(
        &app.try_login(ADMIN_EMAIL, PASSWORD).await,
        401,
        "unauthorized",
    );
    app.login(ADMIN_EMAIL, new_password).await;
    // Sessions from before the reset are over.
    assert_eq!(app.refresh(&admin).await.status, 401);
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_other_sessions() {
    let app = TestApp::spawn().await;
    let laptop = app.admin().await;
    let phone = app.login(ADMIN_EMAIL, PASSWORD).await;

    let wrong = app
        .post_as(
            &laptop,
            "/api/auth/change-password",
            &json!({ "currentPassword": "not it at all", "newPassword": "fresh passphrase 2" }),
        )
        .await;
    assert_error(&wrong, 400, "invalid_input");
    assert_eq!(wrong.json["error"]["field"], "currentPassword");

    let changed = app
        .post_as(
            &laptop,
            "/api/auth/change-password",
            &json!({ "currentPassword": PASSWORD, "newPassword": "fresh passphrase 2" }),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let laptop = support::Session::from_reply(&changed);
    assert_eq!(
        app.refresh(&laptop).await.status,
        200,
        "this session goes on"
    );
    assert_error(&app.refresh(&phone).await, 401, "invalid_refresh_token");
    app.login(ADMIN_EMAIL, "fresh passphrase 2").await;

    let key = app.api_key(&laptop, "write").await;
    let by_key = app
        .post_with_key(
            &key,
            "/api/auth/change-password",
            &json!({ "currentPassword": "fresh passphrase 2", "newPassword": "x".repeat(12) }),
        )
        .await;
    assert_error(&by_key, 403, "session_required");
}

#[tokio::test]
async fn api_keys_are_shown_once_listed_without_secrets_and_scoped() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let grace = app.user(&admin, "grace@example.com", "user").await;

    let created = app
        .post_as(
            &grace,
            "/api/api-keys",
            &json!({ "name": "grafana", "scope": "read", "expiresIn": "30d" }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let key = created.json["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("snt_") && key.len() == 47, "{key}");
    assert_eq!(created.json["scope"], "read");
    assert_eq!(created.json["prefix"], &key[..12]);
    let id = created.json["id"].as_str().unwrap().to_owned();
    let expires_at = created.json["expiresAt"].as_i64().unwrap();
    assert!((expires_at / 1000 - now_secs() - 30 * 86_400).abs() < 60);

    let read = app.get_with_key(&key, "/api/auth/me").await;
    assert_eq!(read.json["email"], "grace@example.com", "{}", read.body);
    let bearer = get_with_bearer(&app, &key, "/api/api-keys").await;
    assert_eq!(bearer.status, 200, "{}", bearer.body);
    assert!(bearer.json[0]["lastUsedAt"].is_i64(), "{}", bearer.body);
    assert!(!bearer.body.contains(&key[12..]), "the key is never listed");
    assert!(bearer.json[0].get("key").is_none() && bearer.json[0].get("keyHash").is_none());

    assert_error(
        &app.delete_with_key(&key, &format!("/api/api-keys/{id}"))
            .await,
        403,
        "read_only_key",
    );

    // Someone else's key is not there for a user; an admin may remove it.
    let other = app.user(&admin, "heidi@example.com", "user").await;
    assert_error(
        &app.delete_as(&other, &format!("/api/api-keys/{id}")).await,
        404,
        "not_found",
    );
    assert_eq!(app.get_as(&other, "/api/api-keys").await.json, json!([]));
    assert_eq!(
        app.delete_as(&admin, &format!("/api/api-keys/{id}"))
            .await
            .status,
        204
    );
    assert_error(
        &app.get_with_key(&key, "/api/auth/me").await,
        401,
        "invalid_api_key",
    );

    for (body, field) in [
        (json!({ "name": "", "scope": "read" }), "name"),
        (json!({ "name": "k", "scope": "admin" }), "scope"),
        (json!({ "name": "k", "expiresIn": "1s" }), "expiresIn"),
        (json!({ "name": "k", "expiresAt": 1 }), "expiresAt"),
        (
            json!({ "name": "k", "expiresIn": 3600, "expiresAt": 4_000_000_000_000_i64 }),
            "expiresAt",
        ),
        (json!({ "name": "k", "secret": "mine" }), "secret"),
    ] {
        let reply = app.post_as(&grace, "/api/api-keys", &body).await;
        assert_error(&reply, 400, "invalid_input");
        assert_eq!(reply.json["error"]["field"], field, "{body}");
    }

    // An expired key, planted straight in the store.
    let plain = format!("snt_{}", "B".repeat(43));
    app.store
        .create_key(&ApiKey {
            id: "key_expired".into(),
            user_id: UserId(grace.user_id.clone()),
            name: "old".into(),
            prefix: plain[..12].to_owned(),
            key_hash: hex::encode(Sha256::digest(plain.as_bytes())),
            scope: KeyScope::Write,
            created_at: 0,
            expires_at: Some(1_000),
            last_used_at: None,
        })
        .await
        .unwrap();
    assert_error(
        &app.get_with_key(&plain, "/api/auth/me").await,
        401,
        "api_key_expired",
    );
    assert_error(
        &app.get_with_key(&format!("snt_{}", "C".repeat(43)), "/api/auth/me")
            .await,
        401,
        "invalid_api_key",
    );
    assert_error(
        &app.get_with_key("not-a-key", "/api/auth/me").await,
        401,
        "invalid_api_key",
    );
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    for reply in [
        app.get("/health").await,
        app.get("/api/auth/me").await,
        app.get("/api/nothing-here").await,
        app.post("/api/auth/login", &json!({})).await,
    ] {
        assert_eq!(
            reply.header("content-security-policy"),
            Some("default-src 'none'; frame-ancestors 'none'")
        );
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(reply.header("x-frame-options"), Some("DENY"));
        assert_eq!(reply.header("referrer-policy"), Some("no-referrer"));
        assert!(
            reply
                .header("strict-transport-security")
                .unwrap()
                .starts_with("max-age=")
        );
    }
    let plain_http = TestApp::builder()
        .settings(|s| s.secure_cookies = false)
        .start()
        .await;
    let reply = plain_http.get("/health").await;
    assert!(reply.header("strict-transport-security").is_none());
    let csrf = plain_http.get("/api/auth/csrf-token").await;
    assert!(!csrf.set_cookies()[0].contains("Secure"));
}

#[tokio::test]
async fn no_input_makes_the_auth_routes_fail_with_a_5xx() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let bodies = [
        "",
        "null",
        "[]",
        "{}",
        "\"text\"",
        "{\"email\":null,\"password\":null}",
        "{\"email\":\"\\u0000@example.com\",\"password\":\"\\ud800\"}",
        "{\"email\":\"a@example.com\",\"password\":\"\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\"}",
        "{\"token\":\"../../etc/passwd\",\"newPassword\":\"long enough passphrase\"}",
        "{\"name\":\"\u{202e}\u{1F600}\",\"scope\":\"write\",\"expiresIn\":-1}",
        "{\"role\":\"admin\",\"disabled\":\"yes\"}",
        "{\"expiresIn\":99999999999999999999}",
        "{\"email\":\"a@example.com\",\"password\":\"pw\",\"email\":\"b@example.com\"}",
    ];
    let paths = [
        (Method::POST, "/api/auth/register".to_owned()),
        (Method::POST, "/api/auth/login".to_owned()),
        (Method::POST, "/api/auth/forgot-password".to_owned()),
        (Method::POST, "/api/auth/reset-password".to_owned()),
        (Method::POST, "/api/auth/change-password".to_owned()),
        (Method::POST, "/api/auth/refresh".to_owned()),
        (Method::POST, "/api/users".to_owned()),
        (Method::PATCH, format!("/api/users/{}", admin.user_id)),
        (Method::PATCH, "/api/users/%FF%FE".to_owned()),
        (Method::POST, "/api/api-keys".to_owned()),
        (Method::DELETE, "/api/api-keys/..%2F..".to_owned()),
    ];
    for (method, path) in &paths {
        for body in bodies {
            let reply = app
                .send(
                    admin
                        .apply(app.request(method.clone(), path))
                        .header("content-type", "application/json")
                        .body(body),
                )
                .await;
            assert!(
                reply.status < 500 && reply.json["error"].is_object() || reply.status < 300,
                "{method} {path} {body:?}: {} {}",
                reply.status,
                reply.body
            );
        }
    }
    for query in [
        "",
        "?token=",
        "?token=%00",
        "?token=a&token=b",
        "?token=%F0%9F%98%80",
    ] {
        let reply = app
            .get(&format!("/api/auth/verify-reset-token{query}"))
            .await;
        assert!(reply.status < 500, "{query}: {}", reply.body);
    }
}

#[tokio::test]
async fn deleting_a_user_removes_their_monitors_and_channels() {
    use sentinel_core::MonitorInput;
    use sentinel_store::{
        ChannelRecord, ChannelStore, MonitorOrigin, MonitorRecord, MonitorRecords, MonitorStore,
    };

    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.user(&admin, "leaver@example.com", "user").await;
    let owner = UserId(user.user_id.clone());
    let spec = MonitorInput {
        id: Some("leavers-site".into()),
        name: Some("Leaver's site".into()),
        url: Some("https://example.com/".into()),
        ..MonitorInput::default()
    }
    .validate()
    .unwrap();
    app.store
        .save_monitor_record(&MonitorRecord {
            spec: spec.clone(),
            owner: Some(owner.clone()),
            origin: MonitorOrigin::Api,
            created_at: 1,
            updated_at: 1,
        })
        .await
        .unwrap();
    app.store
        .create_channel(&ChannelRecord {
            id: "ch-leaver".into(),
            owner: owner.clone(),
            name: "mine".into(),
            kind: "slack".into(),
            config: json!({}),
            secret: vec![1, 2, 3],
            key_id: "k1".into(),
            created_at: 1,
            updated_at: 1,
        })
        .await
        .unwrap();

    let reply = app
        .delete_as(&admin, &format!("/api/users/{}", user.user_id))
        .await;
    assert_eq!(reply.status, 204, "{:?}", reply.json);
    assert!(app.store.get_monitor(&spec.id).await.unwrap().is_none());
    assert!(
        app.store
            .list_channels(Some(&owner))
            .await
            .unwrap()
            .is_empty()
    );
}
