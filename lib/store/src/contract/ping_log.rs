//! Behaviours of [`PingLog`].

use sentinel_core::stats::{CheckCounts, Granularity, Rollup, WindowPlan, plan_window};
use sentinel_core::{CheckResult, UnixMs};

use crate::PingLog;

use super::fixtures::{DAY, HOUR, MINUTE, T0, check, expected_rollups, full_check, monitor_id};

const FAR_PAST: UnixMs = 0;
const FAR_FUTURE: UnixMs = T0 + 3650 * DAY;

async fn all_history<S: PingLog + ?Sized>(store: &S, monitor: &str) -> Vec<CheckResult> {
    store
        .history(&monitor_id(monitor), FAR_PAST, FAR_FUTURE, 100_000)
        .await
        .expect("history")
}

async fn all_rollups<S: PingLog + ?Sized>(
    store: &S,
    monitor: &str,
    granularity: Granularity,
) -> Vec<Rollup> {
    store
        .rollups(&monitor_id(monitor), granularity, FAR_PAST, FAR_FUTURE)
        .await
        .expect("rollups")
}

fn newest_first(results: &[CheckResult]) -> Vec<CheckResult> {
    let mut out = results.to_vec();
    out.sort_by_key(|r| std::cmp::Reverse(r.checked_at));
    out
}

/// Ten checks a minute apart, alternating up and down.
fn ten_checks(monitor: &str) -> Vec<CheckResult> {
    (0..10)
        .map(|i| {
            check(
                monitor,
                T0 + i * MINUTE,
                i % 2 == 0,
                100.0 + i as f64 * 0.25,
            )
        })
        .collect()
}

pub async fn history_is_newest_first_within_from_to_and_limit<S: PingLog + ?Sized>(store: &S) {
    let checks = ten_checks("api");
    let mut shuffled = checks.clone();
    shuffled.reverse();
    shuffled.swap(2, 7);
    store.append(&shuffled).await.expect("append");
    let api = monitor_id("api");
    let end = T0 + 10 * MINUTE;

    let all = store.history(&api, T0, end, 100).await.expect("history");
    assert_eq!(all, newest_first(&checks), "history must be newest first");

    let window = store
        .history(&api, T0 + 2 * MINUTE, T0 + 5 * MINUTE, 100)
        .await
        .expect("history");
    assert_eq!(
        window,
        newest_first(&checks[2..5]),
        "history bounds are from <= checked_at < to"
    );

    let limited = store.history(&api, T0, end, 3).await.expect("history");
    assert_eq!(
        limited,
        newest_first(&checks[7..10]),
        "limit keeps the newest results"
    );

    let limited_window = store
        .history(&api, T0, T0 + 5 * MINUTE, 2)
        .await
        .expect("history");
    assert_eq!(limited_window, newest_first(&checks[3..5]));

    assert!(
        store
            .history(&api, end, end + HOUR, 100)
            .await
            .expect("history")
            .is_empty(),
        "nothing after the last check"
    );
    assert!(
        store
            .history(&api, T0, end, 0)
            .await
            .expect("history")
            .is_empty(),
        "limit 0 returns nothing"
    );
}

pub async fn check_result_round_trips_exactly<S: PingLog + ?Sized>(store: &S) {
    let full = full_check("api", T0);
    let mut minimal = check("api", T0 + MINUTE, true, 0.0);
    minimal.status_code = None;
    let mut ipv4 = full_check("api", T0 + 2 * MINUTE);
    ipv4.ip = Some("192.0.2.10".to_owned());
    ipv4.success = true;
    ipv4.error = None;
    ipv4.failure_reason = None;
    ipv4.timings.dns_ms = None;
    ipv4.cert_expires_at = Some(-1);
    store
        .append(&[full.clone(), minimal.clone(), ipv4.clone()])
        .await
        .expect("append");

    assert_eq!(
        all_history(store, "api").await,
        vec![ipv4, minimal, full],
        "every field of a check result (timings, ip, certificate, error, conditions) \
         must come back exactly"
    );
}

