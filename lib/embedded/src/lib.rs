//! Self-hosted adapters: every storage port in one SQLite file ([`SqliteStore`]), blobs
//! in a folder ([`FolderBlobStore`]), and the mailers (SMTP, or an outbox folder of
//! `.eml` files).

mod blob;
pub mod mail;
mod sqlite;

pub use blob::FolderBlobStore;
pub use sqlite::SqliteStore;
