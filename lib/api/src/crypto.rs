//! Secrets at rest (alert channel webhook URLs and signing secrets): AES-256-GCM under
//! a key from the [`Keyring`], with the key id stored beside the ciphertext so keys can
//! rotate. New secrets are sealed with the current key; every key of the ring opens.
//!
//! Sealed form: `nonce (12 bytes) || ciphertext || tag (16 bytes)`. The nonce is random
//! per message (96 bits: safe for far more secrets than Sentinel will ever store under
//! one key). The key id is bound as associated data, so a ciphertext cannot be passed
//! off under another id.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};

use crate::settings::Keyring;

/// Length of the random nonce that starts every sealed value.
pub const NONCE_LEN: usize = 12;
/// Length of the GCM tag that ends every sealed value.
pub const TAG_LEN: usize = 16;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// The value was sealed under a key that is no longer configured.
    #[error("no encryption key with id {0:?} is configured")]
    UnknownKey(String),
    /// Wrong key, tampered or truncated data.
    #[error("the sealed value is damaged or was sealed with another key")]
    Open,
    /// A configured key is not 32 bytes (the keyring parser prevents this).
    #[error("encryption key {0:?} is not a 256-bit key")]
    BadKey(String),
    #[error("the system random number generator failed")]
    Random,
    #[error("the value is too long to seal")]
    TooLong,
}

fn cipher(ring: &Keyring, key_id: &str) -> Result<Aes256Gcm, CryptoError> {
    let key = ring
        .key(key_id)
        .ok_or_else(|| CryptoError::UnknownKey(key_id.to_owned()))?;
    Aes256Gcm::new_from_slice(key).map_err(|_| CryptoError::BadKey(key_id.to_owned()))
}

/// Seals `plaintext` under the ring's current key. Returns the key id and
/// `nonce || ciphertext || tag`.
pub fn seal(ring: &Keyring, plaintext: &[u8]) -> Result<(String, Vec<u8>), CryptoError> {
    let key_id = ring.current.clone();
    let cipher = cipher(ring, &key_id)?;
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(|_| CryptoError::Random)?;
    let sealed = cipher
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plaintext,
                aad: key_id.as_bytes(),
            },
        )
        .map_err(|_| CryptoError::TooLong)?;
    let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok((key_id, out))
}

/// Opens a value sealed by [`seal`] under key `key_id` (current or an older one).
pub fn open(ring: &Keyring, key_id: &str, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let cipher = cipher(ring, key_id)?;
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(CryptoError::Open);
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CryptoError::Open)?;
    cipher
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: body,
                aad: key_id.as_bytes(),
            },
        )
        .map_err(|_| CryptoError::Open)
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn ring(spec: &str) -> Keyring {
        Keyring::parse(spec).expect("valid keyring")
    }

    #[test]
    fn a_sealed_value_opens_with_its_key_and_hides_the_plaintext() {
        let ring = ring(K1);
        let secret = b"https://hooks.slack.com/services/T000/B000/XXXXXXXX";
        let (id, sealed) = seal(&ring, secret).unwrap();
        assert_eq!(id, "k1");
        assert_eq!(sealed.len(), NONCE_LEN + secret.len() + TAG_LEN);
        assert!(!sealed.windows(10).any(|w| w == &secret[..10]));
        assert_eq!(open(&ring, &id, &sealed).unwrap(), secret);
    }

    #[test]
    fn each_seal_uses_a_fresh_nonce() {
        let ring = ring(K1);
        let (_, a) = seal(&ring, b"same").unwrap();
        let (_, b) = seal(&ring, b"same").unwrap();
        assert_ne!(a, b);
        assert_ne!(a[..NONCE_LEN], b[..NONCE_LEN]);
    }

    #[test]
    fn values_sealed_under_an_old_key_still_open_after_rotation() {
        let old = ring(K1);
        let (id, sealed) = seal(&old, b"secret").unwrap();
        let rotated = ring(&format!("k2:{},{K1}", "ab".repeat(32)));
        assert_eq!(rotated.current, "k2");
        assert_eq!(open(&rotated, &id, &sealed).unwrap(), b"secret");
        let (new_id, _) = seal(&rotated, b"secret").unwrap();
        assert_eq!(new_id, "k2");
    }

    #[test]
    fn tampering_wrong_keys_and_unknown_ids_are_refused() {
        let ring1 = ring(K1);
        let (id, sealed) = seal(&ring1, b"secret").unwrap();
        for i in [0, NONCE_LEN, sealed.len() - 1] {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert_eq!(open(&ring1, &id, &bad), Err(CryptoError::Open), "byte {i}");
        }
        assert_eq!(open(&ring1, &id, &sealed[..20]), Err(CryptoError::Open));
        assert_eq!(open(&ring1, &id, &[]), Err(CryptoError::Open));
        let other = ring(&format!("k1:{}", "cd".repeat(32)));
        assert_eq!(open(&other, &id, &sealed), Err(CryptoError::Open));
        assert_eq!(
            open(&ring1, "gone", &sealed),
            Err(CryptoError::UnknownKey("gone".into()))
        );
        // The key id is authenticated: the same bytes under another id of the same key
        // do not open.
        let aliased = ring(&format!("{K1},k9:{}", &K1[3..]));
        assert_eq!(open(&aliased, "k9", &sealed), Err(CryptoError::Open));
    }
}
