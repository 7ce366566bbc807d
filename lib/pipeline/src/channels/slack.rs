//! Slack incoming webhook: a text fallback plus a coloured attachment.

use async_trait::async_trait;
use sentinel_core::alert::AlertMessage;
use serde_json::json;

use super::{AlertChannel, ChannelError, http_result};

pub struct SlackChannel {
    name: String,
    url: reqwest::Url,
    http: reqwest::Client,
}

impl SlackChannel {
    pub fn new(name: &str, url: reqwest::Url, http: reqwest::Client) -> Self {
        Self {
            name: name.to_owned(),
            url,
            http,
        }
    }
}

/// Slack's mrkdwn treats `&`, `<` and `>` as control characters.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub(crate) fn payload(message: &AlertMessage) -> serde_json::Value {
    let color = if message.event == "recovered" {
        "#2eb886"
    } else {
        "#e01e5a"
    };
    let mut fields = vec![json!({"title": "URL", "value": escape(&message.url), "short": false})];
    if let Some(cause) = &message.cause {
        fields.push(json!({"title": "Cause", "value": escape(cause), "short": false}));
    }
    json!({
        "text": escape(&message.title),
        "attachments": [{
            "color": color,
            "title": escape(&message.title),
            "text": escape(&message.text),
            "fields": fields,
            "ts": message.at / 1000,
        }]
    })
}

#[async_trait]
impl AlertChannel for SlackChannel {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "slack"
    }

    async fn send(&self, message: &AlertMessage) -> Result<(), ChannelError> {
        let sent = self
            .http
            .post(self.url.clone())
            .json(&payload(message))
            .send()
            .await;
        http_result(&self.name, sent).await
    }
}
