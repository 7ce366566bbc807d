//! [`SesMailer`]: mail through SES v2 `SendEmail` (simple content, plain text).

use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use sentinel_store::{Mail, MailError, Mailer};

use crate::AwsError;

/// A [`Mailer`] over SES v2. The sender (`Mail::from`) must be a verified identity.
#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
    configuration_set: Option<String>,
}

impl SesMailer {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            configuration_set: None,
        }
    }

    /// Sends through this SES configuration set (event publishing, dedicated IPs).
    pub fn with_configuration_set(mut self, name: impl Into<String>) -> Self {
        self.configuration_set = Some(name.into());
        self
    }
}

fn content(text: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(|e| MailError {
            message: format!("mail content: {e}"),
            retryable: false,
        })
}

/// Whether SES refused this mail for good: the message or an address is bad, the
/// sender is not verified, or the account may not send. Quotas and throttling clear up.
fn permanent(error: &SendEmailError) -> bool {
    matches!(
        error,
        SendEmailError::MessageRejected(_)
            | SendEmailError::MailFromDomainNotVerifiedException(_)
            | SendEmailError::BadRequestException(_)
            | SendEmailError::NotFoundException(_)
            | SendEmailError::AccountSuspendedException(_)
    )
}

#[async_trait]
impl Mailer for SesMailer {
    #[tracing::instrument(level = "debug", skip_all, fields(recipients = mail.to.len()))]
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        if mail.to.is_empty() {
            return Err(MailError {
                message: "mail has no recipients".to_owned(),
                retryable: false,
            });
        }
        let message = Message::builder()
            .subject(content(&mail.subject)?)
            .body(Body::builder().text(content(&mail.text)?).build())
            .build();
        let result = self
            .client
            .send_email()
            .from_email_address(&mail.from)
            .destination(
                Destination::builder()
                    .set_to_addresses(Some(mail.to.clone()))
                    .build(),
            )
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await;
        match result {
            Ok(out) => {
                tracing::debug!(message_id = out.message_id(), "sent");
                Ok(())
            }
            Err(e) => {
                let refused = e.as_service_error().is_some_and(permanent);
                let error = AwsError::sdk("SES SendEmail", e);
                // A paused account sends again once resumed: worth retrying later.
                let retryable = (!refused && error.is_retryable())
                    || error.code() == Some("SendingPausedException");
                Err(MailError {
                    message: error.to_string(),
                    retryable,
                })
            }
        }
    }
}
