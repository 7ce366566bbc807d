//! [`SqliteStore`]: every storage port in one SQLite file: the pipeline's five, and the
//! account ports (users, tokens, API keys, channels, monitor records, rate limits, blobs),
//! and the ECS ports (watched accounts and settings, service snapshots, metric history).
//!
//! rusqlite is synchronous, so every call runs on tokio's blocking pool
//! (`spawn_blocking`) and never on the async runtime's threads. Writes go through one
//! connection behind a mutex (SQLite has one writer at a time anyway); reads of a file
//! database use a small pool of extra connections, which WAL mode lets run beside the
//! writer. An in-memory database has only the one connection. WAL checkpoints of a file
//! database run on a background thread instead of inside whichever commit crosses the
//! auto-checkpoint size, which keeps the append latency flat.

mod alert_ledger;
mod api_keys;
mod blobs;
mod channels;
mod checkpoint;
mod ecs;
mod error;
mod incidents;
mod live_state;
mod monitors;
mod ping_log;
mod rate_limits;
mod schema;
mod tokens;
mod users;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::Duration;

use rusqlite::Connection;
use sentinel_store::StoreResult;

use self::error::DbError;

/// How long a statement waits for a lock held by another connection or process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Most read connections of a file database.
const MAX_READERS: usize = 4;

/// Sentinel's storage in one SQLite file (WAL mode). Cheap to clone: clones share the
/// connections.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    path: Option<PathBuf>,
    /// Dropping it stops the checkpoint thread.
    _checkpointer: Option<checkpoint::Handle>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .field("readers", &self.inner.readers.len())
            .finish()
    }
}

impl SqliteStore {
    /// Opens (or creates) the database at `path`, creating its parent directory, and
    /// brings the schema up to date.
    #[tracing::instrument(skip_all, fields(path = %path.as_ref().display()))]
    pub async fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        let path = path.as_ref().to_path_buf();
        let inner = blocking(move || Inner::open_file(path)).await?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// A private in-memory database, gone when the last clone is dropped. For tests.
    pub async fn open_in_memory() -> StoreResult<Self> {
        let inner = blocking(Inner::open_memory).await?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The database file, `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// Runs `f` on the writer connection, on the blocking pool.
    async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, DbError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        blocking(move || f(&mut lock(&inner.writer))).await
    }

    /// Runs `f` on a read connection (the writer for an in-memory database).
    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, DbError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        blocking(move || f(&inner.reader())).await
    }
}

/// Runs blocking database work off the async runtime, inside the caller's span.
async fn blocking<T, F>(f: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, DbError> + Send + 'static,
{
    let span = tracing::Span::current();
    let result = tokio::task::spawn_blocking(move || span.in_scope(f))
        .await
        .map_err(DbError::Task)?;
    Ok(result?)
}

/// A panic while a connection was held unwinds through rusqlite's `Transaction`, which
/// rolls back, so the connection is still consistent: take it back rather than fail
/// every later call.
fn lock(mutex: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Inner {
    fn open_file(path: PathBuf) -> Result<Self, DbError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| DbError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let mut writer = Connection::open(&path)?;
        configure(&writer)?;
        let mode: String =
            writer.pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(%mode, "SQLite refused WAL mode; readers will wait for writers");
        }
        writer.pragma_update(None, "synchronous", "NORMAL")?;
        writer.pragma_update(None, "cache_size", -65_536)?; // KiB: 64 MiB of hot pages
        writer.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
        schema::migrate(&mut writer)?;
        // Checkpoints run on their own thread, so commits never pay for one.
        let checkpointer = checkpoint::spawn(&path)?;
        writer.pragma_update(None, "wal_autocheckpoint", 0)?;

        let count = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, MAX_READERS);
        let mut readers = Vec::with_capacity(count);
        for _ in 0..count {
            let reader = Connection::open(&path)?;
            configure(&reader)?;
            reader.pragma_update(None, "query_only", true)?;
            readers.push(Mutex::new(reader));
        }
        tracing::info!(path = %path.display(), readers = count, "SQLite store open");
        Ok(Self {
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
            path: Some(path),
            _checkpointer: Some(checkpointer),
        })
    }

    fn open_memory() -> Result<Self, DbError> {
        let mut conn = Connection::open_in_memory()?;
        configure(&conn)?;
        schema::migrate(&mut conn)?;
        Ok(Self {
            writer: Mutex::new(conn),
            readers: Vec::new(),
            next_reader: AtomicUsize::new(0),
            path: None,
            _checkpointer: None,
        })
    }

    /// A free read connection if there is one, else waits for one in turn.
    fn reader(&self) -> MutexGuard<'_, Connection> {
        let n = self.readers.len();
        if n == 0 {
            return lock(&self.writer);
        }
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed) % n;
        for i in 0..n {
            match self.readers[(start + i) % n].try_lock() {
                Ok(guard) => return guard,
                Err(TryLockError::Poisoned(poisoned)) => return poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        lock(&self.readers[start])
    }
}

/// Settings every connection needs.
fn configure(conn: &Connection) -> Result<(), DbError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // The default 16 is fewer than the distinct statements the API cycles through.
    conn.set_prepared_statement_cache_capacity(64);
    // Without it a range query with ORDER BY on the same column is re-planned for every
    // new binding (bench/RESULTS.md §4: 9.0 µs vs 3.9 µs per rollup query).
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
}

/// `usize` limits as SQLite integers (larger than any table can be).
fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// The wall clock in Unix ms, for ports that take no `now` (monitor upserts).
fn now_ms() -> sentinel_core::UnixMs {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
