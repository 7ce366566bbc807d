//! Sentinel's pipeline, generic over the storage ports: the scheduler (which monitors
//! are due), the check stage (probe → judge → ping log → state CAS → transitions), the
//! notifier (transition → alert channels, exactly once per channel), and the in-process
//! engine that drives them for `sentinel serve`.

pub mod channels;
pub mod checks;
pub mod cloud;
pub mod ecs;
pub mod engine;
pub mod notify;
pub mod recovery;
pub mod schedule;

pub use checks::{BatchReport, CheckStage};
pub use engine::{Alert, Engine, EngineConfig, EngineHandle, EngineStats, spawn_notifier};
pub use notify::{ChannelSource, Notifier, RetryPolicy, select_channels};

/// Wall-clock milliseconds since the Unix epoch.
pub fn now_ms() -> sentinel_core::UnixMs {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
