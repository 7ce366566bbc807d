//! Behaviours of [`EcsAccountStore`]: the watched AWS accounts and the ECS settings.

use crate::{EcsAccountRecord, EcsAccountStore, EcsSettings, SealedSecret, StoreError};

use super::fixtures::{DAY, MINUTE, T0};

/// A cross-account role with every field set, so a lossy adapter shows.
pub fn ecs_account(id: &str, role_account: &str, created_at: i64) -> EcsAccountRecord {
    EcsAccountRecord {
        id: id.to_owned(),
        name: Some(format!("Prod ({id}) é✓")),
        role_arn: Some(format!(
            "arn:aws:iam::{role_account}:role/sentinel/ReadOnly-{id}"
        )),
        role_account_id: Some(role_account.to_owned()),
        regions: vec!["eu-west-1".to_owned(), "us-east-1".to_owned()],
        external_id: Some(SealedSecret {
            ciphertext: vec![0, 1, 2, 0xff, 0, 42],
            key_id: "k1".to_owned(),
        }),
        account_id: Some(role_account.to_owned()),
        alias: Some(format!("{id}-alias")),
        last_collected_at: Some(created_at + MINUTE),
        last_error: Some("AccessDenied: not authorized to perform ecs:ListClusters".to_owned()),
        created_at,
        updated_at: created_at + 1,
    }
}

/// The local account (the function's own credentials), with only required fields.
pub fn local_ecs_account(id: &str, created_at: i64) -> EcsAccountRecord {
    EcsAccountRecord {
        id: id.to_owned(),
        name: None,
        role_arn: None,
        role_account_id: None,
        regions: vec!["eu-central-1".to_owned()],
        external_id: None,
        account_id: None,
        alias: None,
        last_collected_at: None,
        last_error: None,
        created_at,
        updated_at: created_at,
    }
}

fn ids(accounts: &[EcsAccountRecord]) -> Vec<&str> {
    accounts.iter().map(|a| a.id.as_str()).collect()
}

fn assert_conflict(result: crate::StoreResult<impl std::fmt::Debug>, what: &str) {
    match result {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("{what}: expected Conflict, got {other:?}"),
    }
}

pub async fn create_then_get_round_trips_exactly<S: EcsAccountStore + ?Sized>(store: &S) {
    let full = ecs_account("acc-1", "111111111111", T0);
    let local = local_ecs_account("acc-2", T0 + 1);
    store.create_ecs_account(&full).await.expect("create");
    store
        .create_ecs_account(&local)
        .await
        .expect("create local");

    assert_eq!(
        store.get_ecs_account("acc-1").await.expect("get"),
        Some(full),
        "every field of an account must come back exactly"
    );
    assert_eq!(
        store.get_ecs_account("acc-2").await.expect("get"),
        Some(local),
        "absent optional fields stay absent"
    );
    assert_eq!(store.get_ecs_account("nope").await.expect("get"), None);
}

pub async fn list_is_ordered_by_created_at_then_id<S: EcsAccountStore + ?Sized>(store: &S) {
    assert!(store.list_ecs_accounts().await.expect("list").is_empty());
    for (id, account, created) in [
        ("b", "222222222222", T0 + DAY),
        ("c", "333333333333", T0),
        ("a", "444444444444", T0 + DAY),
        ("d", "555555555555", T0 - DAY),
    ] {
        store
            .create_ecs_account(&ecs_account(id, account, created))
            .await
            .expect("create");
    }
    let listed = store.list_ecs_accounts().await.expect("list");
    assert_eq!(ids(&listed), ["d", "c", "a", "b"]);
    assert_eq!(listed[1], ecs_account("c", "333333333333", T0));
}

pub async fn update_replaces_editable_fields_and_reports_whether_it_existed<
    S: EcsAccountStore + ?Sized,
