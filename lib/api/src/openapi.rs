//! The OpenAPI 3.1 document of the HTTP API, generated from the handlers with utoipa and
//! served (public, cacheable) at `GET /api/openapi.json`.
//!
//! # Adding a handler to the document
//!
//! 1. Annotate the handler with `#[utoipa::path(...)]` (it may stay private: the macro
//!    generates a public `__path_<name>` item next to it). `path` is the route string
//!    exactly as in the group's `routes()`; the first doc line becomes the summary.
//!
//!    ```ignore
//!    /// Get one monitor.
//!    #[utoipa::path(
//!        get,
//!        path = "/api/monitors/{id}",
//!        tag = "monitors",
//!        params(("id" = String, Path, description = "Monitor id")),
//!        responses(
//!            (status = 200, description = "The monitor", body = MonitorView),
//!            (status = 409, response = crate::openapi::Conflict),
//!        ),
//!    )]
//!    async fn get_one(/* ... */) -> Result<Json<MonitorView>, ApiError> { /* ... */ }
//!    ```
//!
//!    - Bodies: `request_body = CreateKey` (JSON is the default content type).
//!    - Query strings: derive `utoipa::IntoParams` on the query struct (with
//!      `#[into_params(parameter_in = Query)]`) and list it in `params(...)`. A field
//!      whose type is a schema (an enum, say) needs `#[param(inline)]`: schemas only
//!      referenced from parameters are not collected into the document.
//!    - Types in bodies and responses derive `utoipa::ToSchema`. The API-facing types of
//!      `sentinel-core` and `sentinel-store` already do (their `openapi` feature, which
//!      this crate enables).
//!    - **Security**: every operation needs a session or an API key unless it says
//!      otherwise. A route anyone may call (login, register, ...) adds `security(())`.
//!    - **Errors**: list only the route's own 4xx with the reusable responses here
//!      ([`BadRequest`], [`Unauthorized`], [`Forbidden`], [`NotFound`], [`Conflict`],
//!      [`PayloadTooLarge`], [`UnsupportedMediaType`], [`TooManyRequests`]), e.g.
//!      `(status = 409, response = crate::openapi::Conflict)`; they all carry the
//!      [`ErrorBody`] schema. The ones every route of a kind can answer are added for you
//!      (see [`CommonResponses`]): 400 with a query, path parameter or body; 404 with a
//!      path parameter; 413/415 with a body; 401/403 when authenticated; 429 on
//!      rate-limited paths; 503 (storage unavailable) everywhere.
//! 2. Add the handler to `paths(...)` on [`ApiDoc`] below, e.g.
//!    `crate::groups::monitors::get_one`. That list is the only place to touch.
//!
//! `lib/api/tests/openapi.rs` checks that every documented operation is routed, that
//! every `$ref` resolves and that every 4xx answers with [`ErrorBody`]; its ignored test
//! `every_route_is_documented` lists the `.route(...)`s still missing (un-ignore it once
//! every group is listed). `scripts/schemathesis` fuzzes a running server against it.
//! Serde shapes the macros get wrong (type aliases, `flatten` of a
//! `deny_unknown_fields` type) are repaired by `SerdeFixups`.

use std::sync::LazyLock;

use axum::http::HeaderMap;
use axum::response::Response;
use sentinel_core::FieldError;
use serde_json::Value;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, ObjectBuilder, Ref, RefOr, Type};
use utoipa::{Modify, OpenApi, ToSchema};

/// `Cache-Control` of the document: it changes only with a new release.
pub const OPENAPI_CACHE_CONTROL: &str = "public, max-age=300";

/// Names of the security schemes, for `security((...))` in annotations.
pub const JWT_SCHEME: &str = "jwt";
pub const API_KEY_SCHEME: &str = "api_key";
pub const API_KEY_HEADER_SCHEME: &str = "api_key_header";

