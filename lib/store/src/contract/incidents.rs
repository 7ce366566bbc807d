//! Behaviours of [`IncidentStore`].

use sentinel_core::{IncidentId, MonitorId};

use crate::IncidentStore;

use super::fixtures::{HOUR, MINUTE, T0, incident, monitor_id};

pub async fn open_then_get_returns_the_incident<S: IncidentStore + ?Sized>(store: &S) {
    let inc = incident("api", T0);
    store.open_incident(&inc).await.expect("open");

    assert_eq!(
        store.get_incident(&inc.id).await.expect("get"),
        Some(inc.clone()),
        "every field of an incident must come back exactly"
    );
    let unknown = IncidentId::new(&inc.monitor_id, T0 + 1);
    assert_eq!(store.get_incident(&unknown).await.expect("get"), None);
}

pub async fn open_is_idempotent_and_does_not_reopen<S: IncidentStore + ?Sized>(store: &S) {
    let inc = incident("api", T0);
    store.open_incident(&inc).await.expect("open");
    let mut redelivered = inc.clone();
    redelivered.cause = "a different cause".to_owned();
    store.open_incident(&redelivered).await.expect("open again");

    assert_eq!(
        store
            .list_incidents(&inc.monitor_id, 10)
            .await
            .expect("list"),
        vec![inc.clone()],
        "opening the same incident twice keeps one, the first"
    );

    store
        .close_incident(&inc.id, T0 + HOUR)
        .await
        .expect("close");
    store.open_incident(&inc).await.expect("open after close");
    let got = store
        .get_incident(&inc.id)
        .await
        .expect("get")
        .expect("incident exists");
    assert_eq!(
        got.ended_at,
        Some(T0 + HOUR),
        "a redelivered open must not reopen a closed incident"
    );
}

pub async fn close_is_idempotent_and_keeps_the_first_end<S: IncidentStore + ?Sized>(store: &S) {
    let inc = incident("api", T0);
    let other = incident("api", T0 - HOUR);
    store.open_incident(&inc).await.expect("open");
    store.open_incident(&other).await.expect("open");

    store
        .close_incident(&inc.id, T0 + 5 * MINUTE)
        .await
        .expect("close");
    store
        .close_incident(&inc.id, T0 + 9 * MINUTE)
        .await
        .expect("close again");

    let mut closed = inc.clone();
    closed.ended_at = Some(T0 + 5 * MINUTE);
    assert_eq!(
        store.get_incident(&inc.id).await.expect("get"),
        Some(closed),
        "a second close keeps the first ended_at and changes nothing else"
    );
    assert_eq!(
        store.get_incident(&other.id).await.expect("get"),
        Some(other),
        "closing one incident leaves others open"
    );
}

pub async fn close_of_an_unknown_incident_is_a_no_op<S: IncidentStore + ?Sized>(store: &S) {
    let id = IncidentId::new(&monitor_id("api"), T0);
    store
        .close_incident(&id, T0 + HOUR)
        .await
        .expect("closing an unknown incident is not an error");
    assert_eq!(store.get_incident(&id).await.expect("get"), None);
    assert!(
        store
            .list_incidents(&monitor_id("api"), 10)
            .await
            .expect("list")
            .is_empty(),
        "close must not create an incident"
    );
}

pub async fn list_is_newest_first_per_monitor_with_limit<S: IncidentStore + ?Sized>(store: &S) {
    let api: Vec<_> = [T0 + HOUR, T0, T0 + 3 * HOUR, T0 + 2 * HOUR]
        .into_iter()
        .map(|at| incident("api", at))
        .collect();
    let web = incident("web", T0 + 10 * HOUR);
    for inc in &api {
        store.open_incident(inc).await.expect("open");
    }
    store.open_incident(&web).await.expect("open");
    store
        .close_incident(&api[1].id, T0 + 30 * MINUTE)
        .await
        .expect("close");

    let starts = |list: Vec<sentinel_core::Incident>| -> Vec<i64> {
        list.into_iter().map(|i| i.started_at).collect()
    };
    let id = |s: &str| -> MonitorId { monitor_id(s) };
    assert_eq!(
        starts(store.list_incidents(&id("api"), 10).await.expect("list")),
        [T0 + 3 * HOUR, T0 + 2 * HOUR, T0 + HOUR, T0],
        "incidents are listed newest first, open and closed alike"
    );
    assert_eq!(
        starts(store.list_incidents(&id("api"), 2).await.expect("list")),
        [T0 + 3 * HOUR, T0 + 2 * HOUR],
        "limit keeps the newest"
    );
    assert_eq!(
        store.list_incidents(&id("web"), 10).await.expect("list"),
        vec![web],
        "incidents of other monitors are not listed"
    );
    assert!(
        store
            .list_incidents(&id("api"), 0)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        store
            .list_incidents(&id("cdn"), 10)
            .await
            .expect("list")
            .is_empty()
    );
}
