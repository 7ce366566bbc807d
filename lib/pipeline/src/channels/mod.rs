//! Alert channels: one trait, one file per channel. Each channel is built (and so
//! validated) from its config once; `send` renders the channel's own format.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use sentinel_probe::guard;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use sentinel_core::FieldError;
use sentinel_core::alert::AlertMessage;
use sentinel_store::Mailer;
use serde::Deserialize;

mod discord;
mod email;
mod slack;
mod webhook;

pub use discord::DiscordChannel;
pub use email::{EmailChannel, is_plausible_address};
pub use slack::SlackChannel;
pub use webhook::{SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookChannel, sign};

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ChannelError {
    pub message: String,
    /// A retry can help (network, 5xx, 429) or not (4xx, bad address).
    pub retryable: bool,
}

#[async_trait]
pub trait AlertChannel: Send + Sync {
    fn name(&self) -> &str;
    fn kind(&self) -> &'static str;
    async fn send(&self, message: &AlertMessage) -> Result<(), ChannelError>;
}

/// A channel as written in the config file (`alerting:` entries).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum ChannelConfig {
    Webhook {
        url: String,
        /// HMAC-SHA256 key for `X-Sentinel-Signature`.
        secret: SecretString,
        #[serde(default)]
        headers: std::collections::BTreeMap<String, String>,
    },
    Slack {
        #[serde(alias = "webhook-url")]
        webhook_url: String,
    },
    Discord {
        #[serde(alias = "webhook-url")]
        webhook_url: String,
    },
    Email {
        to: Vec<String>,
        from: Option<String>,
    },
}

/// What channels share: one HTTP client (no redirects: a webhook that redirects to an
/// internal address must not be followed) and the mailer.
#[derive(Clone)]
pub struct ChannelDeps {
    pub http: reqwest::Client,
    pub mailer: Arc<dyn Mailer>,
    pub default_from: String,
    /// Whether webhook URLs may point at loopback/private addresses (the same setting
    /// as for checks). Cloud metadata addresses are refused regardless.
    pub allow_private: bool,
}

/// Resolves webhook hosts and drops addresses the SSRF guard refuses, so a public name
/// that resolves to an internal address is not reached.
struct GuardedResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|a| guard::check(a.ip(), allow_private).is_ok())
                .collect();
            if allowed.is_empty() {
                return Err(
                    format!("{host} resolves only to addresses alerts may not reach").into(),
                );
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The shared webhook HTTP client, with the SSRF guard on every resolved address.
pub fn http_client(
    timeout: Duration,
    allow_private: bool,
) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        // A proxy would resolve the name itself, past the guard.
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver { allow_private }))
        .user_agent(concat!("Sentinel/", env!("CARGO_PKG_VERSION"), " (alerts)"))
        .build()
}

pub(crate) fn check_webhook_url(
    field: &str,
    raw: &str,
    allow_private: bool,
) -> Result<reqwest::Url, FieldError> {
    let url = reqwest::Url::parse(raw).map_err(|e| FieldError {
        field: field.to_owned(),
        message: format!("is not a valid URL ({e})"),
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(FieldError {
            field: field.to_owned(),
            message: "must be an http(s) URL with a host".to_owned(),
        });
    }
    // IP literals never reach the resolver, so they are checked here.
    let literal = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        _ => None,
    };
    if let Some(ip) = literal
        && let Err(class) = guard::check(ip, allow_private)
    {
        return Err(FieldError {
            field: field.to_owned(),
            message: format!("points at {}, which alerts may not reach", class.describe()),
        });
    }
    Ok(url)
}

impl ChannelConfig {
    /// Validates the config and builds the channel. Errors name the field.
    pub fn build(
        &self,
        name: &str,
        deps: &ChannelDeps,
    ) -> Result<Arc<dyn AlertChannel>, FieldError> {
        Ok(match self {
            Self::Webhook {
                url,
                secret,
                headers,
            } => Arc::new(WebhookChannel::new(
                name,
                check_webhook_url("url", url, deps.allow_private)?,
                secret.expose_secret(),
                headers,
                deps.http.clone(),
            )?),
            Self::Slack { webhook_url } => Arc::new(SlackChannel::new(
                name,
                check_webhook_url("webhook-url", webhook_url, deps.allow_private)?,
                deps.http.clone(),
            )),
            Self::Discord { webhook_url } => Arc::new(DiscordChannel::new(
                name,
                check_webhook_url("webhook-url", webhook_url, deps.allow_private)?,
                deps.http.clone(),
            )),
            Self::Email { to, from } => Arc::new(EmailChannel::new(
                name,
                to,
                from.clone().unwrap_or_else(|| deps.default_from.clone()),
                Arc::clone(&deps.mailer),
            )?),
        })
    }
}

/// Maps an HTTP answer to a channel result.
pub(crate) async fn http_result(
    channel: &str,
    sent: Result<reqwest::Response, reqwest::Error>,
) -> Result<(), ChannelError> {
    match sent {
        Ok(resp) if resp.status().is_success() => Ok(()),
        Ok(resp) => {
            let status = resp.status();
            Err(ChannelError {
                message: format!("{channel}: receiver answered {status}"),
                retryable: status.is_server_error() || status.as_u16() == 429,
            })
        }
        Err(e) => Err(ChannelError {
            message: format!("{channel}: {}", describe(&e)),
            retryable: true,
        }),
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "receiver did not answer in time".to_owned()
    } else if e.is_connect() {
        "could not connect to receiver".to_owned()
    } else {
        e.to_string()
    }
}

/// RFC 3339 time for message bodies.
pub(crate) fn rfc3339(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_seconds(t).to_string()
}
