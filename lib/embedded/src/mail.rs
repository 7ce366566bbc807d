//! Mailers for self-hosted mode: SMTP when configured, else an outbox folder of `.eml`
//! files (so alerts are never silently dropped on a box without mail).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use lettre::message::{Mailbox, Message, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use sentinel_store::{Mail, MailError, Mailer};
use serde::Deserialize;

fn build_message(mail: &Mail) -> Result<Message, MailError> {
    let bad = |what: &str, e: &dyn std::fmt::Display| MailError {
        message: format!("{what}: {e}"),
        retryable: false,
    };
    let from: Mailbox = mail.from.parse().map_err(|e| bad("from address", &e))?;
    let mut builder = Message::builder().from(from).subject(mail.subject.clone());
    for to in &mail.to {
        let mailbox: Mailbox = to.parse().map_err(|e| bad("to address", &e))?;
        builder = builder.to(mailbox);
    }
    builder
        .header(ContentType::TEXT_PLAIN)
        .body(mail.text.clone())
        .map_err(|e| bad("message", &e))
}

/// How to reach an SMTP server (`smtp:` in the config file).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    pub port: Option<u16>,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    /// `starttls` (default, port 587), `tls` (implicit, port 465) or `none` (port 25,
    /// for a local relay).
    #[serde(default)]
    pub security: SmtpSecurity,
    pub from: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    #[default]
    Starttls,
    Tls,
    None,
}

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpMailer {
    pub fn new(settings: &SmtpSettings) -> Result<Self, MailError> {
        let fail = |e: lettre::transport::smtp::Error| MailError {
            message: format!("smtp settings: {e}"),
            retryable: false,
        };
        let builder = match settings.security {
            SmtpSecurity::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host)
                    .map_err(fail)?
            }
            SmtpSecurity::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host).map_err(fail)?
            }
            SmtpSecurity::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            }
        };
        let mut builder = builder.timeout(Some(std::time::Duration::from_secs(15)));
        if let Some(port) = settings.port {
            builder = builder.port(port);
        }
        if let (Some(user), Some(pass)) = (&settings.username, &settings.password) {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                pass.expose_secret().to_owned(),
            ));
        }
        Ok(Self {
            transport: builder.build(),
        })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let message = build_message(mail)?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| MailError {
                retryable: !e.is_permanent(),
                message: format!("smtp: {e}"),
            })
    }
}

/// Writes each mail as an RFC 5322 `.eml` file into a folder.
pub struct OutboxMailer {
    dir: PathBuf,
    counter: AtomicU64,
}

impl OutboxMailer {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            counter: AtomicU64::new(0),
        }
    }

    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let bytes = build_message(mail)?.formatted();
        let io = |e: std::io::Error| MailError {
            message: format!("outbox {}: {e}", self.dir.display()),
            retryable: true,
        };
        tokio::fs::create_dir_all(&self.dir).await.map_err(io)?;
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let stem = format!(
            "{}-{}-{n}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or(0),
            std::process::id()
        );
        let tmp = self.dir.join(format!(".{stem}.tmp"));
        // Write then rename, so a reader never sees half a message.
        tokio::fs::write(&tmp, &bytes).await.map_err(io)?;
        tokio::fs::rename(&tmp, self.dir.join(format!("{stem}.eml")))
            .await
            .map_err(io)
    }
}