pub async fn redelivered_batch_is_ignored<S: PingLog + ?Sized>(store: &S) {
    // Five checks over two hours, then the same batch again, then an overlapping one.
    let first: Vec<CheckResult> = (0..5)
        .map(|i| check("api", T0 + i * 25 * MINUTE, i != 2, 50.0 + i as f64))
        .collect();
    let overlapping: Vec<CheckResult> = vec![
        first[3].clone(),
        check("api", T0 + 125 * MINUTE, true, 70.5),
        first[4].clone(),
        check("api", T0 + 150 * MINUTE, false, 80.25),
    ];
    store.append(&first).await.expect("append");
    store
        .append(&first)
        .await
        .expect("append the same batch again");
    store
        .append(&overlapping)
        .await
        .expect("append an overlapping batch");

    let mut unique = first.clone();
    unique.push(overlapping[1].clone());
    unique.push(overlapping[3].clone());
    assert_eq!(
        all_history(store, "api").await,
        newest_first(&unique),
        "a redelivered check must not be stored twice"
    );
    for granularity in [Granularity::Hour, Granularity::Day] {
        assert_eq!(
            all_rollups(store, "api", granularity).await,
            expected_rollups(&unique, granularity),
            "{granularity:?} rollups must count each check once"
        );
    }
}

pub async fn duplicate_within_one_batch_is_stored_once<S: PingLog + ?Sized>(store: &S) {
    let a = check("api", T0, true, 10.0);
    let b = check("api", T0 + MINUTE, false, 20.0);
    store
        .append(&[a.clone(), b.clone(), a.clone()])
        .await
        .expect("append");

    assert_eq!(all_history(store, "api").await, vec![b.clone(), a.clone()]);
    assert_eq!(
        all_rollups(store, "api", Granularity::Hour).await,
        expected_rollups(&[a, b], Granularity::Hour),
        "a duplicate inside one batch must be counted once"
    );
}

pub async fn stored_result_is_not_replaced_by_a_later_duplicate<S: PingLog + ?Sized>(store: &S) {
    let stored = check("api", T0, true, 10.0);
    let mut later = check("api", T0, false, 9999.0);
    later.failure_reason = Some("retried".to_owned());
    store
        .append(std::slice::from_ref(&stored))
        .await
        .expect("append");
    store.append(&[later]).await.expect("append duplicate");

    assert_eq!(
        all_history(store, "api").await,
        vec![stored.clone()],
        "the first stored result for (monitor, checked_at) wins"
    );
    assert_eq!(
        all_rollups(store, "api", Granularity::Day).await,
        expected_rollups(&[stored], Granularity::Day)
    );
}

/// Checks over two days: several per hour, some hours skipped, appended in two batches
/// whose buckets overlap, so the adapter must update rollups it already stored.
fn two_days_of_checks(monitor: &str) -> Vec<CheckResult> {
    let offsets = [
        0,
        MINUTE,
        59 * MINUTE + 59_999,
        HOUR,
        HOUR + 30 * MINUTE,
        5 * HOUR,
        23 * HOUR + 59 * MINUTE,
        DAY,
        DAY + 1,
        DAY + 2 * HOUR,
        DAY + 23 * HOUR,
    ];
    offsets
        .iter()
        .enumerate()
        .map(|(i, off)| check(monitor, T0 + off, i % 3 != 1, 40.0 + i as f64 * 12.75))
        .collect()
}

pub async fn rollups_match_record_applied_by_hand<S: PingLog + ?Sized>(store: &S) {
    let checks = two_days_of_checks("api");
    let (first, second) = checks.split_at(4);
    // The second batch starts inside the last hour of the first.
    store.append(&first[..3]).await.expect("append");
    store.append(&first[3..]).await.expect("append");
    store.append(second).await.expect("append");

    let hourly = all_rollups(store, "api", Granularity::Hour).await;
    assert_eq!(
        hourly,
        expected_rollups(&checks, Granularity::Hour),
        "hourly rollups, oldest first, must equal Rollup::record applied by hand"
    );
    assert_eq!(hourly.len(), 7);
    let daily = all_rollups(store, "api", Granularity::Day).await;
    assert_eq!(
        daily,
        expected_rollups(&checks, Granularity::Day),
        "daily rollups, oldest first, must equal Rollup::record applied by hand"
    );
    assert_eq!(
        daily.iter().map(|r| r.bucket_start).collect::<Vec<_>>(),
        [T0, T0 + DAY]
    );
}

