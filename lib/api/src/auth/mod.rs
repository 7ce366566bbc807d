//! Authentication and authorisation: who is calling (`Principal`) and what they may do.
//!
//! - [`password`]: PBKDF2-HMAC-SHA256 hashes (PHC strings), on the blocking pool.
//! - [`jwt`]: HS256 access tokens.
//! - [`tokens`]: 256-bit random tokens, SHA-256 at rest, constant-time equality.
//! - [`cookies`]: the refresh and CSRF cookies, and the double-submit check.
//! - [`credentials`]: the `Principal` extractor (session or API key).

pub mod cookies;
pub mod credentials;
pub mod jwt;
pub mod password;
pub mod principal;
pub mod tokens;
