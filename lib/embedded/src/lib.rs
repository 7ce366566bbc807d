//! Self-hosted adapters: every storage port in one SQLite file ([`SqliteStore`]).

mod sqlite;

pub use sqlite::SqliteStore;
