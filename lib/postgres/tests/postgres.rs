//! Behaviours of the PostgreSQL adapter beyond the contract suite: migrations,
//! connection failures, settings against a real server.

mod common;

use std::time::Duration;

use common::{TestDb, admin, server_url};
use sentinel_core::account::UserId;
use sentinel_postgres::{MIGRATIONS, PgError, PgSettings, PgStore, SslMode, StoreError};
use sentinel_store::contract::fixtures::{T0, delivery, incident, monitor_id, monitor_spec, user};
use sentinel_store::{AlertLedger, IncidentStore, MonitorStore, UserStore};

const TABLES: [&str; 12] = [
    "users",
    "refresh_tokens",
    "password_reset_tokens",
    "api_keys",
    "monitors",
    "alert_channels",
    "aws_accounts",
    "rate_limits",
    "incidents",
    "alert_deliveries",
    "settings",
    "schema_migrations",
];

async fn tables(db: &TestDb) -> Vec<String> {
    db.raw_client()
        .await
        .query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = 'public' ORDER BY 1",
            &[],
        )
        .await
        .expect("list tables")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn migrate_creates_every_table_and_a_second_run_is_a_no_op() {
    let db = TestDb::create_empty().await;
    let first = db.store.migrate().await.expect("first migrate");
    let versions: Vec<i32> = first.iter().map(|m| m.version).collect();
    assert_eq!(
        versions,
        MIGRATIONS.iter().map(|m| m.version).collect::<Vec<_>>()
    );

    let mut expected: Vec<String> = TABLES.iter().map(|t| t.to_string()).collect();
    expected.sort();
    assert_eq!(tables(&db).await, expected);

    assert!(
        db.store.migrate().await.expect("second migrate").is_empty(),
        "nothing is applied twice"
    );
    let recorded: i64 = db
        .raw_client()
        .await
        .query_one("SELECT count(*) FROM schema_migrations", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(recorded, MIGRATIONS.len() as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_migrations_apply_each_file_exactly_once() {
    let db = TestDb::create_empty().await;
    let stores = [
        db.store.clone(),
        db.another_store().await,
        db.another_store().await,
    ];
    let runs = futures::future::join_all(stores.iter().map(|s| s.migrate())).await;
    let mut applied: Vec<i32> = runs
        .into_iter()
        .flat_map(|r| r.expect("a concurrent migrate must not fail"))
        .map(|m| m.version)
        .collect();
    applied.sort_unstable();
    assert_eq!(
        applied,
        MIGRATIONS.iter().map(|m| m.version).collect::<Vec<_>>(),
        "every migration applied once across all runs"
    );
    for store in &stores {
        store.close();
    }
    assert_eq!(tables(&db).await.len(), TABLES.len());
}

#[tokio::test]
async fn a_migration_changed_after_it_was_applied_is_refused() {
    let db = TestDb::create().await;
    db.raw_client()
        .await
        .execute(
            "UPDATE schema_migrations SET checksum = repeat('0', 64) WHERE version = 1",
            &[],
        )
        .await
        .expect("tamper");

    let err = db.store.migrate().await.expect_err("must refuse");
    assert!(
        matches!(err, PgError::ChecksumMismatch { version: 1, .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("changed after it was applied"),
        "{message}"
    );
    assert!(!err.is_retryable());
    assert!(matches!(StoreError::from(err), StoreError::Corrupt(_)));
}

#[tokio::test]
async fn a_database_migrated_by_a_newer_build_is_refused() {
    let db = TestDb::create().await;
    db.raw_client()
        .await
        .execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (999, 'future', 'x')",
            &[],
        )
        .await
        .expect("insert");

    let err = db.store.migrate().await.expect_err("must refuse");
    assert!(
        matches!(err, PgError::UnknownMigration { version: 999, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("upgrade Sentinel"));
}

/// Waits until a backend of `db` (other than admin ones) waits on a lock; returns its pid.
async fn lock_waiter(db: &TestDb, admin: &tokio_postgres::Client) -> i32 {
    for _ in 0..200 {
        let row = admin
            .query_opt(
                "SELECT pid FROM pg_stat_activity
                 WHERE datname = $1 AND wait_event_type = 'Lock' LIMIT 1",
                &[&db.name],
            )
            .await
            .expect("pg_stat_activity");
        if let Some(row) = row {
            return row.get(0);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no query of the store ever waited on the lock");
}

#[tokio::test]
async fn a_connection_killed_mid_query_fails_that_call_retryably_and_the_next_call_works() {
    let db = TestDb::create_with(|s| s.with_pool_size(1)).await;
    db.store.migrate().await.expect("migrate");
    db.store
        .create_user(&user("ana", T0))
        .await
        .expect("create");

    // Hold a lock so the store's query is in flight on its connection when it dies.
    let mut blocker = db.raw_client().await;
    let tx = blocker.transaction().await.expect("begin");
    tx.batch_execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("lock");
    let admin = admin().await;
    let (result, ()) = tokio::join!(db.store.count_users(), async {
        let pid = lock_waiter(&db, &admin).await;
        let killed: bool = admin
            .query_one("SELECT pg_terminate_backend($1, 5000)", &[&pid])
            .await
            .expect("terminate")
            .get(0);
        assert!(killed);
    });
    tx.rollback().await.expect("release the lock");

    let err = result.expect_err("a query on a killed connection fails");
    assert!(
        matches!(err, StoreError::Backend { .. }) && err.is_retryable(),
        "a dropped connection is a retryable backend error, got {err:?}"
    );
    // The dead connection is not handed out again: the pool opens a new one.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        db.store.count_users().await.expect("the next call works"),
        1
    );
}

#[tokio::test]
async fn a_connection_killed_while_idle_is_replaced() {
    let db = TestDb::create_with(|s| s.with_pool_size(1)).await;
    db.store.migrate().await.expect("migrate");
    db.store
        .create_user(&user("ana", T0))
        .await
        .expect("create");

    let admin = admin().await;
    let killed: i64 = admin
        .query_one(
            "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity
             WHERE datname = $1 AND application_name = 'sentinel'",
            &[&db.name],
        )
        .await
        .expect("terminate")
        .get(0);
    assert_eq!(killed, 1, "the pool's one connection");

    // The first call may or may not notice first; it never panics or reports corruption.
    match db.store.count_users().await {
        Ok(n) => assert_eq!(n, 1),
        Err(e) => assert!(e.is_retryable(), "{e:?}"),
    }
    assert_eq!(
        db.store.count_users().await.expect("the next call works"),
        1
    );
}

#[tokio::test]
async fn checking_connections_on_checkout_hides_an_idle_kill() {
    let db = TestDb::create_with(|s| s.with_pool_size(1).with_check_on_checkout(true)).await;
    db.store.migrate().await.expect("migrate");
    let admin = admin().await;
    admin
        .execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
             WHERE datname = $1 AND application_name = 'sentinel'",
            &[&db.name],
        )
        .await
        .expect("terminate");
    assert_eq!(
        db.store
            .count_users()
            .await
            .expect("a checked checkout replaces the dead connection"),
        0
    );
}

#[tokio::test]
async fn a_pool_of_one_serves_concurrent_calls() {
    let db = TestDb::create_with(|s| s.with_pool_size(1)).await;
    db.store.migrate().await.expect("migrate");
    let calls = (0..8).map(|i| {
        let store = db.store.clone();
        async move { store.create_user(&user(&format!("u{i}"), T0 + i)).await }
    });
    for result in futures::future::join_all(calls).await {
        result.expect("every call waits its turn and succeeds");
    }
    assert_eq!(db.store.count_users().await.expect("count"), 8);
}

#[tokio::test]
async fn undecodable_stored_data_is_corrupt_not_retryable() {
    let db = TestDb::create().await;
    db.raw_client()
        .await
        .batch_execute(
            "INSERT INTO monitors (id, spec, origin, created_at, updated_at)
             VALUES ('broken', '{\"not\": \"a spec\"}', 'config', 0, 0);
             -- as if a newer build had added a role
             ALTER TABLE users DROP CONSTRAINT users_role_check;
             INSERT INTO users VALUES ('u1', 'u1@example.com', 'superhero', 'x', false, 0, 0);",
        )
        .await
        .expect("insert bad rows");

    let err = db
        .store
        .get_monitor(&monitor_id("broken"))
        .await
        .expect_err("a bad spec cannot decode");
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    assert!(!err.is_retryable());
    let err = db
        .store
        .get_user(&UserId("u1".into()))
        .await
        .expect_err("an unknown role cannot decode");
    assert!(
        matches!(err, StoreError::Corrupt(ref m) if m.contains("superhero")),
        "{err:?}"
    );
}

#[tokio::test]
async fn deleting_a_monitor_deletes_its_incidents_and_deliveries() {
    let db = TestDb::create().await;
    let store = &db.store;
    for id in ["gone", "keep"] {
        store
            .upsert_monitor(&monitor_spec(id, id))
            .await
            .expect("upsert");
        store.open_incident(&incident(id, T0)).await.expect("open");
        store
            .claim(&delivery(&format!("{id}:down:slack"), id, T0))
            .await
            .expect("claim");
    }

    assert!(
        store
            .delete_monitor(&monitor_id("gone"))
            .await
            .expect("delete")
    );
    assert!(
        store
            .list_incidents(&monitor_id("gone"), 10)
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(
        store.get_delivery("gone:down:slack").await.expect("get"),
        None
    );
    assert_eq!(
        store
            .list_incidents(&monitor_id("keep"), 10)
            .await
            .expect("list")
            .len(),
        1
    );
    assert!(
        store
            .get_delivery("keep:down:slack")
            .await
            .expect("get")
            .is_some()
    );
}

#[tokio::test]
async fn an_unreachable_server_is_a_clear_retryable_error() {
    let port = sentinel_testkit::services::free_port();
    let settings = PgSettings::from_url(&format!(
        "postgres://sentinel@127.0.0.1:{port}/db?sslmode=disable&connect_timeout=2"
    ))
    .expect("parses");
    let err = PgStore::connect(&settings)
        .await
        .expect_err("nobody listens");
    assert!(err.is_retryable(), "{err:?}");
    assert!(err.to_string().contains("connect"), "{err}");
    assert!(StoreError::from(err).is_retryable());
}

#[tokio::test]
async fn a_missing_database_is_named_in_the_error() {
    let settings = PgSettings::from_url(server_url())
        .expect("parses")
        .with_database("no_such_database_here");
    let err = PgStore::connect(&settings)
        .await
        .expect_err("no such database");
    assert!(
        err.to_string().contains("no_such_database_here"),
        "the server's message is kept: {err}"
    );
}

#[tokio::test]
async fn bad_urls_fail_before_connecting() {
    for (url, says) in [
        ("mysql://root@127.0.0.1/db", "postgres://"),
        ("postgres://u@127.0.0.1/db?sslmode=maybe", "sslmode"),
        ("postgres://u@127.0.0.1:99999/db", "port"),
        ("postgres://u@127.0.0.1/db?pool_size=-1", "pool_size"),
    ] {
        let err = PgSettings::from_url(url).expect_err(url);
        assert!(matches!(err, PgError::InvalidUrl(_)), "{url}: {err:?}");
        assert!(err.to_string().contains(says), "{url}: {err}");
    }
}

#[tokio::test]
async fn sslmode_is_honoured_against_the_server() {
    let ssl_on: String = admin()
        .await
        .query_one("SHOW ssl", &[])
        .await
        .expect("show ssl")
        .get(0);
    for mode in [SslMode::Disable, SslMode::Prefer] {
        let settings = PgSettings::from_url(server_url())
            .expect("parses")
            .with_ssl_mode(mode);
        let store = PgStore::connect(&settings)
            .await
            .unwrap_or_else(|e| panic!("{mode:?} connects: {e}"));
        store.close();
    }
    let require = PgSettings::from_url(server_url())
        .expect("parses")
        .with_ssl_mode(SslMode::Require);
    let result = PgStore::connect(&require).await;
    if ssl_on == "on" {
        result.expect("require connects to a TLS server");
    } else {
        let err = result.expect_err("require refuses a server without TLS");
        assert!(err.to_string().contains("TLS"), "{err}");
    }
}
