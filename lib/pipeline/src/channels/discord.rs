//! Discord webhook: one embed, red for down, green for recovery.

use async_trait::async_trait;
use sentinel_core::alert::AlertMessage;
use serde_json::json;

use super::{AlertChannel, ChannelError, http_result, rfc3339};

pub struct DiscordChannel {
    name: String,
    url: reqwest::Url,
    http: reqwest::Client,
}

impl DiscordChannel {
    pub fn new(name: &str, url: reqwest::Url, http: reqwest::Client) -> Self {
        Self {
            name: name.to_owned(),
            url,
            http,
        }
    }
}

fn clip(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

pub(crate) fn payload(message: &AlertMessage) -> serde_json::Value {
    let color = if message.event == "recovered" {
        0x2e_b8_86
    } else {
        0xe0_1e_5a
    };
    let mut fields = vec![json!({"name": "URL", "value": clip(&message.url, 1024)})];
    if let Some(cause) = &message.cause {
        fields.push(json!({"name": "Cause", "value": clip(cause, 1024)}));
    }
    json!({
        // Never ping @everyone from user-controlled text.
        "allowed_mentions": {"parse": []},
        "embeds": [{
            "title": clip(&message.title, 256),
            "description": clip(&message.text, 4096),
            "color": color,
            "fields": fields,
            "timestamp": rfc3339(message.at),
        }]
    })
}

#[async_trait]
impl AlertChannel for DiscordChannel {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "discord"
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
