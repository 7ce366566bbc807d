//! The status state machine: pending / up / down / paused with thresholds, and incidents.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::UnixMs;
use crate::check::CheckResult;
use crate::monitor::{MonitorId, MonitorSpec};

/// How many failing checks an incident keeps as its proof.
pub const MAX_PROOF: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Not yet enough checks to say.
    Pending,
    Up,
    Down,
    Paused,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Up => "up",
            Self::Down => "down",
            Self::Paused => "paused",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Incident ids are derived from the monitor and the first failing check, so applying
/// the same checks twice yields the same incident (idempotent under redelivery).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IncidentId(pub String);

impl IncidentId {
    pub fn new(monitor: &MonitorId, started_at: UnixMs) -> Self {
        Self(format!("{monitor}@{started_at}"))
    }
}

impl fmt::Display for IncidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub id: IncidentId,
    pub monitor_id: MonitorId,
    /// Time of the first failing check of the streak that proved the outage.
    pub started_at: UnixMs,
    pub ended_at: Option<UnixMs>,
    /// The failure reason of the check that crossed the threshold.
    pub cause: String,
    /// `checked_at` of the failing checks that proved it (at most [`MAX_PROOF`]).
    pub proof: Vec<UnixMs>,
}

/// The live state of one monitor. `version` grows by one on every change, for
/// compare-and-set in the stores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveState {
    pub monitor_id: MonitorId,
    pub status: Status,
    /// When the current status began.
    pub since: UnixMs,
    pub consecutive_failures: u32,
    pub consecutive_successes: u32,
    /// `checked_at` of the current failing streak (capped), the proof of a coming incident.
    pub failing_streak: Vec<UnixMs>,
    /// Watermark for ordering: `checked_at` of the last applied check, or the resume time
    /// if later. Checks at or before it are ignored.
    pub last_check_at: Option<UnixMs>,
    pub last_success: Option<bool>,
    pub last_response_ms: Option<f64>,
    pub last_failure_reason: Option<String>,
    pub open_incident: Option<IncidentId>,
    pub last_reminder_at: Option<UnixMs>,
    pub version: u64,
}

impl LiveState {
    pub fn new(monitor_id: MonitorId, now: UnixMs) -> Self {
        Self {
            monitor_id,
            status: Status::Pending,
            since: now,
            consecutive_failures: 0,
            consecutive_successes: 0,
            failing_streak: Vec::new(),
            last_check_at: None,
            last_success: None,
            last_response_ms: None,
            last_failure_reason: None,
            open_incident: None,
            last_reminder_at: None,
            version: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransitionKind {
    /// Pending → up: first confirmation, not alerted.
    FirstUp,
    /// Up or pending → down: opens an incident, alerted.
    Down,
    /// Down → up: closes the incident, alerted.
    Recovered,
    /// Still down after the reminder interval, alerted.
    Reminder,
    Paused,
    Resumed,
}

impl TransitionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FirstUp => "first_up",
            Self::Down => "down",
            Self::Recovered => "recovered",
            Self::Reminder => "reminder",
            Self::Paused => "paused",
            Self::Resumed => "resumed",
        }
    }

    pub fn is_alerted(self) -> bool {
        matches!(self, Self::Down | Self::Recovered | Self::Reminder)
    }
}

/// A change the pipeline acts on (alerts, incident records).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub monitor_id: MonitorId,
    pub kind: TransitionKind,
    pub from: Status,
    pub to: Status,
    pub at: UnixMs,
    pub incident_id: Option<IncidentId>,
    /// Why: the failure reason for `Down`/`Reminder`.
    pub cause: Option<String>,
    /// For `Recovered`: how long the incident lasted.
    pub downtime_ms: Option<i64>,
}

impl Transition {
    /// A key unique per alertable event, the basis of "never alerted twice".
    pub fn idempotency_key(&self) -> String {
        match &self.incident_id {
            Some(inc) => format!("{inc}:{}:{}", self.kind.as_str(), self.at),
            None => format!("{}:{}:{}", self.monitor_id, self.kind.as_str(), self.at),
        }
    }
}

/// What applying one check produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub state: LiveState,
    pub transition: Option<Transition>,
    /// Open this incident (on `Down`).
    pub opened: Option<Incident>,
    /// Close this incident at this time (on `Recovered`).
    pub closed: Option<(IncidentId, UnixMs)>,
}

