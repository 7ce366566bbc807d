//! Self-hosted adapters: every storage port in one SQLite file ([`SqliteStore`]), and
//! the mailers (SMTP, or an outbox folder of `.eml` files).

pub mod mail;
mod sqlite;

pub use sqlite::SqliteStore;
