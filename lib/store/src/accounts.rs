//! Ports for accounts: users, refresh and reset tokens, API keys, alert channels
//! configured through the API, monitor ownership, rate limits and blobs.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use sentinel_core::account::{Email, KeyScope, Role, UserId};
use sentinel_core::{MonitorId, MonitorSpec, UnixMs};

use crate::StoreResult;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub role: Role,
    /// PHC string, e.g. `$pbkdf2-sha256$i=600000,l=32$<salt>$<hash>`.
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: UnixMs,
    pub updated_at: UnixMs,
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Fails with [`StoreError::Conflict`](crate::StoreError::Conflict) when the email
    /// is taken (case-insensitively: emails are stored normalised).
    async fn create_user(&self, user: &User) -> StoreResult<()>;
    async fn get_user(&self, id: &UserId) -> StoreResult<Option<User>>;
    async fn find_user_by_email(&self, email: &Email) -> StoreResult<Option<User>>;
    /// Ordered by `created_at`, then id.
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    /// Replaces the user by id; returns whether it existed. Conflict if the new email is
    /// another user's.
    async fn update_user(&self, user: &User) -> StoreResult<bool>;
    /// Deletes the user and everything that authenticates as them (refresh tokens,
    /// reset tokens, API keys). Returns whether it existed.
    async fn delete_user(&self, id: &UserId) -> StoreResult<bool>;
    async fn count_users(&self) -> StoreResult<u64>;
}

/// A refresh token as stored: only its SHA-256 (hex), never the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshToken {
    pub token_hash: String,
    pub user_id: UserId,
    /// Every token rotated from one login shares the family.
    pub family_id: String,
    pub created_at: UnixMs,
    pub expires_at: UnixMs,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The old token was live: it is now spent and `new` is stored.
    Rotated { user_id: UserId },
    /// The old token was already spent: theft suspected. The whole family has been
    /// revoked (the caller must not issue anything).
    Reused { user_id: UserId, family_id: String },
    /// Unknown, expired or revoked.
    Invalid,
}

#[async_trait]
pub trait TokenStore: Send + Sync {
    async fn insert_refresh(&self, token: &RefreshToken) -> StoreResult<()>;
    /// Atomically spends `old_hash` and stores `new` (same family, same user) if the old
    /// token is live at `now`; on reuse of a spent token revokes the family.
    async fn rotate_refresh(
        &self,
        old_hash: &str,
        new: &RefreshToken,
        now: UnixMs,
    ) -> StoreResult<RotateOutcome>;
    /// Revokes the family that `token_hash` belongs to (logout). Returns whether found.
    async fn revoke_refresh_family(&self, token_hash: &str) -> StoreResult<bool>;
    /// Revokes every refresh token of a user (password change/reset, disable).
    async fn revoke_user_refresh(&self, user_id: &UserId) -> StoreResult<u64>;
    /// Stores a password-reset token hash; earlier unused ones of the user are dropped.
    async fn insert_reset(
        &self,
        token_hash: &str,
        user_id: &UserId,
        expires_at: UnixMs,
    ) -> StoreResult<()>;
    /// The user of a live reset token, without spending it.
    async fn peek_reset(&self, token_hash: &str, now: UnixMs) -> StoreResult<Option<UserId>>;
    /// Spends a live reset token (single use, atomic) and returns its user.
    async fn consume_reset(&self, token_hash: &str, now: UnixMs) -> StoreResult<Option<UserId>>;
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: String,
    pub user_id: UserId,
    pub name: String,
    /// First characters of the key, shown in lists (`snt_ab12…`).
    pub prefix: String,
    /// SHA-256 (hex) of the full key.
    pub key_hash: String,
    pub scope: KeyScope,
    pub created_at: UnixMs,
    pub expires_at: Option<UnixMs>,
    pub last_used_at: Option<UnixMs>,
}

#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    async fn create_key(&self, key: &ApiKey) -> StoreResult<()>;
    async fn find_key_by_hash(&self, key_hash: &str) -> StoreResult<Option<ApiKey>>;
    /// A user's keys, newest first.
    async fn list_keys(&self, user_id: &UserId) -> StoreResult<Vec<ApiKey>>;
    /// Deletes the key if it belongs to `user_id` (or to anyone, when `None`).
    async fn delete_key(&self, id: &str, user_id: Option<&UserId>) -> StoreResult<bool>;
    async fn touch_key(&self, id: &str, now: UnixMs) -> StoreResult<()>;
}

/// An alert channel created through the API. Secrets (webhook URLs, signing secrets)
/// are stored encrypted; `config` holds only what is safe to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelRecord {
    pub id: String,
    pub owner: UserId,
    pub name: String,
    /// `webhook`, `slack`, `discord` or `email`.
    pub kind: String,
    pub config: serde_json::Value,
    /// AES-256-GCM ciphertext of the secret JSON, with its key id and nonce.
    pub secret: Vec<u8>,
    pub key_id: String,
    pub created_at: UnixMs,
    pub updated_at: UnixMs,
}