>(
    store: &S,
) {
    let stored = ecs_account("acc-1", "111111111111", T0);
    let other = ecs_account("acc-2", "222222222222", T0 + 1);
    store.create_ecs_account(&stored).await.expect("create");
    store.create_ecs_account(&other).await.expect("create");

    let mut edit = local_ecs_account("acc-1", T0 + 5 * DAY);
    edit.name = Some("renamed".to_owned());
    edit.role_arn = Some("arn:aws:iam::999999999999:role/Other".to_owned());
    edit.role_account_id = Some("999999999999".to_owned());
    edit.regions = vec!["ap-southeast-2".to_owned()];
    edit.external_id = None;
    edit.updated_at = T0 + DAY;
    // What collections learn is not the editor's to change.
    edit.account_id = Some("000000000000".to_owned());
    edit.alias = Some("forged".to_owned());
    edit.last_collected_at = Some(T0 + 9 * DAY);
    edit.last_error = None;
    assert!(store.update_ecs_account(&edit).await.expect("update"));

    let expected = EcsAccountRecord {
        name: edit.name.clone(),
        role_arn: edit.role_arn.clone(),
        role_account_id: edit.role_account_id.clone(),
        regions: edit.regions.clone(),
        external_id: None,
        updated_at: edit.updated_at,
        ..stored.clone()
    };
    assert_eq!(
        store.get_ecs_account("acc-1").await.expect("get"),
        Some(expected),
        "editable fields are replaced; learned fields and created_at are kept"
    );
    assert_eq!(
        store.get_ecs_account("acc-2").await.expect("get"),
        Some(other)
    );

    assert!(
        !store
            .update_ecs_account(&ecs_account("nope", "333333333333", T0))
            .await
            .expect("update missing"),
        "updating a missing account returns false"
    );
    assert_eq!(store.get_ecs_account("nope").await.expect("get"), None);

    // The old role is free again.
    store
        .create_ecs_account(&ecs_account("acc-3", "111111111111", T0 + 2))
        .await
        .expect("a role given up by an edit can be registered again");
}

pub async fn delete_reports_whether_it_existed<S: EcsAccountStore + ?Sized>(store: &S) {
    store
        .create_ecs_account(&ecs_account("acc-1", "111111111111", T0))
        .await
        .expect("create");
    let keep = local_ecs_account("acc-2", T0 + 1);
    store.create_ecs_account(&keep).await.expect("create");

    assert!(store.delete_ecs_account("acc-1").await.expect("delete"));
    assert_eq!(store.get_ecs_account("acc-1").await.expect("get"), None);
    assert!(
        !store
            .delete_ecs_account("acc-1")
            .await
            .expect("delete again"),
        "deleting a missing account returns false"
    );
    assert_eq!(store.list_ecs_accounts().await.expect("list"), vec![keep]);
    store
        .create_ecs_account(&ecs_account("acc-3", "111111111111", T0 + 2))
        .await
        .expect("a deleted account's role can be registered again");
}

pub async fn the_same_role_or_a_second_local_account_is_a_conflict<S: EcsAccountStore + ?Sized>(
    store: &S,
) {
    let first = ecs_account("acc-1", "111111111111", T0);
    let local = local_ecs_account("acc-2", T0 + 1);
    store.create_ecs_account(&first).await.expect("create");
    store
        .create_ecs_account(&local)
        .await
        .expect("create local");

    let mut same_role = ecs_account("acc-3", "111111111111", T0 + 2);
    same_role.id = "acc-3".to_owned();
    same_role.role_arn = first.role_arn.clone();
    assert_conflict(
        store.create_ecs_account(&same_role).await,
        "a role registered twice",
    );
    assert_conflict(
        store
            .create_ecs_account(&local_ecs_account("acc-4", T0 + 3))
            .await,
        "a second local account",
    );
    assert_conflict(
        store
            .create_ecs_account(&ecs_account("acc-1", "555555555555", T0 + 4))
            .await,
        "a taken id",
    );
    assert_eq!(
        ids(&store.list_ecs_accounts().await.expect("list")),
        ["acc-1", "acc-2"],
        "refused creates store nothing"
    );

    let second = ecs_account("acc-5", "222222222222", T0 + 5);
    store.create_ecs_account(&second).await.expect("create");
    let mut onto_taken = second.clone();
    onto_taken.role_arn = first.role_arn.clone();
    assert_conflict(
        store.update_ecs_account(&onto_taken).await,
        "an edit onto another account's role",
    );
    let mut onto_local = second.clone();
    onto_local.role_arn = None;
    assert_conflict(
        store.update_ecs_account(&onto_local).await,
        "an edit making a second local account",
    );
    assert_eq!(
        store.get_ecs_account("acc-5").await.expect("get"),
        Some(second)
    );
    // Keeping one's own role is no conflict.
    let mut renamed = first.clone();
    renamed.name = Some("still mine".to_owned());
    assert!(store.update_ecs_account(&renamed).await.expect("update"));
}

