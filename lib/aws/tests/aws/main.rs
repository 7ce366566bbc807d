//! The AWS adapters against moto (`sentinel_testkit::services::aws_endpoint`): one test
//! binary, so the SDK is linked once. Every test makes its own table, bucket, queue or
//! bus with a unique name, so tests run in parallel on one shared moto.

mod common;
mod dynamo;
mod ecs;
mod ecs_store;
mod events;
mod s3;
mod ses;
mod sqs;
