//! The storage contract suite on SQLite: in memory for most behaviours, plus a file
//! database for the ones where separate read connections and WAL matter.

use sentinel_core::stats::Granularity;
use sentinel_embedded::{FolderBlobStore, SqliteStore};
use sentinel_store::contract::fixtures::{
    DAY, MINUTE, T0, check, delivery, expected_rollups, full_check, incident, live_state,
    monitor_id, monitor_spec,
};
use sentinel_store::{
    AlertLedger, CasOutcome, DeliveryStatus, IncidentStore, LiveStateStore, MonitorStore, PingLog,
    StoreError,
};

async fn in_memory() -> SqliteStore {
    SqliteStore::open_in_memory()
        .await
        .expect("in-memory store opens")
}

/// A store in a fresh file; the directory is removed when the test ends.
struct FileStore {
    store: SqliteStore,
    _dir: tempfile::TempDir,
}

impl FileStore {
    fn store(&self) -> &SqliteStore {
        &self.store
    }
}

async fn in_file() -> FileStore {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path().join("nested/dir/sentinel.db"))
        .await
        .expect("file store opens");
    FileStore { store, _dir: dir }
}

mod memory {
    use super::*;

    sentinel_store::contract_tests! {
        store: in_memory().await,
        ports: [
            monitors, ping_log, live_state, incidents, alert_ledger,
            users, tokens, api_keys, channels, monitor_records, rate_limits, blobs,
            ecs_accounts, ecs_snapshots, ecs_prune, ecs_incidents,
        ],
    }
}

mod file {
    use super::*;

    sentinel_store::contract_tests! {
        setup: in_file().await,
        store: FileStore::store,
        ports: [
            monitors, ping_log, live_state, incidents, alert_ledger,
            users, tokens, api_keys, channels, monitor_records, rate_limits, blobs,
            ecs_accounts, ecs_snapshots, ecs_prune, ecs_incidents,
        ],
    }
}

/// A [`FolderBlobStore`] in a fresh directory, inside a parent that the tests watch for
/// files written outside the root.
struct BlobDir {
    store: FolderBlobStore,
    parent: tempfile::TempDir,
}

impl BlobDir {
    fn store(&self) -> &FolderBlobStore {
        &self.store
    }
}

impl Drop for BlobDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let outside: Vec<_> = std::fs::read_dir(self.parent.path())
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.file_name())
                    .filter(|name| name != "root")
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            outside.is_empty(),
            "the folder store wrote outside its root: {outside:?}"
        );
    }
}

fn blob_dir() -> BlobDir {
    let parent = tempfile::tempdir().expect("temp dir");
    let store = FolderBlobStore::new(parent.path().join("root"));
    BlobDir { store, parent }
}

mod folder {
    use super::*;

    sentinel_store::contract_tests! {
        setup: blob_dir(),
        store: BlobDir::store,
        ports: [blobs],
    }
}

#[tokio::test]
async fn data_survives_closing_and_reopening_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("sentinel.db");

    let spec = monitor_spec("api", "API");
    let results = vec![
        full_check("api", T0),
        check("api", T0 + MINUTE, true, 12.5),
        check("api", T0 + DAY, false, 300.0),
    ];
    let mut state = live_state("api", 3);
    let inc = incident("api", T0);
    let claimed = delivery("api@1:down:1:slack", "api", T0);
    {
        let store = SqliteStore::open(&path).await.expect("open");
        store.upsert_monitor(&spec).await.expect("upsert");
        store.append(&results).await.expect("append");
        store.compare_and_set(&state, None).await.expect("cas");
        store.open_incident(&inc).await.expect("open incident");
        store
            .close_incident(&inc.id, T0 + 5 * MINUTE)
            .await
            .expect("close incident");
        store.claim(&claimed).await.expect("claim");
        store
            .finish(&claimed.key, DeliveryStatus::Sent, 1, None, T0 + 1)
            .await
            .expect("finish");
    }

    let store = SqliteStore::open(&path).await.expect("reopen");
    assert_eq!(store.get_monitor(&spec.id).await.expect("get"), Some(spec));
    let mut newest_first = results.clone();
    newest_first.reverse();
    assert_eq!(
        store
            .history(&monitor_id("api"), 0, T0 + 2 * DAY, 100)
            .await
            .expect("history"),
        newest_first
    );
    assert_eq!(
        store
            .rollups(&monitor_id("api"), Granularity::Day, 0, T0 + 2 * DAY)
            .await
            .expect("rollups"),
        expected_rollups(&results, Granularity::Day)
    );
    assert_eq!(
        store.get_state(&state.monitor_id).await.expect("get state"),
        Some(state.clone())
    );
    let mut closed = inc.clone();
    closed.ended_at = Some(T0 + 5 * MINUTE);
    assert_eq!(
        store.get_incident(&inc.id).await.expect("get incident"),
        Some(closed)
    );
    let delivered = store
        .get_delivery(&claimed.key)
        .await
        .expect("get delivery")
        .expect("delivery survives");
    assert_eq!(delivered.status, DeliveryStatus::Sent);
    assert!(
        !store.claim(&claimed).await.expect("claim"),
        "a claim made before the restart still holds"
    );

    // Versions continue where they were.
    state.version = 4;
    assert_eq!(
        store.compare_and_set(&state, Some(3)).await.expect("cas"),
        CasOutcome::Applied
    );
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("garbage.db");
    std::fs::write(&path, vec![0x42u8; 8192]).expect("write garbage");
    let err = SqliteStore::open(&path)
        .await
        .expect_err("garbage must not open");
    assert!(
        matches!(err, StoreError::Corrupt(_)) && !err.is_retryable(),
        "not a database is corrupt, not worth a retry: {err:?}"
    );
}

