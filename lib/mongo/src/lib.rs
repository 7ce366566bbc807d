//! [`PingLog`](sentinel_store::PingLog) on MongoDB: raw check results in a time-series
//! collection (`ping_logs`, `monitorId` as meta field, TTL), and hourly and daily
//! rollups in a regular collection (`rollups`) so long windows never scan raw pings.
//!
//! # Idempotency and crash safety
//!
//! A batch may be redelivered (SQS), may repeat a key inside itself, and the process or
//! the server may die after any single write. MongoDB gives us no unique index on a
//! time-series collection and no multi-document transaction over one, so `append` is
//! built from steps that are each idempotent and safe to repeat in any state the
//! previous attempt left behind:
//!
//! 1. **Raw pings, insert-if-absent.** The batch is de-duplicated in memory (first
//!    occurrence wins), then one `find` reads which (monitor, checkedAt) keys are
//!    already stored, and one `insert_many` writes only the others. A crash before or
//!    during the insert leaves a subset stored; the retry inserts the rest.
//! 2. **Hourly rollups, fold-once.** Each hourly rollup document carries `seen`, the
//!    set of checks already folded into it (millisecond offsets in the hour, packed
//!    binary), and a version `v`. The fold reads the touched hours (one `find`),
//!    records the checks not in `seen`, and writes counts, histogram *and* `seen` as
//!    one document replacement conditional on `{_id, v}` with upsert — all hours in
//!    one unordered multi-statement `update` command. "Counted" and "marked as
//!    counted" commit together, so a retry can never count a check twice or skip one.
//!    An hour that moved under us (or was created by someone else) fails alone with a
//!    duplicate key on `_id`; only those are re-read and folded again. The fold uses
//!    the *stored* version of a key when one exists, so a later duplicate never
//!    changes what was counted, and because the marker lives in the rollup, folds
//!    stay exact after `prune` or TTL removed the raw pings.
//! 3. **Daily rollups, recomputed.** A day is always re-derived by merging its hourly
//!    rollups (one read for all touched days) and written with `$set`, guarded by
//!    `src`, the sum of the hourly versions it was built from: versions only grow, so
//!    a stale recompute (smaller sum) can never overwrite a newer one, and an equal sum
//!    means identical inputs, so the write is skipped. Every append recomputes the days
//!    it touches, including a redelivery that changed nothing, which repairs a crash
//!    between steps 2 and 3. All days again go in one `update` command.
//!
//! So an append costs six round trips whatever its size (three reads, `insert_many`,
//! two `update`s), and a full redelivery costs three reads and no write.
//!
//! Different monitors never share a document, so their appends never conflict;
//! concurrent appends to the same hour serialise on `v`. Two raw copies of one key can
//! exist only if two deliveries race through step 1 at once (or a driver-retried
//! `insert_many` is applied twice); `history` then returns the one with the smallest
//! `_id` (ObjectIds grow with insertion time) and never both, and the hour still
//! counts the key once, because `seen` decides, not the raw copies.

mod append;
mod codec;
mod error;
mod ping_log;

use std::time::Duration;

use mongodb::bson::{Bson, Document, doc};
use mongodb::options::{
    ClientOptions, CreateCollectionOptions, IndexOptions, TimeseriesGranularity, TimeseriesOptions,
};
use mongodb::{Client, Collection, Database, IndexModel};
use sentinel_store::StoreResult;

pub use crate::append::AppendReport;

use crate::codec::{BUCKET_START, CHECKED_AT, GRANULARITY, MONITOR};
use crate::error::{NAMESPACE_EXISTS, backend, is_code};

/// Name of the time-series collection of raw check results.
pub const PING_LOGS: &str = "ping_logs";
/// Name of the collection of hourly and daily rollups.
pub const ROLLUPS: &str = "rollups";

/// How the adapter connects and how long it keeps raw pings.
#[derive(Debug, Clone)]
pub struct MongoSettings {
    /// How long raw pings are kept (the time-series collection's `expireAfterSeconds`);
    /// `None` keeps them until [`PingLog::prune`](sentinel_store::PingLog::prune).
    /// Rollups are kept regardless.
    pub retention: Option<Duration>,
    /// How long an operation waits for a reachable server before failing with a
    /// retryable error. Short on Lambda, so a dead server fails the batch, not the
    /// function timeout.
    pub server_selection_timeout: Duration,
    /// TCP + handshake timeout of one connection.
    pub connect_timeout: Duration,
    /// Name reported to the server (logs, `currentOp`), e.g. the function name.
    pub app_name: Option<String>,
    /// Upper bound of the connection pool; `None` keeps the driver's default.
    pub max_pool_size: Option<u32>,
}

impl Default for MongoSettings {
    fn default() -> Self {
        Self {
            retention: None,
            server_selection_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            app_name: None,
            max_pool_size: None,
        }
    }
}

