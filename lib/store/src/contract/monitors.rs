//! Behaviours of [`MonitorStore`].

use crate::MonitorStore;

use super::fixtures::{monitor_id, monitor_spec};

pub async fn upsert_then_get_returns_the_same_spec<S: MonitorStore + ?Sized>(store: &S) {
    let spec = monitor_spec("api", "Public API");
    store.upsert_monitor(&spec).await.expect("upsert");

    let got = store.get_monitor(&spec.id).await.expect("get");
    assert_eq!(got, Some(spec), "a stored monitor must come back unchanged");
}

pub async fn get_of_an_unknown_monitor_is_none<S: MonitorStore + ?Sized>(store: &S) {
    store
        .upsert_monitor(&monitor_spec("api", "Public API"))
        .await
        .expect("upsert");

    let got = store.get_monitor(&monitor_id("apix")).await.expect("get");
    assert_eq!(got, None);
}

pub async fn list_is_ordered_by_id<S: MonitorStore + ?Sized>(store: &S) {
    assert!(store.list_monitors().await.expect("list").is_empty());
    for id in ["web", "api", "z-last", "cdn", "api-2"] {
        store
            .upsert_monitor(&monitor_spec(id, id))
            .await
            .expect("upsert");
    }

    let ids: Vec<String> = store
        .list_monitors()
        .await
        .expect("list")
        .into_iter()
        .map(|m| m.id.to_string())
        .collect();
    assert_eq!(ids, ["api", "api-2", "cdn", "web", "z-last"]);
}

pub async fn upsert_replaces_a_monitor_with_the_same_id<S: MonitorStore + ?Sized>(store: &S) {
    store
        .upsert_monitor(&monitor_spec("api", "Old name"))
        .await
        .expect("first upsert");
    let mut changed = monitor_spec("api", "New name");
    changed.paused = true;
    changed.tags = vec!["renamed".to_owned()];
    changed.conditions.clear();
    store.upsert_monitor(&changed).await.expect("second upsert");

    assert_eq!(
        store.get_monitor(&changed.id).await.expect("get"),
        Some(changed.clone()),
        "upsert must replace the whole monitor"
    );
    assert_eq!(
        store.list_monitors().await.expect("list"),
        vec![changed],
        "upsert of an existing id must not add a second monitor"
    );
}

pub async fn delete_reports_whether_the_monitor_existed<S: MonitorStore + ?Sized>(store: &S) {
    let keep = monitor_spec("keep", "Keep");
    let gone = monitor_spec("gone", "Gone");
    store.upsert_monitor(&keep).await.expect("upsert keep");
    store.upsert_monitor(&gone).await.expect("upsert gone");

    assert!(
        store.delete_monitor(&gone.id).await.expect("delete"),
        "deleting a stored monitor returns true"
    );
    assert_eq!(store.get_monitor(&gone.id).await.expect("get"), None);
    assert!(
        !store.delete_monitor(&gone.id).await.expect("delete again"),
        "deleting a missing monitor returns false"
    );
    assert_eq!(
        store.list_monitors().await.expect("list"),
        vec![keep],
        "delete must remove only the named monitor"
    );
}