#[tokio::test]
async fn a_nan_response_time_does_not_fail_the_batch() {
    let store = in_memory().await;
    let mut odd = check("api", T0, false, f64::NAN);
    odd.timings.dns_ms = Some(f64::NAN);
    let fine = check("api", T0 + MINUTE, true, 10.0);
    store
        .append(&[odd, fine.clone()])
        .await
        .expect("a NaN must not poison the batch");

    let history = store
        .history(&monitor_id("api"), 0, T0 + DAY, 10)
        .await
        .expect("history");
    assert_eq!(history.len(), 2);
    assert_eq!(history[0], fine);
    assert!(history[1].timings.total_ms.is_nan());
}

#[tokio::test]
async fn a_clone_shares_the_database() {
    let store = in_memory().await;
    let clone = store.clone();
    clone
        .upsert_monitor(&monitor_spec("api", "API"))
        .await
        .expect("upsert");
    assert_eq!(store.list_monitors().await.expect("list").len(), 1);
}

/// Writes `sql` straight into the file behind `store`, as damage from outside would.
fn tamper(store: &SqliteStore, sql: &str) {
    let path = store.path().expect("a file store");
    let conn = rusqlite::Connection::open(path).expect("open the file directly");
    conn.execute_batch(sql).expect("tamper");
}

#[tokio::test]
async fn ecs_an_account_with_corrupt_regions_is_corrupt() {
    use sentinel_store::EcsAccountStore;
    use sentinel_store::contract::ecs_accounts::ecs_account;

    let file = in_file().await;
    let store = file.store();
    store
        .create_ecs_account(&ecs_account("acc-1", "111111111111", T0))
        .await
        .expect("create");
    tamper(
        store,
        "UPDATE aws_accounts SET regions = '[\"eu-west-1\", ' WHERE id = 'acc-1'",
    );

    for err in [
        store
            .get_ecs_account("acc-1")
            .await
            .expect_err("get must fail"),
        store.list_ecs_accounts().await.expect_err("list must fail"),
    ] {
        assert!(
            matches!(err, StoreError::Corrupt(_)) && !err.is_retryable(),
            "corrupt, not worth a retry: {err:?}"
        );
    }
}

#[tokio::test]
async fn ecs_corrupt_settings_and_snapshots_are_corrupt() {
    use sentinel_core::ecs::Health;
    use sentinel_store::contract::ecs_snapshots::{ACCOUNT_A, REGION, service_key, snapshot};
    use sentinel_store::{EcsAccountStore, EcsSnapshotStore};

    let file = in_file().await;
    let store = file.store();
    let web = service_key(ACCOUNT_A, REGION, "prod", "web");
    store
        .replace_snapshots(
            ACCOUNT_A,
            REGION,
            &[snapshot(&web, Health::Healthy, T0)],
            T0,
        )
        .await
        .expect("replace");
    tamper(
        store,
        "INSERT INTO settings (key, value) VALUES ('ecs', '{\"users_can_view_ecs\": \"yes\"}');
         UPDATE ecs_snapshots SET snapshot = '{}';",
    );
    let err = store.ecs_settings().await.expect_err("settings must fail");
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    let err = store
        .get_snapshot(&web)
        .await
        .expect_err("snapshot must fail");
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    let err = store.list_snapshots().await.expect_err("list must fail");
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
}

#[tokio::test]
async fn ecs_data_survives_closing_and_reopening_the_file() {
    use sentinel_core::ecs::{EcsMetric, Health};
    use sentinel_store::contract::ecs_accounts::ecs_account;
    use sentinel_store::contract::ecs_snapshots::{
        ACCOUNT_A, REGION, point, service_key, snapshot,
    };
    use sentinel_store::{EcsAccountStore, EcsSettings, EcsSnapshotStore};

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("sentinel.db");
    let account = ecs_account("acc-1", ACCOUNT_A, T0);
    let web = service_key(ACCOUNT_A, REGION, "prod", "web");
    let snap = snapshot(&web, Health::Degraded, T0);
    let open = EcsSettings {
        users_can_view_ecs: true,
    };
    {
        let store = SqliteStore::open(&path).await.expect("open");
        store.create_ecs_account(&account).await.expect("create");
        store.set_ecs_settings(&open).await.expect("settings");
        store
            .replace_snapshots(ACCOUNT_A, REGION, std::slice::from_ref(&snap), T0)
            .await
            .expect("replace");
        store
            .append_metrics(&web, EcsMetric::Cpu, &[point(T0, 12.5, 80.0)])
            .await
            .expect("append");
    }
    let store = SqliteStore::open(&path).await.expect("reopen");
    assert_eq!(
        store.get_ecs_account("acc-1").await.expect("get"),
        Some(account)
    );
    assert_eq!(store.ecs_settings().await.expect("settings"), open);
    assert_eq!(store.list_snapshots().await.expect("list"), vec![snap]);
    assert_eq!(
        store
            .metrics(&web, EcsMetric::Cpu, T0, T0 + DAY)
            .await
            .expect("metrics"),
        [point(T0, 12.5, 80.0)]
    );
}