/// Applies one judged check to a state. Checks not newer than the last applied one are
/// ignored (returns the state unchanged, no transition), so redelivery is harmless.
/// `reminder_every_ms`: while down, emit a reminder this often (None = off).
pub fn apply(
    state: &LiveState,
    spec: &MonitorSpec,
    check: &CheckResult,
    reminder_every_ms: Option<i64>,
) -> Applied {
    let unchanged = Applied {
        state: state.clone(),
        transition: None,
        opened: None,
        closed: None,
    };
    if state.status == Status::Paused {
        return unchanged;
    }
    if state
        .last_check_at
        .is_some_and(|last| check.checked_at <= last)
    {
        return unchanged;
    }

    let mut next = state.clone();
    next.version = state.version + 1;
    next.last_check_at = Some(check.checked_at);
    next.last_success = Some(check.success);
    next.last_response_ms = Some(check.timings.total_ms);
    next.last_failure_reason = check.failure_reason.clone();

    if check.success {
        next.consecutive_successes = state.consecutive_successes.saturating_add(1);
        next.consecutive_failures = 0;
        next.failing_streak.clear();
    } else {
        next.consecutive_failures = state.consecutive_failures.saturating_add(1);
        next.consecutive_successes = 0;
        if next.failing_streak.len() < MAX_PROOF {
            next.failing_streak.push(check.checked_at);
        }
    }

    let mut applied = Applied {
        state: next,
        transition: None,
        opened: None,
        closed: None,
    };
    let next = &mut applied.state;
    let at = check.checked_at;
    // A spec deserialised from storage bypasses validation; a threshold of 0 would
    // otherwise flip the status on a check of the other kind.
    let failure_threshold = u32::from(spec.failure_threshold.max(1));
    let success_threshold = u32::from(spec.success_threshold.max(1));

    match state.status {
        Status::Pending | Status::Up if next.consecutive_failures >= failure_threshold => {
            let started_at = next.failing_streak.first().copied().unwrap_or(at);
            let id = IncidentId::new(&spec.id, started_at);
            let cause = check
                .failure_reason
                .clone()
                .unwrap_or_else(|| "check failed".to_owned());
            applied.opened = Some(Incident {
                id: id.clone(),
                monitor_id: spec.id.clone(),
                started_at,
                ended_at: None,
                cause: cause.clone(),
                proof: next.failing_streak.clone(),
            });
            applied.transition = Some(Transition {
                monitor_id: spec.id.clone(),
                kind: TransitionKind::Down,
                from: state.status,
                to: Status::Down,
                at,
                incident_id: Some(id.clone()),
                cause: Some(cause),
                downtime_ms: None,
            });
            next.status = Status::Down;
            next.since = started_at;
            next.open_incident = Some(id);
            next.last_reminder_at = Some(at);
        }
        Status::Pending if next.consecutive_successes >= success_threshold => {
            applied.transition = Some(Transition {
                monitor_id: spec.id.clone(),
                kind: TransitionKind::FirstUp,
                from: Status::Pending,
                to: Status::Up,
                at,
                incident_id: None,
                cause: None,
                downtime_ms: None,
            });
            next.status = Status::Up;
            next.since = at;
        }
        Status::Down if next.consecutive_successes >= success_threshold => {
            let incident = state.open_incident.clone();
            applied.transition = Some(Transition {
                monitor_id: spec.id.clone(),
                kind: TransitionKind::Recovered,
                from: Status::Down,
                to: Status::Up,
                at,
                incident_id: incident.clone(),
                cause: None,
                downtime_ms: Some(at - state.since),
            });
            applied.closed = incident.map(|id| (id, at));
            next.status = Status::Up;
            next.since = at;
            next.open_incident = None;
            next.last_reminder_at = None;
        }
        Status::Down if !check.success => {
            // Counted from the last reminder, or from the outage start if a state (e.g.
            // one stored by an older version) has none.
            let last = state.last_reminder_at.unwrap_or(state.since);
            let due = reminder_every_ms.is_some_and(|every| every > 0 && at - last >= every);
            if due {
                applied.transition = Some(Transition {
                    monitor_id: spec.id.clone(),
                    kind: TransitionKind::Reminder,
                    from: Status::Down,
                    to: Status::Down,
                    at,
                    incident_id: state.open_incident.clone(),
                    cause: check.failure_reason.clone(),
                    downtime_ms: Some(at - state.since),
                });
                next.last_reminder_at = Some(at);
            }
        }
        _ => {}
    }
    applied
}

/// Pauses a monitor. An open incident is closed: nobody watches it any more.
pub fn pause(state: &LiveState, now: UnixMs) -> Applied {
    if state.status == Status::Paused {
        return Applied {
            state: state.clone(),
            transition: None,
            opened: None,
            closed: None,
        };
    }
    let mut next = LiveState::new(state.monitor_id.clone(), now);
    next.status = Status::Paused;
    next.version = state.version + 1;
    next.last_check_at = state.last_check_at;
    Applied {
        transition: Some(Transition {
            monitor_id: state.monitor_id.clone(),
            kind: TransitionKind::Paused,
            from: state.status,
            to: Status::Paused,
            at: now,
            incident_id: state.open_incident.clone(),
            cause: None,
            downtime_ms: None,
        }),
        closed: state.open_incident.clone().map(|id| (id, now)),
        opened: None,
        state: next,
    }
}

/// Resumes a paused monitor: it starts again from pending. Checks taken before `now`
/// (in flight across the pause, or redelivered) are stale and will be ignored.
pub fn resume(state: &LiveState, now: UnixMs) -> Applied {
    if state.status != Status::Paused {
        return Applied {
            state: state.clone(),
            transition: None,
            opened: None,
            closed: None,
        };
    }
    let mut next = LiveState::new(state.monitor_id.clone(), now);
    next.version = state.version + 1;
    next.last_check_at = Some(state.last_check_at.map_or(now, |last| last.max(now)));
    Applied {
        transition: Some(Transition {
            monitor_id: state.monitor_id.clone(),
            kind: TransitionKind::Resumed,
            from: Status::Paused,
            to: Status::Pending,
            at: now,
            incident_id: None,
            cause: None,
            downtime_ms: None,
        }),
        opened: None,
        closed: None,
        state: next,
    }
}
