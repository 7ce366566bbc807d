//! Route group `channels`: alert channels configured through the API (webhook, Slack,
//! Discord, email), and "send test".
//!
//! The body is `{name, type, ...fields of the type}` with the fields of the config file's
//! `alerting:` entries. A channel's whole config is sealed with AES-256-GCM under the
//! current key of the keyring ([`crate::crypto`]); the record's `config` holds only a
//! masked copy for display (webhook URLs as `https://host/…/****`, secrets and header
//! values as `****`). Secrets are never shown again after creation. Every write
//! re-seals under the current key, so rotating keys needs only an edit (or nothing:
//! older keys keep opening what they sealed).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use sentinel_core::alert::AlertMessage;
use sentinel_core::{FieldError, UnixMs, ValidationErrors};
use sentinel_pipeline::channels::{ChannelConfig, ChannelDeps, http_client};
use sentinel_store::ChannelRecord;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::crypto::{self, CryptoError};
use crate::groups::monitors::from_json;
use crate::{ApiError, ApiJson, ApiPath, AppState, Principal, now_ms};

pub const MAX_NAME_CHARS: usize = 100;
const MASK: &str = "****";
/// Sender of test emails when a channel sets no `from`.
const DEFAULT_FROM: &str = "sentinel@localhost.localdomain";
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Fields that hold a URL whose path is a credential (Slack/Discord webhook tokens).
const URL_FIELDS: [&str; 2] = ["url", "webhook_url"];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/alert-channels", get(list).post(create))
        .route(
            "/api/alert-channels/{id}",
            get(get_one).patch(update).delete(remove),
        )
        .route("/api/alert-channels/{id}/test", post(send_test))
}

// ---- config handling -----------------------------------------------------------------

/// `https://hooks.slack.com/services/T/B/X` → `https://hooks.slack.com/…/****`.
pub fn mask_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(url) => {
            let host = url.host_str().unwrap_or("");
            let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!("{}://{host}{port}/…/{MASK}", url.scheme())
        }
        Err(_) => MASK.to_owned(),
    }
}

/// What may be shown of a config: URLs masked, secrets and header values hidden.
pub fn mask_config(config: &Map<String, Value>) -> Map<String, Value> {
    config
        .iter()
        .map(|(k, v)| {
            let shown = match (k.as_str(), v) {
                (key, Value::String(url)) if URL_FIELDS.contains(&key) => {
                    Value::String(mask_url(url))
                }
                ("secret", _) => Value::String(MASK.into()),
                ("headers", Value::Object(headers)) => Value::Object(
                    headers
                        .keys()
                        .map(|h| (h.clone(), Value::String(MASK.into())))
                        .collect(),
                ),
                _ => v.clone(),
            };
            (k.clone(), shown)
        })
        .collect()
}

/// The config file accepts `webhook-url`; the API stores one spelling.
fn normalize(config: &mut Map<String, Value>) {
    if let Some(v) = config.remove("webhook-url") {
        config.entry("webhook_url").or_insert(v);
    }
}

fn channel_deps(state: &AppState) -> Result<ChannelDeps, ApiError> {
    let allow_private = state.prober.settings().allow_private;
    let http = http_client(SEND_TIMEOUT, allow_private)
        .map_err(|e| ApiError::Internal(format!("cannot build the webhook client: {e}")))?;
    Ok(ChannelDeps {
        http,
        mailer: Arc::clone(&state.mailer),
        default_from: DEFAULT_FROM.to_owned(),
        allow_private,
    })
}

fn field_error(config: &Map<String, Value>, e: FieldError) -> ApiError {
    // The pipeline names Slack/Discord URLs as the config file spells them.
    let field = if e.field == "webhook-url" && !config.contains_key("webhook-url") {
        "webhook_url".to_owned()
    } else {
        e.field
    };
    ApiError::Validation(ValidationErrors {
        errors: vec![FieldError {
            field,
            message: e.message,
        }],
    })
}

/// Parses and builds the channel (which validates URLs, the SSRF rules, secrets and
/// addresses). Returns its type.
fn validate(state: &AppState, name: &str, config: &Map<String, Value>) -> Result<String, ApiError> {
    let parsed: ChannelConfig = from_json(Value::Object(config.clone()))?;
    parsed
        .build(name, &channel_deps(state)?)
        .map_err(|e| field_error(config, e))?;
    Ok(config
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned())
}

fn validate_name(value: Option<Value>) -> Result<String, ApiError> {
    let Some(value) = value else {
        return Err(ApiError::invalid_field("name", "is required"));
    };
    let Value::String(name) = value else {
        return Err(ApiError::invalid_field("name", "must be a string"));
    };
    let name = name.trim();
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

fn body_object(body: Value) -> Result<Map<String, Value>, ApiError> {
    match body {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::BadRequest {
            code: "invalid_input",
            message: "the body must be a JSON object".into(),
            field: None,
        }),
    }
}

