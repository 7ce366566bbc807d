//! [`FolderBlobStore`]: blobs as files under one folder (self-hosted CSV exports), and
//! the key rules every blob store of this crate applies.
//!
//! A blob is written to a temporary file under `<root>/.tmp/` and renamed into place,
//! so a reader sees the old file or the new one, never half of one. The content type is
//! the file's first line; the bytes follow it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use sentinel_store::accounts::{
    check_blob_content_type as check_content_type, check_blob_key as check_key,
};
use sentinel_store::{BlobStore, StoreError, StoreResult};

/// Where files are written before they are renamed into place. Keys cannot name it: no
/// key segment starts with a dot.
const TMP_DIR: &str = ".tmp";

#[derive(Debug, thiserror::Error)]
enum BlobError {
    #[error("{0}")]
    Invalid(String),
    #[error("blob file {path} failed")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("blob file {0} has no content-type line")]
    NoHeader(PathBuf),
    #[error("a blob task failed")]
    Task(#[source] tokio::task::JoinError),
}

impl From<BlobError> for StoreError {
    fn from(e: BlobError) -> Self {
        match e {
            BlobError::NoHeader(_) => StoreError::Corrupt(e.to_string()),
            other => StoreError::backend(other),
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BlobError + '_ {
    move |source| BlobError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A [`BlobStore`] over a folder. The folder is created on the first write.
#[derive(Debug, Clone)]
pub struct FolderBlobStore {
    root: PathBuf,
}

/// Makes temporary file names unique within the process.
static NEXT_TMP: AtomicU64 = AtomicU64::new(0);

impl FolderBlobStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of a key that [`check_key`] accepted.
    fn file(&self, key: &str) -> PathBuf {
        key.split('/')
            .fold(self.root.clone(), |path, segment| path.join(segment))
    }

    fn write(root: &Path, path: &Path, bytes: &[u8], content_type: &str) -> Result<(), BlobError> {
        let tmp_dir = root.join(TMP_DIR);
        std::fs::create_dir_all(&tmp_dir).map_err(io(&tmp_dir))?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let tmp = tmp_dir.join(format!(
            "{}-{}.part",
            std::process::id(),
            NEXT_TMP.fetch_add(1, Ordering::Relaxed)
        ));
        let written = (|| {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(content_type.as_bytes())?;
            file.write_all(b"\n")?;
            file.write_all(bytes)?;
            file.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if let Err(source) = written {
            // Best effort: a leftover temp file is harmless, the error is what matters.
            let _ = std::fs::remove_file(&tmp);
            return Err(BlobError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
        Ok(())
    }

    fn read(path: &Path) -> Result<Option<(Vec<u8>, String)>, BlobError> {
        let mut raw = match std::fs::read(path) {
            Ok(raw) => raw,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::IsADirectory
                ) =>
            {
                return Ok(None);
            }
            Err(source) => {
                return Err(BlobError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let newline = raw
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| BlobError::NoHeader(path.to_path_buf()))?;
        let bytes = raw.split_off(newline + 1);
        raw.truncate(newline);
        let content_type =
            String::from_utf8(raw).map_err(|_| BlobError::NoHeader(path.to_path_buf()))?;
        Ok(Some((bytes, content_type)))
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BlobError> + Send + 'static,
) -> StoreResult<T> {
    let span = tracing::Span::current();
    let result = tokio::task::spawn_blocking(move || span.in_scope(f))
        .await
        .map_err(BlobError::Task)?;
    Ok(result?)
}

#[async_trait]
impl BlobStore for FolderBlobStore {
    #[tracing::instrument(level = "debug", skip_all, fields(key, bytes = bytes.len()))]
    async fn put_blob(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> StoreResult<()> {
        check_key(key).map_err(BlobError::Invalid)?;
        check_content_type(content_type).map_err(BlobError::Invalid)?;
        let root = self.root.clone();
        let path = self.file(key);
        let content_type = content_type.to_owned();
        blocking(move || Self::write(&root, &path, &bytes, &content_type)).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(key))]
    async fn get_blob(&self, key: &str) -> StoreResult<Option<(Vec<u8>, String)>> {
        check_key(key).map_err(BlobError::Invalid)?;
        let path = self.file(key);
        blocking(move || Self::read(&path)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_could_leave_the_root_are_refused() {
        for good in [
            "a",
            "exports/u_1/2026-01-01.csv",
            "a/b/c/d.e.f",
            "x=1,y@z~+",
        ] {
            assert_eq!(check_key(good), Ok(()), "{good:?}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a/./b",
            "a//b",
            "a/",
            ".hidden",
            ".tmp/x",
            "a\\..\\b",
            "C:/x",
            "a\0b",
            "a\nb",
            "é",
        ] {
            assert!(check_key(bad).is_err(), "{bad:?} must be refused");
        }
        assert!(check_key(&"a".repeat(sentinel_store::accounts::MAX_BLOB_KEY_BYTES + 1)).is_err());
    }

    #[test]
    fn content_types_are_one_printable_line() {
        assert_eq!(check_content_type("text/csv; charset=utf-8"), Ok(()));
        assert!(check_content_type("").is_err());
        assert!(check_content_type("text/csv\nX: y").is_err());
    }
}
