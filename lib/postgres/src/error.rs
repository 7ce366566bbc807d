//! Errors of the PostgreSQL adapter and how they map to [`StoreError`].

use std::path::PathBuf;

use sentinel_store::StoreError;
use tokio_postgres::error::SqlState;

#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The connection URL cannot be used; the message says why (never the URL itself,
    /// which may hold a password).
    #[error("invalid PostgreSQL URL: {0}")]
    InvalidUrl(String),
    #[error("cannot read the CA certificate file {path}")]
    ReadCaFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the CA certificate file {path} holds no usable PEM certificate: {detail}")]
    BadCaFile { path: PathBuf, detail: String },
    #[error("cannot set up TLS: {0}")]
    Tls(String),
    #[error("cannot build the PostgreSQL connection pool")]
    BuildPool(#[source] deadpool_postgres::BuildError),
    #[error("cannot get a PostgreSQL connection")]
    Connection(#[source] deadpool_postgres::PoolError),
    /// The message includes the server's (tokio-postgres shows only "db error").
    #[error("PostgreSQL failed: {}", describe(.0))]
    Postgres(#[from] tokio_postgres::Error),
    #[error("cannot encode {what} for storage")]
    Encode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("stored {what} cannot be decoded: {detail}")]
    Decode { what: &'static str, detail: String },
    /// A uniqueness rule was broken.
    #[error("{0}")]
    Conflict(String),
    /// The caller passed something the store refuses (e.g. a non-positive window).
    #[error("{0}")]
    Invalid(String),
    #[error(
        "migration {version} ({name}) was changed after it was applied (recorded checksum \
         {recorded}, this build has {expected}); never edit an applied migration, add a new one"
    )]
    ChecksumMismatch {
        version: i32,
        name: String,
        recorded: String,
        expected: String,
    },
    #[error(
        "the database has migration {version} ({name}), which this build does not know; \
         upgrade Sentinel"
    )]
    UnknownMigration { version: i32, name: String },
}

impl PgError {
    pub(crate) fn decode(what: &'static str, detail: impl std::fmt::Display) -> Self {
        Self::Decode {
            what,
            detail: detail.to_string(),
        }
    }

    /// Whether trying again later can help (a dropped connection, a busy server), as
    /// opposed to bad settings or bad stored data.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Postgres(e) => !is_corruption(e),
            Self::Connection(_) => true,
            _ => false,
        }
    }
}

/// tokio-postgres' message with its cause ("db error: ERROR: relation … does not
/// exist"), which its `Display` leaves out.
pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

/// PostgreSQL's own "data corrupted" / "index corrupted" codes.
fn is_corruption(e: &tokio_postgres::Error) -> bool {
    e.code()
        .is_some_and(|c| *c == SqlState::DATA_CORRUPTED || *c == SqlState::INDEX_CORRUPTED)
}

impl From<PgError> for StoreError {
    fn from(e: PgError) -> Self {
        match e {
            // Retrying cannot fix what is stored, or a schema this build does not match.
            PgError::Decode { .. }
            | PgError::ChecksumMismatch { .. }
            | PgError::UnknownMigration { .. } => StoreError::Corrupt(e.to_string()),
            PgError::Postgres(ref pg) if is_corruption(pg) => {
                StoreError::Corrupt(format!("{e}: {pg}"))
            }
            PgError::Conflict(what) => StoreError::Conflict(what),
            other => StoreError::backend(other),
        }
    }
}

/// The constraint a unique violation broke, or `None` for any other error.
pub(crate) fn unique_violation(e: &tokio_postgres::Error) -> Option<&str> {
    let db = e.as_db_error()?;
    (*db.code() == SqlState::UNIQUE_VIOLATION).then(|| db.constraint().unwrap_or(""))
}

/// Maps a unique violation to [`PgError::Conflict`] with `message`.
pub(crate) fn conflict_as(message: &'static str) -> impl FnOnce(tokio_postgres::Error) -> PgError {
    move |e| {
        if unique_violation(&e).is_some() {
            PgError::Conflict(message.to_owned())
        } else {
            PgError::Postgres(e)
        }
    }
}

/// Reads column `idx` of a row; a type mismatch means the schema and this build disagree.
pub(crate) fn column<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a tokio_postgres::Row,
    idx: usize,
    what: &'static str,
) -> Result<T, PgError> {
    row.try_get(idx).map_err(|e| PgError::decode(what, e))
}

/// Decodes a JSONB value into a domain type.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    what: &'static str,
    value: serde_json::Value,
) -> Result<T, PgError> {
    serde_json::from_value(value).map_err(|e| PgError::decode(what, e))
}

/// Encodes a domain type as a JSONB value.
pub(crate) fn to_json<T: serde::Serialize + ?Sized>(
    what: &'static str,
    value: &T,
) -> Result<serde_json::Value, PgError> {
    serde_json::to_value(value).map_err(|source| PgError::Encode { what, source })
}

/// A stored monitor id.
pub(crate) fn monitor_id(raw: &str) -> Result<sentinel_core::MonitorId, PgError> {
    sentinel_core::MonitorId::parse(raw)
        .map_err(|e| PgError::decode("monitor id", format!("{raw:?} {e}")))
}
