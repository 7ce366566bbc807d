//! Password hashing: PBKDF2-HMAC-SHA256, 600,000 rounds, 16-byte random salt, stored as a
//! PHC string (`$pbkdf2-sha256$i=600000,l=32$<salt>$<hash>`). Both hashing and checking
//! cost ~0.3 s of CPU, so they run on tokio's blocking pool, never on a reactor thread.

use std::sync::LazyLock;

use pbkdf2::password_hash::{PasswordHasher, PasswordVerifier};
use pbkdf2::phc::PasswordHash;
use pbkdf2::{Algorithm, Params, Pbkdf2};

use crate::ApiError;
use crate::auth::tokens::random_bytes;

pub const ROUNDS: u32 = 600_000;
pub const SALT_BYTES: usize = 16;
/// Stored hashes asking for more rounds than this are refused rather than computed
/// (a tampered row must not pin a CPU for minutes).
const MAX_ROUNDS: u32 = 10_000_000;

const HASHER: Pbkdf2 = Pbkdf2::new(
    Algorithm::Pbkdf2Sha256,
    Params::RECOMMENDED, // 600,000 rounds, 32-byte output
);

/// Checked against when the email is unknown, so a miss costs what a hit costs and
/// response times do not tell which emails have accounts.
static DUMMY_HASH: LazyLock<Option<String>> = LazyLock::new(|| hash_now("sentinel-dummy").ok());

/// Hashes on the current thread (blocking).
pub fn hash_now(password: &str) -> Result<String, ApiError> {
    const _: () = assert!(Params::RECOMMENDED_ROUNDS == ROUNDS);
    let salt = random_bytes::<SALT_BYTES>()?;
    HASHER
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| ApiError::Internal(format!("password hashing failed: {e}")))
}

/// Checks on the current thread (blocking), in constant time. A malformed or
/// foreign stored hash never matches.
pub fn verify_now(password: &str, phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    match Params::try_from(&hash) {
        Ok(params) if params.rounds() <= MAX_ROUNDS => {}
        _ => return false,
    }
    if hash.algorithm.as_str() != Algorithm::PBKDF2_SHA256_ID {
        return false;
    }
    HASHER.verify_password(password.as_bytes(), &hash).is_ok()
}

/// Hashes a new password on the blocking pool.
pub async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(|e| ApiError::Internal(format!("password hashing task failed: {e}")))?
}

/// Checks `password` against `stored` on the blocking pool; with no stored hash (unknown
/// user) it still spends one hash and answers false.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || match stored {
        Some(phc) => verify_now(&password, &phc),
        None => {
            if let Some(dummy) = DUMMY_HASH.as_deref() {
                verify_now(&password, dummy);
            }
            false
        }
    })
    .await
    .map_err(|e| ApiError::Internal(format!("password check task failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_phc_strings_with_the_required_cost_and_verify() {
        let phc = hash_now("correct horse battery").unwrap();
        assert!(phc.starts_with("$pbkdf2-sha256$i=600000,l=32$"), "{phc}");
        let hash = PasswordHash::new(&phc).unwrap();
        assert_eq!(hash.salt.unwrap().as_ref().len(), SALT_BYTES);
        assert!(verify_now("correct horse battery", &phc));
        assert!(!verify_now("correct horse batterx", &phc));
        assert!(!verify_now("correct horse battery", "not a hash"));
        assert!(!verify_now("correct horse battery", ""));
        // Same password, fresh salt, different string.
        assert_ne!(phc, hash_now("correct horse battery").unwrap());
    }

    #[test]
    fn hostile_stored_hashes_are_refused_without_computing_them() {
        let phc = hash_now("pw").unwrap();
        let greedy = phc.replace("i=600000", "i=4000000000");
        assert!(!verify_now("pw", &greedy));
        let other = phc.replace("pbkdf2-sha256", "pbkdf2-sha512");
        assert!(!verify_now("pw", &other));
    }

    #[tokio::test]
    async fn unknown_users_never_verify() {
        assert!(!verify("anything".into(), None).await.unwrap());
    }
}
