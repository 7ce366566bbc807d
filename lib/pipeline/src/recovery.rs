//! Alerts that a crash may have swallowed. A transition lives in memory between the
//! state write and the ledger claim; if the process dies there, the stored state and
//! incident still say what happened. At start-up we re-derive the recent down and
//! recovery transitions from them; their idempotency keys equal the originals', so the
//! ledger sends only what was never sent.

use sentinel_core::{Incident, LiveState, MonitorSpec, Status, Transition, TransitionKind, UnixMs};
use sentinel_store::{IncidentStore, LiveStateStore, StoreError};

/// Down and recovery transitions of `monitors` that happened after `since`.
pub async fn recent_transitions<S>(
    stores: &S,
    monitors: &[MonitorSpec],
    since: UnixMs,
) -> Result<Vec<Transition>, StoreError>
where
    S: LiveStateStore + IncidentStore + ?Sized,
{
    let mut out = Vec::new();
    for spec in monitors.iter().filter(|m| !m.paused) {
        let Some(state) = stores.get_state(&spec.id).await? else {
            continue;
        };
        let Some(latest) = stores.list_incidents(&spec.id, 1).await?.into_iter().next() else {
            continue;
        };
        out.extend(derive(&state, &latest, since));
    }
    Ok(out)
}

/// The transitions one monitor's state and latest incident imply, if recent.
pub fn derive(state: &LiveState, latest: &Incident, since: UnixMs) -> Vec<Transition> {
    let mut out = Vec::new();
    // The check that crossed the threshold is the last of the proof.
    let down_at = latest.proof.last().copied().unwrap_or(latest.started_at);
    let down = Transition {
        monitor_id: latest.monitor_id.clone(),
        kind: TransitionKind::Down,
        from: Status::Up,
        to: Status::Down,
        at: down_at,
        incident_id: Some(latest.id.clone()),
        cause: Some(latest.cause.clone()),
        downtime_ms: None,
    };
    let still_open =
        state.status == Status::Down && state.open_incident.as_ref() == Some(&latest.id);
    match latest.ended_at {
        None if still_open && down_at >= since => out.push(down),
        Some(ended) if ended >= since && state.status != Status::Paused => {
            if down_at >= since {
                out.push(down);
            }
            out.push(Transition {
                monitor_id: latest.monitor_id.clone(),
                kind: TransitionKind::Recovered,
                from: Status::Down,
                to: Status::Up,
                at: ended,
                incident_id: Some(latest.id.clone()),
                cause: None,
                downtime_ms: Some(ended - latest.started_at),
            });
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sentinel_core::{IncidentId, MonitorId};

    fn incident(ended_at: Option<UnixMs>) -> Incident {
        let monitor_id = MonitorId::parse("api").unwrap();
        Incident {
            id: IncidentId::new(&monitor_id, 1_000),
            monitor_id,
            started_at: 1_000,
            ended_at,
            cause: "timeout".into(),
            proof: vec![1_000, 2_000],
        }
    }

    fn state(status: Status, open: Option<&Incident>) -> LiveState {
        let mut s = LiveState::new(MonitorId::parse("api").unwrap(), 0);
        s.status = status;
        s.open_incident = open.map(|i| i.id.clone());
        s
    }

    #[test]
    fn an_open_incident_rederives_its_down_transition_with_the_original_key() {
        let inc = incident(None);
        let got = derive(&state(Status::Down, Some(&inc)), &inc, 0);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].kind, TransitionKind::Down);
        assert_eq!(got[0].at, 2_000);
        assert_eq!(got[0].idempotency_key(), "api@1000:down");
    }

    #[test]
    fn a_recent_recovery_rederives_both_and_old_ones_nothing() {
        let inc = incident(Some(5_000));
        let got = derive(&state(Status::Up, None), &inc, 0);
        let kinds: Vec<_> = got.iter().map(|t| t.kind).collect();
        assert_eq!(kinds, [TransitionKind::Down, TransitionKind::Recovered]);
        assert_eq!(got[1].downtime_ms, Some(4_000));
        assert_eq!(got[1].idempotency_key(), "api@1000:recovered");
        // Down before the window, recovery inside: only the recovery.
        let got = derive(&state(Status::Up, None), &inc, 3_000);
        assert_eq!(got.len(), 1);
        assert!(derive(&state(Status::Up, None), &inc, 6_000).is_empty());
    }

    #[test]
    fn paused_monitors_and_mismatched_state_derive_nothing() {
        let inc = incident(Some(5_000));
        assert!(derive(&state(Status::Paused, None), &inc, 0).is_empty());
        let open = incident(None);
        assert!(derive(&state(Status::Up, None), &open, 0).is_empty());
    }
}
