//! PostgreSQL adapters for Sentinel's storage ports: accounts (users, tokens, API keys,
//! alert channels), monitors, incidents, the alert ledger, rate limits and the watched
//! ECS accounts with their settings, plus the SQL migrations that create their tables
//! (`migrations/`, applied by [`migrate`]).
//!
//! ```ignore
//! let settings = PgSettings::from_url(&database_url)?;   // sslmode, sslrootcert, pool_size
//! let store = PgStore::connect(&settings).await?;       // fails fast if unreachable
//! store.migrate().await?;                               // `sentinel migrate`, or at start
//! ```
//!
//! One [`PgStore`] holds a small connection pool; build it once (in `main`, outside a
//! Lambda handler) so a warm Lambda reuses its connection. A dropped connection fails
//! the call that was using it with a retryable [`StoreError::Backend`] and is replaced
//! on the next checkout.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime, Timeouts};

mod alert_ledger;
mod api_keys;
mod channels;
mod ecs;
mod error;
mod incidents;
mod migrate;
mod monitors;
mod rate_limits;
mod settings;
mod tls;
mod tokens;
mod users;

pub use error::PgError;
pub use migrate::{AppliedMigration, MIGRATIONS, Migration, migrate};
pub use settings::{DEFAULT_POOL_SIZE, PgSettings, SslMode};

pub use sentinel_store::StoreError;

/// The PostgreSQL store: every port this crate implements, over one connection pool.
/// Cloning is cheap and shares the pool.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self.pool.status();
        f.debug_struct("PgStore")
            .field("pool_size", &status.max_size)
            .field("connections", &status.size)
            .finish()
    }
}

impl PgStore {
    /// Builds the pool and opens one connection, so bad settings or an unreachable
    /// server fail at start-up rather than at the first request.
    #[tracing::instrument(level = "info", skip_all, fields(database = settings.database(), sslmode = settings.ssl_mode().as_str(), pool_size = settings.pool_size()))]
    pub async fn connect(settings: &PgSettings) -> Result<Self, PgError> {
        let store = Self::connect_lazy(settings)?;
        drop(store.client().await?);
        Ok(store)
    }

    /// Builds the pool without connecting: the first call opens the first connection.
    pub fn connect_lazy(settings: &PgSettings) -> Result<Self, PgError> {
        let tls = tls::connector(settings)?;
        let recycling_method = if settings.check_on_checkout() {
            RecyclingMethod::Verified
        } else {
            // A connection whose socket closed is still dropped on checkout.
            RecyclingMethod::Fast
        };
        let manager = Manager::from_config(
            settings.config.clone(),
            tls,
            ManagerConfig { recycling_method },
        );
        let pool = Pool::builder(manager)
            .max_size(settings.pool_size())
            .runtime(Runtime::Tokio1)
            .timeouts(Timeouts {
                wait: Some(settings.wait_timeout()),
                // Connecting has its own timeout (connect_timeout) per attempt; this
                // bounds the whole handshake, TLS and authentication included.
                create: Some(settings.connect_timeout() + Duration::from_secs(5)),
                recycle: Some(settings.connect_timeout()),
            })
            .build()
            .map_err(PgError::BuildPool)?;
        Ok(Self { pool })
    }

    /// Applies pending migrations on a connection of its own, which is closed after
    /// (so no pooled connection keeps statements prepared against the old schema).
    pub async fn migrate(&self) -> Result<Vec<AppliedMigration>, PgError> {
        let client = Object::take(self.client().await?);
        migrate::migrate(&client).await
    }

    /// The pool, for callers that need a raw connection (tests, tooling).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Closes the pool: idle connections are dropped and every later call fails.
    pub fn close(&self) {
        self.pool.close();
    }

    pub(crate) async fn client(&self) -> Result<Object, PgError> {
        self.pool.get().await.map_err(|e| match e {
            // Unwrap the PostgreSQL error so callers see its code and message.
            deadpool_postgres::PoolError::Backend(pg) => PgError::Postgres(pg),
            other => PgError::Connection(other),
        })
    }
}

/// A `LIMIT` parameter.
fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// The wall clock in Unix ms, for ports that take no `now` (monitor upserts).
fn now_ms() -> sentinel_core::UnixMs {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
