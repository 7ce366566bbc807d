//! Accounts: roles, user ids, email addresses, API key scopes. Pure types and rules;
//! hashing and tokens live at the edge (`lib/api`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a user may do. `Monitor` is read-only everywhere (dashboards, on-call screens).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Monitor,
    User,
}

impl Role {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "admin" => Some(Self::Admin),
            "monitor" => Some(Self::Monitor),
            "user" => Some(Self::User),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Monitor => "monitor",
            Self::User => "user",
        }
    }

    /// Sees every user's monitors and channels (not only its own).
    pub fn reads_everything(self) -> bool {
        matches!(self, Self::Admin | Self::Monitor)
    }

    /// May create, change or delete anything at all.
    pub fn may_write(self) -> bool {
        matches!(self, Self::Admin | Self::User)
    }

    pub fn is_admin(self) -> bool {
        self == Self::Admin
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Opaque user id (random, URL-safe), e.g. `u_3f9a…`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct UserId(pub String);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A normalised email address: trimmed, lowercased, one `@`, a dotted domain, no
/// spaces or header-breaking characters, at most 254 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let text = raw.trim().to_lowercase();
        if text.is_empty() {
            return Err("is required".into());
        }
        if text.len() > 254 {
            return Err("must be at most 254 characters".into());
        }
        let Some((local, domain)) = text.split_once('@') else {
            return Err("is not an email address".into());
        };
        let well_formed = !local.is_empty()
            && local.len() <= 64
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !text
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>,;:\"()[]\\".contains(c));
        if !well_formed {
            return Err("is not an email address".into());
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Password rules (NIST 800-63B style): length matters, composition rules do not.
pub fn check_password(password: &str, email: Option<&Email>) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!("must be at least {MIN_PASSWORD_CHARS} characters"));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(format!("must be at most {MAX_PASSWORD_BYTES} bytes"));
    }
    if let Some(email) = email
        && password.eq_ignore_ascii_case(email.as_str())
    {
        return Err("must not be your email address".into());
    }
    Ok(())
}

/// What an API key may do: `read` is GET only; `write` adds changes (never user admin).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum KeyScope {
    Read,
    Write,
}

impl KeyScope {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "read" => Some(Self::Read),
            "write" => Some(Self::Write),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ops@Example.COM ").unwrap().as_str(),
            "ops@example.com"
        );
        for bad in [
            "",
            "ops",
            "ops@",
            "@example.com",
            "ops@localhost",
            "a@b@example.com",
            "ops@example..com",
            "ops@.example.com",
            "ops@example.com\r\nBcc: x@y.z",
            "o ps@example.com",
            "<ops@example.com>",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(65))).is_err());
    }

    #[test]
    fn password_rules_are_about_length() {
        assert!(check_password("short", None).is_err());
        assert!(check_password("long enough passphrase", None).is_ok());
        assert!(check_password(&"x".repeat(1025), None).is_err());
        let email = Email::parse("someone@example.com").unwrap();
        assert!(check_password("SOMEONE@example.com", Some(&email)).is_err());
        // Ten characters, counted as characters not bytes.
        assert!(check_password("ééééééééé", None).is_err());
        assert!(check_password("éééééééééé", None).is_ok());
    }

    #[test]
    fn roles_grant_what_they_say() {
        assert!(
            Role::Admin.may_write() && Role::Admin.reads_everything() && Role::Admin.is_admin()
        );
        assert!(!Role::Monitor.may_write() && Role::Monitor.reads_everything());
        assert!(Role::User.may_write() && !Role::User.reads_everything());
        for r in [Role::Admin, Role::Monitor, Role::User] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
        assert_eq!(KeyScope::parse("write"), Some(KeyScope::Write));
        assert_eq!(KeyScope::parse("all"), None);
    }
}
