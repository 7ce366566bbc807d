//! sentinel-probe: runs HTTP(S) checks and measures them.
//!
//! Every check opens a fresh connection (no pooling), so the phases it reports are the
//! ones a new visitor pays: DNS, TCP connect, TLS handshake, time to the response head,
//! and the total including the (capped) body. The SSRF guard ([`guard`]) runs on the
//! resolved addresses before any connect. A check never fails as a Rust error: every
//! problem is classified into a [`ProbeErrorKind`](sentinel_core::check::ProbeErrorKind)
//! inside the returned [`ProbeOutcome`](sentinel_core::check::ProbeOutcome), which
//! `sentinel_core::check::judge` then turns into a result.
//!
//! ```no_run
//! # async fn demo(spec: sentinel_core::monitor::MonitorSpec) -> Result<(), sentinel_probe::SetupError> {
//! use sentinel_probe::{ProbeSettings, Prober};
//!
//! let prober = Prober::new(ProbeSettings { allow_private: false, ..ProbeSettings::default() })?;
//! let outcome = prober.check(&spec, 1_700_000_000_000).await;
//! println!("{:?} in {:.1} ms", outcome.status_code, outcome.timings.total_ms);
//! # Ok(()) }
//! ```

mod batch;
mod errors;
pub mod guard;
mod prober;
mod settings;

pub use prober::{MAX_REDIRECTS, Prober};
pub use settings::{
    DEFAULT_MAX_BODY_BYTES, DEFAULT_USER_AGENT, ProbeSettings, SetupError, load_pem_certificates,
};
