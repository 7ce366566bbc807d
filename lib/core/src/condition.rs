//! The Gatus-compatible condition language. (Being implemented.)

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::check::ConditionResult;

/// What a condition can read from one check.
#[derive(Debug, Clone, Copy)]
pub struct EvalContext<'a> {
    pub status: Option<u16>,
    pub response_time_ms: u64,
    pub body: &'a [u8],
    pub connected: bool,
    pub ip: Option<&'a str>,
    /// Time left until the leaf certificate expires (zero once expired); `None` without TLS.
    pub certificate_expiration: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConditionError {
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Condition {
    raw: String,
}

impl Condition {
    pub fn parse(raw: &str) -> Result<Self, ConditionError> {
        Ok(Self {
            raw: raw.to_owned(),
        })
    }
    pub fn as_str(&self) -> &str {
        &self.raw
    }
    pub fn reads_body(&self) -> bool {
        self.raw.contains("[BODY]")
    }
    pub fn evaluate(&self, _ctx: &EvalContext<'_>) -> ConditionResult {
        ConditionResult {
            condition: self.raw.clone(),
            success: true,
            actual: String::new(),
        }
    }
}

impl TryFrom<String> for Condition {
    type Error = ConditionError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Condition> for String {
    fn from(value: Condition) -> Self {
        value.raw
    }
}
