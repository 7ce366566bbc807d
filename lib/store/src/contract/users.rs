//! Behaviours of [`UserStore`].

use sentinel_core::account::Role;

use crate::{ApiKeyStore, RotateOutcome, StoreError, TokenStore, UserStore};

use super::fixtures::{DAY, MINUTE, T0, api_key, email, refresh_token, user, user_id};

pub async fn create_then_get_and_find_by_email<S: UserStore + ?Sized>(store: &S) {
    let ana = user("ana", T0);
    store.create_user(&ana).await.expect("create");

    assert_eq!(
        store.get_user(&ana.id).await.expect("get"),
        Some(ana.clone()),
        "every field of a user must come back exactly"
    );
    assert_eq!(
        store
            .find_user_by_email(&email("ana@example.com"))
            .await
            .expect("find"),
        Some(ana.clone())
    );
    assert_eq!(
        store.get_user(&user_id("bob")).await.expect("get"),
        None,
        "an unknown id is None"
    );
    assert_eq!(
        store
            .find_user_by_email(&email("bob@example.com"))
            .await
            .expect("find"),
        None,
        "an unknown email is None"
    );
}

pub async fn find_by_email_ignores_case_and_spaces<S: UserStore + ?Sized>(store: &S) {
    let mut ana = user("ana", T0);
    ana.email = email("  Ana.Lopez@Example.COM ");
    store.create_user(&ana).await.expect("create");

    for raw in [
        "ana.lopez@example.com",
        "ANA.LOPEZ@EXAMPLE.COM",
        " Ana.Lopez@example.com",
    ] {
        let found = store
            .find_user_by_email(&email(raw))
            .await
            .expect("find")
            .unwrap_or_else(|| panic!("{raw:?} must find the user"));
        assert_eq!(found.id, ana.id);
        assert_eq!(found.email.as_str(), "ana.lopez@example.com");
    }
}

pub async fn list_is_ordered_by_created_at_then_id<S: UserStore + ?Sized>(store: &S) {
    assert!(store.list_users().await.expect("list").is_empty());
    for (id, at) in [
        ("dan", T0 + 2),
        ("cat", T0),
        ("bob", T0 + 1),
        ("amy", T0 + 1),
    ] {
        store.create_user(&user(id, at)).await.expect("create");
    }

    let ids: Vec<String> = store
        .list_users()
        .await
        .expect("list")
        .into_iter()
        .map(|u| u.id.0)
        .collect();
    assert_eq!(ids, ["cat", "amy", "bob", "dan"]);
}

pub async fn duplicate_email_is_a_conflict<S: UserStore + ?Sized>(store: &S) {
    let ana = user("ana", T0);
    store.create_user(&ana).await.expect("create");

    let mut twin = user("ana-2", T0 + 1);
    twin.email = email("ANA@example.com");
    let err = store
        .create_user(&twin)
        .await
        .expect_err("a second user with the same email must be refused");
    assert!(
        matches!(err, StoreError::Conflict(_)),
        "Conflict, got {err:?}"
    );
    assert_eq!(store.get_user(&twin.id).await.expect("get"), None);
    assert_eq!(store.count_users().await.expect("count"), 1);
    assert_eq!(
        store.get_user(&ana.id).await.expect("get"),
        Some(ana),
        "the first user is untouched"
    );
}

pub async fn update_replaces_the_user_and_reports_whether_it_existed<S: UserStore + ?Sized>(
    store: &S,
) {
    let ana = user("ana", T0);
    let bob = user("bob", T0 + 1);
    store.create_user(&ana).await.expect("create ana");
    store.create_user(&bob).await.expect("create bob");

    let mut changed = ana.clone();
    changed.email = email("ana.new@example.com");
    changed.role = Role::Admin;
    changed.password_hash = "$pbkdf2-sha256$i=600000,l=32$bmV3$new".to_owned();
    changed.disabled = true;
    changed.updated_at = T0 + DAY;
    assert!(store.update_user(&changed).await.expect("update"));

    assert_eq!(
        store.get_user(&ana.id).await.expect("get"),
        Some(changed.clone())
    );
    assert_eq!(
        store
            .find_user_by_email(&email("ana.new@example.com"))
            .await
            .expect("find new"),
        Some(changed)
    );
    assert_eq!(
        store
            .find_user_by_email(&email("ana@example.com"))
            .await
            .expect("find old"),
        None,
        "the old email no longer finds the user"
    );
    assert_eq!(store.get_user(&bob.id).await.expect("get"), Some(bob));

    assert!(
        !store
            .update_user(&user("nobody", T0))
            .await
            .expect("update missing"),
        "updating a missing user returns false"
    );
    assert_eq!(store.get_user(&user_id("nobody")).await.expect("get"), None);
    assert_eq!(store.count_users().await.expect("count"), 2);
}

