//! The AWS deployment wired together: configuration from the environment, the split
//! stores over PostgreSQL + MongoDB + DynamoDB, what the scheduler, prober and notifier
//! do per invocation, and the Lambda entry points every `functions/<name>` calls.

pub mod config;
pub mod ecs;
pub mod handlers;
pub mod lambda;
pub mod wiring;

pub use config::{CloudConfig, ConfigError};
pub use wiring::{BusSink, Cloud};
