//! API settings, with the SentinelCloud environment names: `JWT_SECRET`,
//! `JWT_ACCESS_EXPIRES_IN`, `JWT_REFRESH_EXPIRES_IN`, `RATE_LIMIT_WINDOW_MS`,
//! `RATE_LIMIT_MAX_REQUESTS`, `PASSWORD_RESET_TOKEN_EXPIRY`, `FRONTEND_URL`, plus
//! `OPEN_REGISTRATION`, `ENCRYPTION_KEYS` and `SECURE_COOKIES`.

use std::collections::BTreeMap;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretSlice, SecretString};
use sentinel_core::monitor::parse_duration;

pub const MIN_JWT_SECRET_CHARS: usize = 32;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{name}: {message}")]
pub struct SettingsError {
    pub name: &'static str,
    pub message: String,
}

/// AES-256-GCM keys by id; `current` encrypts, all decrypt (so keys can rotate).
#[derive(Clone)]
pub struct Keyring {
    pub current: String,
    pub keys: BTreeMap<String, SecretSlice<u8>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current)
            .field("ids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Keyring {
    /// Parses `id1:hex64,id2:hex64`; the first is current.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut keys = BTreeMap::new();
        let mut current = None;
        for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, hex_key) = entry
                .split_once(':')
                .ok_or_else(|| "expected id:hexkey[,id:hexkey...]".to_owned())?;
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err(format!("key id {id:?} must be letters, digits or '-'"));
            }
            let bytes = hex::decode(hex_key).map_err(|_| format!("key {id} is not hex"))?;
            if bytes.len() != 32 {
                return Err(format!("key {id} must be 32 bytes (64 hex digits)"));
            }
            current.get_or_insert_with(|| id.to_owned());
            keys.insert(id.to_owned(), SecretSlice::from(bytes));
        }
        let current = current.ok_or_else(|| "no key given".to_owned())?;
        Ok(Self { current, keys })
    }

    pub fn key(&self, id: &str) -> Option<&[u8]> {
        self.keys.get(id).map(|k| k.expose_secret())
    }
}

#[derive(Debug, Clone)]
pub struct ApiSettings {
    pub jwt_secret: SecretString,
    pub access_ttl: Duration,
    /// The `monitor` role's access tokens live longer (wall screens), as in HeartBeat.
    pub monitor_access_ttl: Duration,
    pub refresh_ttl: Duration,
    /// Anyone may register (the first user may always, and becomes admin).
    pub open_registration: bool,
    pub rate_limit_window: Duration,
    pub rate_limit_max: u32,
    /// Requests per window of one signed-in dashboard user (`RATE_LIMIT_SESSION_MAX_REQUESTS`,
    /// default 10 × `RATE_LIMIT_MAX_REQUESTS`): a dashboard polls (lists, charts,
    /// sparklines), so a session needs more room than a script with a key.
    pub rate_limit_session_max: u32,
    /// Login attempts per IP + email per minute.
    pub login_limit_per_minute: u32,
    pub reset_token_ttl: Duration,
    /// Base of links in emails, e.g. `https://status.example.com`.
    pub frontend_url: String,
    /// `Secure` on cookies and HSTS; on unless explicitly off (plain-http local use).
    pub secure_cookies: bool,
    pub encryption: Keyring,
    /// Request bodies above this answer 413.
    pub max_body_bytes: usize,
}

fn duration_setting(
    name: &'static str,
    value: Option<String>,
    default: Duration,
) -> Result<Duration, SettingsError> {
    match value {
        None => Ok(default),
        Some(text) => parse_duration(&text).map_err(|message| SettingsError { name, message }),
    }
}

fn bool_setting(
    name: &'static str,
    value: Option<String>,
    default: bool,
) -> Result<bool, SettingsError> {
    match value.as_deref().map(str::trim) {
        None => Ok(default),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some("false" | "0" | "no" | "off") => Ok(false),
        Some(other) => Err(SettingsError {
            name,
            message: format!("{other:?} is not true or false"),
        }),
    }
}

