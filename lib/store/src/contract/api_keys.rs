//! Behaviours of [`ApiKeyStore`]. Keys belong to users, so each behaviour creates its
//! users first.

use crate::{ApiKeyStore, StoreError, UserStore};

use super::fixtures::{DAY, MINUTE, T0, api_key, user, user_id};

async fn users<S: UserStore + ?Sized>(store: &S, ids: &[&str]) {
    for (i, id) in ids.iter().enumerate() {
        store
            .create_user(&user(id, T0 + i as i64))
            .await
            .expect("create user");
    }
}

pub async fn create_then_find_by_hash<S: ApiKeyStore + UserStore + ?Sized>(store: &S) {
    users(store, &["ana"]).await;
    let key = api_key("k1", "ana", T0);
    store.create_key(&key).await.expect("create");
    let mut bare = api_key("k2", "ana", T0);
    bare.expires_at = None;
    store.create_key(&bare).await.expect("create bare");

    assert_eq!(
        store.find_key_by_hash(&key.key_hash).await.expect("find"),
        Some(key),
        "every field of a key must come back exactly"
    );
    assert_eq!(
        store.find_key_by_hash(&bare.key_hash).await.expect("find"),
        Some(bare)
    );
    assert_eq!(
        store
            .find_key_by_hash(&api_key("nope", "ana", T0).key_hash)
            .await
            .expect("find"),
        None
    );
}

pub async fn a_duplicate_hash_is_a_conflict<S: ApiKeyStore + UserStore + ?Sized>(store: &S) {
    users(store, &["ana"]).await;
    let key = api_key("k1", "ana", T0);
    store.create_key(&key).await.expect("create");
    let mut twin = api_key("k2", "ana", T0 + 1);
    twin.key_hash = key.key_hash.clone();
    let err = store
        .create_key(&twin)
        .await
        .expect_err("two keys with one hash must be refused");
    assert!(
        matches!(err, StoreError::Conflict(_)),
        "Conflict, got {err:?}"
    );
    assert_eq!(
        store.find_key_by_hash(&key.key_hash).await.expect("find"),
        Some(key)
    );
}

pub async fn list_is_newest_first_per_user<S: ApiKeyStore + UserStore + ?Sized>(store: &S) {
    users(store, &["ana", "bob"]).await;
    assert!(
        store
            .list_keys(&user_id("ana"))
            .await
            .expect("list")
            .is_empty()
    );
    for (id, owner, at) in [
        ("k1", "ana", T0),
        ("k2", "ana", T0 + 2 * MINUTE),
        ("k3", "bob", T0 + MINUTE),
        ("k4", "ana", T0 + MINUTE),
    ] {
        store
            .create_key(&api_key(id, owner, at))
            .await
            .expect("create");
    }

    let ids: Vec<String> = store
        .list_keys(&user_id("ana"))
        .await
        .expect("list")
        .into_iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(ids, ["k2", "k4", "k1"], "a user's keys only, newest first");
    assert_eq!(
        store.list_keys(&user_id("bob")).await.expect("list"),
        vec![api_key("k3", "bob", T0 + MINUTE)]
    );
}

pub async fn delete_checks_the_owner<S: ApiKeyStore + UserStore + ?Sized>(store: &S) {
    users(store, &["ana", "bob"]).await;
    let ana_key = api_key("k1", "ana", T0);
    let bob_key = api_key("k2", "bob", T0);
    store.create_key(&ana_key).await.expect("create");
    store.create_key(&bob_key).await.expect("create");

    assert!(
        !store
            .delete_key("k1", Some(&user_id("bob")))
            .await
            .expect("delete as bob"),
        "a user cannot delete another user's key"
    );
    assert_eq!(
        store
            .find_key_by_hash(&ana_key.key_hash)
            .await
            .expect("find"),
        Some(ana_key.clone())
    );
    assert!(
        store
            .delete_key("k1", Some(&user_id("ana")))
            .await
            .expect("delete as ana")
    );
    assert_eq!(
        store
            .find_key_by_hash(&ana_key.key_hash)
            .await
            .expect("find"),
        None
    );
    assert!(
        !store
            .delete_key("k1", Some(&user_id("ana")))
            .await
            .expect("delete again"),
        "deleting a missing key returns false"
    );
    assert!(
        store.delete_key("k2", None).await.expect("delete as admin"),
        "no owner given deletes anyone's key"
    );
    assert!(
        store
            .list_keys(&user_id("bob"))
            .await
            .expect("list")
            .is_empty()
    );
    assert!(!store.delete_key("k2", None).await.expect("delete again"));
}

pub async fn touch_sets_last_used_at<S: ApiKeyStore + UserStore + ?Sized>(store: &S) {
    users(store, &["ana"]).await;
    let key = api_key("k1", "ana", T0);
    let other = api_key("k2", "ana", T0);
    store.create_key(&key).await.expect("create");
    store.create_key(&other).await.expect("create");

    store.touch_key("k1", T0 + DAY).await.expect("touch");
    let found = store
        .find_key_by_hash(&key.key_hash)
        .await
        .expect("find")
        .expect("key exists");
    assert_eq!(found.last_used_at, Some(T0 + DAY));
    let mut expected = key.clone();
    expected.last_used_at = Some(T0 + DAY);
    assert_eq!(found, expected, "touch changes nothing else");

    store
        .touch_key("k1", T0 + 2 * DAY)
        .await
        .expect("touch later");
    assert_eq!(
        store
            .find_key_by_hash(&key.key_hash)
            .await
            .expect("find")
            .and_then(|k| k.last_used_at),
        Some(T0 + 2 * DAY)
    );
    assert_eq!(
        store
            .find_key_by_hash(&other.key_hash)
            .await
            .expect("find")
            .and_then(|k| k.last_used_at),
        None,
        "touch changes only the named key"
    );
    store
        .touch_key("missing", T0)
        .await
        .expect("touching a missing key is not an error");
}
