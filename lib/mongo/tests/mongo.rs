//! Behaviours of the MongoDB adapter beyond the shared contract: schema, batch shape,
//! concurrency, and rough timings (printed, never asserted).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{TestDb, assert_holds_exactly};
use futures::future::join_all;
use mongodb::Client;
use mongodb::bson::{Document, doc};
use mongodb::event::EventHandler;
use mongodb::event::command::CommandEvent;
use mongodb::options::ClientOptions;
use sentinel_core::CheckResult;
use sentinel_core::stats::{Granularity, plan_window};
use sentinel_mongo::{MongoPingLog, MongoSettings, PING_LOGS};
use sentinel_store::PingLog;
use sentinel_store::contract::fixtures::{DAY, HOUR, MINUTE, T0, check, monitor_id};
use sentinel_testkit::services;

fn batch(monitors: usize, per_monitor: usize, step: i64, start: i64) -> Vec<CheckResult> {
    (0..monitors * per_monitor)
        .map(|i| {
            let m = i % monitors;
            let k = (i / monitors) as i64;
            check(
                &format!("m{m:03}"),
                start + k * step,
                !(i + m).is_multiple_of(11),
                10.0 + ((i * 7) % 400) as f64 * 0.25,
            )
        })
        .collect()
}

async fn collection_options(db: &TestDb) -> Document {
    let client = db.store().database();
    let reply = client
        .run_command(doc! { "listCollections": 1, "filter": { "name": PING_LOGS } })
        .await
        .expect("listCollections");
    let first = reply
        .get_document("cursor")
        .and_then(|c| c.get_array("firstBatch"))
        .expect("cursor.firstBatch")
        .first()
        .and_then(|b| b.as_document())
        .cloned()
        .expect("ping_logs is listed");
    first.get_document("options").cloned().unwrap_or_default()
}

#[tokio::test]
async fn ensure_schema_makes_a_time_series_collection_with_ttl_and_is_idempotent() {
    let settings = MongoSettings {
        retention: Some(Duration::from_secs(30 * 86_400)),
        ..MongoSettings::default()
    };
    let db = TestDb::on(services::mongodb_uri(), settings.clone()).await;
    // Twice more, concurrently: start-up of two Lambdas at once.
    let again = MongoPingLog::connect(services::mongodb_uri(), db.name(), settings)
        .await
        .expect("client");
    let (a, b) = tokio::join!(db.store().ensure_schema(), again.ensure_schema());
    a.expect("second ensure_schema");
    b.expect("third ensure_schema");

    let options = collection_options(&db).await;
    let ts = options
        .get_document("timeseries")
        .expect("a time-series collection");
    assert_eq!(ts.get_str("timeField").ok(), Some("checkedAt"));
    assert_eq!(ts.get_str("metaField").ok(), Some("monitorId"));
    assert_eq!(ts.get_str("granularity").ok(), Some("seconds"));
    let ttl = options.get("expireAfterSeconds").and_then(|v| match v {
        mongodb::bson::Bson::Int32(n) => Some(i64::from(*n)),
        mongodb::bson::Bson::Int64(n) => Some(*n),
        _ => None,
    });
    assert_eq!(ttl, Some(30 * 86_400));
}