fn seal(state: &AppState, config: &Map<String, Value>) -> Result<(String, Vec<u8>), ApiError> {
    let plain = serde_json::to_vec(config)
        .map_err(|e| ApiError::Internal(format!("cannot encode a channel config: {e}")))?;
    crypto::seal(&state.settings.encryption, &plain)
        .map_err(|e| ApiError::Internal(format!("cannot seal a channel secret: {e}")))
}

/// The channel's full config, decrypted.
fn open(state: &AppState, record: &ChannelRecord) -> Result<Map<String, Value>, ApiError> {
    let plain = crypto::open(&state.settings.encryption, &record.key_id, &record.secret)
        .map_err(|e| {
            tracing::error!(channel_id = %record.id, key_id = %record.key_id, error = %e, "cannot open a channel secret");
            let message = match e {
                CryptoError::UnknownKey(_) => format!(
                    "this channel's secrets were sealed with key {:?}, which is no longer configured; set them again",
                    record.key_id
                ),
                _ => "this channel's secrets cannot be decrypted; set them again".to_owned(),
            };
            ApiError::Conflict {
                code: "secret_unavailable",
                message,
                field: None,
            }
        })?;
    match serde_json::from_slice(&plain) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ApiError::Internal(format!(
            "channel {} holds a config that is not a JSON object",
            record.id
        ))),
    }
}

fn new_id() -> Result<String, ApiError> {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes)
        .map_err(|e| ApiError::Internal(format!("random number generator failed: {e}")))?;
    Ok(format!("ch_{}", hex::encode(bytes)))
}

fn name_taken(name: &str) -> ApiError {
    ApiError::Conflict {
        code: "channel_exists",
        message: format!("you already have an alert channel named {name:?}"),
        field: Some("name".into()),
    }
}

/// The body of `POST /api/alert-channels` (all fields optional for `PATCH`): the name
/// and the fields of the type, as in the config file's `alerting:` entries.
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only: bodies are read as JSON objects
pub struct ChannelBody {
    /// Unique among the owner's channels.
    name: String,
    /// `webhook`, `slack`, `discord` or `email`.
    #[schema(example = "webhook")]
    r#type: String,
    /// webhook: the receiver's URL (secret).
    url: Option<String>,
    /// webhook: the HMAC-SHA256 signing key, at least 16 characters (secret).
    secret: Option<String>,
    /// webhook: extra request headers (values are secret).
    headers: Option<std::collections::BTreeMap<String, String>>,
    /// slack, discord: the incoming-webhook URL (secret).
    webhook_url: Option<String>,
    /// email: recipients.
    to: Option<Vec<String>>,
    /// email: sender (default: the server's).
    from: Option<String>,
}

// ---- responses -----------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelView {
    pub id: String,
    pub name: String,
    pub owner: String,
    /// `type` and the type's fields, secrets masked.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub config: Map<String, Value>,
    pub created_at: UnixMs,
    pub updated_at: UnixMs,
}

