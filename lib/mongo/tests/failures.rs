//! Crash safety: a write step that never happens (failpoints stand in for a process or
//! server that died between two writes) and a server killed mid-batch and restarted.
//! Each test runs its own SecantusDB: failpoints are server-wide, and these tests kill it.

mod common;

use std::time::Duration;

use common::{OwnServer, TestDb, assert_holds_exactly, fail_commands, fail_off};
use mongodb::bson::{Bson, doc};
use sentinel_core::CheckResult;
use sentinel_core::stats::Granularity;
use sentinel_mongo::{MongoPingLog, MongoSettings};
use sentinel_store::contract::fixtures::{HOUR, MINUTE, T0, check, monitor_id};
use sentinel_store::{PingLog, StoreError};

/// Six monitors × 12 checks 25 minutes apart: 5 hours and 1–2 days per monitor.
fn spread(monitors: usize, start: i64) -> Vec<CheckResult> {
    (0..monitors * 12)
        .map(|i| {
            let m = i % monitors;
            let k = (i / monitors) as i64;
            check(
                &format!("m{m}"),
                start + k * 25 * MINUTE + 22 * HOUR,
                !(i + m).is_multiple_of(4),
                30.0 + (i % 9) as f64 * 0.5,
            )
        })
        .collect()
}

fn fast_settings() -> MongoSettings {
    MongoSettings {
        server_selection_timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(1),
        ..MongoSettings::default()
    }
}

async fn failing_append(store: &MongoPingLog, results: &[CheckResult]) {
    let err = store
        .append(results)
        .await
        .expect_err("the append must fail while the failpoint is on");
    assert!(err.is_retryable(), "a failed write is retryable: {err:?}");
}

async fn hours_and_days(store: &MongoPingLog, monitor: &str) -> (usize, usize) {
    let id = monitor_id(monitor);
    let h = store
        .rollups(&id, Granularity::Hour, 0, T0 * 2)
        .await
        .expect("rollups");
    let d = store
        .rollups(&id, Granularity::Day, 0, T0 * 2)
        .await
        .expect("rollups");
    (h.len(), d.len())
}

#[tokio::test]
async fn a_crash_after_any_single_write_is_repaired_by_the_redelivered_batch() {
    let server = OwnServer::start();
    let uri = server.uri();
    let always = || Bson::String("alwaysOn".to_owned());
    let skip = |n: i32| Bson::Document(doc! { "skip": n, "times": 100_000 });

    // Per append: find keys, `insert` raw, find hours, one `update` for all hours,
    // find days, one `update` for all days.

    // (a) Only the raw insert happened.
    let db = TestDb::on(&uri, fast_settings()).await;
    let batch = spread(6, T0);
    fail_commands(db.store(), &["update"], always(), doc! { "errorCode": 6 }).await;
    failing_append(db.store(), &batch).await;
    fail_off(db.store()).await;
    let raw = db
        .store()
        .history(&monitor_id("m0"), 0, T0 * 2, 1000)
        .await
        .expect("history");
    assert_eq!(raw.len(), 12, "the raw step committed before the crash");
    assert_eq!(
        hours_and_days(db.store(), "m0").await,
        (0, 0),
        "no rollup yet"
    );
    db.store().append(&batch).await.expect("redelivery");
    assert_holds_exactly(db.store(), &batch).await;
    drop(db);

    // (b) Raw and every hourly rollup, then the connection dropped before the days.
    let db = TestDb::on(&uri, fast_settings()).await;
    fail_commands(
        db.store(),
        &["update"],
        skip(1),
        doc! { "closeConnection": true },
    )
    .await;
    failing_append(db.store(), &batch).await;
    fail_off(db.store()).await;
    let (hours, days) = hours_and_days(db.store(), "m0").await;
    assert!(
        hours > 0 && days == 0,
        "hours written, days not: {hours} {days}"
    );
    db.store().append(&batch).await.expect("redelivery");
    assert_holds_exactly(db.store(), &batch).await;
    drop(db);

    // (c) Some hourly rollups only (a crash inside the unordered multi-statement
    //     update): all raw pings stored, a part of the batch folded, then the rest.
    let db = TestDb::on(&uri, fast_settings()).await;
    fail_commands(db.store(), &["update"], always(), doc! { "errorCode": 6 }).await;
    failing_append(db.store(), &batch).await;
    fail_off(db.store()).await;
    let part: Vec<CheckResult> = batch.iter().step_by(3).cloned().collect();
    fail_commands(db.store(), &["update"], skip(1), doc! { "errorCode": 6 }).await;
    failing_append(db.store(), &part).await;
    fail_off(db.store()).await;
    db.store().append(&batch).await.expect("redelivery");
    assert_holds_exactly(db.store(), &batch).await;
    drop(db);

    // (d) Existing buckets: a second batch crashes after its hourly update, a
    //     redelivery of the first batch comes in between, then the second again.
    let db = TestDb::on(&uri, fast_settings()).await;
    let first = spread(6, T0);
    let second: Vec<CheckResult> = spread(6, T0 + 7 * MINUTE);
    db.store().append(&first).await.expect("append");
    fail_commands(db.store(), &["update"], skip(1), doc! { "errorCode": 6 }).await;
    failing_append(db.store(), &second).await;
    fail_off(db.store()).await;
    db.store()
        .append(&first)
        .await
        .expect("redelivery of the first");
    db.store()
        .append(&second)
        .await
        .expect("redelivery of the second");
    let all: Vec<CheckResult> = first.iter().chain(second.iter()).cloned().collect();
    assert_holds_exactly(db.store(), &all).await;
    drop(db);

    // (e) The insert of the raw batch itself failed: nothing at all was written.
    let db = TestDb::on(&uri, fast_settings()).await;
    fail_commands(db.store(), &["insert"], always(), doc! { "errorCode": 6 }).await;
    failing_append(db.store(), &batch).await;
    fail_off(db.store()).await;
    db.store().append(&batch).await.expect("redelivery");
    assert_holds_exactly(db.store(), &batch).await;
}

