//! Local servers for the pipeline tests (see `sentinel-testkit`).

#![allow(unused_imports)]

pub use sentinel_testkit::{Received, Receiver, Target, TestCa, serve_http, serve_https};
