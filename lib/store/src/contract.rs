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
//!     // optional; the five pipeline ports when left out
//!     ports: [monitors, ping_log, live_state, incidents, alert_ledger],
//! }
//! ```
//!
//! The account ports opt in the same way: `users`, `tokens`, `api_keys`, `channels`,
//! `monitor_records`, `rate_limits`, `blobs`. Behaviours of `tokens`, `api_keys`,
//! `channels` and `monitor_records` create the users they need, so those ports need
//! [`UserStore`](crate::UserStore) too (an adapter may enforce owners with foreign
//! keys); `users` deletes tokens and keys, so it needs `TokenStore` and `ApiKeyStore`;
//! `monitor_records` also checks how records meet [`MonitorStore`](crate::MonitorStore).
//!
//! The ECS ports opt in too: `ecs_accounts` ([`EcsAccountStore`](crate::EcsAccountStore)),
//! `ecs_snapshots` ([`EcsSnapshotStore`](crate::EcsSnapshotStore)) and `ecs_prune` (its
//! `prune_metrics`, for backends that prune themselves rather than by TTL) and
//! `ecs_incidents` ([`EcsIncidentStore`](crate::EcsIncidentStore)).
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
pub mod api_keys;
pub mod blobs;
pub mod channels;
pub mod ecs_accounts;
pub mod ecs_incidents;
pub mod ecs_prune;
pub mod ecs_snapshots;
pub mod fixtures;
pub mod incidents;
pub mod live_state;
pub mod monitor_records;
pub mod monitors;
pub mod ping_log;
pub mod rate_limits;
pub mod tokens;
pub mod users;

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
                window_rollups_are_the_plans_three_ranges,
                window_counts_sum_checks_and_up_per_monitor,
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
    ($port:ident, $setup:expr, $get:expr) => {
        $crate::__contract_account_port!($port, $setup, $get);
    };
}

/// Implementation detail of [`contract_tests!`]: the behaviours of the account ports.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_account_port {
    (users, $setup:expr, $get:expr) => {
        $crate::__contract_cases!(
            users,
            $setup,
            $get,
            [
                create_then_get_and_find_by_email,
                find_by_email_ignores_case_and_spaces,
                list_is_ordered_by_created_at_then_id,
                duplicate_email_is_a_conflict,
                update_replaces_the_user_and_reports_whether_it_existed,
                update_to_another_users_email_is_a_conflict,
                delete_removes_the_user_and_their_credentials,
                count_counts_users,
            ]
        );
    };
    (tokens, $setup:expr, $get:expr) => {
        $crate::__contract_cases!(
            tokens,
            $setup,
            $get,
            [
                rotate_spends_the_old_token_and_stores_the_new,
                reusing_a_spent_token_revokes_the_whole_family,
                expired_token_is_invalid,
                unknown_token_is_invalid,
                revoke_family_logs_out_that_family_only,
                revoke_user_refresh_revokes_all_of_a_users_tokens,
                concurrent_rotations_have_exactly_one_winner,
                reset_peek_does_not_spend_and_consume_is_single_use,
                concurrent_consumes_of_a_reset_token_have_one_winner,
                expired_reset_token_is_none,
                a_new_reset_token_drops_older_ones,
            ]
        );
    };
    (api_keys, $setup:expr, $get:expr) => {
        $crate::__contract_cases!(
            api_keys,
            $setup,
            $get,
            [
                create_then_find_by_hash,
                a_duplicate_hash_is_a_conflict,
                list_is_newest_first_per_user,
                delete_checks_the_owner,
                touch_sets_last_used_at,
            ]
        );
    };
    (channels, $setup:expr, $get:expr) => {
        $crate::__contract_cases!(
            channels,
            $setup,
            $get,
            [
                create_then_get_round_trips_exactly,
                list_is_by_owner_or_all_ordered_by_name,
                update_replaces_and_reports_whether_it_existed,
                delete_reports_whether_it_existed,
                same_owner_and_name_is_a_conflict,
                different_owners_may_share_a_name,
            ]
        );
    };
    (monitor_records, $setup:expr, $get:expr) => {
        $crate::__contract_cases!(
            monitor_records,
            $setup,
            $get,
            [
                save_then_get_round_trips,
                save_replaces_by_id,
                list_is_by_owner_or_all_ordered_by_id,
                upsert_monitor_of_a_new_id_makes_a_config_record,
                upsert_monitor_keeps_the_owner_origin_and_created_at_of_an_api_record,
                monitor_store_sees_saved_records,
                delete_monitor_removes_the_record,
            ]
        );
    };
    (rate_limits, $setup:expr, $get:expr) => {
        $crate::__contract_cases!(
            rate_limits,
            $setup,
            $get,
            [
                allows_up_to_the_limit_then_denies,
                a_new_window_resets_the_count,
                keys_are_independent,
                concurrent_hits_never_allow_more_than_the_limit,
            ]
        );
    };
    (blobs, $setup:expr, $get:expr) => {
        $crate::__contract_cases!(
            blobs,
            $setup,
            $get,
            [
                put_then_get_round_trips,
                put_overwrites,
                missing_is_none,
                keys_with_slashes_work,
                unsafe_keys_are_refused,
            ]
        );
    };
    ($port:ident, $setup:expr, $get:expr) => {
        $crate::__contract_ecs_port!($port, $setup, $get);
    };
}

/// Implementation detail of [`contract_tests!`]: the behaviours of the ECS ports.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_ecs_port {
    (ecs_accounts, $setup:expr, $get:expr) => {
        $crate::__contract_cases!(
            ecs_accounts,
            $setup,
            $get,
            [
                create_then_get_round_trips_exactly,
                list_is_ordered_by_created_at_then_id,
                update_replaces_editable_fields_and_reports_whether_it_existed,
                delete_reports_whether_it_existed,
                the_same_role_or_a_second_local_account_is_a_conflict,
                record_collection_keeps_edits_and_learned_fields,
                settings_default_to_false_and_round_trip,
            ]
        );
    };
    (ecs_snapshots, $setup:expr, $get:expr) => {
        $crate::__contract_cases!(
            ecs_snapshots,
            $setup,
            $get,
            [
                replace_removes_vanished_services_and_returns_previous_health,
                snapshots_round_trip_and_list_in_key_order,
                replacing_one_account_and_region_leaves_the_others,
                a_stale_collection_does_not_undo_a_newer_one,
                bad_snapshots_and_points_are_refused,
                metrics_are_idempotent_on_overlapping_windows,
                metrics_are_bounded_by_from_and_to_and_kept_apart,
                delete_account_data_removes_that_accounts_snapshots_and_metrics,
            ]
        );
    };
    (ecs_incidents, $setup:expr, $get:expr) => {
        $crate::__contract_cases!(
            ecs_incidents,
            $setup,
            $get,
            [
                open_returns_the_open_incident_and_close_ends_it,
                list_is_newest_first_and_limited,
                bad_keys_and_ended_incidents_are_refused,
                open_incidents_are_the_unclosed_ones_by_key,
                a_close_never_ends_an_incident_that_started_after_it,
            ]
        );
    };
    (ecs_prune, $setup:expr, $get:expr) => {
        $crate::__contract_cases!(
            ecs_prune,
            $setup,
            $get,
            [prune_deletes_points_older_than_before]
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