impl ApiSettings {
    /// Reads settings through `lookup` (the environment, or a test map). `JWT_SECRET`
    /// and `ENCRYPTION_KEYS` are required; the self-hosted server generates and
    /// persists them on first run before calling this.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let jwt_secret = lookup("JWT_SECRET").ok_or(SettingsError {
            name: "JWT_SECRET",
            message: "is required".into(),
        })?;
        if jwt_secret.chars().count() < MIN_JWT_SECRET_CHARS {
            return Err(SettingsError {
                name: "JWT_SECRET",
                message: format!("must be at least {MIN_JWT_SECRET_CHARS} characters"),
            });
        }
        let encryption = lookup("ENCRYPTION_KEYS")
            .ok_or(SettingsError {
                name: "ENCRYPTION_KEYS",
                message: "is required (id:64-hex-digit-key)".into(),
            })
            .and_then(|raw| {
                Keyring::parse(&raw).map_err(|message| SettingsError {
                    name: "ENCRYPTION_KEYS",
                    message,
                })
            })?;
        let rate_limit_window = match lookup("RATE_LIMIT_WINDOW_MS") {
            None => Duration::from_secs(15 * 60),
            Some(ms) => ms
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|ms| *ms >= 1000)
                .map(Duration::from_millis)
                .ok_or(SettingsError {
                    name: "RATE_LIMIT_WINDOW_MS",
                    message: "must be a number of milliseconds ≥ 1000".into(),
                })?,
        };
        let rate_limit_max = match lookup("RATE_LIMIT_MAX_REQUESTS") {
            None => 100,
            Some(n) => n
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or(SettingsError {
                    name: "RATE_LIMIT_MAX_REQUESTS",
                    message: "must be a positive number".into(),
                })?,
        };
        let rate_limit_session_max = match lookup("RATE_LIMIT_SESSION_MAX_REQUESTS") {
            None => rate_limit_max.saturating_mul(10),
            Some(n) => n
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or(SettingsError {
                    name: "RATE_LIMIT_SESSION_MAX_REQUESTS",
                    message: "must be a positive number".into(),
                })?,
        };
        let frontend_url = lookup("FRONTEND_URL").unwrap_or_else(|| "http://127.0.0.1:8080".into());
        if url::Url::parse(&frontend_url).is_err() {
            return Err(SettingsError {
                name: "FRONTEND_URL",
                message: format!("{frontend_url:?} is not a URL"),
            });
        }
        Ok(Self {
            jwt_secret: SecretString::from(jwt_secret),
            access_ttl: duration_setting(
                "JWT_ACCESS_EXPIRES_IN",
                lookup("JWT_ACCESS_EXPIRES_IN"),
                Duration::from_secs(15 * 60),
            )?,
            monitor_access_ttl: duration_setting(
                "JWT_MONITOR_ACCESS_EXPIRES_IN",
                lookup("JWT_MONITOR_ACCESS_EXPIRES_IN"),
                Duration::from_secs(12 * 3600),
            )?,
            refresh_ttl: duration_setting(
                "JWT_REFRESH_EXPIRES_IN",
                lookup("JWT_REFRESH_EXPIRES_IN"),
                Duration::from_secs(7 * 86_400),
            )?,
            open_registration: bool_setting(
                "OPEN_REGISTRATION",
                lookup("OPEN_REGISTRATION"),
                false,
            )?,
            rate_limit_window,
            rate_limit_max,
            rate_limit_session_max,
            login_limit_per_minute: 5,
            reset_token_ttl: duration_setting(
                "PASSWORD_RESET_TOKEN_EXPIRY",
                lookup("PASSWORD_RESET_TOKEN_EXPIRY"),
                Duration::from_secs(3600),
            )?,
            secure_cookies: bool_setting("SECURE_COOKIES", lookup("SECURE_COOKIES"), true)?,
            frontend_url: frontend_url.trim_end_matches('/').to_owned(),
            encryption,
            max_body_bytes: 64 * 1024,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const KEY: &str = "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn defaults_and_required_settings() {
        let s = ApiSettings::from_lookup(env(&[
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
            ("ENCRYPTION_KEYS", KEY),
        ]))
        .unwrap();
        assert_eq!(s.access_ttl, Duration::from_secs(900));
        assert_eq!(s.refresh_ttl, Duration::from_secs(7 * 86_400));
        assert_eq!(s.rate_limit_max, 100);
        assert_eq!(s.encryption.current, "k1");
        assert!(!format!("{s:?}").contains("0123456789abcdef0123"));

        let short =
            ApiSettings::from_lookup(env(&[("JWT_SECRET", "short"), ("ENCRYPTION_KEYS", KEY)]));
        assert_eq!(short.unwrap_err().name, "JWT_SECRET");
        let missing = ApiSettings::from_lookup(env(&[("ENCRYPTION_KEYS", KEY)]));
        assert_eq!(missing.unwrap_err().name, "JWT_SECRET");
        let bad = ApiSettings::from_lookup(env(&[
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
            ("ENCRYPTION_KEYS", KEY),
            ("JWT_ACCESS_EXPIRES_IN", "soon"),
        ]));
        assert_eq!(bad.unwrap_err().name, "JWT_ACCESS_EXPIRES_IN");
    }

    #[test]
    fn every_bad_setting_is_refused_by_name() {
        for (name, value) in [
            ("JWT_REFRESH_EXPIRES_IN", "a week"),
            ("JWT_MONITOR_ACCESS_EXPIRES_IN", "-1h"),
            ("PASSWORD_RESET_TOKEN_EXPIRY", "later"),
            ("RATE_LIMIT_WINDOW_MS", "999"),
            ("RATE_LIMIT_WINDOW_MS", "fifteen minutes"),
            ("RATE_LIMIT_MAX_REQUESTS", "0"),
            ("RATE_LIMIT_MAX_REQUESTS", "-3"),
            ("RATE_LIMIT_SESSION_MAX_REQUESTS", "0"),
            ("FRONTEND_URL", "not a url"),
            ("OPEN_REGISTRATION", "maybe"),
            ("ENCRYPTION_KEYS", "k1:abcd"),
        ] {
            let mut pairs = vec![
                ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
                ("ENCRYPTION_KEYS", KEY),
            ];
            pairs.retain(|(k, _)| *k != name);
            pairs.push((name, value));
            let err = ApiSettings::from_lookup(env(&pairs)).unwrap_err();
            assert_eq!(err.name, name, "{name}={value:?}: {}", err.message);
            assert!(!err.message.is_empty());
        }
        let session_default = ApiSettings::from_lookup(env(&[
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
            ("ENCRYPTION_KEYS", KEY),
            ("RATE_LIMIT_MAX_REQUESTS", "30"),
        ]))
        .unwrap();
        assert_eq!(session_default.rate_limit_session_max, 300);
    }

    #[test]
    fn keyrings_parse_and_rotate() {
        let ring = Keyring::parse(&format!("{KEY},old:{}", "ff".repeat(32))).unwrap();
        assert_eq!(ring.current, "k1");
        assert_eq!(ring.key("old").unwrap().len(), 32);
        assert!(Keyring::parse("k1:abcd").is_err());
        assert!(Keyring::parse("").is_err());
        assert!(Keyring::parse("bad id:00").is_err());
    }
}
