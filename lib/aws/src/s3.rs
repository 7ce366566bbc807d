//! [`S3BlobStore`]: blobs as S3 objects under a key prefix, with presigned downloads.

use std::time::Duration;

use sentinel_store::accounts::{check_blob_content_type, check_blob_key};

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use sentinel_store::{BlobStore, StoreResult};

use crate::AwsError;

/// The blob key rule of every store (`sentinel_store::accounts::check_blob_key`). S3
/// would accept `../x` as a literal key, but a key that means "up" anywhere else is
/// refused here too, so the stores behave alike.
fn check_key(key: &str) -> Result<(), AwsError> {
    check_blob_key(key).map_err(AwsError::Invalid)
}

fn check_content_type(content_type: &str) -> Result<(), AwsError> {
    check_blob_content_type(content_type).map_err(AwsError::Invalid)
}

/// A [`BlobStore`] over one bucket; every key lives under `prefix`.
#[derive(Debug, Clone)]
pub struct S3BlobStore {
    client: Client,
    bucket: String,
    /// Empty, or ends with `/`.
    prefix: String,
}

impl S3BlobStore {
    /// `prefix` (e.g. `exports`) is joined to keys with a `/`; empty for none.
    pub fn new(client: Client, bucket: impl Into<String>, prefix: &str) -> Self {
        let prefix = prefix.trim_matches('/');
        Self {
            client,
            bucket: bucket.into(),
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    fn object_key(&self, key: &str) -> Result<String, AwsError> {
        check_key(key)?;
        Ok(format!("{}{key}", self.prefix))
    }

    /// A URL anyone can `GET` the blob from until `expires_in` has passed (at most 7
    /// days; less when the credentials are temporary, as on Lambda). Does not check
    /// that the blob exists.
    #[tracing::instrument(level = "debug", skip_all, fields(key))]
    pub async fn presigned_get(&self, key: &str, expires_in: Duration) -> StoreResult<String> {
        let object_key = self.object_key(key)?;
        let config = PresigningConfig::expires_in(expires_in)
            .map_err(|e| AwsError::Invalid(format!("presigned URL lifetime: {e}")))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(object_key)
            .presigned(config)
            .await
            .map_err(|e| AwsError::sdk("S3 presign GetObject", e))?;
        Ok(request.uri().to_owned())
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    #[tracing::instrument(level = "debug", skip_all, fields(key, bytes = bytes.len()))]
    async fn put_blob(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> StoreResult<()> {
        let object_key = self.object_key(key)?;
        check_content_type(content_type)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(object_key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| AwsError::sdk("S3 PutObject", e))?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(key))]
    async fn get_blob(&self, key: &str) -> StoreResult<Option<(Vec<u8>, String)>> {
        let object_key = self.object_key(key)?;
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(object_key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if matches!(e.as_service_error(), Some(GetObjectError::NoSuchKey(_))) => {
                return Ok(None);
            }
            Err(e) => return Err(AwsError::sdk("S3 GetObject", e).into()),
        };
        let content_type = out
            .content_type()
            .unwrap_or("application/octet-stream")
            .to_owned();
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| AwsError::Sdk {
                operation: "S3 GetObject",
                message: format!("reading the body failed: {e}"),
                code: None,
                retryable: true,
                source: Box::new(e),
            })?
            .into_bytes()
            .to_vec();
        Ok(Some((bytes, content_type)))
    }

    async fn presigned_get(&self, key: &str, expires_in: Duration) -> StoreResult<Option<String>> {
        S3BlobStore::presigned_get(self, key, expires_in)
            .await
            .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_could_mean_a_path_elsewhere_are_refused() {
        for good in ["a", "exports/u_1/2026-01-01.csv", "x=1,y@z~+"] {
            assert!(check_key(good).is_ok(), "{good:?}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a/./b",
            "a//b",
            "a/",
            ".",
            "..",
            "back\\..\\slash",
            "é",
            "a b",
        ] {
            assert!(check_key(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