/// The document. Add handlers to `paths(...)` (see the module docs).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sentinel",
        version = env!("CARGO_PKG_VERSION"),
        description = "Sentinel uptime monitor HTTP API.\n\n\
            Authenticate with a session access token (`Authorization: Bearer <jwt>` from \
            `POST /api/auth/login`; state-changing requests also send the CSRF token in \
            `X-CSRF-Token`) or an API key (`Authorization: Bearer snt_...` or \
            `X-API-Key: snt_...`; exempt from CSRF). Every error is \
            `{\"error\":{\"code\",\"message\",\"field\"?,\"fields\"?}}`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        // public
        crate::public::health,
        crate::public::status_page,
        crate::public::monitor_status,
        crate::public::monitor_days,
        crate::public::badge_svg,
        crate::public::badge_json,
        crate::public::status_badge_alias,
        openapi_json,
        // auth
        crate::groups::auth::register,
        crate::groups::auth::login,
        crate::groups::auth::refresh,
        crate::groups::auth::logout,
        crate::groups::auth::logout_all,
        crate::groups::auth::me,
        crate::groups::auth::change_password,
        crate::groups::auth::csrf_token,
        crate::groups::auth::forgot_password,
        crate::groups::auth::reset_password,
        crate::groups::auth::verify_reset_token,
        // users
        crate::groups::users::list_users,
        crate::groups::users::create_user,
        crate::groups::users::create_user_alias,
        crate::groups::users::update_user,
        crate::groups::users::delete_user,
        // api_keys
        crate::groups::api_keys::create_key,
        crate::groups::api_keys::list_keys,
        crate::groups::api_keys::delete_key,
        // monitors
        crate::groups::monitors::list,
        crate::groups::monitors::create,
        crate::groups::monitors::test_input,
        crate::groups::monitors::get_test_alias,
        crate::groups::monitors::update_test_alias,
        crate::groups::monitors::delete_test_alias,
        crate::groups::monitors::get_one,
        crate::groups::monitors::update,
        crate::groups::monitors::remove,
        crate::groups::monitors::pause,
        crate::groups::monitors::resume,
        crate::groups::monitors::check_now,
        crate::groups::monitors::incidents,
        // channels
        crate::groups::channels::list,
        crate::groups::channels::create,
        crate::groups::channels::get_one,
        crate::groups::channels::update,
        crate::groups::channels::remove,
        crate::groups::channels::send_test,
        // metrics
        crate::groups::metrics::pings,
        crate::groups::metrics::stats,
        crate::groups::metrics::series,
        // export
        crate::groups::export::export_csv,
        crate::groups::export::presigned_url,
        crate::groups::export::download,
        // ecs
        crate::groups::ecs::clusters,
        crate::groups::ecs::aliases,
        crate::groups::ecs::service_details,
        crate::groups::ecs::refresh,
        crate::groups::ecs::list_accounts,
        crate::groups::ecs::create_account,
        crate::groups::ecs::update_account,
        crate::groups::ecs::delete_account,
        crate::groups::ecs::get_settings,
        crate::groups::ecs::update_settings,
    ),
    components(
        schemas(ErrorBody, ErrorDetail, FieldError),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            PayloadTooLarge,
            UnsupportedMediaType,
            TooManyRequests,
            ServiceUnavailable,
        ),
    ),
    security(("jwt" = []), ("api_key" = []), ("api_key_header" = [])),
    modifiers(&SecuritySchemes, &CommonResponses, &SerdeFixups),
    tags(
        (name = "public", description = "No credentials: health, status page, badges"),
        (name = "docs", description = "This document"),
        (name = "auth", description = "Sessions, passwords, CSRF"),
        (name = "users", description = "User administration (admin)"),
        (name = "monitors", description = "Monitors, checks and incidents"),
        (name = "alert-channels", description = "Alert channels"),
        (name = "metrics", description = "Ping logs, statistics, chart series"),
        (name = "export", description = "CSV exports and signed downloads"),
        (name = "api-keys", description = "API keys"),
        (name = "ecs", description = "AWS ECS: watched accounts, clusters, services, refresh"),
    ),
)]
pub struct ApiDoc;

/// Every error: `{"error":{"code","message","field"?,"fields"?}}`.
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only: `ApiError` writes this shape.
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// Machine-readable, e.g. `not_found`, `invalid_input`, `rate_limited`.
    #[schema(example = "not_found")]
    pub code: String,
    /// For humans; never contains internal details.
    pub message: String,
    /// The offending input field (the first one, for `invalid_input`).
    #[schema(nullable = false)]
    pub field: Option<String>,
    /// Every invalid field, for `invalid_input`.
    #[schema(nullable = false)]
    pub fields: Option<Vec<FieldError>>,
}

fn error_response(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build(),
    )
}

