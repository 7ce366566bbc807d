//! Monitor specification: raw input (from YAML or JSON) and its validated form.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::condition::Condition;

pub const MIN_INTERVAL: Duration = Duration::from_secs(10);
pub const MAX_INTERVAL: Duration = Duration::from_secs(24 * 3600);
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);
pub const DEFAULT_FAILURE_THRESHOLD: u8 = 2;
pub const DEFAULT_SUCCESS_THRESHOLD: u8 = 1;
pub const MAX_NAME_LEN: usize = 200;
pub const MAX_URL_LEN: usize = 2048;
pub const MAX_BODY_LEN: usize = 64 * 1024;
pub const MAX_CONDITIONS: usize = 50;
pub const MAX_TAGS: usize = 50;
pub const MAX_HEADERS: usize = 50;

/// Stable identifier of a monitor: 1–64 chars of `[a-z0-9_-]`, safe in URLs and keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MonitorId(String);

impl MonitorId {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() || raw.len() > 64 {
            return Err("must be 1 to 64 characters".into());
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err("may contain only lowercase letters, digits, '-' and '_'".into());
        }
        Ok(Self(raw.to_owned()))
    }

    /// Derives an id from a display name: lowercase, runs of other characters become '-'.
    pub fn slug(name: &str) -> Option<Self> {
        let mut out = String::new();
        for c in name.chars() {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
            } else if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
        }
        let trimmed: String = out.trim_end_matches('-').chars().take(64).collect();
        Self::parse(trimmed.trim_end_matches('-')).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for MonitorId {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<MonitorId> for String {
    fn from(value: MonitorId) -> Self {
        value.0
    }
}

impl fmt::Display for MonitorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An absolute http(s) URL with a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MonitorUrl(url::Url);

impl MonitorUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.len() > MAX_URL_LEN {
            return Err(format!("must be at most {MAX_URL_LEN} characters"));
        }
        let url = url::Url::parse(raw.trim()).map_err(|e| format!("is not a valid URL ({e})"))?;
        match url.scheme() {
            "http" | "https" => {}
            other => {
                return Err(format!(
                    "scheme '{other}' is not supported; use http or https"
                ));
            }
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("must include a host".into());
        }
        Ok(Self(url))
    }

    pub fn as_url(&self) -> &url::Url {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl TryFrom<String> for MonitorUrl {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<MonitorUrl> for String {
    fn from(value: MonitorUrl) -> Self {
        value.0.into()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
}

impl HttpMethod {
    pub fn parse(raw: &str) -> Result<Self, String> {
        Ok(match raw.trim().to_ascii_uppercase().as_str() {
            "GET" => Self::Get,
            "HEAD" => Self::Head,
            "POST" => Self::Post,
            "PUT" => Self::Put,
            "PATCH" => Self::Patch,
            "DELETE" => Self::Delete,
            "OPTIONS" => Self::Options,
            _ => {
                return Err(format!(
                    "'{raw}' is not supported; use GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS"
                ));
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
            Self::Options => "OPTIONS",
        }
    }
}

/// What a user (YAML file, API body) gives us. Everything optional but `name` and `url`;
/// durations accept `30s`, `5m`, `1h30m` or a number of seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorInput {
    pub id: Option<String>,
    pub name: Option<String>,
    pub url: Option<String>,
    pub method: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
    pub interval: Option<DurationInput>,
    pub timeout: Option<DurationInput>,
    #[serde(default)]
    pub conditions: Vec<String>,
    #[serde(alias = "failure-threshold")]
    pub failure_threshold: Option<i64>,
    #[serde(alias = "success-threshold")]
    pub success_threshold: Option<i64>,
    #[serde(alias = "follow-redirects")]
    pub follow_redirects: Option<bool>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub public: Option<bool>,
    pub paused: Option<bool>,
    /// Names of alert channels; empty means every configured channel.
    #[serde(default)]
    pub alerts: Vec<String>,
}

/// A duration as written by a user: `"90s"`, `"1h30m"`, or a bare number of seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DurationInput {
    Seconds(i64),
    Text(String),
}

impl DurationInput {
    pub fn to_duration(&self) -> Result<Duration, String> {
        match self {
            Self::Seconds(s) if *s >= 0 => Ok(Duration::from_secs(*s as u64)),
            Self::Seconds(_) => Err("must not be negative".into()),
            Self::Text(t) => parse_duration(t),
        }
    }
}

/// Parses `300ms`, `30s`, `5m`, `2h`, `1d`, combinations like `1h30m`, or bare seconds.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err("is empty; write a duration like 30s, 5m or 1h".into());
    }
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total_ms: u128 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!(
                "'{raw}' is not a duration; write e.g. 30s, 5m, 1h30m"
            ));
        }
        let value: u128 = rest[..digits]
            .parse()
            .map_err(|_| format!("'{raw}' is too large"))?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit_ms: u128 = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "" => return Err(format!("'{raw}' is missing a unit (ms, s, m, h, d)")),
            other => return Err(format!("'{other}' is not a duration unit (ms, s, m, h, d)")),
        };
        rest = &rest[unit_len..];
        total_ms = total_ms
            .checked_add(value.saturating_mul(unit_ms))
            .ok_or_else(|| format!("'{raw}' is too large"))?;
    }
    u64::try_from(total_ms)
        .map(Duration::from_millis)
        .map_err(|_| format!("'{raw}' is too large"))
}

