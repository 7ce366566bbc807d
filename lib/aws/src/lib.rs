//! AWS adapters for Sentinel: DynamoDB (live state, rate limits, alert ledger,
//! incidents), SES v2 mail, S3 blobs, SQS fan-out, EventBridge events and the ECS
//! collector (ECS, CloudWatch, STS, IAM across accounts).
//!
//! Build one [`AwsConfig`] per cold start ([`AwsConfig::from_env`]; tests use
//! [`AwsConfig::emulator`]), make the clients a function needs from it, and hand them to
//! the adapters. Throttling and transient failures are retried by the SDK's standard
//! retry policy before any error surfaces here.

mod chunk;
mod config;
mod dynamo;
pub mod ecs;
mod error;
mod events;
mod s3;
mod ses;
mod sqs;

pub use config::{AwsClients, AwsConfig, aws_clients};
pub use dynamo::{DEFAULT_DELIVERY_RETENTION, DynamoTable, GSI1, TTL_ATTRIBUTE, sortable};
pub use ecs::{
    AccountCollection, AccountError, AccountTarget, ApiCalls, ClusterSummary, CollectorSettings,
    EcsCollector, MetricSeries, RegionError, RetryPolicy,
};
pub use error::AwsError;
pub use events::{
    EventPublisher, FailedEvent, MAX_ENTRIES as EVENTS_MAX_ENTRIES,
    MAX_REQUEST_BYTES as EVENTS_MAX_REQUEST_BYTES, OutgoingEvent, PublishReport,
};
pub use s3::S3BlobStore;
pub use ses::SesMailer;
pub use sqs::{
    FailedSend, MAX_BATCH_BYTES as SQS_MAX_BATCH_BYTES, MAX_BATCH_ENTRIES as SQS_MAX_BATCH_ENTRIES,
    MAX_DELAY_SECONDS as SQS_MAX_DELAY_SECONDS, ReceivedMessage, SendReport, SqsQueue,
};