#[tokio::test]
async fn after_a_crash_the_stored_copy_not_the_redelivered_one_is_counted() {
    let server = OwnServer::start();
    let db = TestDb::on(&server.uri(), fast_settings()).await;
    let stored: Vec<CheckResult> = (0..5)
        .map(|k| check("api", T0 + k * MINUTE, true, 10.0 + k as f64))
        .collect();
    fail_commands(
        db.store(),
        &["update"],
        Bson::String("alwaysOn".to_owned()),
        doc! { "errorCode": 6 },
    )
    .await;
    failing_append(db.store(), &stored).await;
    fail_off(db.store()).await;
    // The "same" checks come back different (a retried probe): the stored ones win.
    let later: Vec<CheckResult> = stored
        .iter()
        .map(|c| {
            let mut c = check("api", c.checked_at, false, 5_000.0);
            c.failure_reason = Some("retried".to_owned());
            c
        })
        .collect();
    db.store().append(&later).await.expect("redelivery");
    assert_holds_exactly(db.store(), &stored).await;
}

#[tokio::test]
async fn a_server_killed_mid_batch_and_restarted_loses_nothing_and_counts_nothing_twice() {
    let mut server = OwnServer::start();
    let db = TestDb::on(&server.uri(), fast_settings()).await;
    let store = db.store().clone();

    let before = spread(10, T0);
    store
        .append(&before)
        .await
        .expect("append before the crash");

    // A big batch in flight when the server dies.
    let big: Vec<CheckResult> = (0..5_000)
        .map(|i| {
            let m = i % 50;
            check(
                &format!("big{m:02}"),
                T0 + (i / 50) as i64 * MINUTE,
                i % 13 != 0,
                15.0 + (i % 20) as f64,
            )
        })
        .collect();
    let in_flight = {
        let store = store.clone();
        let big = big.clone();
        tokio::spawn(async move { store.append(&big).await })
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    server.kill();
    match in_flight.await.expect("task") {
        Ok(()) => eprintln!("the big batch finished before the kill"),
        Err(e) => assert!(
            e.is_retryable(),
            "mid-batch failure must be retryable: {e:?}"
        ),
    }

    // While the server is down: a retryable error, not a hang or a panic.
    let during = spread(3, T0 + 3 * HOUR);
    let err = store.append(&during).await.expect_err("server is down");
    assert!(matches!(err, StoreError::Backend { .. }), "{err:?}");

    server.restart();
    // Redeliver everything, as SQS would, until the client has reconnected.
    for batch in [&big, &during, &before] {
        let mut attempts = 0;
        loop {
            match store.append(batch).await {
                Ok(()) => break,
                Err(e) if e.is_retryable() && attempts < 20 => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => panic!("redelivery after restart failed: {e:?}"),
            }
        }
    }
    let all: Vec<CheckResult> = before
        .iter()
        .chain(big.iter())
        .chain(during.iter())
        .cloned()
        .collect();
    assert_holds_exactly(&store, &all).await;
    drop(db);
}

#[tokio::test]
async fn an_hour_written_between_read_and_write_is_folded_again_not_lost() {
    let server = OwnServer::start();
    let slow_settings = MongoSettings {
        app_name: Some("slow-prober".to_owned()),
        ..fast_settings()
    };
    let db = TestDb::on(&server.uri(), fast_settings()).await;
    let slow = MongoPingLog::connect(&server.uri(), db.name(), slow_settings)
        .await
        .expect("client");
    let fast = db.store();
    // The slow prober's hourly update stalls after it read the hour, long enough for
    // the fast one to fold the same hour first.
    fail_commands(
        fast,
        &["update"],
        Bson::Document(doc! { "times": 1 }),
        doc! { "blockConnection": true, "blockTimeMS": 1_500, "appName": "slow-prober" },
    )
    .await;
    let a: Vec<CheckResult> = (0..6)
        .map(|k| check("api", T0 + k * 2 * MINUTE, true, 10.0 + k as f64))
        .collect();
    let b: Vec<CheckResult> = (0..6)
        .map(|k| check("api", T0 + (k * 2 + 1) * MINUTE, k != 2, 20.0 + k as f64))
        .collect();
    let slow_append = slow.append_reporting(&a);
    let fast_append = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        fast.append_reporting(&b).await
    };
    let (ra, rb) = tokio::join!(slow_append, fast_append);
    let (ra, rb) = (ra.expect("slow append"), rb.expect("fast append"));
    fail_off(fast).await;
    assert!(
        ra.hour_conflicts + rb.hour_conflicts >= 1,
        "the slow prober must have met the fast one's write: {ra:?} {rb:?}"
    );
    let all: Vec<CheckResult> = a.iter().chain(b.iter()).cloned().collect();
    assert_holds_exactly(fast, &all).await;
}
