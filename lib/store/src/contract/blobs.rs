//! Behaviours of [`BlobStore`].

use crate::BlobStore;

pub async fn put_then_get_round_trips<S: BlobStore + ?Sized>(store: &S) {
    let csv = b"checked_at,status\n2026-01-01T00:00:00Z,up\n".to_vec();
    store
        .put_blob("export.csv", csv.clone(), "text/csv; charset=utf-8")
        .await
        .expect("put");
    let binary: Vec<u8> = (0..=255u8).chain(*b"\n\r\n\0").collect();
    store
        .put_blob("raw.bin", binary.clone(), "application/octet-stream")
        .await
        .expect("put binary");
    store
        .put_blob("empty", Vec::new(), "text/plain")
        .await
        .expect("put empty");

    assert_eq!(
        store.get_blob("export.csv").await.expect("get"),
        Some((csv, "text/csv; charset=utf-8".to_owned())),
        "bytes and content type come back exactly"
    );
    assert_eq!(
        store.get_blob("raw.bin").await.expect("get"),
        Some((binary, "application/octet-stream".to_owned()))
    );
    assert_eq!(
        store.get_blob("empty").await.expect("get"),
        Some((Vec::new(), "text/plain".to_owned()))
    );
}

pub async fn put_overwrites<S: BlobStore + ?Sized>(store: &S) {
    store
        .put_blob(
            "report",
            b"a much longer first version".to_vec(),
            "text/plain",
        )
        .await
        .expect("put");
    store
        .put_blob("report", b"v2".to_vec(), "text/csv")
        .await
        .expect("overwrite");
    assert_eq!(
        store.get_blob("report").await.expect("get"),
        Some((b"v2".to_vec(), "text/csv".to_owned())),
        "the second put replaces bytes and content type"
    );
}

pub async fn missing_is_none<S: BlobStore + ?Sized>(store: &S) {
    assert_eq!(store.get_blob("nothing-here").await.expect("get"), None);
    store
        .put_blob("a/b.csv", b"x".to_vec(), "text/csv")
        .await
        .expect("put");
    assert_eq!(store.get_blob("a/c.csv").await.expect("get"), None);
    assert_eq!(store.get_blob("b.csv").await.expect("get"), None);
}

pub async fn keys_with_slashes_work<S: BlobStore + ?Sized>(store: &S) {
    let keys = [
        "exports/u_1/2026-01-01.csv",
        "exports/u_1/2026-01-02.csv",
        "exports/u_2/2026-01-01.csv",
        "exports/u_1",
    ];
    for (i, key) in keys.iter().enumerate() {
        let put = store
            .put_blob(key, format!("blob {i}").into_bytes(), "text/csv")
            .await;
        if *key == "exports/u_1" {
            // A key that is also a "folder" of other keys may be refused by a folder
            // store; it must not corrupt them.
            let _ = put;
            continue;
        }
        put.expect("put");
    }
    for (i, key) in keys.iter().enumerate().take(3) {
        assert_eq!(
            store.get_blob(key).await.expect("get"),
            Some((format!("blob {i}").into_bytes(), "text/csv".to_owned())),
            "{key}"
        );
    }
}

pub async fn unsafe_keys_are_refused<S: BlobStore + ?Sized>(store: &S) {
    store
        .put_blob("inside/secret", b"mine".to_vec(), "text/plain")
        .await
        .expect("put");
    for key in [
        "",
        "../escape",
        "a/../../escape",
        "inside/../inside/secret",
        "/etc/passwd",
        "/tmp/escape",
        "a/./b",
        "a//b",
        "trailing/",
        "..",
        ".",
        "back\\..\\slash",
    ] {
        assert!(
            store
                .put_blob(key, b"evil".to_vec(), "text/plain")
                .await
                .is_err(),
            "put of {key:?} must be refused"
        );
        assert!(
            !matches!(store.get_blob(key).await, Ok(Some(_))),
            "get of {key:?} must not find anything"
        );
    }
    assert_eq!(
        store.get_blob("inside/secret").await.expect("get"),
        Some((b"mine".to_vec(), "text/plain".to_owned())),
        "refused keys did not overwrite anything"
    );
}
