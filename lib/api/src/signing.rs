//! Signed, expiring download URLs for exports: the signature is the authorisation, so
//! a link can be handed to a browser, `curl` or a colleague without a token, and it
//! stops working after its expiry. Self-hosted serves the blob itself
//! (`/api/export/download`); an S3 deployment can hand out S3's own presigned URLs.
//!
//! `sig = hex(HMAC-SHA256(k, key || "\n" || expires))` with `k` derived from the JWT
//! secret (`HMAC-SHA256(jwt_secret, "sentinel/export-download/v1")`), so a download
//! signature can never be confused with a token signature. Keys never hold a newline,
//! which keeps the message unambiguous.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use sentinel_core::UnixMs;

/// Where signed downloads are served.
pub const DOWNLOAD_PATH: &str = "/api/export/download";
/// How long a signed URL works: 15 minutes.
pub const URL_TTL_MS: i64 = 15 * 60 * 1000;

const DERIVATION_LABEL: &[u8] = b"sentinel/export-download/v1";

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the download link is invalid")]
    Invalid,
    #[error("the download link has expired")]
    Expired,
}

/// Signs and verifies download links. Built from the JWT secret.
#[derive(Clone)]
pub struct UrlSigner {
    key: Vec<u8>,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UrlSigner(..)")
    }
}

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail.
    <HmacSha256 as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
}

impl UrlSigner {
    pub fn from_secret(jwt_secret: &[u8]) -> Self {
        let mut m = mac(jwt_secret);
        m.update(DERIVATION_LABEL);
        Self {
            key: m.finalize().into_bytes().to_vec(),
        }
    }

    fn message_mac(&self, key: &str, expires: UnixMs) -> HmacSha256 {
        let mut m = mac(&self.key);
        m.update(key.as_bytes());
        m.update(b"\n");
        m.update(expires.to_string().as_bytes());
        m
    }

    /// The hex signature of `key` valid until `expires` (ms since the epoch).
    pub fn sign(&self, key: &str, expires: UnixMs) -> String {
        hex::encode(self.message_mac(key, expires).finalize().into_bytes())
    }

    /// Checks the signature (in constant time), then the expiry.
    pub fn verify(
        &self,
        key: &str,
        expires: UnixMs,
        sig: &str,
        now: UnixMs,
    ) -> Result<(), SignatureError> {
        let sig = hex::decode(sig).map_err(|_| SignatureError::Invalid)?;
        self.message_mac(key, expires)
            .verify_slice(&sig)
            .map_err(|_| SignatureError::Invalid)?;
        if now >= expires {
            return Err(SignatureError::Expired);
        }
        Ok(())
    }

    /// The relative download URL for `key`, valid until `expires`.
    pub fn url(&self, key: &str, expires: UnixMs) -> String {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("key", key)
            .append_pair("expires", &expires.to_string())
            .append_pair("sig", &self.sign(key, expires))
            .finish();
        format!("{DOWNLOAD_PATH}?{query}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixMs = 1_700_000_000_000;

    fn signer() -> UrlSigner {
        UrlSigner::from_secret(b"0123456789abcdef0123456789abcdef")
    }

    #[test]
    fn a_fresh_signature_verifies_until_it_expires() {
        let s = signer();
        let expires = NOW + URL_TTL_MS;
        let sig = s.sign("exports/u_1/api-1.csv", expires);
        assert_eq!(sig.len(), 64);
        assert_eq!(
            s.verify("exports/u_1/api-1.csv", expires, &sig, NOW),
            Ok(())
        );
        assert_eq!(
            s.verify("exports/u_1/api-1.csv", expires, &sig, expires),
            Err(SignatureError::Expired)
        );
    }

    #[test]
    fn any_change_breaks_the_signature() {
        let s = signer();
        let expires = NOW + 1000;
        let sig = s.sign("exports/u_1/a.csv", expires);
        let err = Err(SignatureError::Invalid);
        assert_eq!(s.verify("exports/u_2/a.csv", expires, &sig, NOW), err);
        assert_eq!(s.verify("exports/u_1/a.csv", expires + 1, &sig, NOW), err);
        assert_eq!(s.verify("exports/u_1/a.csv", expires, &sig[..62], NOW), err);
        assert_eq!(s.verify("exports/u_1/a.csv", expires, "zz", NOW), err);
        assert_eq!(s.verify("exports/u_1/a.csv", expires, "", NOW), err);
        let other = UrlSigner::from_secret(b"another secret of at least 32 chars!");
        assert_eq!(other.verify("exports/u_1/a.csv", expires, &sig, NOW), err);
    }

    #[test]
    fn the_url_carries_an_encoded_key_expiry_and_signature() {
        let s = signer();
        let url = s.url("exports/u_1/a b.csv", NOW);
        assert!(url.starts_with(
            "/api/export/download?key=exports%2Fu_1%2Fa+b.csv&expires=1700000000000&sig="
        ));
        assert!(!format!("{s:?}").contains("0123"));
    }
}