macro_rules! error_responses {
    ($($(#[$doc:meta])* $name:ident => $description:literal,)*) => {$(
        $(#[$doc])*
        pub struct $name;

        impl<'r> utoipa::ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<utoipa::openapi::Response>) {
                (stringify!($name), error_response($description).build().into())
            }
        }
    )*};
}

error_responses! {
    /// 400: invalid input, query, path or JSON (`invalid_input` lists every field).
    BadRequest => "Invalid input (`invalid_input`, `invalid_json`, `invalid_query`, ...)",
    /// 401: no, bad or expired credentials.
    Unauthorized => "Not signed in, or the credentials are invalid or expired",
    /// 403: signed in but not allowed (role, key scope, CSRF).
    Forbidden => "Not allowed (role, API key scope or missing CSRF token)",
    /// 404: no such resource, or another user's.
    NotFound => "Not found",
    /// 409: a unique rule broken (e.g. the email or id is taken).
    Conflict => "Conflicts with an existing resource",
    /// 413: the body is over the size limit.
    PayloadTooLarge => "The request body is too large",
    /// 415: the body is not `application/json`.
    UnsupportedMediaType => "The body must be JSON (`Content-Type: application/json`)",
    /// 503: the store is unreachable; retry.
    ServiceUnavailable => "Storage is unavailable; try again",
}

/// 429 with `Retry-After`.
pub struct TooManyRequests;

impl<'r> utoipa::ToResponse<'r> for TooManyRequests {
    fn response() -> (&'r str, RefOr<utoipa::openapi::Response>) {
        let seconds = HeaderBuilder::new()
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1)),
            ))
            .description(Some("Seconds until a retry may succeed"))
            .build();
        (
            "TooManyRequests",
            error_response("Rate limited (`rate_limited`)")
                .header("Retry-After", seconds)
                .build()
                .into(),
        )
    }
}

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            JWT_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "Session access token from `POST /api/auth/login`. \
                         State-changing requests also need `X-CSRF-Token`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            API_KEY_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("snt_...")
                    .description(Some(
                        "API key from `POST /api/api-keys` as `Authorization: Bearer snt_...`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            API_KEY_HEADER_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "API key from `POST /api/api-keys` as `X-API-Key: snt_...`.",
            ))),
        );
    }
}

/// Adds the error responses the shared extractors and middleware give every route of a
/// kind, unless the operation documents that status itself:
///
/// - 400 `BadRequest` with query parameters, path parameters or a request body
///   (`ApiQuery`, `ApiPath`, `ApiJson`);
/// - 404 `NotFound` with path parameters (`ApiPath`: a segment no resource can have);
/// - 413 `PayloadTooLarge` and 415 `UnsupportedMediaType` with a request body;
/// - 401 `Unauthorized` and 403 `Forbidden` unless the operation is public;
/// - 429 `TooManyRequests` on `/api/*` outside `/api/public/*` (the general rate limit);
/// - 503 `ServiceUnavailable` everywhere.
///
/// Public operations (`security(())`, i.e. `[{}]`) are rewritten to `security: []`.
pub struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                item.get.as_mut(),
                item.put.as_mut(),
                item.post.as_mut(),
                item.delete.as_mut(),
                item.patch.as_mut(),
                item.head.as_mut(),
                item.options.as_mut(),
            ];
            for operation in operations.into_iter().flatten() {
                add_common_responses(path, operation);
            }
        }
    }
}

fn add_common_responses(path: &str, operation: &mut Operation) {
    use utoipa::openapi::path::ParameterIn;

    let public = match &mut operation.security {
        Some(requirements)
            if requirements
                .iter()
                .all(|r| *r == SecurityRequirement::default()) =>
        {
            requirements.clear();
            true
        }
        _ => false,
    };
    let params = operation.parameters.as_deref().unwrap_or_default();
    let has_in = |place: ParameterIn| {
        params
            .iter()
            .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == place))
    };
    let has_path = path.contains('{') || has_in(ParameterIn::Path);
    let has_query = has_in(ParameterIn::Query);
    let has_body = operation.request_body.is_some();

    let mut wanted: Vec<(&str, &str)> = Vec::new();
    if has_path || has_query || has_body {
        wanted.push(("400", "BadRequest"));
    }
    if !public {
        wanted.push(("401", "Unauthorized"));
        wanted.push(("403", "Forbidden"));
    }
    if has_path {
        wanted.push(("404", "NotFound"));
    }
    if has_body {
        wanted.push(("413", "PayloadTooLarge"));
        wanted.push(("415", "UnsupportedMediaType"));
    }
    if path.starts_with("/api/") && !path.starts_with("/api/public/") {
        wanted.push(("429", "TooManyRequests"));
    }
    wanted.push(("503", "ServiceUnavailable"));

    let responses = &mut operation.responses.responses;
    for (status, name) in wanted {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
    }
}

