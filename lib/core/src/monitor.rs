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
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(min_length = 1, max_length = 64, pattern = "^[a-z0-9_-]+$")
)]
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
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(value_type = String)
)]
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
        // Normalisation percent-encodes, so the stored form can be longer than the input;
        // it must stay within the limit or the stored spec would not parse back.
        if url.as_str().len() > MAX_URL_LEN {
            return Err(format!(
                "must be at most {MAX_URL_LEN} characters once percent-encoded"
            ));
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| format!("'{raw}' is too large"));
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
    if d.subsec_millis() != 0 {
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MonitorSpec {
    pub id: MonitorId,
    pub name: String,
    pub url: MonitorUrl,
    pub method: HttpMethod,
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
    /// Milliseconds.
    #[serde(with = "duration_ms")]
    #[cfg_attr(feature = "openapi", schema(value_type = u64))]
    pub interval: Duration,
    /// Milliseconds.
    #[serde(with = "duration_ms")]
    #[cfg_attr(feature = "openapi", schema(value_type = u64))]
    pub timeout: Duration,
    /// Conditions as written, e.g. `[STATUS] == 200`.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

        let url = match self.url.as_deref().filter(|u| !u.trim().is_empty()) {
            None => {
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
        let mut seen: BTreeMap<String, &str> = BTreeMap::new();
        for (k, v) in &self.headers {
            let valid_name = !k.is_empty()
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !valid_name {
                errs.push(format!("headers.{k}"), "is not a valid header name");
            } else if let Some(first) = seen.insert(k.to_ascii_lowercase(), k) {
                errs.push(
                    format!("headers.{k}"),
                    format!("duplicates header '{first}' (header names are case-insensitive)"),
                );
            }
            // RFC 9110 field values: visible characters, spaces, tabs and obs-text; any
            // other control character would make the request unsendable.
            if v.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
                errs.push(
                    format!("headers.{k}"),
                    "value must not contain control characters (CR, LF, NUL, ...)",
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn base() -> MonitorInput {
        MonitorInput {
            name: Some("API".into()),
            url: Some("https://example.com/health".into()),
            ..MonitorInput::default()
        }
    }

    fn text(s: &str) -> Option<DurationInput> {
        Some(DurationInput::Text(s.into()))
    }

    /// The fields that failed, in report order.
    fn failed_fields(input: &MonitorInput) -> Vec<String> {
        match input.validate() {
            Ok(_) => Vec::new(),
            Err(e) => e.errors.into_iter().map(|e| e.field).collect(),
        }
    }

    fn message_for(input: &MonitorInput, field: &str) -> String {
        let errs = input.validate().expect_err("validation should fail");
        errs.errors
            .iter()
            .find(|e| e.field == field)
            .unwrap_or_else(|| panic!("no error for {field}: {errs:?}"))
            .message
            .clone()
    }

    #[test]
    fn minimal_input_gets_defaults() {
        let spec = base().validate().unwrap();
        assert_eq!(spec.id.as_str(), "api");
        assert_eq!(spec.name, "API");
        assert_eq!(spec.url.as_str(), "https://example.com/health");
        assert_eq!(spec.method, HttpMethod::Get);
        assert!(spec.headers.is_empty());
        assert_eq!(spec.body, None);
        assert_eq!(spec.interval, Duration::from_secs(60));
        assert_eq!(spec.interval, DEFAULT_INTERVAL);
        assert_eq!(spec.timeout, Duration::from_secs(10));
        assert_eq!(spec.timeout, DEFAULT_TIMEOUT);
        assert!(spec.conditions.is_empty());
        assert_eq!(spec.failure_threshold, 2);
        assert_eq!(spec.success_threshold, 1);
        assert!(spec.follow_redirects);
        assert!(spec.tags.is_empty());
        assert!(!spec.public);
        assert!(!spec.paused);
        assert!(spec.alerts.is_empty());
        assert!(!spec.reads_body());
    }

    #[test]
    fn explicit_values_are_kept() {
        let input = MonitorInput {
            id: Some("my-api_2".into()),
            name: Some("  My API  ".into()),
            method: Some("post".into()),
            headers: BTreeMap::from([("Authorization".into(), "Bearer x".into())]),
            body: Some("{}".into()),
            interval: text("5m"),
            timeout: Some(DurationInput::Seconds(30)),
            conditions: vec!["[STATUS] == 200".into(), "[BODY].ok == true".into()],
            failure_threshold: Some(3),
            success_threshold: Some(2),
            follow_redirects: Some(false),
            tags: vec![" prod ".into(), "eu".into(), "prod".into()],
            public: Some(true),
            paused: Some(true),
            alerts: vec!["slack".into(), " slack ".into(), "mail".into()],
            ..base()
        };
        let spec = input.validate().unwrap();
        assert_eq!(spec.id.as_str(), "my-api_2");
        assert_eq!(spec.name, "My API");
        assert_eq!(spec.method, HttpMethod::Post);
        assert_eq!(spec.headers["Authorization"], "Bearer x");
        assert_eq!(spec.body.as_deref(), Some("{}"));
        assert_eq!(spec.interval, Duration::from_secs(300));
        assert_eq!(spec.timeout, Duration::from_secs(30));
        assert_eq!(spec.conditions.len(), 2);
        assert_eq!(spec.conditions[0].as_str(), "[STATUS] == 200");
        assert_eq!(spec.failure_threshold, 3);
        assert_eq!(spec.success_threshold, 2);
        assert!(!spec.follow_redirects);
        assert_eq!(spec.tags, ["prod", "eu"]);
        assert!(spec.public);
        assert!(spec.paused);
        assert_eq!(spec.alerts, ["slack", "mail"]);
        assert!(spec.reads_body());
    }

    #[test]
    fn name_rules() {
        let cases: &[(Option<&str>, Option<&str>)] = &[
            (None, Some("is required")),
            (Some(""), Some("is required")),
            (Some("   "), Some("is required")),
            (Some("a"), None),
            (Some(&"n".repeat(MAX_NAME_LEN)), None),
            (Some(&"é".repeat(MAX_NAME_LEN)), None), // counted in characters, not bytes
            (Some(&"n".repeat(MAX_NAME_LEN + 1)), Some("at most 200")),
            (Some("bell\u{7}"), Some("control")),
            (Some("a\nb"), Some("control")),
            (Some("tab\there"), Some("control")),
            (Some("Ünïcödé 🚀 ok"), None),
        ];
        for (name, want) in cases {
            let input = MonitorInput {
                name: name.map(str::to_owned),
                id: Some("x".into()),
                ..base()
            };
            match want {
                None => assert!(input.validate().is_ok(), "{name:?}"),
                Some(w) => {
                    let m = message_for(&input, "name");
                    assert!(m.contains(w), "{name:?}: {m}");
                }
            }
        }
    }

    #[test]
    fn missing_name_does_not_also_blame_id() {
        let input = MonitorInput {
            name: None,
            ..base()
        };
        assert_eq!(failed_fields(&input), ["name"]);
    }

    #[test]
    fn id_rules() {
        let cases: &[(&str, bool)] = &[
            ("a", true),
            ("api-1_b", true),
            (&"a".repeat(64), true),
            (&"a".repeat(65), false),
            ("", false),
            ("Api", false),
            ("a b", false),
            ("a/b", false),
            ("a.b", false),
            ("é", false),
            ("-", true),
        ];
        for (id, ok) in cases {
            let input = MonitorInput {
                id: Some((*id).to_owned()),
                ..base()
            };
            let fields = failed_fields(&input);
            if *ok {
                assert!(fields.is_empty(), "{id:?}: {fields:?}");
                assert_eq!(input.validate().unwrap().id.as_str(), *id);
            } else {
                assert_eq!(fields, ["id"], "{id:?}");
            }
        }
    }

    #[test]
    fn id_is_derived_from_name_or_reported() {
        let input = MonitorInput {
            name: Some("!!! ???".into()),
            ..base()
        };
        let m = message_for(&input, "id");
        assert!(m.contains("set id explicitly"), "{m}");

        let input = MonitorInput {
            name: Some("!!! ???".into()),
            id: Some("punct".into()),
            ..base()
        };
        assert_eq!(input.validate().unwrap().id.as_str(), "punct");
    }

    #[test]
    fn slug_table() {
        let long = "a".repeat(100);
        let long_dash = format!("{}-b", "a".repeat(63));
        let cases: &[(&str, Option<&str>)] = &[
            ("API", Some("api")),
            ("My API", Some("my-api")),
            ("  My   API  ", Some("my-api")),
            ("--a--b--", Some("a-b")),
            (
                "Example.com / Health (prod)",
                Some("example-com-health-prod"),
            ),
            ("snake_case", Some("snake-case")),
            ("Café Déjà vu", Some("caf-d-j-vu")),
            ("123", Some("123")),
            ("!!!", None),
            ("", None),
            ("日本語", None),
            (&long, Some(&long[..64])),
            // Cut at 64 right after a separator: the trailing '-' is trimmed.
            (&long_dash, Some(&long_dash[..63])),
        ];
        for (name, want) in cases {
            let got = MonitorId::slug(name);
            assert_eq!(got.as_ref().map(MonitorId::as_str), *want, "{name:?}");
            if let Some(id) = got {
                assert!(MonitorId::parse(id.as_str()).is_ok());
            }
        }
    }

    #[test]
    fn monitor_id_serde_and_display() {
        let id = MonitorId::parse("abc-1").unwrap();
        assert_eq!(id.to_string(), "abc-1");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"abc-1\"");
        assert_eq!(serde_json::from_str::<MonitorId>("\"abc-1\"").unwrap(), id);
        assert!(serde_json::from_str::<MonitorId>("\"ABC\"").is_err());
        assert!(serde_json::from_str::<MonitorId>("\"\"").is_err());
        assert_eq!(String::from(id.clone()), "abc-1");
        assert_eq!(MonitorId::try_from("abc-1".to_owned()).unwrap(), id);
    }

    #[test]
    fn url_rules() {
        let too_long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        let max_len = {
            let prefix = "https://example.com/";
            format!("{prefix}{}", "a".repeat(MAX_URL_LEN - prefix.len()))
        };
        // 700 spaces become 2100 characters of %20 once normalised.
        let expands = format!("https://example.com/a{}b", " ".repeat(700));
        let cases: &[(Option<&str>, Result<&str, &str>)] = &[
            (Some("https://example.com"), Ok("https://example.com/")),
            (
                Some("http://example.com:8080/a?b=c#d"),
                Ok("http://example.com:8080/a?b=c#d"),
            ),
            (
                Some("HTTPS://Example.COM/Path"),
                Ok("https://example.com/Path"),
            ),
            (
                Some("  https://example.com/x  "),
                Ok("https://example.com/x"),
            ),
            (Some("https://[::1]:8443/x"), Ok("https://[::1]:8443/x")),
            (Some("http://10.0.0.1/"), Ok("http://10.0.0.1/")),
            (
                Some("https://user:pw@example.com/"),
                Ok("https://user:pw@example.com/"),
            ),
            (Some(&max_len), Ok(&max_len)),
            (None, Err("is required")),
            (Some(""), Err("is required")),
            (Some("   "), Err("is required")),
            (Some("ftp://example.com/file"), Err("scheme 'ftp'")),
            (Some("file:///etc/passwd"), Err("scheme 'file'")),
            (Some("mailto:ops@example.com"), Err("scheme 'mailto'")),
            (Some("javascript:alert(1)"), Err("scheme 'javascript'")),
            (Some("ws://example.com"), Err("scheme 'ws'")),
            (Some("http://"), Err("not a valid URL")),
            (Some("http://:80/"), Err("not a valid URL")),
            (Some("https://exa mple.com"), Err("not a valid URL")),
            (Some("example.com"), Err("not a valid URL")),
            (Some("/health"), Err("not a valid URL")),
            (Some("garbage"), Err("not a valid URL")),
            (Some("::::"), Err("not a valid URL")),
            (Some(&too_long), Err("at most 2048")),
            (Some(&expands), Err("at most 2048")),
        ];
        for (url, want) in cases {
            let input = MonitorInput {
                url: url.map(str::to_owned),
                ..base()
            };
            match want {
                Ok(norm) => {
                    let spec = input.validate().unwrap_or_else(|e| panic!("{url:?}: {e}"));
                    assert_eq!(spec.url.as_str(), *norm);
                    assert_eq!(spec.url.as_url().as_str(), *norm);
                }
                Err(w) => {
                    assert_eq!(failed_fields(&input), ["url"], "{url:?}");
                    let m = message_for(&input, "url");
                    assert!(m.contains(w), "{url:?}: {m}");
                }
            }
        }
    }

    #[test]
    fn every_accepted_url_parses_back_from_its_stored_form() {
        for raw in [
            "https://example.com/ä ö?q=ü v",
            "http://EXAMPLE.com:80/./a/../b",
            "https://xn--bcher-kva.example/",
            "https://bücher.example/",
        ] {
            let url = MonitorUrl::parse(raw).unwrap();
            let json = serde_json::to_string(&url).unwrap();
            assert_eq!(serde_json::from_str::<MonitorUrl>(&json).unwrap(), url);
            assert_eq!(MonitorUrl::parse(url.as_str()).unwrap(), url);
        }
        assert!(serde_json::from_str::<MonitorUrl>("\"ftp://x\"").is_err());
    }

    #[test]
    fn method_rules() {
        let cases: &[(&str, Option<HttpMethod>)] = &[
            ("GET", Some(HttpMethod::Get)),
            ("get", Some(HttpMethod::Get)),
            (" Post ", Some(HttpMethod::Post)),
            ("head", Some(HttpMethod::Head)),
            ("PUT", Some(HttpMethod::Put)),
            ("patch", Some(HttpMethod::Patch)),
            ("Delete", Some(HttpMethod::Delete)),
            ("OPTIONS", Some(HttpMethod::Options)),
            ("FETCH", None),
            ("CONNECT", None),
            ("TRACE", None),
            ("", None),
            ("G E T", None),
        ];
        for (raw, want) in cases {
            let input = MonitorInput {
                method: Some((*raw).to_owned()),
                ..base()
            };
            match want {
                Some(m) => {
                    assert_eq!(input.validate().unwrap().method, *m, "{raw:?}");
                    assert_eq!(HttpMethod::parse(m.as_str()), Ok(*m));
                }
                None => {
                    assert_eq!(failed_fields(&input), ["method"], "{raw:?}");
                    assert!(message_for(&input, "method").contains("not supported"));
                }
            }
        }
    }

    #[test]
    fn method_serde_is_uppercase() {
        assert_eq!(
            serde_json::to_string(&HttpMethod::Options).unwrap(),
            "\"OPTIONS\""
        );
        assert_eq!(
            serde_json::from_str::<HttpMethod>("\"DELETE\"").unwrap(),
            HttpMethod::Delete
        );
    }

    #[test]
    fn header_rules() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("X-Token", "abc", None),
            ("x-token", "", None),
            ("Accept", "text/html, */*;q=0.8", None),
            ("X_Odd!#$%&'*+.^`|~", "v", None),
            ("X-Tab", "a\tb", None),
            ("X-Utf8", "café", None),
            ("X Token", "v", Some("not a valid header name")),
            ("", "v", Some("not a valid header name")),
            ("X:Colon", "v", Some("not a valid header name")),
            ("X-Ünï", "v", Some("not a valid header name")),
            ("X-(paren)", "v", Some("not a valid header name")),
            ("X-Crlf", "a\r\nInjected: yes", Some("control characters")),
            ("X-Lf", "a\nb", Some("control characters")),
            ("X-Cr", "a\rb", Some("control characters")),
            ("X-Nul", "a\0b", Some("control characters")),
            ("X-Ctl", "a\u{1}b", Some("control characters")),
            ("X-Del", "a\u{7f}b", Some("control characters")),
        ];
        for (name, value, want) in cases {
            let input = MonitorInput {
                headers: BTreeMap::from([((*name).to_owned(), (*value).to_owned())]),
                ..base()
            };
            let field = format!("headers.{name}");
            match want {
                None => assert!(input.validate().is_ok(), "{name:?}: {value:?}"),
                Some(w) => {
                    assert_eq!(
                        failed_fields(&input),
                        std::slice::from_ref(&field),
                        "{name:?}"
                    );
                    let m = message_for(&input, &field);
                    assert!(m.contains(w), "{name:?}: {m}");
                }
            }
        }
    }

    #[test]
    fn bad_header_name_and_value_are_both_reported() {
        let input = MonitorInput {
            headers: BTreeMap::from([("X Y".into(), "a\nb".into())]),
            ..base()
        };
        assert_eq!(failed_fields(&input), ["headers.X Y", "headers.X Y"]);
    }

    #[test]
    fn header_names_are_case_insensitive() {
        let input = MonitorInput {
            headers: BTreeMap::from([
                ("X-Api-Key".into(), "a".into()),
                ("x-api-key".into(), "b".into()),
                ("X-Other".into(), "c".into()),
            ]),
            ..base()
        };
        assert_eq!(failed_fields(&input), ["headers.x-api-key"]);
        assert!(message_for(&input, "headers.x-api-key").contains("'X-Api-Key'"));
    }

    #[test]
    fn header_count_limit() {
        let headers = |n: usize| {
            (0..n)
                .map(|i| (format!("X-H{i}"), "v".to_owned()))
                .collect()
        };
        let ok = MonitorInput {
            headers: headers(MAX_HEADERS),
            ..base()
        };
        assert!(ok.validate().is_ok());
        let too_many = MonitorInput {
            headers: headers(MAX_HEADERS + 1),
            ..base()
        };
        assert_eq!(failed_fields(&too_many), ["headers"]);
    }

    #[test]
    fn body_limit() {
        for (len, ok) in [(0, true), (MAX_BODY_LEN, true), (MAX_BODY_LEN + 1, false)] {
            let input = MonitorInput {
                body: Some("x".repeat(len)),
                ..base()
            };
            if ok {
                assert_eq!(input.validate().unwrap().body.map(|b| b.len()), Some(len));
            } else {
                assert_eq!(failed_fields(&input), ["body"]);
            }
        }
    }

    #[test]
    fn interval_bounds() {
        let cases: &[(DurationInput, Result<u64, &str>)] = &[
            (DurationInput::Text("9s".into()), Err("between 10s and 24h")),
            (
                DurationInput::Text("9999ms".into()),
                Err("between 10s and 24h"),
            ),
            (DurationInput::Text("10s".into()), Ok(10_000)),
            (DurationInput::Text("10000ms".into()), Ok(10_000)),
            (DurationInput::Text("10500ms".into()), Ok(10_500)),
            (DurationInput::Text("1m".into()), Ok(60_000)),
            (DurationInput::Text("24h".into()), Ok(86_400_000)),
            (DurationInput::Text("1d".into()), Ok(86_400_000)),
            (DurationInput::Text("23h59m60s".into()), Ok(86_400_000)),
            (
                DurationInput::Text("24h1s".into()),
                Err("between 10s and 24h"),
            ),
            (
                DurationInput::Text("86401".into()),
                Err("between 10s and 24h"),
            ),
            (DurationInput::Text("0".into()), Err("between 10s and 24h")),
            (DurationInput::Text("abc".into()), Err("not a duration")),
            (DurationInput::Text("".into()), Err("is empty")),
            (DurationInput::Seconds(9), Err("between 10s and 24h")),
            (DurationInput::Seconds(10), Ok(10_000)),
            (DurationInput::Seconds(86_400), Ok(86_400_000)),
            (DurationInput::Seconds(86_401), Err("between 10s and 24h")),
            (DurationInput::Seconds(0), Err("between 10s and 24h")),
            (DurationInput::Seconds(-1), Err("negative")),
            (DurationInput::Seconds(i64::MAX), Err("between 10s and 24h")),
            (DurationInput::Seconds(i64::MIN), Err("negative")),
        ];
        for (interval, want) in cases {
            let input = MonitorInput {
                interval: Some(interval.clone()),
                // Keep the timeout out of the way of the interval under test.
                timeout: Some(DurationInput::Text("1s".into())),
                ..base()
            };
            match want {
                Ok(ms) => {
                    let spec = input
                        .validate()
                        .unwrap_or_else(|e| panic!("{interval:?}: {e}"));
                    assert_eq!(spec.interval, Duration::from_millis(*ms), "{interval:?}");
                }
                Err(w) => {
                    assert_eq!(failed_fields(&input), ["interval"], "{interval:?}");
                    let m = message_for(&input, "interval");
                    assert!(m.contains(w), "{interval:?}: {m}");
                }
            }
        }
    }

    #[test]
    fn timeout_bounds() {
        // (interval, timeout, expected timeout in ms or error fragment)
        type Case<'a> = (Option<&'a str>, Option<DurationInput>, Result<u64, &'a str>);
        let cases: &[Case] = &[
            (None, None, Ok(10_000)),
            (Some("10s"), None, Ok(10_000)),
            (Some("24h"), None, Ok(10_000)),
            (None, text("60s"), Ok(60_000)), // == default interval
            (Some("30s"), text("30s"), Ok(30_000)), // == interval
            (
                Some("30s"),
                text("30001ms"),
                Err("longer than the interval"),
            ),
            (Some("30s"), text("31s"), Err("longer than the interval")),
            (Some("10s"), text("11s"), Err("longer than the interval")),
            (Some("2m"), text("60s"), Ok(60_000)),
            (Some("2m"), text("61s"), Err("at most 60s")),
            (Some("2m"), text("60001ms"), Err("at most 60s")),
            (None, text("61s"), Err("at most 60s")),
            (Some("1h"), text("1h"), Err("at most 60s")),
            (None, text("0"), Err("greater than 0")),
            (None, text("0s"), Err("greater than 0")),
            (None, text("0ms"), Err("greater than 0")),
            (None, Some(DurationInput::Seconds(0)), Err("greater than 0")),
            (None, Some(DurationInput::Seconds(-5)), Err("negative")),
            (None, text("1ms"), Ok(1)),
            (None, text("500ms"), Ok(500)),
            (None, Some(DurationInput::Seconds(5)), Ok(5_000)),
            (None, text("5 seconds"), Err("")),
            (None, text("soon"), Err("not a duration")),
        ];
        for (interval, timeout, want) in cases {
            let input = MonitorInput {
                interval: interval.and_then(text),
                timeout: timeout.clone(),
                ..base()
            };
            match want {
                Ok(ms) => {
                    let spec = input
                        .validate()
                        .unwrap_or_else(|e| panic!("{interval:?} {timeout:?}: {e}"));
                    assert_eq!(spec.timeout, Duration::from_millis(*ms));
                    assert!(spec.timeout <= spec.interval);
                    assert!(spec.timeout <= MAX_TIMEOUT);
                }
                Err(w) => {
                    assert_eq!(
                        failed_fields(&input),
                        ["timeout"],
                        "{interval:?} {timeout:?}"
                    );
                    let m = message_for(&input, "timeout");
                    assert!(m.contains(w), "{interval:?} {timeout:?}: {m}");
                }
            }
        }
    }

    #[test]
    fn invalid_interval_does_not_cause_a_spurious_timeout_error() {
        for timeout in ["5s", "30s", "60s"] {
            let input = MonitorInput {
                interval: text("5s"),
                timeout: text(timeout),
                ..base()
            };
            assert_eq!(failed_fields(&input), ["interval"], "{timeout}");
        }
    }

    #[test]
    fn threshold_bounds() {
        let cases: &[(Option<i64>, Result<u8, ()>)] = &[
            (None, Ok(0)), // 0 = "the default", checked per field below
            (Some(0), Err(())),
            (Some(1), Ok(1)),
            (Some(5), Ok(5)),
            (Some(10), Ok(10)),
            (Some(11), Err(())),
            (Some(-1), Err(())),
            (Some(256), Err(())),
            (Some(257), Err(())), // would wrap to 1 as u8
            (Some(i64::MAX), Err(())),
            (Some(i64::MIN), Err(())),
        ];
        for (value, want) in cases {
            let failure = MonitorInput {
                failure_threshold: *value,
                ..base()
            };
            let success = MonitorInput {
                success_threshold: *value,
                ..base()
            };
            match want {
                Ok(0) => {
                    assert_eq!(failure.validate().unwrap().failure_threshold, 2);
                    assert_eq!(success.validate().unwrap().success_threshold, 1);
                }
                Ok(n) => {
                    assert_eq!(failure.validate().unwrap().failure_threshold, *n);
                    assert_eq!(success.validate().unwrap().success_threshold, *n);
                }
                Err(()) => {
                    assert_eq!(failed_fields(&failure), ["failure_threshold"], "{value:?}");
                    assert_eq!(failed_fields(&success), ["success_threshold"], "{value:?}");
                    assert!(
                        message_for(&failure, "failure_threshold").contains("between 1 and 10")
                    );
                }
            }
        }
    }

    #[test]
    fn tag_rules() {
        // (tags, kept tags or the fields that failed)
        type Case<'a> = (&'a [&'a str], Result<&'a [&'a str], &'a [&'a str]>);
        let cases: &[Case] = &[
            (&[], Ok(&[])),
            (&["a", "b"], Ok(&["a", "b"])),
            (&[" a ", "a", "b", "a"], Ok(&["a", "b"])),
            (&["Prod", "prod"], Ok(&["Prod", "prod"])),
            (&["ok", ""], Err(&["tags[1]"])),
            (&["  ", "ok", "x\ny"], Err(&["tags[0]", "tags[2]"])),
        ];
        for (tags, want) in cases {
            let input = MonitorInput {
                tags: tags.iter().map(|t| (*t).to_owned()).collect(),
                ..base()
            };
            match want {
                Ok(expect) => assert_eq!(input.validate().unwrap().tags, *expect, "{tags:?}"),
                Err(fields) => assert_eq!(failed_fields(&input), *fields, "{tags:?}"),
            }
        }

        let long_ok = MonitorInput {
            tags: vec!["é".repeat(64)],
            ..base()
        };
        assert!(long_ok.validate().is_ok());
        let long = MonitorInput {
            tags: vec!["t".repeat(65)],
            ..base()
        };
        assert_eq!(failed_fields(&long), ["tags[0]"]);
        let many = MonitorInput {
            tags: (0..=MAX_TAGS).map(|i| format!("t{i}")).collect(),
            ..base()
        };
        assert_eq!(failed_fields(&many), ["tags"]);
        let max = MonitorInput {
            tags: (0..MAX_TAGS).map(|i| format!("t{i}")).collect(),
            ..base()
        };
        assert_eq!(max.validate().unwrap().tags.len(), MAX_TAGS);
    }

    #[test]
    fn alert_channel_rules() {
        let input = MonitorInput {
            alerts: vec!["slack".into(), "".into(), " ".into()],
            ..base()
        };
        assert_eq!(failed_fields(&input), ["alerts[1]", "alerts[2]"]);
    }

    #[test]
    fn condition_count_limit() {
        let conditions = |n: usize| vec!["[STATUS] == 200".to_owned(); n];
        let ok = MonitorInput {
            conditions: conditions(MAX_CONDITIONS),
            ..base()
        };
        assert_eq!(ok.validate().unwrap().conditions.len(), MAX_CONDITIONS);
        let too_many = MonitorInput {
            conditions: conditions(MAX_CONDITIONS + 1),
            ..base()
        };
        assert_eq!(failed_fields(&too_many), ["conditions"]);
    }

    #[test]
    fn bad_condition_is_a_field_error_with_its_index() {
        let input = MonitorInput {
            conditions: vec![
                "[STATUS] == 200".into(),
                "[STATUS] ==".into(),
                "[RESPONSE_TIME] < 500".into(),
            ],
            ..base()
        };
        assert_eq!(failed_fields(&input), ["conditions[1]"]);
        assert!(!message_for(&input, "conditions[1]").is_empty());
    }

    #[test]
    fn all_errors_are_reported_at_once_in_field_order() {
        let input = MonitorInput {
            id: None,
            name: None,
            url: Some("ftp://example.com".into()),
            method: Some("FETCH".into()),
            headers: BTreeMap::from([("Good".into(), "ok".into()), ("X".into(), "a\r\nb".into())]),
            body: Some("b".repeat(MAX_BODY_LEN + 1)),
            interval: text("9s"),
            timeout: text("0s"),
            conditions: vec!["[STATUS] == 200".into(), "[STATUS] ==".into()],
            failure_threshold: Some(0),
            success_threshold: Some(11),
            follow_redirects: None,
            tags: vec!["".into()],
            public: None,
            paused: None,
            alerts: vec!["".into()],
        };
        let errs = input.validate().unwrap_err();
        let fields: Vec<&str> = errs.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "name",
                "url",
                "method",
                "headers.X",
                "body",
                "interval",
                "timeout",
                "conditions[1]",
                "failure_threshold",
                "success_threshold",
                "tags[0]",
                "alerts[0]",
            ]
        );
        let summary = errs.summary();
        assert!(
            summary.starts_with("name: is required; url: scheme 'ftp'"),
            "{summary}"
        );
        assert_eq!(errs.to_string(), summary);
        let joined: Vec<String> = errs
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        assert_eq!(summary, joined.join("; "));
    }

    #[test]
    fn errors_serialize_as_field_message_pairs() {
        let input = MonitorInput {
            url: None,
            ..base()
        };
        let errs = input.validate().unwrap_err();
        let json = serde_json::to_value(&errs).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"errors": [{"field": "url", "message": "is required"}]})
        );
        assert_eq!(
            serde_json::from_value::<ValidationErrors>(json).unwrap(),
            errs
        );
    }

    #[test]
    fn parse_duration_table() {
        let ok: &[(&str, u64)] = &[
            ("90s", 90_000),
            ("1h30m", 5_400_000),
            ("500ms", 500),
            ("2d", 172_800_000),
            ("45", 45_000),
            ("0", 0),
            ("0s", 0),
            ("  30s  ", 30_000),
            ("5m", 300_000),
            ("1m1m", 120_000),
            ("1d2h3m4s5ms", 93_784_005),
            ("007s", 7_000),
        ];
        for (raw, ms) in ok {
            let got = parse_duration(raw).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
            assert_eq!(got, Duration::from_millis(*ms), "{raw:?}");
        }
        // Bare seconds go up to u64::MAX (range checks are the caller's business).
        assert_eq!(
            parse_duration("18446744073709551615"),
            Ok(Duration::from_secs(u64::MAX))
        );

        let err: &[(&str, &str)] = &[
            ("", "is empty"),
            ("   ", "is empty"),
            ("abc", "not a duration"),
            ("h", "not a duration"),
            ("s10", "not a duration"),
            ("10x", "'x' is not a duration unit"),
            ("10S", "'S' is not a duration unit"),
            ("10sec", "'sec' is not a duration unit"),
            ("10µs", "missing a unit"),
            ("1h30", "missing a unit"),
            ("1.5h", "missing a unit"),
            ("-5s", "not a duration"),
            ("-5", "not a duration"),
            ("+5", "not a duration"),
            ("1h 30m", "not a duration"),
            ("18446744073709551616", "too large"),
            ("99999999999999999999999999999999999999999999", "too large"),
            ("99999999999999999999999999999999999999999999s", "too large"),
            ("18446744073709552s", "too large"),
            ("213503982334601d", "too large"),
            ("340282366920938463463374607431768211455d", "too large"),
        ];
        for (raw, want) in err {
            let m = parse_duration(raw).expect_err(raw);
            assert!(m.contains(want), "{raw:?}: {m}");
        }
    }

    #[test]
    fn format_duration_table() {
        let cases: &[(u64, &str)] = &[
            (0, "0s"),
            (1, "1ms"),
            (500, "500ms"),
            (1_500, "1500ms"),
            (1_000, "1s"),
            (90_000, "1m30s"),
            (3_600_000, "1h"),
            (5_400_000, "1h30m"),
            (86_400_000, "1d"),
            (90_061_000, "1d1h1m1s"),
        ];
        for (ms, want) in cases {
            assert_eq!(format_duration(Duration::from_millis(*ms)), *want);
        }
    }

    #[test]
    fn duration_input_deserializes_numbers_and_text() {
        let cases: &[(&str, Option<DurationInput>)] = &[
            ("30", Some(DurationInput::Seconds(30))),
            ("-3", Some(DurationInput::Seconds(-3))),
            ("\"30s\"", Some(DurationInput::Text("30s".into()))),
            ("\"30\"", Some(DurationInput::Text("30".into()))),
            ("1.5", None),
            ("true", None),
            ("null", None),
        ];
        for (json, want) in cases {
            let got = serde_json::from_str::<DurationInput>(json).ok();
            assert_eq!(got, *want, "{json}");
        }
        assert_eq!(
            DurationInput::Text("30".into()).to_duration(),
            Ok(Duration::from_secs(30))
        );
    }

    fn full_spec() -> MonitorSpec {
        MonitorInput {
            id: Some("full".into()),
            name: Some("Full".into()),
            url: Some("https://example.com/a b?x=1".into()),
            method: Some("put".into()),
            headers: BTreeMap::from([("X-A".into(), "1".into())]),
            body: Some("payload".into()),
            interval: text("1h30m"),
            timeout: text("1500ms"),
            conditions: vec!["[STATUS] == 200".into()],
            failure_threshold: Some(4),
            success_threshold: Some(3),
            follow_redirects: Some(false),
            tags: vec!["t".into()],
            public: Some(true),
            paused: Some(false),
            alerts: vec!["ops".into()],
        }
        .validate()
        .unwrap()
    }

    #[test]
    fn spec_json_round_trip() {
        for spec in [base().validate().unwrap(), full_spec()] {
            let json = serde_json::to_string(&spec).unwrap();
            let back: MonitorSpec = serde_json::from_str(&json).unwrap();
            assert_eq!(back, spec);
        }
    }

    #[test]
    fn spec_json_shape() {
        let json = serde_json::to_value(full_spec()).unwrap();
        assert_eq!(json["id"], "full");
        assert_eq!(json["url"], "https://example.com/a%20b?x=1");
        assert_eq!(json["method"], "PUT");
        assert_eq!(json["interval"], 5_400_000);
        assert_eq!(json["timeout"], 1_500);
        assert_eq!(json["conditions"], serde_json::json!(["[STATUS] == 200"]));
        assert_eq!(json["failure_threshold"], 4);
        assert_eq!(json["follow_redirects"], false);
    }

    #[test]
    fn spec_json_rejects_invalid_id_and_url() {
        let good = serde_json::to_value(full_spec()).unwrap();
        for (field, bad) in [("id", "Not Valid"), ("url", "ftp://x"), ("method", "get")] {
            let mut v = good.clone();
            v[field] = serde_json::Value::String(bad.into());
            assert!(serde_json::from_value::<MonitorSpec>(v).is_err(), "{field}");
        }
    }

    #[test]
    fn to_input_validates_back_to_the_same_spec() {
        for spec in [base().validate().unwrap(), full_spec()] {
            let input = spec.to_input();
            assert_eq!(input.validate().unwrap(), spec);
            // And through JSON, as the API would show and take it back.
            let json = serde_json::to_string(&input).unwrap();
            let back: MonitorInput = serde_json::from_str(&json).unwrap();
            assert_eq!(back.validate().unwrap(), spec);
        }
    }

    #[test]
    fn input_from_yaml_like_json() {
        let json = r#"{
            "name": "Shop",
            "url": "https://shop.example.com",
            "interval": "30s",
            "timeout": 5,
            "failure-threshold": 3,
            "success-threshold": 2,
            "follow-redirects": false,
            "conditions": ["[STATUS] == 200"],
            "tags": ["shop"],
            "public": true
        }"#;
        let input: MonitorInput = serde_json::from_str(json).unwrap();
        assert_eq!(input.interval, text("30s"));
        assert_eq!(input.timeout, Some(DurationInput::Seconds(5)));
        assert_eq!(input.failure_threshold, Some(3));
        let spec = input.validate().unwrap();
        assert_eq!(spec.id.as_str(), "shop");
        assert_eq!(spec.interval, Duration::from_secs(30));
        assert_eq!(spec.timeout, Duration::from_secs(5));
        assert_eq!(spec.failure_threshold, 3);
        assert_eq!(spec.success_threshold, 2);
        assert!(!spec.follow_redirects);
        assert!(spec.public);

        let snake = r#"{"name": "a", "url": "http://a.example", "failure_threshold": 4,
                        "success_threshold": 5, "follow_redirects": true}"#;
        let spec = serde_json::from_str::<MonitorInput>(snake)
            .unwrap()
            .validate()
            .unwrap();
        assert_eq!((spec.failure_threshold, spec.success_threshold), (4, 5));
    }

    #[test]
    fn input_rejects_unknown_and_mistyped_fields() {
        let cases = [
            r#"{"name": "a", "url": "http://a.example", "intervall": "30s"}"#,
            r#"{"name": "a", "url": "http://a.example", "failureThreshold": 3}"#,
            r#"{"name": "a", "url": "http://a.example", "failure_threshold": "3"}"#,
            r#"{"name": "a", "url": "http://a.example", "headers": ["X-A: 1"]}"#,
            r#"{"name": "a", "url": "http://a.example", "tags": "prod"}"#,
            r#"{"name": "a", "failure_threshold": 3, "failure-threshold": 3}"#,
        ];
        for json in cases {
            assert!(
                serde_json::from_str::<MonitorInput>(json).is_err(),
                "{json}"
            );
        }
        let err = serde_json::from_str::<MonitorInput>(cases[0])
            .unwrap_err()
            .to_string();
        assert!(err.contains("intervall"), "{err}");
    }

    #[test]
    fn empty_input_reports_name_and_url() {
        let input: MonitorInput = serde_json::from_str("{}").unwrap();
        assert_eq!(input, MonitorInput::default());
        assert_eq!(failed_fields(&input), ["name", "url"]);
    }

    fn arb_duration_input() -> impl Strategy<Value = Option<DurationInput>> {
        prop::option::of(prop_oneof![
            any::<i64>().prop_map(DurationInput::Seconds),
            (0i64..100_000).prop_map(DurationInput::Seconds),
            ".{0,12}".prop_map(DurationInput::Text),
            "[0-9]{1,25}(ms|s|m|h|d|x)?([0-9]{1,3}(ms|s|m|h|d))?".prop_map(DurationInput::Text),
        ])
    }

    fn arb_input() -> impl Strategy<Value = MonitorInput> {
        let strings = (
            prop::option::of(".{0,70}"),
            prop::option::of(prop_oneof![".{0,210}", "[a-zA-Z0-9 ]{1,20}"]),
            prop::option::of(prop_oneof![
                ".{0,40}",
                "(http|https|ftp)://[a-z0-9.:@\\[\\]-]{0,20}(/.{0,20})?",
            ]),
            prop::option::of(prop_oneof![".{0,8}", "(get|POST|Head|delete)"]),
            prop::collection::btree_map(".{0,10}", ".{0,10}", 0..4),
            prop::option::of(".{0,20}"),
        );
        let rest = (
            arb_duration_input(),
            arb_duration_input(),
            prop::collection::vec(".{0,20}", 0..4),
            prop::option::of(any::<i64>()),
            prop::option::of(-2i64..13),
            prop::option::of(any::<bool>()),
            prop::collection::vec(".{0,70}", 0..4),
            prop::option::of(any::<bool>()),
            prop::option::of(any::<bool>()),
            prop::collection::vec(".{0,5}", 0..3),
        );
        (strings, rest).prop_map(
            |(
                (id, name, url, method, headers, body),
                (interval, timeout, conditions, ft, st, fr, tags, public, paused, alerts),
            )| MonitorInput {
                id,
                name,
                url,
                method,
                headers,
                body,
                interval,
                timeout,
                conditions,
                failure_threshold: ft,
                success_threshold: st,
                follow_redirects: fr,
                tags,
                public,
                paused,
                alerts,
            },
        )
    }

    proptest! {
        #[test]
        fn validate_never_panics_and_accepted_specs_hold_invariants(input in arb_input()) {
            match input.validate() {
                Ok(spec) => {
                    prop_assert!(spec.interval >= MIN_INTERVAL && spec.interval <= MAX_INTERVAL);
                    prop_assert!(!spec.timeout.is_zero());
                    prop_assert!(spec.timeout <= spec.interval && spec.timeout <= MAX_TIMEOUT);
                    prop_assert!((1..=10).contains(&spec.failure_threshold));
                    prop_assert!((1..=10).contains(&spec.success_threshold));
                    prop_assert!(matches!(spec.url.as_url().scheme(), "http" | "https"));
                    prop_assert!(spec.url.as_str().len() <= MAX_URL_LEN);
                    // Whatever was accepted survives storage and editing unchanged.
                    let json = serde_json::to_string(&spec).unwrap();
                    prop_assert_eq!(&serde_json::from_str::<MonitorSpec>(&json).unwrap(), &spec);
                    prop_assert_eq!(&spec.to_input().validate().unwrap(), &spec);
                }
                Err(errs) => {
                    prop_assert!(!errs.errors.is_empty());
                    prop_assert!(errs.errors.iter().all(|e| !e.field.is_empty() && !e.message.is_empty()));
                }
            }
        }

        #[test]
        fn parse_duration_never_panics(raw in ".{0,40}") {
            let _ = parse_duration(&raw);
        }

        #[test]
        fn parse_duration_never_panics_on_duration_like_text(
            raw in "[0-9]{0,45}(ms|s|m|h|d|x|)([0-9]{0,25}(ms|s|m|h|d|))*"
        ) {
            let _ = parse_duration(&raw);
        }

        #[test]
        fn format_then_parse_is_identity(ms in 0u64..=10 * 86_400_000) {
            let d = Duration::from_millis(ms);
            prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }

        #[test]
        fn slug_is_a_valid_id_or_none(name in ".{0,100}") {
            if let Some(id) = MonitorId::slug(&name) {
                prop_assert!(MonitorId::parse(id.as_str()).is_ok());
                prop_assert!(!id.as_str().starts_with('-') && !id.as_str().ends_with('-'));
                prop_assert!(!id.as_str().contains("--"));
            } else {
                prop_assert!(!name.chars().any(|c| c.is_ascii_alphanumeric()));
            }
        }
    }
}
