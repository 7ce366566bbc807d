//! Errors of the SQLite adapter and how they map to [`StoreError`].

use std::path::PathBuf;

use sentinel_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub(crate) enum DbError {
    #[error("SQLite failed")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot create the database directory {path}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the checkpoint thread")]
    Thread(#[source] std::io::Error),
    #[error("a storage task failed")]
    Task(#[source] tokio::task::JoinError),
    #[error("cannot encode {what} for storage")]
    Encode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("{what} {value} does not fit in a SQLite integer")]
    OutOfRange { what: &'static str, value: u64 },
    #[error("stored {what} cannot be decoded: {detail}")]
    Decode { what: &'static str, detail: String },
    #[error(
        "the database has schema version {found}, newer than this build knows ({known}); \
         upgrade Sentinel"
    )]
    SchemaTooNew { found: i64, known: i64 },
    /// A uniqueness rule was broken.
    #[error("{0}")]
    Conflict(String),
    /// The caller passed something the store refuses (e.g. an unsafe blob key).
    #[error("{0}")]
    Invalid(String),
}

impl DbError {
    pub(crate) fn decode(what: &'static str, detail: impl std::fmt::Display) -> Self {
        Self::Decode {
            what,
            detail: detail.to_string(),
        }
    }
}

impl From<DbError> for StoreError {
    fn from(e: DbError) -> Self {
        match e {
            // Retrying cannot fix what is on disk.
            DbError::Decode { .. } | DbError::SchemaTooNew { .. } => {
                StoreError::Corrupt(e.to_string())
            }
            DbError::Sqlite(rusqlite::Error::SqliteFailure(ref f, _))
                if matches!(
                    f.code,
                    rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt
                ) =>
            {
                StoreError::Corrupt(format!("{e}: {f}"))
            }
            DbError::Conflict(what) => StoreError::Conflict(what),
            other => StoreError::backend(other),
        }
    }
}

/// Decodes a JSON column.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    what: &'static str,
    raw: &str,
) -> Result<T, DbError> {
    serde_json::from_str(raw).map_err(|e| DbError::decode(what, e))
}

/// Encodes a JSON column.
pub(crate) fn to_json<T: serde::Serialize + ?Sized>(
    what: &'static str,
    value: &T,
) -> Result<String, DbError> {
    serde_json::to_string(value).map_err(|source| DbError::Encode { what, source })
}

/// A stored integer into a narrower type.
pub(crate) fn narrow<T: TryFrom<i64>>(what: &'static str, value: i64) -> Result<T, DbError> {
    T::try_from(value).map_err(|_| DbError::decode(what, format!("{value} is out of range")))
}

/// A stored monitor id.
pub(crate) fn monitor_id(raw: String) -> Result<sentinel_core::MonitorId, DbError> {
    sentinel_core::MonitorId::parse(&raw)
        .map_err(|e| DbError::decode("monitor id", format!("{raw:?} {e}")))
}

/// Whether `e` is a UNIQUE or PRIMARY KEY constraint failure.
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

/// Maps a uniqueness failure to [`DbError::Conflict`] with `what` as its message.
pub(crate) fn conflict_as(what: &'static str) -> impl FnOnce(rusqlite::Error) -> DbError {
    move |e| {
        if is_unique_violation(&e) {
            DbError::Conflict(what.to_owned())
        } else {
            DbError::Sqlite(e)
        }
    }
}

/// A stored user id.
pub(crate) fn user_id(raw: String) -> sentinel_core::account::UserId {
    sentinel_core::account::UserId(raw)
}