pub async fn rollups_are_bounded_by_from_and_to<S: PingLog + ?Sized>(store: &S) {
    let checks = two_days_of_checks("api");
    store.append(&checks).await.expect("append");
    let api = monitor_id("api");
    let hourly = expected_rollups(&checks, Granularity::Hour);
    let daily = expected_rollups(&checks, Granularity::Day);
    let hourly_between = |from: UnixMs, to: UnixMs| -> Vec<Rollup> {
        hourly
            .iter()
            .filter(|r| from <= r.bucket_start && r.bucket_start < to)
            .cloned()
            .collect()
    };

    for (from, to) in [
        (T0, T0 + HOUR),
        (T0 + 1, T0 + 6 * HOUR),
        (T0 + HOUR, T0 + DAY + 2 * HOUR),
        (T0 + DAY + 2 * HOUR, T0 + 2 * DAY),
        (T0 + 6 * HOUR, T0 + 23 * HOUR),
    ] {
        let got = store
            .rollups(&api, Granularity::Hour, from, to)
            .await
            .expect("rollups");
        assert_eq!(
            got,
            hourly_between(from, to),
            "hourly rollups for [{from}, {to}) must be those with from <= bucket_start < to"
        );
    }

    let got = store
        .rollups(&api, Granularity::Day, T0 + DAY, T0 + 30 * DAY)
        .await
        .expect("rollups");
    assert_eq!(got, daily[1..].to_vec());
    let got = store
        .rollups(&api, Granularity::Day, T0 + 1, T0 + DAY + 1)
        .await
        .expect("rollups");
    assert_eq!(
        got,
        daily[1..].to_vec(),
        "a bucket starting before `from` is left out"
    );
    let got = store
        .rollups(&api, Granularity::Day, T0 - DAY, T0 + DAY)
        .await
        .expect("rollups");
    assert_eq!(got, daily[..1].to_vec());
}

pub async fn prune_deletes_raw_results_but_keeps_rollups<S: PingLog + ?Sized>(store: &S) {
    let api = ten_checks("api");
    let web = ten_checks("web");
    store.append(&api).await.expect("append");
    store.append(&web).await.expect("append");
    let hourly_before = all_rollups(store, "api", Granularity::Hour).await;
    let daily_before = all_rollups(store, "api", Granularity::Day).await;

    let pruned = store.prune(T0 + 4 * MINUTE).await.expect("prune");
    assert_eq!(
        pruned, 8,
        "prune deletes results older than `before` of every monitor and says how many"
    );
    assert_eq!(all_history(store, "api").await, newest_first(&api[4..]));
    assert_eq!(all_history(store, "web").await, newest_first(&web[4..]));
    assert_eq!(
        all_rollups(store, "api", Granularity::Hour).await,
        hourly_before,
        "prune must keep hourly rollups"
    );
    assert_eq!(
        all_rollups(store, "api", Granularity::Day).await,
        daily_before,
        "prune must keep daily rollups"
    );
    assert_eq!(
        store.prune(T0 + 4 * MINUTE).await.expect("prune again"),
        0,
        "nothing left to prune"
    );
}

pub async fn monitors_are_isolated<S: PingLog + ?Sized>(store: &S) {
    // Same timestamps for both monitors: the key is (monitor, checked_at).
    let api = ten_checks("api");
    let web: Vec<CheckResult> = (0..10)
        .map(|i| check("web", T0 + i * MINUTE, false, 900.0))
        .collect();
    let mut mixed = api.clone();
    mixed.extend(web.iter().cloned());
    store.append(&mixed).await.expect("append");

    assert_eq!(all_history(store, "api").await, newest_first(&api));
    assert_eq!(all_history(store, "web").await, newest_first(&web));
    assert!(all_history(store, "other").await.is_empty());
    for granularity in [Granularity::Hour, Granularity::Day] {
        assert_eq!(
            all_rollups(store, "api", granularity).await,
            expected_rollups(&api, granularity)
        );
        assert_eq!(
            all_rollups(store, "web", granularity).await,
            expected_rollups(&web, granularity)
        );
        assert!(all_rollups(store, "other", granularity).await.is_empty());
    }
}

pub async fn empty_batch_is_a_no_op<S: PingLog + ?Sized>(store: &S) {
    store.append(&[]).await.expect("append of nothing");
    assert!(all_history(store, "api").await.is_empty());
    assert!(
        all_rollups(store, "api", Granularity::Hour)
            .await
            .is_empty()
    );
    assert_eq!(store.prune(FAR_FUTURE).await.expect("prune"), 0);
}

