//! Real local servers for Sentinel's tests (never mocks): HTTP targets, webhook
//! receivers and TLS servers with a test CA. Test-only; not published.

#![allow(clippy::missing_panics_doc)]

pub mod http;
pub mod services;
pub mod tls;

pub use http::{Received, Receiver, Target, serve_http};
pub use tls::{TestCa, date_ms, serve_https};
