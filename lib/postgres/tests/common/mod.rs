//! A throw-away database per test on the shared test server: created (and migrated)
//! by [`TestDb::create`], dropped when the `TestDb` is dropped — also when the test
//! panics, since unwinding runs `Drop`.

#![allow(dead_code)] // each test binary uses its own part

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

use sentinel_postgres::{PgSettings, PgStore};

/// The superuser URL of the test server.
pub fn server_url() -> &'static str {
    sentinel_testkit::services::postgres_url()
}

/// A plain admin connection to the server's `postgres` database.
pub async fn admin() -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(server_url(), tokio_postgres::NoTls)
        .await
        .expect("connect to the test server as admin");
    tokio::spawn(connection);
    client
}

/// A fresh database name: unique per process and call, valid unquoted.
pub fn fresh_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let salt = RandomState::new().hash_one((std::process::id(), n));
    format!(
        "t_{:x}_{n}_{:012x}",
        std::process::id(),
        salt & 0xffff_ffff_ffff
    )
}

pub struct TestDb {
    pub name: String,
    pub settings: PgSettings,
    pub store: PgStore,
}

impl TestDb {
    /// A new database with every migration applied.
    pub async fn create() -> Self {
        let db = Self::create_empty().await;
        db.store.migrate().await.expect("migrate a fresh database");
        db
    }

    /// A new database with no tables.
    pub async fn create_empty() -> Self {
        Self::create_with(|s| s).await
    }

    /// A new database, with the store's settings adjusted by `tune`.
    pub async fn create_with(tune: impl FnOnce(PgSettings) -> PgSettings) -> Self {
        let name = fresh_name();
        admin()
            .await
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create a test database");
        // From here on, Drop removes the database even if the rest fails.
        let settings = tune(
            PgSettings::from_url(server_url())
                .expect("the test server URL parses")
                .with_database(&name),
        );
        let store = match PgStore::connect(&settings).await {
            Ok(store) => store,
            Err(e) => {
                drop_database(name.clone());
                panic!("connect to the test database: {e}");
            }
        };
        Self {
            name,
            settings,
            store,
        }
    }

    pub fn store(&self) -> &PgStore {
        &self.store
    }

    /// Another store on the same database (a second process, a second Lambda).
    pub async fn another_store(&self) -> PgStore {
        PgStore::connect(&self.settings)
            .await
            .expect("connect a second store")
    }

    /// A plain connection to this database.
    pub async fn raw_client(&self) -> tokio_postgres::Client {
        let mut config: tokio_postgres::Config = server_url().parse().expect("server URL parses");
        config.dbname(&self.name);
        let (client, connection) = config
            .connect(tokio_postgres::NoTls)
            .await
            .expect("connect to the test database");
        tokio::spawn(connection);
        client
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        self.store.close();
        drop_database(self.name.clone());
    }
}

/// Drops `name` from a thread with its own runtime: `Drop` cannot await, and the
/// test's runtime may be current-thread (where `block_in_place` is not allowed).
/// `WITH (FORCE)` ends connections the pool has not closed yet.
fn drop_database(name: String) {
    let dropped = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(server_url(), tokio_postgres::NoTls)
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(connection);
            client
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await
                .map_err(|e| e.to_string())
        })
    })
    .join();
    match dropped {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("could not drop a test database: {e}"),
        Err(_) => eprintln!("the thread dropping a test database panicked"),
    }
}
