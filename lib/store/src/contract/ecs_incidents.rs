//! Behaviours of [`EcsIncidentStore`]: ECS health incidents, one open per service.

use sentinel_core::ecs::{Health, ServiceKey};

use crate::{EcsIncident, EcsIncidentStore};

use super::ecs_snapshots::{ACCOUNT_A, ACCOUNT_B, REGION, service_key};
use super::fixtures::{MINUTE, T0};

pub fn incident(key: &ServiceKey, started_at: i64, health: Health) -> EcsIncident {
    EcsIncident {
        id: format!(
            "ecs:{}/{}/{}/{}@{started_at}",
            key.account_id, key.region, key.cluster, key.service
        ),
        key: key.clone(),
        alias: "prod".to_owned(),
        started_at,
        ended_at: None,
        health,
        reason: "1 of 3 tasks running".to_owned(),
    }
}

pub async fn open_returns_the_open_incident_and_close_ends_it<S: EcsIncidentStore + ?Sized>(
    store: &S,
) {
    let key = service_key(ACCOUNT_A, REGION, "web", "api");
    let first = incident(&key, T0, Health::Degraded);
    assert_eq!(
        store.open_ecs_incident(&first).await.expect("open"),
        first,
        "nothing open: the given incident opens"
    );
    let later = incident(&key, T0 + MINUTE, Health::Failed);
    assert_eq!(
        store.open_ecs_incident(&later).await.expect("open again"),
        first,
        "one open per service: the open one is returned, unchanged"
    );
    let other_key = service_key(ACCOUNT_B, REGION, "web", "api");
    let other = incident(&other_key, T0 + MINUTE, Health::Failed);
    assert_eq!(
        store.open_ecs_incident(&other).await.expect("open other"),
        other,
        "another service's incident is its own"
    );

    let closed = store
        .close_ecs_incident(&key, T0 + 5 * MINUTE)
        .await
        .expect("close")
        .expect("it was open");
    assert_eq!(
        closed,
        EcsIncident {
            ended_at: Some(T0 + 5 * MINUTE),
            ..first.clone()
        }
    );
    assert_eq!(
        store
            .close_ecs_incident(&key, T0 + 6 * MINUTE)
            .await
            .expect("close again"),
        None,
        "nothing open any more"
    );
    let reopened = incident(&key, T0 + 10 * MINUTE, Health::Failed);
    assert_eq!(
        store.open_ecs_incident(&reopened).await.expect("reopen"),
        reopened,
        "after closing, a new incident opens"
    );
    let listed = store.list_ecs_incidents(10).await.expect("list");
    assert_eq!(listed, [reopened, other, closed], "newest first");
}

pub async fn list_is_newest_first_and_limited<S: EcsIncidentStore + ?Sized>(store: &S) {
    assert!(store.list_ecs_incidents(10).await.expect("list").is_empty());
    let mut opened = Vec::new();
    for (i, service) in ["a", "b", "c", "d"].iter().enumerate() {
        let key = service_key(ACCOUNT_A, REGION, "web", service);
        let inc = incident(&key, T0 + (i as i64) * MINUTE, Health::Degraded);
        store.open_ecs_incident(&inc).await.expect("open");
        opened.push(inc);
    }
    opened.reverse();
    assert_eq!(store.list_ecs_incidents(10).await.expect("list"), opened);
    assert_eq!(
        store.list_ecs_incidents(2).await.expect("list"),
        opened[..2],
        "at most limit"
    );
}

pub async fn bad_keys_and_ended_incidents_are_refused<S: EcsIncidentStore + ?Sized>(store: &S) {
    let bad = service_key("12345", REGION, "web", "api");
    assert!(
        store
            .open_ecs_incident(&incident(&bad, T0, Health::Failed))
            .await
            .is_err(),
        "a bad key is refused"
    );
    assert!(store.close_ecs_incident(&bad, T0).await.is_err());
    let key = service_key(ACCOUNT_A, REGION, "web", "api");
    let ended = EcsIncident {
        ended_at: Some(T0 + MINUTE),
        ..incident(&key, T0, Health::Failed)
    };
    assert!(
        store.open_ecs_incident(&ended).await.is_err(),
        "an ended incident cannot be opened"
    );
    assert!(store.list_ecs_incidents(10).await.expect("list").is_empty());
}

pub async fn open_incidents_are_the_unclosed_ones_by_key<S: EcsIncidentStore + ?Sized>(store: &S) {
    assert!(store.open_ecs_incidents().await.expect("open").is_empty());
    let api_b = service_key(ACCOUNT_B, REGION, "web", "api");
    let api_a = service_key(ACCOUNT_A, REGION, "web", "api");
    let worker_a = service_key(ACCOUNT_A, REGION, "jobs", "worker");
    let closed_a = service_key(ACCOUNT_A, REGION, "web", "closed");
    for (i, key) in [&api_b, &api_a, &worker_a, &closed_a]
        .into_iter()
        .enumerate()
    {
        let inc = incident(key, T0 + (i as i64) * MINUTE, Health::Failed);
        store.open_ecs_incident(&inc).await.expect("open");
    }
    store
        .close_ecs_incident(&closed_a, T0 + 9 * MINUTE)
        .await
        .expect("close")
        .expect("it was open");
    let open = store.open_ecs_incidents().await.expect("open");
    assert_eq!(
        open.iter().map(|i| i.key.clone()).collect::<Vec<_>>(),
        [worker_a.clone(), api_a.clone(), api_b.clone()],
        "the closed one is left out; ordered by account, region, cluster, service"
    );
    assert_eq!(
        open[0],
        incident(&worker_a, T0 + 2 * MINUTE, Health::Failed)
    );
    assert!(open.iter().all(|i| i.ended_at.is_none()));
}

/// A round that closes at `at` cannot end an incident a newer round opened after `at`
/// (two rounds may race: the collector and "refresh now").
pub async fn a_close_never_ends_an_incident_that_started_after_it<S: EcsIncidentStore + ?Sized>(
    store: &S,
) {
    let key = service_key(ACCOUNT_A, REGION, "web", "newer");
    let newer = incident(&key, T0 + 5 * MINUTE, Health::Failed);
    store.open_ecs_incident(&newer).await.expect("open");
    assert_eq!(
        store
            .close_ecs_incident(&key, T0 + MINUTE)
            .await
            .expect("close"),
        None,
        "an older round's close"
    );
    assert_eq!(store.open_ecs_incidents().await.expect("open"), vec![newer]);
    let closed = store
        .close_ecs_incident(&key, T0 + 5 * MINUTE)
        .await
        .expect("close")
        .expect("closed at its own start");
    assert_eq!(closed.ended_at, Some(T0 + 5 * MINUTE));
    assert!(store.open_ecs_incidents().await.expect("open").is_empty());
}
