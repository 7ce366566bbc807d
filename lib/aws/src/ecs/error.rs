//! What a failed account or region looks like in a collection: data for people (the
//! dashboard shows it next to the account), not a panic and not a lost collection.

use std::error::Error as StdError;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use serde::{Deserialize, Serialize};

/// A whole account could not be collected: its role could not be assumed, its identity
/// could not be read, or its target is invalid. Other accounts are unaffected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct AccountError {
    /// The role that was to be assumed (`None`: the local account).
    pub role_arn: Option<String>,
    /// The AWS error code (`AccessDenied`, `ExpiredToken`, …), or ours (`InvalidTarget`).
    pub code: Option<String>,
    /// Whether the next collection may succeed without anyone changing anything
    /// (throttling, a 5xx, the network).
    pub retryable: bool,
    /// For people, e.g. `AccessDenied assuming arn:aws:iam::…:role/x: User … is not
    /// authorized to perform: sts:AssumeRole`.
    pub message: String,
}

/// One region of an account (or one step in it, such as the CloudWatch metrics) failed;
/// what the other regions and steps saw is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{region}: {message}")]
pub struct RegionError {
    pub region: String,
    /// The API call that failed last (`ListClusters`, `DescribeServices`, `GetMetricData`).
    pub operation: String,
    pub code: Option<String>,
    pub retryable: bool,
    /// For people, e.g. `ThrottlingException: Rate exceeded (ecs:ListClusters)`.
    pub message: String,
}

/// Bad collector settings, found before any call is made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid ECS collector settings: {0}")]
pub struct InvalidSettings(pub String);

/// An SDK error boiled down to what the two errors above carry.
#[derive(Debug, Clone)]
pub(crate) struct CallFailure {
    pub operation: &'static str,
    pub code: Option<String>,
    pub retryable: bool,
    /// The service's message, or the transport failure with its causes.
    pub message: String,
}

impl CallFailure {
    /// Classifies like [`crate::AwsError`]: throttling, 5xx, timeouts and network
    /// trouble are retryable; other 4xx and requests that never left are not. Logs the
    /// full error chain once, at warn.
    pub(crate) fn from_sdk<E>(operation: &'static str, error: SdkError<E, HttpResponse>) -> Self
    where
        E: StdError + ProvideErrorMetadata + Send + Sync + 'static,
    {
        // The service's message (the HTML body of a bare 500 is not for people); the
        // whole cause chain for a request that got no answer.
        let message = match &error {
            SdkError::ServiceError(service) => match error.message() {
                Some(message) if !message.is_empty() => message.to_owned(),
                _ => format!("HTTP {}", service.raw().status()),
            },
            other => DisplayErrorContext(other).to_string(),
        };
        tracing::warn!(
            operation,
            error = %DisplayErrorContext(&error),
            "AWS call failed"
        );
        let aws = crate::AwsError::sdk(operation, error);
        Self {
            operation,
            code: aws.code().map(str::to_owned),
            retryable: aws.is_retryable(),
            message,
        }
    }

    /// `Code: message`, or the message alone when the answer had no code.
    pub(crate) fn detail(&self) -> String {
        match &self.code {
            Some(code) => format!("{code}: {}", self.message),
            None => self.message.clone(),
        }
    }

    pub(crate) fn into_region_error(self, region: &str) -> RegionError {
        RegionError {
            region: region.to_owned(),
            operation: self.operation.to_owned(),
            message: format!("{} ({})", self.detail(), self.operation),
            code: self.code,
            retryable: self.retryable,
        }
    }
}
