use sentinel_embedded::SqliteStore;
use sentinel_store::PingLog;
use sentinel_store::contract::fixtures::{T0, check, full_check};
use std::time::Instant;

#[tokio::test(flavor = "multi_thread")]
#[ignore]
async fn perf() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("p.db")).await.unwrap();
    let ids: Vec<String> = (0..10_000).map(|i| format!("monitor-{i:05}")).collect();
    // 10k monitors, one check a minute; batches of 200 consecutive in schedule order.
    let mut times = Vec::new();
    let minutes = 60;
    let t = Instant::now();
    for m in 0..minutes {
        for chunk in ids.chunks(200) {
            let batch: Vec<_> = chunk
                .iter()
                .enumerate()
                .map(|(k, id)| {
                    let at = T0 + m * 60_000 + k as i64 * 7;
                    if k % 10 == 0 {
                        let mut c = full_check(id, at);
                        c.success = true;
                        c
                    } else {
                        check(id, at, k % 17 != 0, 20.0 + (k % 300) as f64)
                    }
                })
                .collect();
            let s = Instant::now();
            store.append(&batch).await.unwrap();
            times.push(s.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let total = t.elapsed();
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = times.len();
    println!(
        "batches={n} rows={} total={:?} p50={:.2}ms p95={:.2}ms p99={:.2}ms max={:.2}ms",
        n * 200,
        total,
        times[n / 2],
        times[n * 95 / 100],
        times[n * 99 / 100],
        times[n - 1]
    );
    let s = Instant::now();
    let h = store
        .history(
            &sentinel_store::contract::fixtures::monitor_id("monitor-04242"),
            0,
            i64::MAX,
            100,
        )
        .await
        .unwrap();
    println!("history {} rows in {:?}", h.len(), s.elapsed());
    let s = Instant::now();
    let n = store.prune(T0 + 30 * 60_000).await.unwrap();
    println!("prune {n} rows in {:?}", s.elapsed());
    let meta = std::fs::metadata(dir.path().join("p.db")).unwrap();
    println!("db size {} MB", meta.len() / 1_000_000);
}
