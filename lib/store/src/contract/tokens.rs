//! Behaviours of [`TokenStore`]. Tokens belong to users, so each behaviour creates its
//! users first (an adapter may enforce that with a foreign key).

use crate::{RotateOutcome, TokenStore, UserStore};

use super::fixtures::{DAY, MINUTE, T0, refresh_token, user, user_id};
use super::join_all;

async fn users<S: UserStore + ?Sized>(store: &S, ids: &[&str]) {
    for (i, id) in ids.iter().enumerate() {
        store
            .create_user(&user(id, T0 + i as i64))
            .await
            .expect("create user");
    }
}

pub async fn rotate_spends_the_old_token_and_stores_the_new<S: TokenStore + UserStore + ?Sized>(
    store: &S,
) {
    users(store, &["ana"]).await;
    store
        .insert_refresh(&refresh_token("t1", "ana", "fam", T0))
        .await
        .expect("insert");

    let t2 = refresh_token("t2", "ana", "fam", T0 + MINUTE);
    assert_eq!(
        store
            .rotate_refresh("t1", &t2, T0 + MINUTE)
            .await
            .expect("rotate"),
        RotateOutcome::Rotated {
            user_id: user_id("ana")
        }
    );
    let t3 = refresh_token("t3", "ana", "fam", T0 + 2 * MINUTE);
    assert_eq!(
        store
            .rotate_refresh("t2", &t3, T0 + 2 * MINUTE)
            .await
            .expect("rotate the new token"),
        RotateOutcome::Rotated {
            user_id: user_id("ana")
        },
        "the token stored by a rotation is live"
    );
}

pub async fn reusing_a_spent_token_revokes_the_whole_family<S: TokenStore + UserStore + ?Sized>(
    store: &S,
) {
    users(store, &["ana"]).await;
    store
        .insert_refresh(&refresh_token("t1", "ana", "fam", T0))
        .await
        .expect("insert");
    store
        .insert_refresh(&refresh_token("other", "ana", "other-fam", T0))
        .await
        .expect("insert other family");
    let t2 = refresh_token("t2", "ana", "fam", T0 + MINUTE);
    store
        .rotate_refresh("t1", &t2, T0 + MINUTE)
        .await
        .expect("rotate");

    // The attacker (or the victim) replays t1.
    let stolen = refresh_token("t2-attacker", "ana", "fam", T0 + 2 * MINUTE);
    assert_eq!(
        store
            .rotate_refresh("t1", &stolen, T0 + 2 * MINUTE)
            .await
            .expect("replay"),
        RotateOutcome::Reused {
            user_id: user_id("ana"),
            family_id: "fam".to_owned()
        },
        "a spent token coming back is reuse"
    );
    let t3 = refresh_token("t3", "ana", "fam", T0 + 3 * MINUTE);
    assert_eq!(
        store
            .rotate_refresh("t2", &t3, T0 + 3 * MINUTE)
            .await
            .expect("rotate newest"),
        RotateOutcome::Invalid,
        "reuse must revoke the newest token of the family too"
    );
    assert_eq!(
        store
            .rotate_refresh("t2-attacker", &t3, T0 + 3 * MINUTE)
            .await
            .expect("rotate attacker's"),
        RotateOutcome::Invalid,
        "a replay must not store the new token it came with"
    );
    let next = refresh_token("other-2", "ana", "other-fam", T0 + 3 * MINUTE);
    assert_eq!(
        store
            .rotate_refresh("other", &next, T0 + 3 * MINUTE)
            .await
            .expect("rotate other family"),
        RotateOutcome::Rotated {
            user_id: user_id("ana")
        },
        "other families (other devices) are untouched"
    );
}

pub async fn expired_token_is_invalid<S: TokenStore + UserStore + ?Sized>(store: &S) {
    users(store, &["ana"]).await;
    let old = refresh_token("t1", "ana", "fam", T0);
    store.insert_refresh(&old).await.expect("insert");

    let new = refresh_token("t2", "ana", "fam", old.expires_at);
    assert_eq!(
        store
            .rotate_refresh("t1", &new, old.expires_at)
            .await
            .expect("rotate at expiry"),
        RotateOutcome::Invalid,
        "a token is dead at its expires_at"
    );
    assert_eq!(
        store
            .rotate_refresh("t2", &refresh_token("t3", "ana", "fam", T0), T0 + MINUTE)
            .await
            .expect("rotate"),
        RotateOutcome::Invalid,
        "a failed rotation stores nothing"
    );
}