/// Renders a duration the way users write it (`90s` → `1m30s`).
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    if ms % 1000 != 0 {
        return format!("{ms}ms");
    }
    let mut secs = d.as_secs();
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

/// A validated monitor. Fields can only hold values that passed validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorSpec {
    pub id: MonitorId,
    pub name: String,
    pub url: MonitorUrl,
    pub method: HttpMethod,
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
    #[serde(with = "duration_ms")]
    pub interval: Duration,
    #[serde(with = "duration_ms")]
    pub timeout: Duration,
    pub conditions: Vec<Condition>,
    pub failure_threshold: u8,
    pub success_threshold: u8,
    pub follow_redirects: bool,
    pub tags: Vec<String>,
    pub public: bool,
    pub paused: bool,
    pub alerts: Vec<String>,
}

mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// One problem with one field of the input. `field` is a path like `conditions[2]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, thiserror::Error)]
#[error("{}", self.summary())]
pub struct ValidationErrors {
    pub errors: Vec<FieldError>,
}

impl ValidationErrors {
    fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    pub fn summary(&self) -> String {
        self.errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl MonitorInput {
    /// Validates every field and reports every problem at once (not just the first).
    pub fn validate(&self) -> Result<MonitorSpec, ValidationErrors> {
        let mut errs = ValidationErrors::default();

        let name = match self.name.as_deref().map(str::trim) {
            None | Some("") => {
                errs.push("name", "is required");
                String::new()
            }
            Some(n) if n.chars().count() > MAX_NAME_LEN => {
                errs.push("name", format!("must be at most {MAX_NAME_LEN} characters"));
                String::new()
            }
            Some(n) if n.chars().any(char::is_control) => {
                errs.push("name", "must not contain control characters");
                String::new()
            }
            Some(n) => n.to_owned(),
        };

        let id = match &self.id {
            Some(raw) => MonitorId::parse(raw).map_err(|m| errs.push("id", m)).ok(),
            None if name.is_empty() => None,
            None => {
                let slug = MonitorId::slug(&name);
                if slug.is_none() {
                    errs.push(
                        "id",
                        "cannot be derived from the name (no letters or digits); set id explicitly",
                    );
                }
                slug
            }
        };

        let url = match self.url.as_deref() {
            None | Some("") => {
                errs.push("url", "is required");
                None
            }
            Some(raw) => MonitorUrl::parse(raw).map_err(|m| errs.push("url", m)).ok(),
        };

        let method = match self.method.as_deref() {
            None => HttpMethod::Get,
            Some(raw) => HttpMethod::parse(raw).unwrap_or_else(|m| {
                errs.push("method", m);
                HttpMethod::Get
            }),
        };

        if self.headers.len() > MAX_HEADERS {
            errs.push("headers", format!("at most {MAX_HEADERS} headers"));
        }
        for (k, v) in &self.headers {
            let valid_name = !k.is_empty()
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !valid_name {
                errs.push(format!("headers.{k}"), "is not a valid header name");
            }
            if v.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
                errs.push(
                    format!("headers.{k}"),
                    "value must not contain CR, LF or NUL",
                );
            }
        }

        if let Some(body) = &self.body
            && body.len() > MAX_BODY_LEN
        {
            errs.push("body", format!("must be at most {MAX_BODY_LEN} bytes"));
        }

        let interval = match &self.interval {
            None => DEFAULT_INTERVAL,
            Some(d) => match d.to_duration() {
                Ok(d) if d < MIN_INTERVAL || d > MAX_INTERVAL => {
                    errs.push("interval", "must be between 10s and 24h");
                    DEFAULT_INTERVAL
                }
                Ok(d) => d,
                Err(m) => {
                    errs.push("interval", m);
                    DEFAULT_INTERVAL
                }
            },
        };

        let timeout = match &self.timeout {
            None => DEFAULT_TIMEOUT.min(interval),
            Some(d) => match d.to_duration() {
                Ok(d) if d.is_zero() => {
                    errs.push("timeout", "must be greater than 0");
                    DEFAULT_TIMEOUT
                }
                Ok(d) if d > MAX_TIMEOUT => {
                    errs.push("timeout", "must be at most 60s");
                    DEFAULT_TIMEOUT
                }
                Ok(d) if d > interval => {
                    errs.push("timeout", "must not be longer than the interval");
                    DEFAULT_TIMEOUT
                }
                Ok(d) => d,
                Err(m) => {
                    errs.push("timeout", m);
                    DEFAULT_TIMEOUT
                }
            },
        };

        if self.conditions.len() > MAX_CONDITIONS {
            errs.push("conditions", format!("at most {MAX_CONDITIONS} conditions"));
        }
        let mut conditions = Vec::with_capacity(self.conditions.len());
        for (i, raw) in self.conditions.iter().enumerate() {
            match Condition::parse(raw) {
                Ok(c) => conditions.push(c),
                Err(e) => errs.push(format!("conditions[{i}]"), e.to_string()),
            }
        }

        let failure_threshold = threshold(
            &mut errs,
            "failure_threshold",
            self.failure_threshold,
            DEFAULT_FAILURE_THRESHOLD,
        );
        let success_threshold = threshold(
            &mut errs,
            "success_threshold",
            self.success_threshold,
            DEFAULT_SUCCESS_THRESHOLD,
        );

        if self.tags.len() > MAX_TAGS {
            errs.push("tags", format!("at most {MAX_TAGS} tags"));
        }
        let mut tags = Vec::new();
        for (i, t) in self.tags.iter().enumerate() {
            let t = t.trim();
            if t.is_empty() || t.chars().count() > 64 || t.chars().any(char::is_control) {
                errs.push(format!("tags[{i}]"), "must be 1 to 64 printable characters");
            } else if !tags.iter().any(|x: &String| x == t) {
                tags.push(t.to_owned());
            }
        }

        let mut alerts = Vec::new();
        for (i, a) in self.alerts.iter().enumerate() {
            let a = a.trim();
            if a.is_empty() {
                errs.push(format!("alerts[{i}]"), "must name an alert channel");
            } else if !alerts.iter().any(|x: &String| x == a) {
                alerts.push(a.to_owned());
            }
        }

        match (id, url, errs.errors.is_empty()) {
            (Some(id), Some(url), true) => Ok(MonitorSpec {
                id,
                name,
                url,
                method,
                headers: self.headers.clone(),
                body: self.body.clone(),
                interval,
                timeout,
                conditions,
                failure_threshold,
                success_threshold,
                follow_redirects: self.follow_redirects.unwrap_or(true),
                tags,
                public: self.public.unwrap_or(false),
                paused: self.paused.unwrap_or(false),
                alerts,
            }),
            _ => Err(errs),
        }
    }
}

fn threshold(errs: &mut ValidationErrors, field: &str, value: Option<i64>, default: u8) -> u8 {
    match value {
        None => default,
        Some(v @ 1..=10) => v as u8,
        Some(_) => {
            errs.push(field, "must be between 1 and 10");
            default
        }
    }
}

impl MonitorSpec {
    /// Whether any condition reads the response body (so a truncated body must fail).
    pub fn reads_body(&self) -> bool {
        self.conditions.iter().any(Condition::reads_body)
    }

    /// Back to the input form, e.g. to show or edit a stored monitor.
    pub fn to_input(&self) -> MonitorInput {
        MonitorInput {
            id: Some(self.id.to_string()),
            name: Some(self.name.clone()),
            url: Some(self.url.as_str().to_owned()),
            method: Some(self.method.as_str().to_owned()),
            headers: self.headers.clone(),
            body: self.body.clone(),
            interval: Some(DurationInput::Text(format_duration(self.interval))),
            timeout: Some(DurationInput::Text(format_duration(self.timeout))),
            conditions: self
                .conditions
                .iter()
                .map(|c| c.as_str().to_owned())
                .collect(),
            failure_threshold: Some(self.failure_threshold.into()),
            success_threshold: Some(self.success_threshold.into()),
            follow_redirects: Some(self.follow_redirects),
            tags: self.tags.clone(),
            public: Some(self.public),
            paused: Some(self.paused),
            alerts: self.alerts.clone(),
        }
    }
}