pub async fn update_to_another_users_email_is_a_conflict<S: UserStore + ?Sized>(store: &S) {
    let ana = user("ana", T0);
    let bob = user("bob", T0 + 1);
    store.create_user(&ana).await.expect("create ana");
    store.create_user(&bob).await.expect("create bob");

    let mut thief = bob.clone();
    thief.email = email("Ana@Example.com");
    let err = store
        .update_user(&thief)
        .await
        .expect_err("taking another user's email must be refused");
    assert!(
        matches!(err, StoreError::Conflict(_)),
        "Conflict, got {err:?}"
    );
    assert_eq!(
        store.get_user(&bob.id).await.expect("get"),
        Some(bob.clone())
    );
    assert_eq!(store.get_user(&ana.id).await.expect("get"), Some(ana));

    // Keeping one's own email is not a conflict.
    let mut same = bob.clone();
    same.disabled = true;
    assert!(store.update_user(&same).await.expect("update own email"));
}

pub async fn delete_removes_the_user_and_their_credentials<
    S: UserStore + TokenStore + ApiKeyStore + ?Sized,
>(
    store: &S,
) {
    let ana = user("ana", T0);
    let bob = user("bob", T0 + 1);
    store.create_user(&ana).await.expect("create ana");
    store.create_user(&bob).await.expect("create bob");
    for (hash, owner) in [("r-ana", "ana"), ("r-bob", "bob")] {
        store
            .insert_refresh(&refresh_token(hash, owner, &format!("f-{owner}"), T0))
            .await
            .expect("insert refresh");
        store
            .insert_reset(&format!("reset-{owner}"), &user_id(owner), T0 + DAY)
            .await
            .expect("insert reset");
        store
            .create_key(&api_key(&format!("k-{owner}"), owner, T0))
            .await
            .expect("create key");
    }

    assert!(store.delete_user(&ana.id).await.expect("delete"));
    assert_eq!(store.get_user(&ana.id).await.expect("get"), None);
    assert_eq!(
        store.find_user_by_email(&ana.email).await.expect("find"),
        None
    );
    assert_eq!(
        store
            .rotate_refresh(
                "r-ana",
                &refresh_token("r-ana-2", "ana", "f-ana", T0 + MINUTE),
                T0 + MINUTE
            )
            .await
            .expect("rotate"),
        RotateOutcome::Invalid,
        "a deleted user's refresh tokens are gone"
    );
    assert_eq!(
        store.peek_reset("reset-ana", T0).await.expect("peek"),
        None,
        "a deleted user's reset tokens are gone"
    );
    assert_eq!(
        store
            .find_key_by_hash(&api_key("k-ana", "ana", T0).key_hash)
            .await
            .expect("find key"),
        None,
        "a deleted user's API keys are gone"
    );
    assert!(
        store
            .list_keys(&ana.id)
            .await
            .expect("list keys")
            .is_empty()
    );

    // Bob keeps everything.
    assert_eq!(
        store.get_user(&bob.id).await.expect("get"),
        Some(bob.clone())
    );
    assert_eq!(
        store.peek_reset("reset-bob", T0).await.expect("peek"),
        Some(bob.id.clone())
    );
    assert!(
        store
            .find_key_by_hash(&api_key("k-bob", "bob", T0).key_hash)
            .await
            .expect("find key")
            .is_some()
    );
    assert_eq!(
        store
            .rotate_refresh(
                "r-bob",
                &refresh_token("r-bob-2", "bob", "f-bob", T0 + MINUTE),
                T0 + MINUTE
            )
            .await
            .expect("rotate"),
        RotateOutcome::Rotated {
            user_id: bob.id.clone()
        }
    );

    assert!(
        !store.delete_user(&ana.id).await.expect("delete again"),
        "deleting a missing user returns false"
    );
    // The email is free again.
    store
        .create_user(&user("ana", T0 + DAY))
        .await
        .expect("the email of a deleted user can be used again");
}

pub async fn count_counts_users<S: UserStore + ?Sized>(store: &S) {
    assert_eq!(store.count_users().await.expect("count"), 0);
    for (i, id) in ["a", "b", "c"].into_iter().enumerate() {
        store
            .create_user(&user(id, T0 + i as i64))
            .await
            .expect("create");
    }
    assert_eq!(store.count_users().await.expect("count"), 3);
    store.delete_user(&user_id("b")).await.expect("delete");
    assert_eq!(store.count_users().await.expect("count"), 2);
}