pub async fn unknown_token_is_invalid<S: TokenStore + UserStore + ?Sized>(store: &S) {
    users(store, &["ana"]).await;
    store
        .insert_refresh(&refresh_token("t1", "ana", "fam", T0))
        .await
        .expect("insert");
    assert_eq!(
        store
            .rotate_refresh("nope", &refresh_token("t2", "ana", "fam", T0), T0 + 1)
            .await
            .expect("rotate"),
        RotateOutcome::Invalid
    );
    assert!(
        !store.revoke_refresh_family("nope").await.expect("revoke"),
        "revoking an unknown token's family returns false"
    );
}

pub async fn revoke_family_logs_out_that_family_only<S: TokenStore + UserStore + ?Sized>(
    store: &S,
) {
    users(store, &["ana"]).await;
    store
        .insert_refresh(&refresh_token("a1", "ana", "laptop", T0))
        .await
        .expect("insert");
    store
        .rotate_refresh("a1", &refresh_token("a2", "ana", "laptop", T0 + 1), T0 + 1)
        .await
        .expect("rotate");
    store
        .insert_refresh(&refresh_token("b1", "ana", "phone", T0))
        .await
        .expect("insert");

    assert!(
        store.revoke_refresh_family("a1").await.expect("revoke"),
        "any token of the family finds it, spent ones included"
    );
    assert_eq!(
        store
            .rotate_refresh("a2", &refresh_token("a3", "ana", "laptop", T0 + 2), T0 + 2)
            .await
            .expect("rotate"),
        RotateOutcome::Invalid,
        "the family's live token is revoked"
    );
    assert_eq!(
        store
            .rotate_refresh("b1", &refresh_token("b2", "ana", "phone", T0 + 2), T0 + 2)
            .await
            .expect("rotate"),
        RotateOutcome::Rotated {
            user_id: user_id("ana")
        },
        "another family survives"
    );
}

pub async fn revoke_user_refresh_revokes_all_of_a_users_tokens<
    S: TokenStore + UserStore + ?Sized,
>(
    store: &S,
) {
    users(store, &["ana", "bob"]).await;
    for (hash, owner, family) in [
        ("a1", "ana", "laptop"),
        ("a2", "ana", "phone"),
        ("b1", "bob", "laptop-b"),
    ] {
        store
            .insert_refresh(&refresh_token(hash, owner, family, T0))
            .await
            .expect("insert");
    }

    assert_eq!(
        store
            .revoke_user_refresh(&user_id("ana"))
            .await
            .expect("revoke"),
        2,
        "returns how many tokens were revoked"
    );
    for hash in ["a1", "a2"] {
        assert_eq!(
            store
                .rotate_refresh(
                    hash,
                    &refresh_token(&format!("{hash}-n"), "ana", "x", T0 + 1),
                    T0 + 1
                )
                .await
                .expect("rotate"),
            RotateOutcome::Invalid,
            "{hash} is revoked"
        );
    }
    assert_eq!(
        store
            .rotate_refresh(
                "b1",
                &refresh_token("b2", "bob", "laptop-b", T0 + 1),
                T0 + 1
            )
            .await
            .expect("rotate"),
        RotateOutcome::Rotated {
            user_id: user_id("bob")
        },
        "another user's tokens survive"
    );
}

