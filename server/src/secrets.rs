//! Secrets the API needs (JWT signing key, encryption keys). Self-hosted, they are
//! generated on first run and kept in `<data>/secrets.json` (mode 0600); the
//! environment (`JWT_SECRET`, `ENCRYPTION_KEYS`) wins when set.

use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct StoredSecrets {
    pub jwt_secret: String,
    pub encryption_keys: String,
}

fn random_hex(bytes: usize) -> anyhow::Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("no randomness available: {e}"))?;
    Ok(hex::encode(buf))
}

/// Reads `<data>/secrets.json`, creating it with fresh random values if missing.
pub fn load_or_create(data: &Path) -> anyhow::Result<StoredSecrets> {
    let path = data.join("secrets.json");
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        return serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid (delete it to regenerate)", path.display()));
    }
    let secrets = StoredSecrets {
        jwt_secret: random_hex(32)?,
        encryption_keys: format!("k1:{}", random_hex(32)?),
    };
    let text = serde_json::to_string_pretty(&secrets)?;
    let tmp = data.join(".secrets.json.tmp");
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated API secrets");
    Ok(secrets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_generated_once_and_kept_private() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        let again = load_or_create(dir.path()).unwrap();
        assert_eq!(first.jwt_secret, again.jwt_secret);
        assert_eq!(first.jwt_secret.len(), 64);
        assert!(first.encryption_keys.starts_with("k1:"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secrets.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
