//! Behaviours of [`LiveStateStore`].

use sentinel_core::{LiveState, Status};

use crate::{CasOutcome, LiveStateStore};

use super::fixtures::{MINUTE, T0, live_state, monitor_id};
use super::join_all;

/// `state` one version on, with something visibly different.
fn next(state: &LiveState, reason: &str) -> LiveState {
    let mut out = state.clone();
    out.version += 1;
    out.status = Status::Up;
    out.consecutive_failures = 0;
    out.consecutive_successes = 1;
    out.failing_streak.clear();
    out.last_check_at = Some(T0 + 10 * MINUTE + out.version as i64);
    out.last_success = Some(true);
    out.last_failure_reason = Some(reason.to_owned());
    out.open_incident = None;
    out
}

pub async fn cas_with_none_inserts_when_absent<S: LiveStateStore + ?Sized>(store: &S) {
    let state = live_state("api", 0);
    assert_eq!(store.get_state(&state.monitor_id).await.expect("get"), None);

    let outcome = store.compare_and_set(&state, None).await.expect("cas");
    assert_eq!(outcome, CasOutcome::Applied);
    assert_eq!(
        store.get_state(&state.monitor_id).await.expect("get"),
        Some(state),
        "every field of the live state must come back exactly"
    );
}

pub async fn cas_with_none_conflicts_when_a_state_exists<S: LiveStateStore + ?Sized>(store: &S) {
    let stored = live_state("api", 4);
    assert_eq!(
        store.compare_and_set(&stored, None).await.expect("cas"),
        CasOutcome::Applied
    );

    let other = next(&live_state("api", 0), "other writer");
    let outcome = store.compare_and_set(&other, None).await.expect("cas");
    assert_eq!(
        outcome,
        CasOutcome::Conflict(Some(stored.clone())),
        "insert-if-absent over an existing state must conflict and return it"
    );
    assert_eq!(
        store.get_state(&stored.monitor_id).await.expect("get"),
        Some(stored)
    );
}

pub async fn cas_with_the_stored_version_updates<S: LiveStateStore + ?Sized>(store: &S) {
    let v1 = live_state("api", 1);
    store.compare_and_set(&v1, None).await.expect("cas");
    let v2 = next(&v1, "second");
    let v3 = next(&v2, "third");

    assert_eq!(
        store.compare_and_set(&v2, Some(1)).await.expect("cas"),
        CasOutcome::Applied
    );
    assert_eq!(
        store.compare_and_set(&v3, Some(2)).await.expect("cas"),
        CasOutcome::Applied
    );
    assert_eq!(
        store.get_state(&v3.monitor_id).await.expect("get"),
        Some(v3)
    );
}

pub async fn cas_with_a_stale_version_conflicts_and_returns_the_current_state<
    S: LiveStateStore + ?Sized,
>(
    store: &S,
) {
    let v1 = live_state("api", 1);
    let v2 = next(&v1, "winner");
    store.compare_and_set(&v1, None).await.expect("cas");
    store.compare_and_set(&v2, Some(1)).await.expect("cas");

    let stale = next(&v1, "loser");
    let outcome = store.compare_and_set(&stale, Some(1)).await.expect("cas");
    assert_eq!(
        outcome,
        CasOutcome::Conflict(Some(v2.clone())),
        "a stale version must conflict and return what is stored now"
    );
    let ahead = next(&next(&v2, "x"), "from the future");
    assert_eq!(
        store.compare_and_set(&ahead, Some(3)).await.expect("cas"),
        CasOutcome::Conflict(Some(v2.clone())),
        "a version newer than the stored one must conflict too"
    );
    assert_eq!(
        store.get_state(&v2.monitor_id).await.expect("get"),
        Some(v2)
    );
}

pub async fn cas_with_a_version_conflicts_when_absent<S: LiveStateStore + ?Sized>(store: &S) {
    let state = live_state("api", 3);
    assert_eq!(
        store.compare_and_set(&state, Some(2)).await.expect("cas"),
        CasOutcome::Conflict(None),
        "an update of a missing state must conflict with nothing stored"
    );
    assert_eq!(store.get_state(&state.monitor_id).await.expect("get"), None);
}

pub async fn list_returns_every_state_and_delete_removes_one<S: LiveStateStore + ?Sized>(
    store: &S,
) {
    assert!(store.list_states().await.expect("list").is_empty());
    let states = [
        live_state("web", 1),
        live_state("api", 7),
        live_state("cdn", 0),
    ];
    for state in &states {
        store.compare_and_set(state, None).await.expect("cas");
    }

    let mut listed = store.list_states().await.expect("list");
    listed.sort_by(|a, b| a.monitor_id.cmp(&b.monitor_id));
    let mut expected = states.to_vec();
    expected.sort_by(|a, b| a.monitor_id.cmp(&b.monitor_id));
    assert_eq!(listed, expected);

    store
        .delete_state(&monitor_id("api"))
        .await
        .expect("delete");
    assert_eq!(
        store.get_state(&monitor_id("api")).await.expect("get"),
        None
    );
    let mut listed = store.list_states().await.expect("list");
    listed.sort_by(|a, b| a.monitor_id.cmp(&b.monitor_id));
    assert_eq!(listed, vec![states[2].clone(), states[0].clone()]);
    store
        .delete_state(&monitor_id("api"))
        .await
        .expect("deleting a missing state is not an error");

    // After a delete, insert-if-absent works again.
    assert_eq!(
        store
            .compare_and_set(&live_state("api", 0), None)
            .await
            .expect("cas"),
        CasOutcome::Applied
    );
}

pub async fn concurrent_cas_on_the_same_version_has_exactly_one_winner<
    S: LiveStateStore + ?Sized,
>(
    store: &S,
) {
    const RACERS: usize = 16;
    let base = live_state("api", 5);
    store.compare_and_set(&base, None).await.expect("cas");
    let candidates: Vec<LiveState> = (0..RACERS)
        .map(|i| next(&base, &format!("racer {i}")))
        .collect();

    let outcomes = join_all(
        candidates
            .iter()
            .map(|state| async move { store.compare_and_set(state, Some(5)).await })
            .collect(),
    )
    .await;

    let outcomes: Vec<CasOutcome> = outcomes
        .into_iter()
        .map(|o| o.expect("cas must not fail under contention"))
        .collect();
    let winners: Vec<usize> = outcomes
        .iter()
        .enumerate()
        .filter(|(_, o)| **o == CasOutcome::Applied)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one racer wins: {outcomes:?}");
    let winner = candidates[winners[0]].clone();
    for (i, outcome) in outcomes.iter().enumerate() {
        if i != winners[0] {
            assert_eq!(
                *outcome,
                CasOutcome::Conflict(Some(winner.clone())),
                "each loser sees the winner's state"
            );
        }
    }
    assert_eq!(
        store.get_state(&base.monitor_id).await.expect("get"),
        Some(winner)
    );

    // Isolation: racing on one monitor leaves another alone.
    assert_eq!(
        store.get_state(&monitor_id("web")).await.expect("get"),
        None
    );
}
