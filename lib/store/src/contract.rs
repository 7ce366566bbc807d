//! The contract suite: one `async fn` per behaviour, grouped by port, that every adapter
//! must pass. Each behaviour takes a store that is **empty** when the call starts and
//! panics (with a message saying what broke) when the adapter gets it wrong.
//!
//! An adapter crate runs the suite with [`contract_tests!`](crate::contract_tests), which
//! expands to one `#[tokio::test]` per behaviour, in one module per port, so a failure
//! reads like `ping_log::redelivered_batch_is_ignored`:
//!
//! ```ignore
//! // lib/embedded/tests/contract.rs
//! async fn fresh() -> SqliteStore {
//!     SqliteStore::open_in_memory().await.expect("in-memory store opens")
//! }
//!
//! sentinel_store::contract_tests! {
//!     store: fresh().await,
//!     // optional; all five ports when left out
//!     ports: [monitors, ping_log, live_state, incidents, alert_ledger],
//! }
//! ```
//!
//! `store:` is any expression (it may `.await`), evaluated afresh in every test; names
//! it uses resolve in the module that invokes the macro. When the store needs something
//! kept alive beside it for the test (a temp dir, a throw-away database that is dropped
//! at the end), give that as `setup:` and a function from `&Setup` to `&Store` as
//! `store:`:
//!
//! ```ignore
//! sentinel_store::contract_tests! {
//!     setup: TestDb::create().await,   // dropped when the test ends
//!     store: TestDb::store,            // fn store(&self) -> &PgStore
//!     ports: [monitors, live_state, incidents, alert_ledger],
//! }
//! ```
//!
//! The calling crate needs `tokio` with the `macros` and `rt` features (a
//! dev-dependency is enough). A backend that implements only some ports lists only
//! those, e.g. `ports: [ping_log]` for MongoDB.
//!
//! The behaviours can also be called one by one, e.g.
//! `sentinel_store::contract::ping_log::redelivered_batch_is_ignored(&store).await`.

pub mod alert_ledger;
pub mod fixtures;
pub mod incidents;
pub mod live_state;
pub mod monitors;
pub mod ping_log;

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// Polls all futures concurrently on the current task and returns their outputs in
/// order. Enough to make I/O-bound store calls race without tying the suite to a runtime.
pub async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(move |cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(outputs.iter_mut().filter_map(Option::take).collect())
        }
    })
    .await
}

/// The identity accessor [`contract_tests!`] uses when `store:` is the store itself.
#[doc(hidden)]
pub fn itself<T: ?Sized>(store: &T) -> &T {
    store
}

/// Expands to one `#[tokio::test]` per contract behaviour. See the [module
/// docs](crate::contract) for the syntax.
#[macro_export]
macro_rules! contract_tests {
    (store: $make:expr $(, ports: [$($port:ident),+ $(,)?])? $(,)?) => {
        $crate::contract_tests! {
            setup: $make,
            store: $crate::contract::itself,
            $(ports: [$($port),+],)?
        }
    };
    (setup: $setup:expr, store: $get:expr $(,)?) => {
        $crate::contract_tests! {
            setup: $setup,
            store: $get,
            ports: [monitors, ping_log, live_state, incidents, alert_ledger],
        }
    };
    (setup: $setup:expr, store: $get:expr, ports: [$($port:ident),+ $(,)?] $(,)?) => {
        $( $crate::__contract_port!($port, $setup, $get); )+
    };
}

/// Implementation detail of [`contract_tests!`]: the behaviours of one port.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_port {
    (monitors, $setup:expr, $get:expr) => {
        $crate::__contract_cases!(
            monitors,
            $setup,
            $get,
            [
                upsert_then_get_returns_the_same_spec,
                get_of_an_unknown_monitor_is_none,
                list_is_ordered_by_id,
                upsert_replaces_a_monitor_with_the_same_id,
                delete_reports_whether_the_monitor_existed,
            ]
        );
    };
    (ping_log, $setup:expr, $get:expr) => {
        $crate::__contract_cases!(
            ping_log,
            $setup,
            $get,
            [
                history_is_newest_first_within_from_to_and_limit,
                check_result_round_trips_exactly,
                redelivered_batch_is_ignored,
                duplicate_within_one_batch_is_stored_once,
                stored_result_is_not_replaced_by_a_later_duplicate,
                rollups_match_record_applied_by_hand,
                rollups_are_bounded_by_from_and_to,
                prune_deletes_raw_results_but_keeps_rollups,
                monitors_are_isolated,
                empty_batch_is_a_no_op,
                large_batch_is_stored_whole,
            ]
        );
    };
    (live_state, $setup:expr, $get:expr) => {
        $crate::__contract_cases!(
            live_state,
            $setup,
            $get,
            [
                cas_with_none_inserts_when_absent,
                cas_with_none_conflicts_when_a_state_exists,
                cas_with_the_stored_version_updates,
                cas_with_a_stale_version_conflicts_and_returns_the_current_state,
                cas_with_a_version_conflicts_when_absent,
                list_returns_every_state_and_delete_removes_one,
                concurrent_cas_on_the_same_version_has_exactly_one_winner,
            ]
        );
    };
    (incidents, $setup:expr, $get:expr) => {
        $crate::__contract_cases!(
            incidents,
            $setup,
            $get,
            [
                open_then_get_returns_the_incident,
                open_is_idempotent_and_does_not_reopen,
                close_is_idempotent_and_keeps_the_first_end,
                close_of_an_unknown_incident_is_a_no_op,
                list_is_newest_first_per_monitor_with_limit,
            ]
        );
    };
    (alert_ledger, $setup:expr, $get:expr) => {
        $crate::__contract_cases!(
            alert_ledger,
            $setup,
            $get,
            [
                first_claim_wins_and_later_claims_lose,
                finish_updates_status_attempts_and_error,
                list_is_newest_first_with_limit,
                concurrent_claims_have_exactly_one_winner,
            ]
        );
    };
}

/// Implementation detail of [`contract_tests!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_cases {
    ($port:ident, $setup:expr, $get:expr, [$($case:ident),+ $(,)?]) => {
        mod $port {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test]
                async fn $case() {
                    let fixture = $setup;
                    $crate::contract::$port::$case($get(&fixture)).await;
                }
            )+
        }
    };
}
