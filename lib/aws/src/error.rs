//! One error type for the crate, and how SDK errors map onto the ports' errors.

use std::error::Error as StdError;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use sentinel_store::StoreError;

type BoxError = Box<dyn StdError + Send + Sync>;

/// Error codes that mean "slow down, then try again" whatever the service.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TransactionInProgressException",
    "SlowDown",
    "RequestThrottled",
    "LimitExceededException",
];

#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// An AWS call failed after the SDK's own retries.
    #[error("{operation} failed: {message}")]
    Sdk {
        operation: &'static str,
        /// The error with its context (code, message, request id), for logs.
        message: String,
        /// The service error code, when the service answered.
        code: Option<String>,
        /// Whether trying again later can help (throttling, 5xx, network).
        retryable: bool,
        #[source]
        source: BoxError,
    },
    /// A stored item could not be decoded; a retry will not help.
    #[error("stored item is corrupt: {0}")]
    Corrupt(String),
    /// The caller asked for something this adapter refuses (an unsafe blob key, a
    /// message over the size limit).
    #[error("{0}")]
    Invalid(String),
}

impl AwsError {
    /// Classifies an SDK error: a request that never left is not retryable, nor is a
    /// 4xx that is not throttling; network trouble, timeouts and 5xx are.
    pub(crate) fn sdk<E>(operation: &'static str, error: SdkError<E, HttpResponse>) -> Self
    where
        E: StdError + ProvideErrorMetadata + Send + Sync + 'static,
    {
        let code = error.code().map(str::to_owned);
        let retryable = match &error {
            SdkError::ConstructionFailure(_) => false,
            SdkError::ServiceError(service) => {
                service.raw().status().is_server_error()
                    || code
                        .as_deref()
                        .is_some_and(|c| THROTTLING_CODES.contains(&c))
            }
            // Timeouts, dispatch (connect, DNS) and unparseable responses.
            _ => true,
        };
        Self::Sdk {
            operation,
            message: DisplayErrorContext(&error).to_string(),
            code,
            retryable,
            source: Box::new(error),
        }
    }

    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Sdk { retryable, .. } => *retryable,
            Self::Corrupt(_) | Self::Invalid(_) => false,
        }
    }

    /// The service's error code (`MessageRejected`, `ThrottlingException`, …), if any.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Sdk { code, .. } => code.as_deref(),
            Self::Corrupt(_) | Self::Invalid(_) => None,
        }
    }
}

impl From<AwsError> for StoreError {
    fn from(e: AwsError) -> Self {
        match e {
            AwsError::Corrupt(message) => StoreError::Corrupt(message),
            // The ports have no "invalid input" kind; like the folder blob store, a
            // refused key is a backend error (its message says why).
            other => StoreError::Backend {
                message: other.to_string(),
                source: Some(Box::new(other)),
            },
        }
    }
}