pub async fn large_batch_is_stored_whole<S: PingLog + ?Sized>(store: &S) {
    // 1,000 results from 50 monitors, as a busy prober would deliver them.
    let ids: Vec<String> = (0..50).map(|m| format!("m{m:02}")).collect();
    let batch: Vec<CheckResult> = (0..1000)
        .map(|i| {
            let monitor = &ids[i % 50];
            check(
                monitor,
                T0 + (i / 50) as i64 * 3 * MINUTE,
                i % 7 != 0,
                20.0 + (i % 13) as f64,
            )
        })
        .collect();
    store.append(&batch).await.expect("append");

    for monitor in [&ids[0], &ids[17], &ids[49]] {
        let mine: Vec<CheckResult> = batch
            .iter()
            .filter(|r| r.monitor_id.as_str() == monitor.as_str())
            .cloned()
            .collect();
        assert_eq!(mine.len(), 20);
        assert_eq!(all_history(store, monitor).await, newest_first(&mine));
        assert_eq!(
            all_rollups(store, monitor, Granularity::Hour).await,
            expected_rollups(&mine, Granularity::Hour)
        );
    }
}

/// Four days of checks for `monitor`: every 2 h 10 min, some down, so a window that
/// starts mid-day reads hourly edges and daily middles.
fn four_days_of_checks(monitor: &str, down_every: i64) -> Vec<CheckResult> {
    (0..44)
        .map(|i| {
            check(
                monitor,
                T0 + i * (2 * HOUR + 10 * MINUTE),
                i % down_every != 0,
                30.0 + i as f64,
            )
        })
        .collect()
}

/// Windows with ragged edges, whole days, and nothing at all.
fn sample_plans() -> Vec<WindowPlan> {
    vec![
        plan_window(T0 + 5 * HOUR + 1, T0 + 3 * DAY + 7 * HOUR),
        plan_window(T0, T0 + 4 * DAY),
        plan_window(T0 + 2 * HOUR, T0 + 9 * HOUR),
        plan_window(T0 + 30 * DAY, T0 + 31 * DAY),
        plan_window(T0 + DAY, T0 + DAY),
    ]
}

pub async fn window_rollups_are_the_plans_three_ranges<S: PingLog + ?Sized>(store: &S) {
    store
        .append(&four_days_of_checks("api", 5))
        .await
        .expect("append");
    store
        .append(&four_days_of_checks("web", 3))
        .await
        .expect("append");
    let api = monitor_id("api");
    for plan in sample_plans() {
        let mut expected = Vec::new();
        for (granularity, (from, to)) in crate::plan_parts(&plan) {
            if from < to {
                expected.extend(
                    store
                        .rollups(&api, granularity, from, to)
                        .await
                        .expect("rollups"),
                );
            }
        }
        let got = store.window_rollups(&api, &plan).await.expect("window");
        assert_eq!(
            got, expected,
            "window_rollups({plan:?}) must be the hourly-before, daily and hourly-after \
             rollups of that monitor, in that order"
        );
    }
}

pub async fn window_counts_sum_checks_and_up_per_monitor<S: PingLog + ?Sized>(store: &S) {
    let api_checks = four_days_of_checks("api", 5);
    let web_checks = four_days_of_checks("web", 3);
    store.append(&api_checks).await.expect("append");
    store.append(&web_checks).await.expect("append");
    let ids = [
        monitor_id("api"),
        monitor_id("web"),
        monitor_id("never-checked"),
    ];
    for plan in sample_plans() {
        let got = store.window_counts(&ids, &plan).await.expect("counts");
        let (start, end) = plan.span();
        for (id, checks) in [(&ids[0], &api_checks), (&ids[1], &web_checks)] {
            let inside: Vec<&CheckResult> = checks
                .iter()
                .filter(|c| start <= c.checked_at && c.checked_at < end)
                .collect();
            let expected = (!inside.is_empty()).then(|| CheckCounts {
                checks: inside.len() as u64,
                up: inside.iter().filter(|c| c.success).count() as u64,
            });
            assert_eq!(
                got.get(id).copied(),
                expected,
                "window_counts for {id} over {plan:?}: checks and up checks in the window, \
                 absent when there were none"
            );
        }
        assert!(
            !got.contains_key(&ids[2]),
            "a monitor without rollups is absent from window_counts"
        );
    }
    let only_web = store
        .window_counts(&ids[1..2], &sample_plans()[1])
        .await
        .expect("counts");
    assert_eq!(
        only_web.keys().collect::<Vec<_>>(),
        [&ids[1]],
        "window_counts answers only for the monitors asked about"
    );
    let none = store
        .window_counts(&[], &sample_plans()[1])
        .await
        .expect("counts");
    assert!(none.is_empty(), "no monitors asked, none answered");
}
