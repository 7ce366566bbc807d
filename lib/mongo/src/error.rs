//! Driver errors as [`StoreError`]s: everything the server or the network says is a
//! retryable backend failure; only our own decoding reports corruption.

use mongodb::error::{Error, ErrorKind, WriteFailure};
use sentinel_store::StoreError;

/// `E11000`: an insert or upsert met an existing `_id`.
pub(crate) const DUPLICATE_KEY: i32 = 11000;
/// `create` of a collection that exists.
pub(crate) const NAMESPACE_EXISTS: i32 = 48;

pub(crate) fn backend(e: Error) -> StoreError {
    StoreError::backend(e)
}

/// Whether the server answered with `code` (as a command or a write error).
pub(crate) fn is_code(e: &Error, code: i32) -> bool {
    match e.kind.as_ref() {
        ErrorKind::Command(c) => c.code == code,
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == code,
        ErrorKind::InsertMany(m) => m.write_errors.iter().flatten().any(|w| w.code == code),
        _ => false,
    }
}
