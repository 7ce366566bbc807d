//! The status state machine: pending / up / down / paused with thresholds, and incidents.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::UnixMs;
use crate::check::CheckResult;
use crate::monitor::{MonitorId, MonitorSpec};

/// How many failing checks an incident keeps as its proof.
pub const MAX_PROOF: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    ///
    /// An incident goes down and recovers once, so those keys are the incident and the
    /// event alone: a transition re-derived after a crash (from the stored state and
    /// incident) gets the same key as the original, and the ledger sends it at most once.
    pub fn idempotency_key(&self) -> String {
        match (&self.incident_id, self.kind) {
            (Some(inc), TransitionKind::Down | TransitionKind::Recovered) => {
                format!("{inc}:{}", self.kind.as_str())
            }
            (Some(inc), _) => format!("{inc}:{}:{}", self.kind.as_str(), self.at),
            (None, _) => format!("{}:{}:{}", self.monitor_id, self.kind.as_str(), self.at),
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

/// Whether a step's new state must be written now, or may wait for the heartbeat.
///
/// On AWS every stored write costs money, and in steady state a check changes only
/// counters and timestamps: a success on a monitor that is cleanly up, or the same
/// failure on one that is down with its incident open. Those are written once per
/// `heartbeat_ms` (so the stored state never lags by more); anything else — a new
/// monitor, a transition, an incident change, a streak building towards a threshold,
/// a new failure reason — is written at once. Skipping is safe because the next check
/// starts from the stored state and reaches the same decisions from it.
pub fn must_store(
    before: &LiveState,
    applied: &Applied,
    spec: &MonitorSpec,
    heartbeat_ms: i64,
) -> bool {
    let after = &applied.state;
    if after == before {
        return false;
    }
    if before.version == 0
        || applied.transition.is_some()
        || applied.opened.is_some()
        || applied.closed.is_some()
        || after.status != before.status
        || after.open_incident != before.open_incident
        || after.last_reminder_at != before.last_reminder_at
    {
        return true;
    }
    let success_threshold = u32::from(spec.success_threshold.max(1));
    let failure_threshold = u32::from(spec.failure_threshold.max(1));
    let steady_up = before.status == Status::Up
        && before.last_success == Some(true)
        && after.last_success == Some(true)
        && before.consecutive_successes >= success_threshold
        && before.failing_streak.is_empty()
        && before.last_failure_reason.is_none();
    let steady_down = before.status == Status::Down
        && before.last_success == Some(false)
        && after.last_success == Some(false)
        && before.consecutive_failures >= failure_threshold
        && after.last_failure_reason == before.last_failure_reason;
    if !(steady_up || steady_down) {
        return true;
    }
    match (before.last_check_at, after.last_check_at) {
        (Some(stored), Some(now)) => now - stored >= heartbeat_ms,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Timings;
    use crate::monitor::MonitorInput;
    use proptest::prelude::*;

    const T0: UnixMs = 1_700_000_000_000;
    const MIN: i64 = 60_000;

    fn spec(failure_threshold: i64, success_threshold: i64) -> MonitorSpec {
        MonitorInput {
            id: Some("api".into()),
            name: Some("API".into()),
            url: Some("https://example.com".into()),
            failure_threshold: Some(failure_threshold),
            success_threshold: Some(success_threshold),
            ..MonitorInput::default()
        }
        .validate()
        .unwrap()
    }

    fn check(at: UnixMs, success: bool) -> CheckResult {
        CheckResult {
            monitor_id: MonitorId::parse("api").unwrap(),
            checked_at: at,
            success,
            status_code: Some(if success { 200 } else { 503 }),
            timings: Timings {
                total_ms: 42.5,
                ..Timings::default()
            },
            ip: None,
            cert_expires_at: None,
            error: None,
            failure_reason: (!success).then(|| format!("status 503 at {at}")),
            conditions: Vec::new(),
        }
    }

    fn fresh() -> LiveState {
        LiveState::new(MonitorId::parse("api").unwrap(), T0 - 1)
    }

    /// Applies `pattern` ('u' = success, 'd' = failure) one minute apart starting at T0.
    /// Returns the final state and every Applied step.
    fn run(
        state: LiveState,
        spec: &MonitorSpec,
        pattern: &str,
        reminder: Option<i64>,
    ) -> (LiveState, Vec<Applied>) {
        let start = state.last_check_at.map_or(T0, |t| t + MIN);
        let mut state = state;
        let mut steps = Vec::new();
        for (i, c) in pattern.chars().enumerate() {
            let ok = match c {
                'u' => true,
                'd' => false,
                other => panic!("bad pattern char {other}"),
            };
            let applied = apply(&state, spec, &check(start + i as i64 * MIN, ok), reminder);
            state = applied.state.clone();
            steps.push(applied);
        }
        (state, steps)
    }

    fn kinds(steps: &[Applied]) -> Vec<Option<TransitionKind>> {
        steps
            .iter()
            .map(|a| a.transition.as_ref().map(|t| t.kind))
            .collect()
    }

    /// (step index, kind) of every transition.
    fn transitions(steps: &[Applied]) -> Vec<(usize, TransitionKind)> {
        steps
            .iter()
            .enumerate()
            .filter_map(|(i, a)| a.transition.as_ref().map(|t| (i, t.kind)))
            .collect()
    }

    use TransitionKind::{Down, FirstUp, Recovered, Reminder};

    #[test]
    fn new_state_is_pending() {
        let s = fresh();
        assert_eq!(s.status, Status::Pending);
        assert_eq!(s.since, T0 - 1);
        assert_eq!(s.version, 0);
        assert_eq!(s.last_check_at, None);
        assert_eq!(s.open_incident, None);
    }

    #[test]
    fn threshold_table() {
        // (failure_threshold, success_threshold, pattern, expected transitions, final status)
        type Case<'a> = (i64, i64, &'a str, &'a [(usize, TransitionKind)], Status);
        let cases: &[Case] = &[
            (1, 1, "u", &[(0, FirstUp)], Status::Up),
            (1, 1, "d", &[(0, Down)], Status::Down),
            (1, 1, "ud", &[(0, FirstUp), (1, Down)], Status::Down),
            (
                1,
                1,
                "udu",
                &[(0, FirstUp), (1, Down), (2, Recovered)],
                Status::Up,
            ),
            (3, 1, "dd", &[], Status::Pending),
            (3, 1, "ddd", &[(2, Down)], Status::Down),
            (3, 1, "uddd", &[(0, FirstUp), (3, Down)], Status::Down),
            (3, 1, "uddudd", &[(0, FirstUp)], Status::Up),
            (3, 1, "ddudduddu", &[(2, FirstUp)], Status::Up),
            (2, 1, "udududud", &[(0, FirstUp)], Status::Up),
            (2, 2, "dudu", &[], Status::Pending),
            (2, 2, "duu", &[(2, FirstUp)], Status::Up),
            (2, 2, "ddu", &[(1, Down)], Status::Down),
            (2, 2, "dduu", &[(1, Down), (3, Recovered)], Status::Up),
            (2, 2, "ddudu", &[(1, Down)], Status::Down),
            (2, 2, "ddududuu", &[(1, Down), (7, Recovered)], Status::Up),
            (10, 1, "ddddddddd", &[], Status::Pending),
            (10, 1, "dddddddddd", &[(9, Down)], Status::Down),
            (1, 10, "uuuuuuuuu", &[], Status::Pending),
            (1, 10, "uuuuuuuuuu", &[(9, FirstUp)], Status::Up),
        ];
        for (ft, st, pattern, want, status) in cases {
            let spec = spec(*ft, *st);
            let (state, steps) = run(fresh(), &spec, pattern, None);
            assert_eq!(transitions(&steps), *want, "ft={ft} st={st} {pattern}");
            assert_eq!(state.status, *status, "ft={ft} st={st} {pattern}");
            assert_eq!(state.version, pattern.len() as u64);
        }
    }

    #[test]
    fn flapping_below_threshold_never_transitions_from_up() {
        let spec = spec(3, 1);
        let (up, _) = run(fresh(), &spec, "u", None);
        let (state, steps) = run(up, &spec, &"ddu".repeat(20), None);
        assert!(kinds(&steps).iter().all(Option::is_none));
        assert_eq!(state.status, Status::Up);
        assert!(
            steps
                .iter()
                .all(|a| a.opened.is_none() && a.closed.is_none())
        );
    }

    #[test]
    fn first_up_is_not_alerted_and_sets_since() {
        let spec = spec(2, 1);
        let (state, steps) = run(fresh(), &spec, "u", None);
        let t = steps[0].transition.clone().unwrap();
        assert_eq!(t.kind, FirstUp);
        assert!(!t.kind.is_alerted());
        assert_eq!((t.from, t.to, t.at), (Status::Pending, Status::Up, T0));
        assert_eq!(t.incident_id, None);
        assert_eq!(state.since, T0);
        assert_eq!(steps[0].opened, None);
        assert_eq!(steps[0].closed, None);
    }

    #[test]
    fn pending_goes_straight_to_down() {
        let spec = spec(2, 1);
        let (state, steps) = run(fresh(), &spec, "dd", None);
        let t = steps[1].transition.clone().unwrap();
        assert_eq!(t.kind, Down);
        assert_eq!((t.from, t.to), (Status::Pending, Status::Down));
        assert_eq!(state.status, Status::Down);
        assert!(steps[1].opened.is_some());
    }

    #[test]
    fn down_opens_an_incident_with_cause_and_proof() {
        let spec = spec(3, 1);
        let (state, steps) = run(fresh(), &spec, "uuddd", None);
        let first_fail = T0 + 2 * MIN;
        let crossing = T0 + 4 * MIN;
        assert!(steps[..4].iter().all(|a| a.opened.is_none()));
        let inc = steps[4].opened.clone().expect("incident opened");
        let t = steps[4].transition.clone().unwrap();

        assert_eq!(inc.id, IncidentId::new(&spec.id, first_fail));
        assert_eq!(inc.id.to_string(), format!("api@{first_fail}"));
        assert_eq!(inc.monitor_id, spec.id);
        assert_eq!(inc.started_at, first_fail);
        assert_eq!(inc.ended_at, None);
        assert_eq!(inc.cause, format!("status 503 at {crossing}"));
        assert_eq!(inc.proof, [first_fail, first_fail + MIN, crossing]);

        assert_eq!(t.kind, Down);
        assert!(t.kind.is_alerted());
        assert_eq!((t.from, t.to, t.at), (Status::Up, Status::Down, crossing));
        assert_eq!(t.incident_id.as_ref(), Some(&inc.id));
        assert_eq!(t.cause.as_deref(), Some(inc.cause.as_str()));
        assert_eq!(t.downtime_ms, None);

        assert_eq!(state.status, Status::Down);
        assert_eq!(state.since, first_fail);
        assert_eq!(state.open_incident.as_ref(), Some(&inc.id));
        assert_eq!(state.last_reminder_at, Some(crossing));
        assert_eq!(state.consecutive_failures, 3);
        assert_eq!(state.consecutive_successes, 0);
    }

    #[test]
    fn cause_defaults_when_the_check_has_no_reason() {
        let spec = spec(1, 1);
        let mut c = check(T0, false);
        c.failure_reason = None;
        let a = apply(&fresh(), &spec, &c, None);
        assert_eq!(a.opened.unwrap().cause, "check failed");
        assert_eq!(a.transition.unwrap().cause.as_deref(), Some("check failed"));
    }

    #[test]
    fn proof_lists_only_the_current_streak() {
        let spec = spec(3, 1);
        // An earlier broken streak must not leak into the proof.
        let (_, steps) = run(fresh(), &spec, "udduddd", None);
        let inc = steps.iter().find_map(|a| a.opened.clone()).unwrap();
        assert_eq!(inc.proof, [T0 + 4 * MIN, T0 + 5 * MIN, T0 + 6 * MIN]);
        assert_eq!(inc.started_at, T0 + 4 * MIN);
    }

    #[test]
    fn failing_streak_is_capped_while_down() {
        let spec = spec(10, 1);
        let (state, steps) = run(fresh(), &spec, &"d".repeat(25), None);
        let inc = steps.iter().find_map(|a| a.opened.clone()).unwrap();
        assert_eq!(inc.proof.len(), MAX_PROOF);
        assert_eq!(state.failing_streak.len(), MAX_PROOF);
        assert_eq!(state.failing_streak[0], T0);
        assert_eq!(state.consecutive_failures, 25);
    }

    #[test]
    fn incident_id_is_stable_for_the_same_streak() {
        let spec = spec(3, 1);
        let (_, a) = run(fresh(), &spec, "uddd", None);
        let (_, b) = run(fresh(), &spec, "uddd", None);
        let id_a = a[3].opened.as_ref().unwrap().id.clone();
        let id_b = b[3].opened.as_ref().unwrap().id.clone();
        assert_eq!(id_a, id_b);
        // Reminders and the recovery carry the same id.
        let (state, more) = run(a[3].state.clone(), &spec, "dddu", Some(MIN));
        for step in &more {
            if let Some(t) = &step.transition {
                assert_eq!(t.incident_id.as_ref(), Some(&id_a), "{:?}", t.kind);
            }
        }
        assert_eq!(more[3].closed.as_ref().map(|c| &c.0), Some(&id_a));
        assert_eq!(state.open_incident, None);
        // A new outage is a new incident.
        let (_, again) = run(state, &spec, "ddd", None);
        let id_c = again[2].opened.as_ref().unwrap().id.clone();
        assert_ne!(id_c, id_a);
    }

    #[test]
    fn recovery_closes_the_incident_with_downtime() {
        let spec = spec(2, 2);
        let (state, steps) = run(fresh(), &spec, "udddduu", None);
        let started = T0 + MIN;
        let recovered_at = T0 + 6 * MIN;
        let id = IncidentId::new(&spec.id, started);
        assert_eq!(
            kinds(&steps),
            [None, None, Some(Down), None, None, None, Some(Recovered)]
        );
        let t = steps[6].transition.clone().unwrap();
        assert!(t.kind.is_alerted());
        assert_eq!(
            (t.from, t.to, t.at),
            (Status::Down, Status::Up, recovered_at)
        );
        assert_eq!(t.incident_id, Some(id.clone()));
        assert_eq!(t.downtime_ms, Some(recovered_at - started));
        assert_eq!(t.downtime_ms, Some(5 * MIN));
        assert_eq!(t.cause, None);
        assert_eq!(steps[6].closed, Some((id, recovered_at)));
        assert_eq!(steps[6].opened, None);
        assert_eq!(state.status, Status::Up);
        assert_eq!(state.since, recovered_at);
        assert_eq!(state.open_incident, None);
        assert_eq!(state.last_reminder_at, None);
        assert!(state.failing_streak.is_empty());
    }

    #[test]
    fn reminders_follow_the_configured_cadence() {
        let spec = spec(1, 1);
        // Down at T0, failing every minute for 12 minutes, reminders every 5 minutes.
        let (_, steps) = run(fresh(), &spec, &"d".repeat(13), Some(5 * MIN));
        let got: Vec<_> = transitions(&steps);
        assert_eq!(got, [(0, Down), (5, Reminder), (10, Reminder)]);
        let r = steps[5].transition.clone().unwrap();
        assert!(r.kind.is_alerted());
        assert_eq!(
            (r.from, r.to, r.at),
            (Status::Down, Status::Down, T0 + 5 * MIN)
        );
        assert_eq!(r.incident_id, Some(IncidentId::new(&spec.id, T0)));
        assert_eq!(r.downtime_ms, Some(5 * MIN));
        assert_eq!(r.cause, Some(format!("status 503 at {}", T0 + 5 * MIN)));
        assert_eq!(steps[5].opened, None);
        assert_eq!(steps[5].closed, None);
        assert_eq!(steps[5].state.last_reminder_at, Some(T0 + 5 * MIN));
        assert_eq!(
            steps[10].transition.as_ref().unwrap().downtime_ms,
            Some(10 * MIN)
        );
    }

    #[test]
    fn reminder_cadence_is_measured_from_the_last_reminder_not_a_grid() {
        let spec = spec(1, 1);
        let mut state = apply(&fresh(), &spec, &check(T0, false), Some(5 * MIN)).state;
        let mut reminded = Vec::new();
        // Irregular check times: 4m, 5m59s, 9m, 11m, 12m.
        for at in [4 * MIN, 6 * MIN - 1_000, 9 * MIN, 11 * MIN, 12 * MIN] {
            let a = apply(&state, &spec, &check(T0 + at, false), Some(5 * MIN));
            if a.transition.is_some() {
                reminded.push(at);
            }
            state = a.state;
        }
        assert_eq!(reminded, [6 * MIN - 1_000, 11 * MIN]);
    }

    #[test]
    fn no_reminders_when_off_or_not_positive() {
        let spec = spec(1, 1);
        for reminder in [None, Some(0), Some(-MIN)] {
            let (_, steps) = run(fresh(), &spec, &"d".repeat(30), reminder);
            assert_eq!(transitions(&steps), [(0, Down)], "{reminder:?}");
        }
    }

    #[test]
    fn no_reminders_while_up_or_pending_or_on_success() {
        let spec = spec(3, 3);
        // Pending with failures below threshold, then up, then successes while down.
        let (_, steps) = run(fresh(), &spec, "dduuuddudduu", Some(1));
        assert!(
            !kinds(&steps).contains(&Some(Reminder)),
            "{:?}",
            kinds(&steps)
        );
    }

    #[test]
    fn reminder_falls_back_to_since_without_a_last_reminder() {
        let spec = spec(1, 1);
        let mut state = apply(&fresh(), &spec, &check(T0, false), None).state;
        state.last_reminder_at = None; // e.g. stored by an older version
        let early = apply(&state, &spec, &check(T0 + MIN, false), Some(5 * MIN));
        assert_eq!(early.transition, None);
        let due = apply(&state, &spec, &check(T0 + 5 * MIN, false), Some(5 * MIN));
        assert_eq!(due.transition.map(|t| t.kind), Some(Reminder));
    }

    #[test]
    fn old_and_duplicate_checks_are_ignored() {
        let spec = spec(1, 1);
        let (state, _) = run(fresh(), &spec, "u", None);
        let last = state.last_check_at.unwrap();
        for (at, ok) in [
            (last, true),
            (last, false),
            (last - 1, false),
            (last - MIN, false),
            (i64::MIN, false),
        ] {
            let a = apply(&state, &spec, &check(at, ok), Some(1));
            assert_eq!(a.state, state, "{at} {ok}");
            assert_eq!(a.transition, None);
            assert_eq!(a.opened, None);
            assert_eq!(a.closed, None);
        }
        // Redelivering the check that opened an incident does not open another.
        let down = apply(&state, &spec, &check(last + 1, false), None);
        assert!(down.opened.is_some());
        let again = apply(&down.state, &spec, &check(last + 1, false), None);
        assert_eq!(again.opened, None);
        assert_eq!(again.transition, None);
        assert_eq!(again.state, down.state);
    }

    #[test]
    fn version_grows_by_one_per_applied_check_only() {
        let spec = spec(2, 1);
        let mut state = fresh();
        let mut expected = 0;
        // (offset in minutes, success): duplicates and older ones sprinkled in.
        for (m, ok) in [
            (0, true),
            (0, true),
            (1, false),
            (1, false),
            (0, false),
            (2, false),
            (3, false),
            (2, true),
            (4, true),
            (5, true),
            (-10, true),
        ] {
            let at = T0 + m * MIN;
            let applies = state.last_check_at.is_none_or(|l| at > l);
            let a = apply(&state, &spec, &check(at, ok), Some(MIN));
            if applies {
                expected += 1;
            }
            assert_eq!(a.state.version, expected, "at {m}");
            state = a.state;
        }
        assert_eq!(expected, 6);
    }

    #[test]
    fn last_check_fields_are_recorded() {
        let spec = spec(3, 1);
        let a = apply(&fresh(), &spec, &check(T0, false), None);
        let s = &a.state;
        assert_eq!(s.last_check_at, Some(T0));
        assert_eq!(s.last_success, Some(false));
        assert_eq!(s.last_response_ms, Some(42.5));
        assert_eq!(s.last_failure_reason, Some(format!("status 503 at {T0}")));
        assert_eq!(s.failing_streak, [T0]);
        let b = apply(s, &spec, &check(T0 + 1, true), None);
        assert_eq!(b.state.last_success, Some(true));
        assert_eq!(b.state.last_failure_reason, None);
        assert!(b.state.failing_streak.is_empty());
        assert_eq!(b.state.consecutive_failures, 0);
        assert_eq!(b.state.consecutive_successes, 1);
    }

    #[test]
    fn pause_closes_an_open_incident() {
        let spec = spec(1, 1);
        let (down, _) = run(fresh(), &spec, "dd", None);
        let id = down.open_incident.clone().unwrap();
        let now = T0 + 10 * MIN;
        let p = pause(&down, now);
        let t = p.transition.clone().unwrap();
        assert_eq!(t.kind, TransitionKind::Paused);
        assert!(!t.kind.is_alerted());
        assert_eq!((t.from, t.to, t.at), (Status::Down, Status::Paused, now));
        assert_eq!(t.incident_id, Some(id.clone()));
        assert_eq!(p.closed, Some((id, now)));
        assert_eq!(p.opened, None);
        let s = &p.state;
        assert_eq!(s.status, Status::Paused);
        assert_eq!(s.since, now);
        assert_eq!(s.version, down.version + 1);
        assert_eq!(s.open_incident, None);
        assert_eq!(s.consecutive_failures, 0);
        assert!(s.failing_streak.is_empty());
        assert_eq!(s.last_check_at, down.last_check_at);
    }

    #[test]
    fn pause_from_up_or_pending_closes_nothing() {
        let spec = spec(1, 1);
        let (up, _) = run(fresh(), &spec, "u", None);
        for state in [fresh(), up] {
            let p = pause(&state, T0 + MIN);
            assert_eq!(p.closed, None);
            assert_eq!(p.transition.as_ref().unwrap().from, state.status);
            assert_eq!(p.transition.unwrap().incident_id, None);
            assert_eq!(p.state.version, state.version + 1);
        }
    }

    #[test]
    fn paused_ignores_checks_and_second_pause() {
        let spec = spec(1, 1);
        let paused = pause(&fresh(), T0).state;
        for ok in [true, false] {
            let a = apply(&paused, &spec, &check(T0 + MIN, ok), Some(1));
            assert_eq!(a.state, paused);
            assert_eq!(a.transition, None);
            assert_eq!(a.opened, None);
        }
        let again = pause(&paused, T0 + MIN);
        assert_eq!(again.state, paused);
        assert_eq!(again.transition, None);
        assert_eq!(again.closed, None);
    }

    #[test]
    fn resume_goes_back_to_pending() {
        let spec = spec(1, 1);
        let (down, _) = run(fresh(), &spec, "d", None);
        let paused = pause(&down, T0 + MIN).state;
        let now = T0 + 2 * MIN;
        let r = resume(&paused, now);
        let t = r.transition.clone().unwrap();
        assert_eq!(t.kind, TransitionKind::Resumed);
        assert!(!t.kind.is_alerted());
        assert_eq!((t.from, t.to, t.at), (Status::Paused, Status::Pending, now));
        assert_eq!(t.incident_id, None);
        assert_eq!((r.opened, r.closed), (None, None));
        assert_eq!(r.state.status, Status::Pending);
        assert_eq!(r.state.since, now);
        assert_eq!(r.state.version, paused.version + 1);
        assert_eq!(r.state.open_incident, None);
        assert_eq!(r.state.last_success, None);

        // From pending again: the next check decides.
        let a = apply(&r.state, &spec, &check(now + MIN, true), None);
        assert_eq!(a.transition.map(|t| t.kind), Some(FirstUp));
    }

    #[test]
    fn resume_of_a_running_monitor_is_a_no_op() {
        let spec = spec(1, 1);
        let (up, _) = run(fresh(), &spec, "u", None);
        for state in [fresh(), up] {
            let r = resume(&state, T0 + MIN);
            assert_eq!(r.state, state);
            assert_eq!(r.transition, None);
        }
    }

    #[test]
    fn checks_from_before_a_resume_are_stale() {
        let spec = spec(1, 1);
        let (up, _) = run(fresh(), &spec, "u", None);
        let paused = pause(&up, T0 + 10 * MIN).state;
        let resumed = resume(&paused, T0 + 20 * MIN).state;
        // Probed before the pause / during it, delivered after the resume.
        for at in [T0 + 5 * MIN, T0 + 15 * MIN, T0 + 20 * MIN] {
            let a = apply(&resumed, &spec, &check(at, false), None);
            assert_eq!(a.state, resumed, "{at}");
            assert_eq!(a.opened, None);
        }
        let fresh_check = apply(&resumed, &spec, &check(T0 + 20 * MIN + 1, false), None);
        assert_eq!(fresh_check.transition.map(|t| t.kind), Some(Down));
        assert_eq!(
            fresh_check.opened.map(|i| i.started_at),
            Some(T0 + 20 * MIN + 1)
        );
    }

    #[test]
    fn zero_thresholds_from_an_unvalidated_spec_act_as_one() {
        let mut spec = spec(1, 1);
        spec.failure_threshold = 0;
        spec.success_threshold = 0;
        let (_, steps) = run(fresh(), &spec, "uud", None);
        assert_eq!(transitions(&steps), [(0, FirstUp), (2, Down)]);
    }

    #[test]
    fn idempotency_keys() {
        let id = MonitorId::parse("api").unwrap();
        let mk = |kind, incident: Option<&str>, at| Transition {
            monitor_id: id.clone(),
            kind,
            from: Status::Up,
            to: Status::Down,
            at,
            incident_id: incident.map(|i| IncidentId(i.into())),
            cause: None,
            downtime_ms: None,
        };
        let cases = [
            (mk(Down, Some("api@5"), 7), "api@5:down"),
            (mk(Reminder, Some("api@5"), 9), "api@5:reminder:9"),
            (mk(Recovered, Some("api@5"), 11), "api@5:recovered"),
            (mk(FirstUp, None, 3), "api:first_up:3"),
            (mk(TransitionKind::Paused, None, 4), "api:paused:4"),
        ];
        for (t, want) in cases {
            assert_eq!(t.idempotency_key(), want);
        }
    }

    #[test]
    fn names_and_serde() {
        let statuses = [
            (Status::Pending, "pending"),
            (Status::Up, "up"),
            (Status::Down, "down"),
            (Status::Paused, "paused"),
        ];
        for (s, name) in statuses {
            assert_eq!(s.as_str(), name);
            assert_eq!(s.to_string(), name);
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{name}\""));
        }
        let kinds = [
            (FirstUp, "first_up", false),
            (Down, "down", true),
            (Recovered, "recovered", true),
            (Reminder, "reminder", true),
            (TransitionKind::Paused, "paused", false),
            (TransitionKind::Resumed, "resumed", false),
        ];
        for (k, name, alerted) in kinds {
            assert_eq!(k.as_str(), name);
            assert_eq!(k.is_alerted(), alerted);
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{name}\""));
        }
        let spec = spec(1, 1);
        let (state, steps) = run(fresh(), &spec, "d", None);
        let json = serde_json::to_string(&state).unwrap();
        assert_eq!(serde_json::from_str::<LiveState>(&json).unwrap(), state);
        let inc = steps[0].opened.clone().unwrap();
        let json = serde_json::to_value(&inc).unwrap();
        assert_eq!(json["id"], format!("api@{T0}"));
        assert_eq!(serde_json::from_value::<Incident>(json).unwrap(), inc);
        let t = steps[0].transition.clone().unwrap();
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<Transition>(&json).unwrap(), t);
    }

    proptest! {
        /// Invariants over arbitrary check sequences (with duplicates, reorderings,
        /// pauses and resumes).
        #[test]
        fn state_machine_invariants(
            ft in 1i64..=4,
            st in 1i64..=3,
            reminder in prop::option::of(-1i64..5),
            events in prop::collection::vec((0i64..40, 0u8..10), 0..60),
        ) {
            let spec = spec(ft, st);
            let mut state = fresh();
            let mut open: Option<IncidentId> = None;
            for (at, kind) in events {
                let before = state.clone();
                let a = match kind {
                    0 => pause(&state, T0 + at),
                    1 => resume(&state, T0 + at),
                    k => apply(&state, &spec, &check(T0 + at, k % 2 == 0), reminder),
                };
                // Version: +1 exactly when anything changed, else untouched.
                if a.state == before {
                    prop_assert!(a.transition.is_none() && a.opened.is_none() && a.closed.is_none());
                } else {
                    prop_assert_eq!(a.state.version, before.version + 1);
                }
                if let Some(t) = &a.transition {
                    prop_assert_eq!(t.from, before.status);
                    prop_assert_eq!(t.to, a.state.status);
                    prop_assert_eq!(&t.monitor_id, &spec.id);
                }
                if let Some(inc) = &a.opened {
                    prop_assert!(open.is_none(), "opened while one is open");
                    prop_assert!(!inc.proof.is_empty() && inc.proof.len() <= MAX_PROOF);
                    prop_assert_eq!(inc.proof[0], inc.started_at);
                    prop_assert!(inc.proof.windows(2).all(|w| w[0] < w[1]));
                    open = Some(inc.id.clone());
                }
                if let Some((id, _)) = &a.closed {
                    prop_assert_eq!(Some(id), open.as_ref());
                    open = None;
                }
                prop_assert_eq!(&a.state.open_incident, &open);
                prop_assert_eq!(a.state.status == Status::Down, open.is_some());
                prop_assert!(a.state.failing_streak.len() <= MAX_PROOF);
                state = a.state;
            }
        }
    }

    /// Applies `pattern` writing only what `must_store` asks for, as the AWS prober does.
    /// Returns the transitions and how many writes it took.
    fn run_skipping(
        spec: &MonitorSpec,
        pattern: &str,
        heartbeat_ms: i64,
    ) -> (Vec<Transition>, usize) {
        let mut stored = fresh();
        let mut transitions = Vec::new();
        let mut writes = 0;
        for (i, c) in pattern.chars().enumerate() {
            let applied = apply(
                &stored,
                spec,
                &check(T0 + i as i64 * MIN, c == 'u'),
                Some(10 * MIN),
            );
            if must_store(&stored, &applied, spec, heartbeat_ms) {
                stored = applied.state.clone();
                writes += 1;
            }
            transitions.extend(applied.transition);
        }
        (transitions, writes)
    }

    #[test]
    fn steady_checks_are_stored_once_per_heartbeat() {
        let spec = spec(3, 2);
        let (_, writes) = run_skipping(&spec, &"u".repeat(1000), 15 * MIN);
        // First check (new state), the check reaching the threshold (FirstUp), then
        // one per 15 minutes.
        assert!(
            writes <= 2 + 1000 / 15 + 1,
            "{writes} writes for 1000 steady checks"
        );
        assert!(
            writes >= 1000 / 15,
            "the heartbeat keeps the stored state fresh: {writes}"
        );
    }

    #[test]
    fn every_step_towards_a_threshold_is_stored() {
        let spec = spec(3, 2);
        let mut stored = fresh();
        let pattern = "uuuuudddduu";
        let mut stored_at = Vec::new();
        for (i, c) in pattern.chars().enumerate() {
            let applied = apply(&stored, &spec, &check(T0 + i as i64 * MIN, c == 'u'), None);
            if must_store(&stored, &applied, &spec, 60 * MIN) {
                stored = applied.state.clone();
                stored_at.push(i);
            }
        }
        // 0: new; 1: FirstUp; 2-4 steady (skipped); 5, 6: failures building up; 7:
        // down (incident); 8: down again with the same reason but the streak grows —
        // stored, since the failure reason text changes per check here; 9: first
        // success; 10: recovered.
        assert!(stored_at.starts_with(&[0, 1]), "{stored_at:?}");
        assert!(
            !stored_at.contains(&3) && !stored_at.contains(&4),
            "{stored_at:?}"
        );
        for i in [5, 6, 7, 9, 10] {
            assert!(
                stored_at.contains(&i),
                "step {i} must be stored: {stored_at:?}"
            );
        }
    }

    proptest! {
        /// Skipping steady writes never changes what is alerted.
        #[test]
        fn skipping_steady_writes_keeps_every_transition(
            pattern in "[ud]{1,200}",
            failure in 1i64..4,
            success in 1i64..4,
            heartbeat in 1i64..30,
        ) {
            let spec = spec(failure, success);
            let (with_skips, _) = run_skipping(&spec, &pattern, heartbeat * MIN);
            let (_, steps) = run(fresh(), &spec, &pattern, Some(10 * MIN));
            let every_write: Vec<Transition> = steps.into_iter().filter_map(|a| a.transition).collect();
            prop_assert_eq!(with_skips, every_write);
        }
    }
}
