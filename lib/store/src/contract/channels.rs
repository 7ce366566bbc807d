//! Behaviours of [`ChannelStore`]. Channels belong to users, so each behaviour creates
//! its users first (an adapter may enforce that with a foreign key).

use crate::{ChannelStore, StoreError, UserStore};

use super::fixtures::{DAY, T0, channel, user, user_id};

async fn users<S: UserStore + ?Sized>(store: &S, ids: &[&str]) {
    for (i, id) in ids.iter().enumerate() {
        store
            .create_user(&user(id, T0 + i as i64))
            .await
            .expect("create user");
    }
}

fn names(channels: &[crate::ChannelRecord]) -> Vec<(String, String)> {
    channels
        .iter()
        .map(|c| (c.owner.0.clone(), c.name.clone()))
        .collect()
}

pub async fn create_then_get_round_trips_exactly<S: ChannelStore + UserStore + ?Sized>(store: &S) {
    users(store, &["ana"]).await;
    let hook = channel("c1", "ana", "Ops hook");
    store.create_channel(&hook).await.expect("create");
    let mut empty = channel("c2", "ana", "empty secret");
    empty.secret = Vec::new();
    empty.config = serde_json::json!({});
    store.create_channel(&empty).await.expect("create empty");

    let got = store
        .get_channel("c1")
        .await
        .expect("get")
        .expect("channel exists");
    assert_eq!(
        got.secret, hook.secret,
        "secret bytes must round-trip exactly"
    );
    assert_eq!(got, hook, "every field of a channel must come back exactly");
    assert_eq!(store.get_channel("c2").await.expect("get"), Some(empty));
    assert_eq!(store.get_channel("nope").await.expect("get"), None);
}

pub async fn list_is_by_owner_or_all_ordered_by_name<S: ChannelStore + UserStore + ?Sized>(
    store: &S,
) {
    users(store, &["ana", "bob"]).await;
    assert!(store.list_channels(None).await.expect("list").is_empty());
    for (id, owner, name) in [
        ("c1", "ana", "slack"),
        ("c2", "bob", "email"),
        ("c3", "ana", "discord"),
        ("c4", "ana", "webhook"),
        ("c5", "bob", "zulip"),
    ] {
        store
            .create_channel(&channel(id, owner, name))
            .await
            .expect("create");
    }

    let ana = store
        .list_channels(Some(&user_id("ana")))
        .await
        .expect("list ana");
    assert_eq!(
        names(&ana),
        [
            ("ana".to_owned(), "discord".to_owned()),
            ("ana".to_owned(), "slack".to_owned()),
            ("ana".to_owned(), "webhook".to_owned()),
        ],
        "one owner's channels only, ordered by name"
    );
    assert_eq!(ana[0], channel("c3", "ana", "discord"));
    let all = store.list_channels(None).await.expect("list all");
    let all_names: Vec<String> = all.iter().map(|c| c.name.clone()).collect();
    assert_eq!(all_names, ["discord", "email", "slack", "webhook", "zulip"]);
    assert!(
        store
            .list_channels(Some(&user_id("carl")))
            .await
            .expect("list")
            .is_empty()
    );
}

pub async fn update_replaces_and_reports_whether_it_existed<
    S: ChannelStore + UserStore + ?Sized,
>(
    store: &S,
) {
    users(store, &["ana"]).await;
    let hook = channel("c1", "ana", "hook");
    let other = channel("c2", "ana", "other");
    store.create_channel(&hook).await.expect("create");
    store.create_channel(&other).await.expect("create");

    let mut changed = hook.clone();
    changed.name = "renamed".to_owned();
    changed.kind = "slack".to_owned();
    changed.config = serde_json::json!({"channel": "#ops"});
    changed.secret = vec![9, 8, 7, 0];
    changed.key_id = "k2".to_owned();
    changed.updated_at = T0 + DAY;
    assert!(store.update_channel(&changed).await.expect("update"));
    assert_eq!(store.get_channel("c1").await.expect("get"), Some(changed));
    assert_eq!(store.get_channel("c2").await.expect("get"), Some(other));

    assert!(
        !store
            .update_channel(&channel("nope", "ana", "ghost"))
            .await
            .expect("update missing"),
        "updating a missing channel returns false"
    );
    assert_eq!(store.get_channel("nope").await.expect("get"), None);
    // The old name is free again.
    store
        .create_channel(&channel("c3", "ana", "hook"))
        .await
        .expect("a renamed channel's old name can be used again");
}

pub async fn delete_reports_whether_it_existed<S: ChannelStore + UserStore + ?Sized>(store: &S) {
    users(store, &["ana"]).await;
    store
        .create_channel(&channel("c1", "ana", "hook"))
        .await
        .expect("create");
    let keep = channel("c2", "ana", "keep");
    store.create_channel(&keep).await.expect("create");

    assert!(store.delete_channel("c1").await.expect("delete"));
    assert_eq!(store.get_channel("c1").await.expect("get"), None);
    assert!(
        !store.delete_channel("c1").await.expect("delete again"),
        "deleting a missing channel returns false"
    );
    assert_eq!(store.list_channels(None).await.expect("list"), vec![keep]);
}

pub async fn same_owner_and_name_is_a_conflict<S: ChannelStore + UserStore + ?Sized>(store: &S) {
    users(store, &["ana"]).await;
    let first = channel("c1", "ana", "hook");
    store.create_channel(&first).await.expect("create");

    let err = store
        .create_channel(&channel("c2", "ana", "hook"))
        .await
        .expect_err("a second channel with the same owner and name must be refused");
    assert!(
        matches!(err, StoreError::Conflict(_)),
        "Conflict, got {err:?}"
    );
    assert_eq!(store.get_channel("c2").await.expect("get"), None);

    let second = channel("c2", "ana", "other");
    store.create_channel(&second).await.expect("create other");
    let mut clash = second.clone();
    clash.name = "hook".to_owned();
    let err = store
        .update_channel(&clash)
        .await
        .expect_err("renaming onto a taken name must be refused");
    assert!(
        matches!(err, StoreError::Conflict(_)),
        "Conflict, got {err:?}"
    );
    assert_eq!(store.get_channel("c2").await.expect("get"), Some(second));
    assert_eq!(store.get_channel("c1").await.expect("get"), Some(first));
}

pub async fn different_owners_may_share_a_name<S: ChannelStore + UserStore + ?Sized>(store: &S) {
    users(store, &["ana", "bob"]).await;
    let ana = channel("c1", "ana", "hook");
    let bob = channel("c2", "bob", "hook");
    store.create_channel(&ana).await.expect("create ana's");
    store
        .create_channel(&bob)
        .await
        .expect("another owner may use the same name");
    assert_eq!(
        store
            .list_channels(Some(&user_id("bob")))
            .await
            .expect("list"),
        vec![bob]
    );
    assert_eq!(
        store
            .list_channels(Some(&user_id("ana")))
            .await
            .expect("list"),
        vec![ana]
    );
}
