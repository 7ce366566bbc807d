//! Shared helpers: the emulator's config and unique resource names.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sentinel_aws::{AwsConfig, DynamoTable, S3BlobStore};

pub fn endpoint() -> &'static str {
    sentinel_testkit::services::aws_endpoint()
}

/// A config pointing at moto with dummy credentials. Built per test: SDK clients hold
/// connections tied to the runtime that made them, and every test has its own runtime.
pub async fn config() -> AwsConfig {
    AwsConfig::emulator(endpoint()).await
}

/// A lowercase name no other test (in this or another process) uses.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A new, empty table.
pub async fn fresh_table() -> DynamoTable {
    let table = DynamoTable::new(config().await.dynamodb(), unique("sentinel-test"));
    table.create_table().await.expect("create the table");
    table
}

/// A new, empty bucket, with keys under a prefix.
pub async fn fresh_blobs() -> S3BlobStore {
    let client = config().await.s3();
    let bucket = unique("sentinel-test");
    client
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create the bucket");
    S3BlobStore::new(client, bucket, "exports/")
}