impl From<&ChannelRecord> for ChannelView {
    fn from(r: &ChannelRecord) -> Self {
        let mut config = match &r.config {
            Value::Object(map) => map.clone(),
            _ => Map::new(),
        };
        // `type` always comes from the record; the names of the view's own fields are
        // not config fields.
        for own in ["id", "name", "owner", "created_at", "updated_at"] {
            config.remove(own);
        }
        config.insert("type".into(), Value::String(r.kind.clone()));
        Self {
            id: r.id.clone(),
            name: r.name.clone(),
            owner: r.owner.0.clone(),
            config,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelList {
    pub channels: Vec<ChannelView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TestOutcome {
    pub sent: bool,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

// ---- handlers ------------------------------------------------------------------------

async fn load_visible(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<ChannelRecord, ApiError> {
    match state.accounts.get_channel(id).await? {
        Some(record) if principal.can_see(Some(&record.owner)) => Ok(record),
        _ => Err(ApiError::not_found("alert channel")),
    }
}

async fn load_modifiable(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<ChannelRecord, ApiError> {
    let record = load_visible(state, principal, id).await?;
    principal.require_modify(Some(&record.owner))?;
    Ok(record)
}

/// The alert channels the caller may see (own for `user`, all for `admin` and
/// `monitor`), secrets masked.
#[utoipa::path(
    get,
    path = "/api/alert-channels",
    tag = "alert-channels",
    operation_id = "list_alert_channels",
    responses((status = 200, description = "Channels, by name", body = ChannelList)),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<ChannelList>, ApiError> {
    let owner = (!principal.role.reads_everything()).then_some(&principal.user_id);
    let channels = state
        .accounts
        .list_channels(owner)
        .await?
        .iter()
        .filter(|c| principal.can_see(Some(&c.owner)))
        .map(ChannelView::from)
        .collect();
    Ok(Json(ChannelList { channels }))
}

/// Create an alert channel. Its secrets are encrypted at rest and never shown again.
#[utoipa::path(
    post,
    path = "/api/alert-channels",
    tag = "alert-channels",
    operation_id = "create_alert_channel",
    request_body = ChannelBody,
    responses(
        (status = 201, description = "Created (secrets masked)", body = ChannelView),
        (status = 409, response = crate::openapi::Conflict),
    ),
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<ChannelView>), ApiError> {
    principal.require_write()?;
    let mut config = body_object(body)?;
    let name = validate_name(config.remove("name"))?;
    normalize(&mut config);
    let kind = validate(&state, &name, &config)?;
    let (key_id, secret) = seal(&state, &config)?;
    let now = now_ms();
    let record = ChannelRecord {
        id: new_id()?,
        owner: principal.user_id.clone(),
        name,
        kind,
        config: Value::Object(mask_config(&config)),
        secret,
        key_id,
        created_at: now,
        updated_at: now,
    };
    match state.accounts.create_channel(&record).await {
        Ok(()) => {}
        Err(sentinel_store::StoreError::Conflict(_)) => return Err(name_taken(&record.name)),
        Err(e) => return Err(e.into()),
    }
    tracing::info!(channel_id = %record.id, kind = %record.kind, "alert channel created");
    Ok((StatusCode::CREATED, Json(ChannelView::from(&record))))
}

/// One alert channel, secrets masked.
#[utoipa::path(
    get,
    path = "/api/alert-channels/{id}",
    tag = "alert-channels",
    operation_id = "get_alert_channel",
    params(("id" = String, Path, description = "Alert channel id")),
    responses((status = 200, description = "The channel", body = ChannelView)),
)]
pub(crate) async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ChannelView>, ApiError> {
    let record = load_visible(&state, &principal, &id).await?;
    Ok(Json(ChannelView::from(&record)))
}

/// Merges the given fields over the stored config (`null` removes a field). Changing
/// `type` starts from the given fields alone.
fn merge(stored: Map<String, Value>, mut patch: Map<String, Value>) -> Map<String, Value> {
    normalize(&mut patch);
    let type_changes = patch
        .get("type")
        .is_some_and(|t| Some(t) != stored.get("type"));
    let mut merged = if type_changes { Map::new() } else { stored };
    for (k, v) in patch {
        if v.is_null() {
            merged.remove(&k);
        } else {
            merged.insert(k, v);
        }
    }
    merged
}

/// Change an alert channel: given fields are merged over the stored ones (`null`
/// removes one); a new `type` replaces the config. Re-encrypts under the current key.
#[utoipa::path(
    patch,
    path = "/api/alert-channels/{id}",
    tag = "alert-channels",
    operation_id = "update_alert_channel",
    params(("id" = String, Path, description = "Alert channel id")),
    request_body(content = ChannelBody, description = "Only the fields to change"),
    responses(
        (status = 200, description = "The changed channel", body = ChannelView),
        (status = 409, response = crate::openapi::Conflict),
    ),
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<ChannelView>, ApiError> {
    let mut record = load_modifiable(&state, &principal, &id).await?;
    let mut patch = body_object(body)?;
    let name = match patch.remove("name") {
        Some(v) => validate_name(Some(v))?,
        None => record.name.clone(),
    };
    let type_changes = patch
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t != record.kind);
    // A full replacement (new type) does not need the old secrets.
    let stored = if type_changes {
        Map::new()
    } else {
        open(&state, &record)?
    };
    let config = merge(stored, patch);
    let kind = validate(&state, &name, &config)?;
    let (key_id, secret) = seal(&state, &config)?;
    record.name = name;
    record.kind = kind;
    record.config = Value::Object(mask_config(&config));
    record.secret = secret;
    record.key_id = key_id;
    record.updated_at = now_ms();
    match state.accounts.update_channel(&record).await {
        Ok(true) => Ok(Json(ChannelView::from(&record))),
        Ok(false) => Err(ApiError::not_found("alert channel")),
        Err(sentinel_store::StoreError::Conflict(_)) => Err(name_taken(&record.name)),
        Err(e) => Err(e.into()),
    }
}

/// Delete an alert channel.
#[utoipa::path(
    delete,
    path = "/api/alert-channels/{id}",
    tag = "alert-channels",
    operation_id = "delete_alert_channel",
    params(("id" = String, Path, description = "Alert channel id")),
    responses((status = 204, description = "Deleted")),
)]
pub(crate) async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let record = load_modifiable(&state, &principal, &id).await?;
    if !state.accounts.delete_channel(&record.id).await? {
        return Err(ApiError::not_found("alert channel"));
    }
    Ok(StatusCode::NO_CONTENT)
}

