//! Behaviours of [`AlertLedger`].

use crate::{AlertLedger, Delivery, DeliveryStatus};

use super::fixtures::{MINUTE, T0, delivery};
use super::join_all;

pub async fn first_claim_wins_and_later_claims_lose<S: AlertLedger + ?Sized>(store: &S) {
    let first = delivery("api@1:down:1:slack", "api", T0);
    assert_eq!(store.get_delivery(&first.key).await.expect("get"), None);
    assert!(
        store.claim(&first).await.expect("claim"),
        "the first claim of a key wins"
    );
    assert_eq!(
        store.get_delivery(&first.key).await.expect("get"),
        Some(first.clone()),
        "every field of a delivery must come back exactly"
    );

    let mut again = first.clone();
    again.created_at = T0 + MINUTE;
    again.updated_at = T0 + MINUTE;
    again.event = "retry".to_owned();
    assert!(
        !store.claim(&again).await.expect("claim again"),
        "a second claim of the same key loses"
    );
    assert_eq!(
        store.get_delivery(&first.key).await.expect("get"),
        Some(first.clone()),
        "a lost claim changes nothing"
    );

    store
        .finish(&first.key, DeliveryStatus::Sent, 1, None, T0 + 1)
        .await
        .expect("finish");
    assert!(
        !store.claim(&first).await.expect("claim after finish"),
        "a finished delivery cannot be claimed again"
    );

    let other_channel = delivery("api@1:down:1:email", "api", T0);
    assert!(
        store.claim(&other_channel).await.expect("claim"),
        "keys are independent"
    );
}

pub async fn finish_updates_status_attempts_and_error<S: AlertLedger + ?Sized>(store: &S) {
    let claimed = delivery("k1", "api", T0);
    let bystander = delivery("k2", "api", T0);
    store.claim(&claimed).await.expect("claim");
    store.claim(&bystander).await.expect("claim");

    store
        .finish(
            "k1",
            DeliveryStatus::Failed,
            3,
            Some("webhook answered 500 — «oops»"),
            T0 + MINUTE,
        )
        .await
        .expect("finish");
    let failed = Delivery {
        status: DeliveryStatus::Failed,
        attempts: 3,
        last_error: Some("webhook answered 500 — «oops»".to_owned()),
        updated_at: T0 + MINUTE,
        ..claimed.clone()
    };
    assert_eq!(
        store.get_delivery("k1").await.expect("get"),
        Some(failed),
        "finish sets status, attempts, error and updated_at and keeps the rest"
    );

    store
        .finish("k1", DeliveryStatus::Sent, 4, None, T0 + 2 * MINUTE)
        .await
        .expect("finish");
    let sent = Delivery {
        status: DeliveryStatus::Sent,
        attempts: 4,
        last_error: None,
        updated_at: T0 + 2 * MINUTE,
        ..claimed
    };
    assert_eq!(
        store.get_delivery("k1").await.expect("get"),
        Some(sent),
        "finish without an error clears the previous one"
    );
    assert_eq!(
        store.get_delivery("k2").await.expect("get"),
        Some(bystander),
        "finish touches only its key"
    );
}

pub async fn list_is_newest_first_with_limit<S: AlertLedger + ?Sized>(store: &S) {
    assert!(store.list_deliveries(10).await.expect("list").is_empty());
    let deliveries = [
        delivery("b", "api", T0 + 2 * MINUTE),
        delivery("a", "web", T0),
        delivery("d", "api", T0 + 3 * MINUTE),
        delivery("c", "cdn", T0 + MINUTE),
    ];
    for d in &deliveries {
        store.claim(d).await.expect("claim");
    }
    // Finishing an old delivery must not move it to the front.
    store
        .finish("a", DeliveryStatus::Sent, 1, None, T0 + 10 * MINUTE)
        .await
        .expect("finish");

    let keys = |list: Vec<Delivery>| -> Vec<String> { list.into_iter().map(|d| d.key).collect() };
    assert_eq!(
        keys(store.list_deliveries(10).await.expect("list")),
        ["d", "b", "c", "a"],
        "deliveries are listed newest (created_at) first"
    );
    assert_eq!(
        keys(store.list_deliveries(2).await.expect("list")),
        ["d", "b"],
        "limit keeps the newest"
    );
    assert!(store.list_deliveries(0).await.expect("list").is_empty());
}

pub async fn concurrent_claims_have_exactly_one_winner<S: AlertLedger + ?Sized>(store: &S) {
    const RACERS: usize = 16;
    let candidates: Vec<Delivery> = (0..RACERS)
        .map(|i| {
            let mut d = delivery("api@1:down:1:slack", "api", T0);
            d.event = format!("racer {i}");
            d
        })
        .collect();

    let outcomes = join_all(
        candidates
            .iter()
            .map(|d| async move { store.claim(d).await })
            .collect(),
    )
    .await;

    let won: Vec<usize> = outcomes
        .into_iter()
        .enumerate()
        .filter_map(|(i, o)| {
            o.expect("claim must not fail under contention")
                .then_some(i)
        })
        .collect();
    assert_eq!(won.len(), 1, "exactly one claimer wins, got {won:?}");
    assert_eq!(
        store.get_delivery("api@1:down:1:slack").await.expect("get"),
        Some(candidates[won[0]].clone()),
        "the stored delivery is the winner's"
    );
}
