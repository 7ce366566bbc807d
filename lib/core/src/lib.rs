//! Sentinel's domain: monitor specs, the condition language, check results, the status
//! state machine, uptime/latency statistics and badges. Pure: no I/O, no async, no clock —
//! callers pass the time in.

pub mod account;
pub mod alert;
pub mod badge;
pub mod check;
pub mod condition;
pub mod ecs;
pub mod monitor;
pub mod stats;
pub mod status;

/// Milliseconds since the Unix epoch (UTC). Callers own the clock.
pub type UnixMs = i64;

pub use check::{CheckResult, ConditionResult, ProbeError, ProbeErrorKind, ProbeOutcome, Timings};
pub use condition::{Condition, ConditionError};
pub use monitor::{FieldError, MonitorId, MonitorInput, MonitorSpec, ValidationErrors};
pub use status::{Incident, IncidentId, LiveState, Status, Transition, TransitionKind};
