//! Behaviours of [`MonitorRecords`], and how they meet [`MonitorStore`]: both see the
//! same monitors; the YAML file's upserts make config monitors and never take an API
//! monitor's owner away.

use crate::{MonitorOrigin, MonitorRecord, MonitorRecords, MonitorStore, UserStore};

use super::fixtures::{DAY, T0, monitor_id, monitor_record, monitor_spec, user, user_id};

async fn users<S: UserStore + ?Sized>(store: &S, ids: &[&str]) {
    for (i, id) in ids.iter().enumerate() {
        store
            .create_user(&user(id, T0 + i as i64))
            .await
            .expect("create user");
    }
}

fn ids(records: &[MonitorRecord]) -> Vec<String> {
    records.iter().map(|r| r.spec.id.to_string()).collect()
}

pub async fn save_then_get_round_trips<S: MonitorRecords + UserStore + ?Sized>(store: &S) {
    users(store, &["ana"]).await;
    let api = monitor_record("api", "ana", T0);
    let config = MonitorRecord {
        spec: monitor_spec("cfg", "From the file"),
        owner: None,
        origin: MonitorOrigin::Config,
        created_at: T0 + 5,
        updated_at: T0 + 6,
    };
    store.save_monitor_record(&api).await.expect("save api");
    store
        .save_monitor_record(&config)
        .await
        .expect("save config");

    assert_eq!(
        store.get_monitor_record(&api.spec.id).await.expect("get"),
        Some(api),
        "every field of a record must come back exactly"
    );
    assert_eq!(
        store
            .get_monitor_record(&config.spec.id)
            .await
            .expect("get"),
        Some(config)
    );
    assert_eq!(
        store
            .get_monitor_record(&monitor_id("nope"))
            .await
            .expect("get"),
        None
    );
}

pub async fn save_replaces_by_id<S: MonitorRecords + UserStore + ?Sized>(store: &S) {
    users(store, &["ana", "bob"]).await;
    store
        .save_monitor_record(&monitor_record("api", "ana", T0))
        .await
        .expect("save");
    let mut changed = monitor_record("api", "bob", T0 + 1);
    changed.spec.name = "Renamed".to_owned();
    changed.spec.paused = true;
    changed.updated_at = T0 + DAY;
    store
        .save_monitor_record(&changed)
        .await
        .expect("save again");

    assert_eq!(
        store
            .get_monitor_record(&changed.spec.id)
            .await
            .expect("get"),
        Some(changed.clone())
    );
    assert_eq!(
        store.list_monitor_records(None).await.expect("list"),
        vec![changed],
        "saving an existing id must not add a second record"
    );
    assert!(
        store
            .list_monitor_records(Some(&user_id("ana")))
            .await
            .expect("list")
            .is_empty(),
        "the previous owner no longer lists it"
    );
}

pub async fn list_is_by_owner_or_all_ordered_by_id<S: MonitorRecords + UserStore + ?Sized>(
    store: &S,
) {
    users(store, &["ana", "bob"]).await;
    assert!(
        store
            .list_monitor_records(None)
            .await
            .expect("list")
            .is_empty()
    );
    for (id, owner) in [
        ("web", "ana"),
        ("api", "bob"),
        ("zed", "ana"),
        ("cdn", "ana"),
    ] {
        store
            .save_monitor_record(&monitor_record(id, owner, T0))
            .await
            .expect("save");
    }
    let config = MonitorRecord {
        spec: monitor_spec("blog", "Blog"),
        owner: None,
        origin: MonitorOrigin::Config,
        created_at: T0,
        updated_at: T0,
    };
    store
        .save_monitor_record(&config)
        .await
        .expect("save config");

    let ana = store
        .list_monitor_records(Some(&user_id("ana")))
        .await
        .expect("list ana");
    assert_eq!(ids(&ana), ["cdn", "web", "zed"], "one owner's only, by id");
    assert_eq!(ana[0], monitor_record("cdn", "ana", T0));
    assert_eq!(
        ids(&store.list_monitor_records(None).await.expect("list all")),
        ["api", "blog", "cdn", "web", "zed"]
    );
    assert!(
        store
            .list_monitor_records(Some(&user_id("carl")))
            .await
            .expect("list")
            .is_empty()
    );
}

