//! The S3 blob store: the contract suite, prefixes and presigned downloads.

use std::time::Duration;

use sentinel_aws::S3BlobStore;
use sentinel_store::BlobStore;

use crate::common::{config, fresh_blobs};

sentinel_store::contract_tests! {
    store: fresh_blobs().await,
    ports: [blobs],
}

#[tokio::test]
async fn a_presigned_url_downloads_the_blob_with_a_plain_get() {
    let blobs = fresh_blobs().await;
    let csv = b"checked_at,status\n2026-01-01T00:00:00Z,up\n".to_vec();
    blobs
        .put_blob("u_1/export.csv", csv.clone(), "text/csv; charset=utf-8")
        .await
        .expect("put");

    let url = blobs
        .presigned_get("u_1/export.csv", Duration::from_secs(300))
        .await
        .expect("presign");
    assert!(url.contains("X-Amz-Signature="), "{url}");
    assert!(
        url.contains("/exports/u_1/export.csv"),
        "the key lives under the prefix: {url}"
    );

    let response = reqwest::get(&url).await.expect("GET the presigned URL");
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/csv; charset=utf-8")
    );
    assert_eq!(response.bytes().await.expect("body").to_vec(), csv);
}

#[tokio::test]
async fn presigning_refuses_unsafe_keys() {
    let blobs = fresh_blobs().await;
    assert!(
        blobs
            .presigned_get("../escape", Duration::from_secs(60))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn stores_with_different_prefixes_do_not_see_each_others_blobs() {
    let exports = fresh_blobs().await;
    let avatars = S3BlobStore::new(config().await.s3(), exports.bucket(), "avatars");
    exports
        .put_blob("a.csv", b"x".to_vec(), "text/csv")
        .await
        .expect("put");
    assert_eq!(avatars.get_blob("a.csv").await.expect("get"), None);
    assert!(exports.get_blob("a.csv").await.expect("get").is_some());
}