/// The MongoDB ping log. Cheap to clone: clones share the client and its pool, so
/// build it once (per process, per warm Lambda) and reuse it.
#[derive(Debug, Clone)]
pub struct MongoPingLog {
    db: Database,
    pings: Collection<Document>,
    rollups: Collection<Document>,
    settings: MongoSettings,
}

impl MongoPingLog {
    /// Builds a client for `uri` (no round trip yet) and the adapter over `database`.
    /// An unparsable URI is reported as a (non-transient, but typed) backend error.
    pub async fn connect(uri: &str, database: &str, settings: MongoSettings) -> StoreResult<Self> {
        let mut options = ClientOptions::parse(uri).await.map_err(backend)?;
        options.server_selection_timeout = Some(settings.server_selection_timeout);
        options.connect_timeout = Some(settings.connect_timeout);
        if settings.app_name.is_some() {
            options.app_name = settings.app_name.clone();
        }
        if settings.max_pool_size.is_some() {
            options.max_pool_size = settings.max_pool_size;
        }
        let client = Client::with_options(options).map_err(backend)?;
        Ok(Self::from_client(&client, database, settings))
    }

    /// The adapter over an existing client (shared with other code, or built with
    /// extra options such as command monitoring).
    pub fn from_client(client: &Client, database: &str, settings: MongoSettings) -> Self {
        let db = client.database(database);
        Self {
            pings: db.collection(PING_LOGS),
            rollups: db.collection(ROLLUPS),
            db,
            settings,
        }
    }

    /// The database this adapter writes to.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Creates the time-series collection (with TTL) and the indexes if missing, and
    /// brings the TTL in line with the settings. Idempotent and safe to run from many
    /// processes at once; call it at start-up.
    #[tracing::instrument(level = "debug", skip_all, fields(database = %self.db.name()))]
    pub async fn ensure_schema(&self) -> StoreResult<()> {
        self.ensure_ping_collection().await?;
        // The meta+time index serves history, the pre-insert key lookup and prune.
        self.pings
            .create_index(
                IndexModel::builder()
                    .keys(doc! { MONITOR: 1, CHECKED_AT: -1 })
                    .options(
                        IndexOptions::builder()
                            .name("monitor_time".to_owned())
                            .build(),
                    )
                    .build(),
            )
            .await
            .map_err(backend)?;
        // Range reads of one monitor's rollups of one granularity; `_id` already makes
        // (monitor, granularity, bucket) unique.
        self.rollups
            .create_index(
                IndexModel::builder()
                    .keys(doc! { MONITOR: 1, GRANULARITY: 1, BUCKET_START: 1 })
                    .options(
                        IndexOptions::builder()
                            .name("monitor_bucket".to_owned())
                            .build(),
                    )
                    .build(),
            )
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn ensure_ping_collection(&self) -> StoreResult<()> {
        let mut specs = self
            .db
            .list_collections()
            .filter(doc! { "name": PING_LOGS })
            .await
            .map_err(backend)?;
        let existing = {
            use futures::TryStreamExt;
            specs.try_next().await.map_err(backend)?
        };
        let Some(spec) = existing else {
            let options = CreateCollectionOptions::builder()
                .timeseries(
                    TimeseriesOptions::builder()
                        .time_field(CHECKED_AT.to_owned())
                        .meta_field(Some(MONITOR.to_owned()))
                        .granularity(Some(TimeseriesGranularity::Seconds))
                        .build(),
                )
                .expire_after_seconds(self.settings.retention)
                .build();
            return match self
                .db
                .create_collection(PING_LOGS)
                .with_options(options)
                .await
            {
                Ok(()) => {
                    tracing::info!(collection = PING_LOGS, "created time-series collection");
                    Ok(())
                }
                // Another process created it between our check and our create.
                Err(e) if is_code(&e, NAMESPACE_EXISTS) => Ok(()),
                Err(e) => Err(backend(e)),
            };
        };
        if spec.options.timeseries.is_none() {
            tracing::warn!(
                collection = PING_LOGS,
                "exists but is not a time-series collection; it works, but stores and \
                 expires less efficiently"
            );
        }
        let wanted = self.settings.retention.map(|d| d.as_secs());
        let current = spec.options.expire_after_seconds.map(|d| d.as_secs());
        if wanted != current {
            let expire = match wanted {
                Some(secs) => Bson::Int64(i64::try_from(secs).unwrap_or(i64::MAX)),
                None => Bson::String("off".to_owned()),
            };
            self.db
                .run_command(doc! { "collMod": PING_LOGS, "expireAfterSeconds": expire })
                .await
                .map_err(backend)?;
            tracing::info!(
                collection = PING_LOGS,
                ?wanted,
                ?current,
                "changed ping retention"
            );
        }
        Ok(())
    }
}