pub async fn upsert_monitor_of_a_new_id_makes_a_config_record<
    S: MonitorRecords + MonitorStore + ?Sized,
>(
    store: &S,
) {
    let spec = monitor_spec("cfg", "From the file");
    store.upsert_monitor(&spec).await.expect("upsert");

    let record = store
        .get_monitor_record(&spec.id)
        .await
        .expect("get")
        .expect("an upserted monitor has a record");
    assert_eq!(record.spec, spec);
    assert_eq!(record.origin, MonitorOrigin::Config);
    assert_eq!(record.owner, None, "config monitors have no owner");
    assert!(
        record.updated_at >= record.created_at,
        "updated_at {} before created_at {}",
        record.updated_at,
        record.created_at
    );
    assert_eq!(
        ids(&store.list_monitor_records(None).await.expect("list")),
        ["cfg"]
    );
}

pub async fn upsert_monitor_keeps_the_owner_origin_and_created_at_of_an_api_record<
    S: MonitorRecords + MonitorStore + UserStore + ?Sized,
>(
    store: &S,
) {
    users(store, &["ana"]).await;
    let saved = monitor_record("api", "ana", T0);
    store.save_monitor_record(&saved).await.expect("save");

    let mut spec = monitor_spec("api", "Replaced spec");
    spec.tags = vec!["new".to_owned()];
    spec.paused = true;
    store.upsert_monitor(&spec).await.expect("upsert");

    let record = store
        .get_monitor_record(&spec.id)
        .await
        .expect("get")
        .expect("record exists");
    assert_eq!(record.spec, spec, "upsert replaces the spec");
    assert_eq!(record.owner, saved.owner, "upsert keeps the owner");
    assert_eq!(record.origin, MonitorOrigin::Api, "upsert keeps the origin");
    assert_eq!(
        record.created_at, saved.created_at,
        "upsert keeps created_at"
    );
    assert_eq!(
        store
            .list_monitor_records(Some(&user_id("ana")))
            .await
            .expect("list")
            .len(),
        1
    );
}

pub async fn monitor_store_sees_saved_records<
    S: MonitorRecords + MonitorStore + UserStore + ?Sized,
>(
    store: &S,
) {
    users(store, &["ana"]).await;
    let api = monitor_record("api", "ana", T0);
    store.save_monitor_record(&api).await.expect("save");
    let cfg = monitor_spec("cfg", "Config");
    store.upsert_monitor(&cfg).await.expect("upsert");

    assert_eq!(
        store.get_monitor(&api.spec.id).await.expect("get"),
        Some(api.spec.clone())
    );
    assert_eq!(
        store.list_monitors().await.expect("list"),
        vec![api.spec, cfg],
        "list_monitors returns API and config monitors, by id"
    );
}

pub async fn delete_monitor_removes_the_record<
    S: MonitorRecords + MonitorStore + UserStore + ?Sized,
>(
    store: &S,
) {
    users(store, &["ana"]).await;
    let gone = monitor_record("gone", "ana", T0);
    let keep = monitor_record("keep", "ana", T0);
    store.save_monitor_record(&gone).await.expect("save");
    store.save_monitor_record(&keep).await.expect("save");

    assert!(store.delete_monitor(&gone.spec.id).await.expect("delete"));
    assert_eq!(
        store.get_monitor_record(&gone.spec.id).await.expect("get"),
        None
    );
    assert_eq!(
        store
            .list_monitor_records(Some(&user_id("ana")))
            .await
            .expect("list"),
        vec![keep]
    );
    assert!(
        !store
            .delete_monitor(&gone.spec.id)
            .await
            .expect("delete again")
    );
}