#[tokio::test]
async fn five_thousand_results_go_in_one_insert_many() {
    let inserts = Arc::new(AtomicUsize::new(0));
    let counter = inserts.clone();
    let uri = services::mongodb_uri();
    let mut options = ClientOptions::parse(uri).await.expect("uri");
    options.command_event_handler = Some(EventHandler::callback(move |ev: CommandEvent| {
        if let CommandEvent::Started(s) = ev
            && s.command_name == "insert"
            && s.command.get_str("insert").ok() == Some(PING_LOGS)
        {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    }));
    let client = Client::with_options(options).expect("client");
    let db = TestDb::with_client(&client, uri).await;

    // 100 monitors × 50 checks a minute apart: 5,000 results, 100 × 1–2 hours.
    let results = batch(100, 50, MINUTE, T0 + 30 * MINUTE);
    let started = Instant::now();
    let report = db.store().append_reporting(&results).await.expect("append");
    eprintln!("append of 5,000 results: {:?}", started.elapsed());
    assert_eq!(report.inserted, 5_000);
    assert_eq!(
        inserts.load(Ordering::SeqCst),
        1,
        "one insert command for the batch"
    );
    assert_holds_exactly(db.store(), &results).await;

    // Redelivered whole: nothing inserted, nothing rewritten.
    let again = db.store().append_reporting(&results).await.expect("append");
    assert_eq!(again, Default::default(), "a redelivery writes nothing");
    assert_eq!(inserts.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn concurrent_appends_for_different_and_the_same_monitors_are_exact() {
    let db = TestDb::create().await;
    let store = db.store();
    // 20 monitors, each batch one monitor's; plus 4 batches that all hit monitor m000's
    // same hours with disjoint keys, plus a redelivery of each, all at once.
    let mut batches: Vec<Vec<CheckResult>> = (0..20)
        .map(|m| {
            (0..30)
                .map(|k| {
                    check(
                        &format!("m{m:03}"),
                        T0 + k * 7 * MINUTE,
                        k % 5 != 0,
                        40.0 + k as f64,
                    )
                })
                .collect()
        })
        .collect();
    for part in 0..4 {
        batches.push(
            (0..15)
                .map(|k| {
                    check(
                        "same",
                        T0 + (k * 4 + part) * MINUTE + 13,
                        k % 3 != 0,
                        5.5 + k as f64,
                    )
                })
                .collect(),
        );
    }
    let all: Vec<CheckResult> = batches.iter().flatten().cloned().collect();
    let redelivered = batches.clone();
    let appends = batches
        .iter()
        .chain(redelivered.iter())
        .map(|b| store.append(b));
    for result in join_all(appends).await {
        result.expect("append");
    }
    assert_holds_exactly(store, &all).await;
}

#[tokio::test]
async fn history_limit_and_window_reads_ignore_a_raced_duplicate() {
    // Two raw copies of one key can only come from two deliveries racing through the
    // key lookup; write the second copy by hand and check it never shows.
    let db = TestDb::create().await;
    let first = check("api", T0 + MINUTE, true, 10.0);
    let others = [
        check("api", T0, true, 11.0),
        check("api", T0 + 2 * MINUTE, false, 12.0),
    ];
    db.store()
        .append(std::slice::from_ref(&first))
        .await
        .expect("append");
    db.store().append(&others).await.expect("append");
    let mut copy = check("api", T0 + MINUTE, false, 999.0);
    copy.failure_reason = Some("late copy".to_owned());
    db.store()
        .database()
        .collection::<Document>(PING_LOGS)
        .insert_one(doc! {
            "checkedAt": mongodb::bson::DateTime::from_millis(copy.checked_at),
            "monitorId": "api",
            "success": false,
            "totalMs": 999.0,
            "failureReason": "late copy",
        })
        .await
        .expect("raw insert");
    let api = monitor_id("api");
    let all = db
        .store()
        .history(&api, 0, T0 + DAY, 10)
        .await
        .expect("history");
    assert_eq!(
        all,
        vec![others[1].clone(), first.clone(), others[0].clone()]
    );
    let two = db
        .store()
        .history(&api, 0, T0 + DAY, 2)
        .await
        .expect("history");
    assert_eq!(two, vec![others[1].clone(), first.clone()]);
    // And a redelivery still counts the stored (first) copy once.
    db.store().append(&[copy]).await.expect("append");
    let hour = db
        .store()
        .rollups(&api, Granularity::Hour, T0, T0 + HOUR)
        .await
        .expect("rollups");
    assert_eq!((hour[0].checks, hour[0].up), (3, 2));
}

#[tokio::test]
async fn purge_monitor_removes_its_pings_and_rollups_only() {
    let db = TestDb::create().await;
    let results = batch(2, 10, 10 * MINUTE, T0);
    db.store().append(&results).await.expect("append");
    let gone = db
        .store()
        .purge_monitor(&monitor_id("m000"))
        .await
        .expect("purge");
    assert!(gone >= 10);
    let m0 = monitor_id("m000");
    assert!(
        db.store()
            .history(&m0, 0, T0 + DAY, 100)
            .await
            .expect("h")
            .is_empty()
    );
    assert!(
        db.store()
            .rollups(&m0, Granularity::Day, 0, T0 + DAY)
            .await
            .expect("r")
            .is_empty()
    );
    let rest: Vec<CheckResult> = results
        .into_iter()
        .filter(|r| r.monitor_id.as_str() == "m001")
        .collect();
    assert_holds_exactly(db.store(), &rest).await;
}

/// Rough timings on the test server; run with `--ignored --nocapture`.
#[tokio::test]
#[ignore = "prints timings; run by hand"]
async fn timings() {
    let db = TestDb::create().await;
    let store = db.store();
    // 90 days of one monitor, a check every 30 minutes in day-sized batches: the
    // window reads the same ~2,160 hourly + 90 daily rollups as at any interval.
    let start = T0;
    let t = Instant::now();
    for day in 0..90 {
        let day_batch: Vec<CheckResult> = (0..48)
            .map(|k| {
                check(
                    "api",
                    start + day * DAY + k * 30 * MINUTE,
                    k % 17 != 0,
                    20.0 + (k % 40) as f64,
                )
            })
            .collect();
        store.append(&day_batch).await.expect("append");
    }
    eprintln!("90 day-batches of 48 results: {:?}", t.elapsed());
    let plan = plan_window(start + 5 * HOUR + 17, start + 90 * DAY - 3 * HOUR);
    let api = monitor_id("api");
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        let rollups = store.window_rollups(&api, &plan).await.expect("window");
        best = best.min(t.elapsed());
        assert!(!rollups.is_empty());
    }
    eprintln!("90-day window_rollups: best of 5 {best:?}");

    let ids: Vec<_> = (0..100).map(|m| monitor_id(&format!("m{m:03}"))).collect();
    let mut append_times = Vec::new();
    for round in 0..10 {
        let b = batch(100, 1, MINUTE, start + round * MINUTE);
        let t = Instant::now();
        store.append(&b).await.expect("append");
        append_times.push(t.elapsed());
    }
    append_times.sort();
    eprintln!(
        "append of 100 results (100 monitors): median {:?}, max {:?}",
        append_times[5], append_times[9]
    );
    let single: Vec<CheckResult> = (0..100)
        .map(|k| check("solo", start + k * 10_000, true, 5.0))
        .collect();
    let t = Instant::now();
    store.append(&single).await.expect("append");
    eprintln!("append of 100 results (1 monitor): {:?}", t.elapsed());
    let t = Instant::now();
    store.append(&single).await.expect("append");
    eprintln!("redelivery of those 100: {:?}", t.elapsed());
    let t = Instant::now();
    let counts = store
        .window_counts(&ids, &plan_window(start, start + DAY))
        .await
        .expect("counts");
    eprintln!(
        "window_counts of 100 monitors over a day: {:?} ({} answered)",
        t.elapsed(),
        counts.len()
    );
}