fn test_message(state: &AppState, record: &ChannelRecord, now: UnixMs) -> AlertMessage {
    AlertMessage {
        event: "test".into(),
        monitor_id: "sentinel-test".into(),
        monitor_name: "Sentinel test alert".into(),
        url: state.settings.frontend_url.clone(),
        incident_id: None,
        at: now,
        title: "🧪 Test alert from Sentinel".into(),
        text: format!(
            "This is a test of the alert channel {:?}. If you can read this, it works.",
            record.name
        ),
        cause: None,
        downtime_ms: None,
        idempotency_key: format!("test:{}:{now}", record.id),
    }
}

/// Send a test alert through the channel. Answers 200 either way, saying whether it
/// was delivered and, if not, why.
#[utoipa::path(
    post,
    path = "/api/alert-channels/{id}/test",
    tag = "alert-channels",
    operation_id = "test_alert_channel",
    params(("id" = String, Path, description = "Alert channel id")),
    responses(
        (status = 200, description = "Whether the test was delivered", body = TestOutcome),
        (status = 409, response = crate::openapi::Conflict),
    ),
)]
pub(crate) async fn send_test(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<TestOutcome>, ApiError> {
    let record = load_modifiable(&state, &principal, &id).await?;
    let config = open(&state, &record)?;
    let parsed: ChannelConfig = serde_json::from_value(Value::Object(config)).map_err(|e| {
        ApiError::Internal(format!(
            "channel {} holds an unreadable config: {e}",
            record.id
        ))
    })?;
    let channel = match parsed.build(&record.name, &channel_deps(&state)?) {
        Ok(channel) => channel,
        // Valid when saved, refused now (e.g. private addresses were disallowed since).
        Err(e) => {
            return Ok(Json(TestOutcome {
                sent: false,
                error: Some(format!("{}: {}", e.field, e.message)),
            }));
        }
    };
    let outcome = match channel.send(&test_message(&state, &record, now_ms())).await {
        Ok(()) => TestOutcome {
            sent: true,
            error: None,
        },
        Err(e) => TestOutcome {
            sent: false,
            error: Some(e.message),
        },
    };
    tracing::info!(channel_id = %record.id, sent = outcome.sent, "test alert");
    Ok(Json(outcome))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn secrets_are_masked_for_display() {
        let shown = mask_config(&obj(json!({
            "type": "webhook",
            "url": "https://example.com:8443/hooks/abc123?token=t",
            "secret": "0123456789abcdef",
            "headers": {"Authorization": "Bearer x"},
        })));
        assert_eq!(shown["url"], "https://example.com:8443/…/****");
        assert_eq!(shown["secret"], MASK);
        assert_eq!(shown["headers"]["Authorization"], MASK);
        assert_eq!(shown["type"], "webhook");
        let slack = mask_config(&obj(json!({
            "type": "slack",
            "webhook_url": "https://hooks.slack.com/services/T000/B000/XXXX",
        })));
        assert_eq!(slack["webhook_url"], "https://hooks.slack.com/…/****");
        assert_eq!(mask_url("not a url"), MASK);
        let email = mask_config(&obj(json!({"type": "email", "to": ["a@b.io"]})));
        assert_eq!(email["to"], json!(["a@b.io"]));
    }

    #[test]
    fn patches_merge_unless_the_type_changes() {
        let stored = obj(json!({"type": "slack", "webhook_url": "https://a.io/x"}));
        let same = merge(
            stored.clone(),
            obj(json!({"webhook-url": "https://b.io/y"})),
        );
        assert_eq!(
            same,
            obj(json!({"type": "slack", "webhook_url": "https://b.io/y"}))
        );
        let other = merge(stored, obj(json!({"type": "email", "to": ["a@b.io"]})));
        assert_eq!(other, obj(json!({"type": "email", "to": ["a@b.io"]})));
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(validate_name(Some(json!("  ops  "))).unwrap(), "ops");
        assert!(validate_name(None).is_err());
        assert!(validate_name(Some(json!(""))).is_err());
        assert!(validate_name(Some(json!(5))).is_err());
        assert!(validate_name(Some(json!("a\u{7}b"))).is_err());
        assert!(validate_name(Some(json!("x".repeat(101)))).is_err());
        let payload = "'; DROP TABLE alert_channels; -- <script>alert(1)</script>";
        assert_eq!(validate_name(Some(json!(payload))).unwrap(), payload);
    }
}