pub async fn concurrent_rotations_have_exactly_one_winner<S: TokenStore + UserStore + ?Sized>(
    store: &S,
) {
    const RACERS: usize = 12;
    users(store, &["ana"]).await;
    store
        .insert_refresh(&refresh_token("t1", "ana", "fam", T0))
        .await
        .expect("insert");
    let news: Vec<_> = (0..RACERS)
        .map(|i| refresh_token(&format!("new-{i}"), "ana", "fam", T0 + 1))
        .collect();

    let outcomes: Vec<RotateOutcome> = join_all(
        news.iter()
            .map(|new| async move { store.rotate_refresh("t1", new, T0 + 1).await })
            .collect(),
    )
    .await
    .into_iter()
    .map(|o| o.expect("rotation must not fail under contention"))
    .collect();

    let winners: Vec<usize> = outcomes
        .iter()
        .enumerate()
        .filter(|(_, o)| matches!(o, RotateOutcome::Rotated { .. }))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one rotation wins: {outcomes:?}");
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, RotateOutcome::Reused { .. })),
        "the racers that lost saw a spent token: {outcomes:?}"
    );
    // A lost race is a replay: the family is revoked, the winner's token included.
    let winner = &news[winners[0]];
    assert_eq!(
        store
            .rotate_refresh(
                &winner.token_hash,
                &refresh_token("after", "ana", "fam", T0 + 2),
                T0 + 2
            )
            .await
            .expect("rotate winner"),
        RotateOutcome::Invalid
    );
}

pub async fn reset_peek_does_not_spend_and_consume_is_single_use<
    S: TokenStore + UserStore + ?Sized,
>(
    store: &S,
) {
    users(store, &["ana"]).await;
    store
        .insert_reset("r1", &user_id("ana"), T0 + DAY)
        .await
        .expect("insert reset");

    for _ in 0..2 {
        assert_eq!(
            store.peek_reset("r1", T0).await.expect("peek"),
            Some(user_id("ana")),
            "peek does not spend"
        );
    }
    assert_eq!(store.peek_reset("nope", T0).await.expect("peek"), None);
    assert_eq!(
        store.consume_reset("r1", T0 + 1).await.expect("consume"),
        Some(user_id("ana"))
    );
    assert_eq!(
        store
            .consume_reset("r1", T0 + 2)
            .await
            .expect("consume again"),
        None,
        "a reset token works once"
    );
    assert_eq!(store.peek_reset("r1", T0 + 2).await.expect("peek"), None);
    assert_eq!(
        store.consume_reset("nope", T0).await.expect("consume"),
        None
    );
}

pub async fn concurrent_consumes_of_a_reset_token_have_one_winner<
    S: TokenStore + UserStore + ?Sized,
>(
    store: &S,
) {
    users(store, &["ana"]).await;
    store
        .insert_reset("r1", &user_id("ana"), T0 + DAY)
        .await
        .expect("insert reset");
    let outcomes = join_all(
        (0..8)
            .map(|_| async { store.consume_reset("r1", T0).await })
            .collect(),
    )
    .await;
    let winners = outcomes
        .into_iter()
        .map(|o| o.expect("consume must not fail under contention"))
        .filter(Option::is_some)
        .count();
    assert_eq!(winners, 1, "exactly one consume gets the user");
}

pub async fn expired_reset_token_is_none<S: TokenStore + UserStore + ?Sized>(store: &S) {
    users(store, &["ana"]).await;
    store
        .insert_reset("r1", &user_id("ana"), T0 + MINUTE)
        .await
        .expect("insert reset");
    assert_eq!(
        store.peek_reset("r1", T0 + MINUTE).await.expect("peek"),
        None,
        "dead at expires_at"
    );
    assert_eq!(
        store
            .consume_reset("r1", T0 + 2 * MINUTE)
            .await
            .expect("consume"),
        None
    );
    assert_eq!(
        store.peek_reset("r1", T0).await.expect("peek"),
        None,
        "a refused consume of an expired token does not bring it back"
    );
}

pub async fn a_new_reset_token_drops_older_ones<S: TokenStore + UserStore + ?Sized>(store: &S) {
    users(store, &["ana", "bob"]).await;
    store
        .insert_reset("old", &user_id("ana"), T0 + DAY)
        .await
        .expect("insert old");
    store
        .insert_reset("bob-1", &user_id("bob"), T0 + DAY)
        .await
        .expect("insert bob's");
    store
        .insert_reset("new", &user_id("ana"), T0 + DAY)
        .await
        .expect("insert new");

    assert_eq!(
        store.consume_reset("old", T0).await.expect("consume old"),
        None,
        "only the newest reset link works"
    );
    assert_eq!(
        store.consume_reset("new", T0).await.expect("consume new"),
        Some(user_id("ana"))
    );
    assert_eq!(
        store.peek_reset("bob-1", T0).await.expect("peek"),
        Some(user_id("bob")),
        "other users' reset tokens stay"
    );
}