pub async fn record_collection_keeps_edits_and_learned_fields<S: EcsAccountStore + ?Sized>(
    store: &S,
) {
    let account = local_ecs_account("acc-1", T0);
    store.create_ecs_account(&account).await.expect("create");

    // An admin edits the account while a collection (that read it before) runs.
    let mut edited = account.clone();
    edited.name = Some("edited meanwhile".to_owned());
    edited.regions = vec!["eu-west-1".to_owned(), "eu-north-1".to_owned()];
    edited.updated_at = T0 + MINUTE;
    assert!(store.update_ecs_account(&edited).await.expect("update"));

    assert!(
        store
            .record_ecs_collection(
                "acc-1",
                Some("123456789012"),
                Some("prod"),
                T0 + 2 * MINUTE,
                None
            )
            .await
            .expect("record")
    );
    let after_success = EcsAccountRecord {
        account_id: Some("123456789012".to_owned()),
        alias: Some("prod".to_owned()),
        last_collected_at: Some(T0 + 2 * MINUTE),
        last_error: None,
        ..edited.clone()
    };
    assert_eq!(
        store.get_ecs_account("acc-1").await.expect("get"),
        Some(after_success.clone()),
        "the collection's outcome is recorded and the edit survives"
    );

    // A failed collection learns nothing: what was learned stays, the error is set.
    assert!(
        store
            .record_ecs_collection("acc-1", None, None, T0 + 3 * MINUTE, Some("timed out"))
            .await
            .expect("record failure")
    );
    let after_failure = EcsAccountRecord {
        last_collected_at: Some(T0 + 3 * MINUTE),
        last_error: Some("timed out".to_owned()),
        ..after_success.clone()
    };
    assert_eq!(
        store.get_ecs_account("acc-1").await.expect("get"),
        Some(after_failure)
    );

    // The next success clears the error.
    assert!(
        store
            .record_ecs_collection(
                "acc-1",
                Some("123456789012"),
                Some("prod-renamed"),
                T0 + 4 * MINUTE,
                None
            )
            .await
            .expect("record")
    );
    let got = store
        .get_ecs_account("acc-1")
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(got.last_error, None);
    assert_eq!(got.alias.as_deref(), Some("prod-renamed"));
    assert_eq!(got.updated_at, T0 + MINUTE, "a collection is not an edit");

    assert!(
        !store
            .record_ecs_collection("gone", Some("123456789012"), None, T0, None)
            .await
            .expect("record for a missing account"),
        "recording for a deleted account reports it missing"
    );
    assert_eq!(store.get_ecs_account("gone").await.expect("get"), None);
}

pub async fn settings_default_to_false_and_round_trip<S: EcsAccountStore + ?Sized>(store: &S) {
    assert_eq!(
        store.ecs_settings().await.expect("settings"),
        EcsSettings::default()
    );
    assert!(
        !store
            .ecs_settings()
            .await
            .expect("settings")
            .users_can_view_ecs
    );

    let open = EcsSettings {
        users_can_view_ecs: true,
    };
    store.set_ecs_settings(&open).await.expect("set");
    assert_eq!(store.ecs_settings().await.expect("settings"), open);
    store
        .set_ecs_settings(&EcsSettings::default())
        .await
        .expect("set back");
    assert_eq!(
        store.ecs_settings().await.expect("settings"),
        EcsSettings::default()
    );
}