/// Rewrites what the derive macros get wrong for serde, on the JSON form of the document:
///
/// - Type aliases are not types to the macros: a field of type [`sentinel_core::UnixMs`]
///   (`= i64`) becomes a reference to a schema named `i64`. That schema is renamed
///   `UnixMs` and says what it is, so no handler has to annotate its timestamp fields.
/// - `#[serde(flatten)]` becomes `allOf: [{$ref: Inner}, {...outer fields}]`. When
///   `Inner` refuses unknown fields (`deny_unknown_fields`, so `additionalProperties:
///   false`), no value can match both: the reference is replaced by a copy of `Inner`
///   without that restriction (e.g. `MonitorView` flattening `MonitorInput`). `Inner`
///   itself stays strict where it is used alone (request bodies).
struct SerdeFixups;

impl Modify for SerdeFixups {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Ok(mut doc) = serde_json::to_value(&*openapi) else {
            return;
        };
        rename_alias(
            &mut doc,
            "i64",
            "UnixMs",
            "Milliseconds since the Unix epoch (UTC)",
        );
        open_flattened(&mut doc);
        if let Ok(fixed) = serde_json::from_value(doc) {
            *openapi = fixed;
        }
    }
}

const SCHEMAS: &str = "#/components/schemas/";

fn rename_alias(doc: &mut Value, from: &str, to: &str, description: &str) {
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let Some(mut schema) = schemas.remove(from) else {
        return;
    };
    schema["description"] = Value::from(description);
    schemas.insert(to.to_owned(), schema);
    let (from, to) = (format!("{SCHEMAS}{from}"), format!("{SCHEMAS}{to}"));
    fn rewrite(value: &mut Value, from: &str, to: &str) {
        match value {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    if key == "$ref" && child.as_str() == Some(from) {
                        *child = Value::from(to);
                    } else {
                        rewrite(child, from, to);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| rewrite(v, from, to)),
            _ => {}
        }
    }
    rewrite(doc, &from, &to);
}

fn open_flattened(doc: &mut Value) {
    let schemas = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    // The strict schema a `$ref` names, as an open copy.
    let opened = |member: &Value| -> Option<Value> {
        let name = member.get("$ref")?.as_str()?.strip_prefix(SCHEMAS)?;
        let mut schema = schemas.get(name)?.clone();
        let object = schema.as_object_mut()?;
        if object.get("additionalProperties") != Some(&Value::Bool(false)) {
            return None;
        }
        object.remove("additionalProperties");
        Some(schema)
    };
    fn walk(value: &mut Value, opened: &dyn Fn(&Value) -> Option<Value>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::Array(members)) = map.get_mut("allOf")
                    && members.len() > 1
                {
                    for member in members.iter_mut() {
                        if let Some(open) = opened(member) {
                            *member = open;
                        }
                    }
                }
                map.values_mut().for_each(|v| walk(v, opened));
            }
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, opened)),
            _ => {}
        }
    }
    walk(doc, &opened);
}

/// The document as served: built once, with its ETag.
static DOCUMENT: LazyLock<Vec<u8>> = LazyLock::new(|| {
    ApiDoc::openapi()
        .to_pretty_json()
        .map(String::into_bytes)
        .unwrap_or_default()
});

/// The document as JSON text (what `GET /api/openapi.json` serves).
pub fn document_json() -> &'static [u8] {
    &DOCUMENT
}

/// This OpenAPI document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "docs",
    operation_id = "openapi_json",
    security(()),
    params(crate::public::ConditionalGet),
    responses(
        (status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json",
            body = Object),
        (status = 304, description = "Not modified (the `If-None-Match` tag matches)"),
    ),
)]
pub(crate) async fn openapi_json(headers: HeaderMap) -> Response {
    crate::public::cached(
        &headers,
        "application/json",
        OPENAPI_CACHE_CONTROL,
        document_json().to_vec(),
    )
}
