//! Email alerts through the mailer port (SMTP or outbox folder self-hosted, SES on AWS).

use std::sync::Arc;

use async_trait::async_trait;
use sentinel_core::FieldError;
use sentinel_core::alert::AlertMessage;
use sentinel_store::{Mail, Mailer};

use super::{AlertChannel, ChannelError, rfc3339};

pub struct EmailChannel {
    name: String,
    to: Vec<String>,
    from: String,
    mailer: Arc<dyn Mailer>,
}

/// A deliberately simple check: one `@`, something on both sides, no spaces or
/// header-breaking characters. The mail server has the final word.
pub fn is_plausible_address(addr: &str) -> bool {
    let Some((local, domain)) = addr.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && addr.matches('@').count() == 1
        && !addr
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"".contains(c))
}

impl EmailChannel {
    pub fn new(
        name: &str,
        to: &[String],
        from: String,
        mailer: Arc<dyn Mailer>,
    ) -> Result<Self, FieldError> {
        if to.is_empty() {
            return Err(FieldError {
                field: "to".into(),
                message: "needs at least one address".into(),
            });
        }
        for (i, addr) in to.iter().enumerate() {
            if !is_plausible_address(addr) {
                return Err(FieldError {
                    field: format!("to[{i}]"),
                    message: format!("'{addr}' is not an email address"),
                });
            }
        }
        if !is_plausible_address(&from) {
            return Err(FieldError {
                field: "from".into(),
                message: format!("'{from}' is not an email address"),
            });
        }
        Ok(Self {
            name: name.to_owned(),
            to: to.to_vec(),
            from,
            mailer,
        })
    }
}

pub(crate) fn body(message: &AlertMessage) -> String {
    let mut text = format!(
        "{}\n\nMonitor: {} ({})\nURL: {}\nTime: {}\n",
        message.text,
        message.monitor_name,
        message.monitor_id,
        message.url,
        rfc3339(message.at)
    );
    if let Some(cause) = &message.cause {
        text.push_str(&format!("Cause: {cause}\n"));
    }
    if let Some(incident) = &message.incident_id {
        text.push_str(&format!("Incident: {incident}\n"));
    }
    text
}

#[async_trait]
impl AlertChannel for EmailChannel {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "email"
    }

    async fn send(&self, message: &AlertMessage) -> Result<(), ChannelError> {
        let mail = Mail {
            from: self.from.clone(),
            to: self.to.clone(),
            subject: message.title.clone(),
            text: body(message),
        };
        self.mailer.send(&mail).await.map_err(|e| ChannelError {
            message: format!("{}: {}", self.name, e.message),
            retryable: e.retryable,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::is_plausible_address;

    #[test]
    fn addresses_are_checked_for_shape_and_header_injection() {
        assert!(is_plausible_address("ops@example.com"));
        assert!(!is_plausible_address("ops@localhost"));
        assert!(!is_plausible_address("ops"));
        assert!(!is_plausible_address("a@b@c.com"));
        assert!(!is_plausible_address("ops@example.com\r\nBcc: x@y.z"));
        assert!(!is_plausible_address("<ops@example.com>"));
    }
}
