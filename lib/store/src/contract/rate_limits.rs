//! Behaviours of [`RateLimiter`]: fixed windows aligned to multiples of the window
//! length.

use crate::{RateDecision, RateLimiter};

use super::fixtures::{MINUTE, T0};
use super::join_all;

/// T0 is a multiple of a minute, so `[T0, T0 + MINUTE)` is one window.
const WINDOW: i64 = MINUTE;

pub async fn allows_up_to_the_limit_then_denies<S: RateLimiter + ?Sized>(store: &S) {
    let mut decisions = Vec::new();
    for i in 0..5 {
        decisions.push(
            store
                .hit("login:1.2.3.4", 3, WINDOW, T0 + 10 + i)
                .await
                .expect("hit"),
        );
    }
    let reset_at = T0 + WINDOW;
    assert_eq!(
        decisions,
        vec![
            RateDecision {
                allowed: true,
                remaining: 2,
                reset_at
            },
            RateDecision {
                allowed: true,
                remaining: 1,
                reset_at
            },
            RateDecision {
                allowed: true,
                remaining: 0,
                reset_at
            },
            RateDecision {
                allowed: false,
                remaining: 0,
                reset_at
            },
            RateDecision {
                allowed: false,
                remaining: 0,
                reset_at
            },
        ],
        "`limit` hits are allowed, then denied until the window ends"
    );
    let last = store
        .hit("login:1.2.3.4", 3, WINDOW, T0 + WINDOW - 1)
        .await
        .expect("hit");
    assert!(!last.allowed, "the last millisecond is still in the window");
    assert_eq!(last.reset_at, reset_at);
}

pub async fn a_new_window_resets_the_count<S: RateLimiter + ?Sized>(store: &S) {
    for i in 0..3 {
        store.hit("k", 2, WINDOW, T0 + i).await.expect("hit");
    }
    assert!(
        !store
            .hit("k", 2, WINDOW, T0 + 30_000)
            .await
            .expect("hit")
            .allowed
    );

    let next = store.hit("k", 2, WINDOW, T0 + WINDOW).await.expect("hit");
    assert_eq!(
        next,
        RateDecision {
            allowed: true,
            remaining: 1,
            reset_at: T0 + 2 * WINDOW
        },
        "the next window starts from zero"
    );
    let later = store
        .hit("k", 2, WINDOW, T0 + 10 * WINDOW + 5)
        .await
        .expect("hit");
    assert_eq!(
        later,
        RateDecision {
            allowed: true,
            remaining: 1,
            reset_at: T0 + 11 * WINDOW
        }
    );
}

pub async fn keys_are_independent<S: RateLimiter + ?Sized>(store: &S) {
    for i in 0..2 {
        assert!(
            store
                .hit("a", 2, WINDOW, T0 + i)
                .await
                .expect("hit")
                .allowed
        );
    }
    assert!(
        !store
            .hit("a", 2, WINDOW, T0 + 2)
            .await
            .expect("hit")
            .allowed
    );

    let b = store.hit("b", 2, WINDOW, T0 + 3).await.expect("hit");
    assert!(b.allowed, "another key has its own count");
    assert_eq!(b.remaining, 1);
    let long = store.hit("a", 2, 10 * WINDOW, T0 + 4).await.expect("hit");
    assert_eq!(
        long.reset_at,
        T0 + 10 * WINDOW,
        "windows align to their length"
    );
}

pub async fn concurrent_hits_never_allow_more_than_the_limit<S: RateLimiter + ?Sized>(store: &S) {
    const HITS: usize = 24;
    const LIMIT: u32 = 5;
    let decisions = join_all(
        (0..HITS)
            .map(|i| async move { store.hit("burst", LIMIT, WINDOW, T0 + i as i64).await })
            .collect(),
    )
    .await;
    let decisions: Vec<RateDecision> = decisions
        .into_iter()
        .map(|d| d.expect("hit must not fail under contention"))
        .collect();
    let allowed = decisions.iter().filter(|d| d.allowed).count();
    assert_eq!(
        allowed, LIMIT as usize,
        "exactly `limit` allowed: {decisions:?}"
    );
    let mut remaining: Vec<u32> = decisions
        .iter()
        .filter(|d| d.allowed)
        .map(|d| d.remaining)
        .collect();
    remaining.sort_unstable();
    assert_eq!(
        remaining,
        (0..LIMIT).collect::<Vec<_>>(),
        "each allowed hit saw its own count"
    );
    assert!(
        decisions
            .iter()
            .filter(|d| !d.allowed)
            .all(|d| d.remaining == 0),
        "denied hits have nothing remaining"
    );
}
