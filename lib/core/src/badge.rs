//! shields.io "flat" badges as SVG. (Being implemented.)

use serde::{Deserialize, Serialize};

use crate::stats::Period;
use crate::status::Status;

/// A badge's content; also serialises as shields.io endpoint JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Badge {
    pub schema_version: u8,
    pub label: String,
    pub message: String,
    /// Hex colour without '#', e.g. `4c1`.
    pub color: String,
}

impl Badge {
    pub fn status(label: &str, status: Status) -> Self {
        Self::new(label, status.as_str(), "9f9f9f")
    }
    pub fn uptime(label: &str, period: Period, uptime_pct: Option<f64>) -> Self {
        let _ = (period, uptime_pct);
        Self::new(label, "unknown", "9f9f9f")
    }
    pub fn response_time(label: &str, ms: Option<f64>) -> Self {
        let _ = ms;
        Self::new(label, "unknown", "9f9f9f")
    }
    pub fn new(label: &str, message: &str, color: &str) -> Self {
        Self {
            schema_version: 1,
            label: label.to_owned(),
            message: message.to_owned(),
            color: color.to_owned(),
        }
    }
    pub fn to_svg(&self) -> String {
        String::new()
    }
}