#[async_trait]
pub trait ChannelStore: Send + Sync {
    /// Conflict when the owner already has a channel with this name.
    async fn create_channel(&self, channel: &ChannelRecord) -> StoreResult<()>;
    async fn get_channel(&self, id: &str) -> StoreResult<Option<ChannelRecord>>;
    /// Channels of one owner (or all, when `None`), ordered by name.
    async fn list_channels(&self, owner: Option<&UserId>) -> StoreResult<Vec<ChannelRecord>>;
    async fn update_channel(&self, channel: &ChannelRecord) -> StoreResult<bool>;
    async fn delete_channel(&self, id: &str) -> StoreResult<bool>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MonitorOrigin {
    /// From the YAML file: read-only through the API, owned by the admin.
    Config,
    Api,
}

/// A monitor with who owns it and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorRecord {
    pub spec: MonitorSpec,
    /// `None` for config monitors (they belong to the admins).
    pub owner: Option<UserId>,
    pub origin: MonitorOrigin,
    pub created_at: UnixMs,
    pub updated_at: UnixMs,
}

#[async_trait]
pub trait MonitorRecords: Send + Sync {
    /// Inserts or replaces by id.
    async fn save_monitor_record(&self, record: &MonitorRecord) -> StoreResult<()>;
    async fn get_monitor_record(&self, id: &MonitorId) -> StoreResult<Option<MonitorRecord>>;
    /// Records of one owner (or all, when `None`), ordered by id.
    async fn list_monitor_records(&self, owner: Option<&UserId>)
    -> StoreResult<Vec<MonitorRecord>>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    pub allowed: bool,
    pub remaining: u32,
    /// When the window resets (ms since epoch).
    pub reset_at: UnixMs,
}

/// Fixed-window counters: `hit` counts one request for `key` in the window holding
/// `now` and says whether it is within `limit`.
#[async_trait]
pub trait RateLimiter: Send + Sync {
    async fn hit(
        &self,
        key: &str,
        limit: u32,
        window_ms: i64,
        now: UnixMs,
    ) -> StoreResult<RateDecision>;
}

/// Longest blob key, in bytes.
pub const MAX_BLOB_KEY_BYTES: usize = 512;
/// Longest blob content type, in bytes.
pub const MAX_BLOB_CONTENT_TYPE_BYTES: usize = 255;

/// The key rule every [`BlobStore`] applies: `/`-separated segments of ASCII letters,
/// digits and `-_.=+@~,`, none empty and none starting with `.` (so no `.`, `..` or
/// hidden files), no leading `/`, at most 512 bytes — a relative path that stays inside
/// its root on every platform, and means the same in S3.
pub fn check_blob_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("blob key is empty".to_owned());
    }
    if key.len() > MAX_BLOB_KEY_BYTES {
        return Err(format!(
            "blob key is longer than {MAX_BLOB_KEY_BYTES} bytes"
        ));
    }
    for segment in key.split('/') {
        if segment.is_empty() {
            return Err(format!(
                "blob key {key:?} has an empty segment (leading, trailing or double '/')"
            ));
        }
        if segment.starts_with('.') {
            return Err(format!(
                "blob key {key:?} has a segment starting with '.' ('.', '..' or hidden)"
            ));
        }
        if let Some(c) = segment
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "-_.=+@~,".contains(*c)))
        {
            return Err(format!("blob key {key:?} contains {c:?}"));
        }
    }
    Ok(())
}

/// A blob's content type: printable ASCII (spaces allowed), 1 to 255 bytes.
pub fn check_blob_content_type(content_type: &str) -> Result<(), String> {
    if content_type.is_empty() || content_type.len() > MAX_BLOB_CONTENT_TYPE_BYTES {
        return Err(format!(
            "content type must be 1 to {MAX_BLOB_CONTENT_TYPE_BYTES} bytes"
        ));
    }
    if !content_type.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(format!(
            "content type {content_type:?} must be printable ASCII"
        ));
    }
    Ok(())
}

/// Files for download (CSV exports): a folder self-hosted, S3 on AWS.
#[async_trait]
pub trait BlobStore: Send + Sync {
    async fn put_blob(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> StoreResult<()>;
    async fn get_blob(&self, key: &str) -> StoreResult<Option<(Vec<u8>, String)>>;
    /// A direct, expiring download URL for `key` when the backend signs its own (an S3
    /// presigned GET); `None` when downloads go through Sentinel's signed link instead.
    async fn presigned_get(
        &self,
        _key: &str,
        _expires_in: std::time::Duration,
    ) -> StoreResult<Option<String>> {
        Ok(None)
    }
}
