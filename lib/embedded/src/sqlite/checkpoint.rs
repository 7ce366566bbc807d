//! A background thread that checkpoints the WAL, so that no commit has to.
//!
//! With SQLite's automatic checkpoints, the commit that pushes the WAL past 1,000 pages
//! copies them into the database file before it returns; an append of 200 results to
//! 200 monitors touches some 600 pages, so every other append paid for a checkpoint
//! (p95 ~20 ms against ~3 ms). A PASSIVE checkpoint here runs beside the writer instead.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use rusqlite::Connection;

use super::configure;
use super::error::DbError;

const INTERVAL: Duration = Duration::from_secs(1);

/// Keeps the thread running; dropping it stops the thread within a moment.
pub(crate) struct Handle {
    _stop: mpsc::Sender<()>,
}

pub(crate) fn spawn(path: &Path) -> Result<Handle, DbError> {
    let conn = Connection::open(path)?;
    configure(&conn)?;
    let (stop, stopped) = mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("sqlite-checkpoint".to_owned())
        .spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
                checkpoint(&conn);
            }
        })
        .map_err(DbError::Thread)?;
    Ok(Handle { _stop: stop })
}

fn checkpoint(conn: &Connection) {
    let result = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
    });
    match result {
        Ok((wal_pages, copied)) => {
            tracing::trace!(wal_pages, copied, "WAL checkpoint");
        }
        Err(error) => tracing::warn!(%error, "WAL checkpoint failed; will retry"),
    }
}
