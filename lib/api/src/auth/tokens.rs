//! Random secrets and how they are kept: 256-bit tokens, SHA-256 at rest, constant-time
//! comparison.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::ApiError;

/// Bytes of randomness in refresh, reset and CSRF tokens and API keys (256 bits).
pub const TOKEN_BYTES: usize = 32;

/// `N` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], ApiError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|e| ApiError::Internal(format!("the system random source failed: {e}")))?;
    Ok(bytes)
}

/// A fresh 256-bit token, URL-safe base64 without padding (43 characters).
pub fn random_token() -> Result<String, ApiError> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<TOKEN_BYTES>()?))
}

/// A random id with a readable prefix, e.g. `u_3f9a…` (96 random bits, hex).
pub fn random_id(prefix: &str) -> Result<String, ApiError> {
    Ok(format!("{prefix}{}", hex::encode(random_bytes::<12>()?)))
}

/// How a token is stored: SHA-256, hex. A 256-bit random token needs no salt or
/// stretching; the hash only keeps a database leak from handing out live tokens.
pub fn sha256_hex(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Equality that takes the same time wherever the first difference is (the length is
/// not secret).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Whether `text` looks like one of our tokens (so junk is refused before any lookup).
pub fn is_token_shaped(text: &str) -> bool {
    text.len() == 43
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_url_safe_and_hashed_as_hex() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_ne!(a, b);
        assert!(is_token_shaped(&a), "{a}");
        assert!(!is_token_shaped("short"));
        assert!(!is_token_shaped(&format!("{}=", &a[..42])));
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(random_id("u_").unwrap().starts_with("u_"));
        assert_eq!(random_id("u_").unwrap().len(), 26);
    }

    #[test]
    fn constant_time_equality_is_equality() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
        assert!(constant_time_eq("", ""));
    }
}
