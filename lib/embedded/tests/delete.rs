//! Deleting a monitor forgets everything recorded under its id, so a new monitor that
//! reuses the id (maybe another user's) starts with no history.

use sentinel_core::check::{CheckResult, Timings};
use sentinel_core::stats::Granularity;
use sentinel_core::{Incident, IncidentId, LiveState, MonitorId, MonitorInput};
use sentinel_embedded::SqliteStore;
use sentinel_store::{IncidentStore, LiveStateStore, MonitorStore, PingLog};

#[tokio::test]
async fn deleting_a_monitor_deletes_its_history_and_keeps_other_monitors() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    for id in ["gone", "kept"] {
        let spec = MonitorInput {
            id: Some(id.into()),
            name: Some(id.into()),
            url: Some("https://example.com/".into()),
            ..MonitorInput::default()
        }
        .validate()
        .unwrap();
        store.upsert_monitor(&spec).await.unwrap();
        let monitor_id = MonitorId::parse(id).unwrap();
        store
            .append(&[CheckResult {
                monitor_id: monitor_id.clone(),
                checked_at: 1_700_000_000_000,
                success: false,
                status_code: Some(500),
                timings: Timings {
                    total_ms: 10.0,
                    ..Timings::default()
                },
                ip: None,
                cert_expires_at: None,
                error: None,
                failure_reason: Some("status 500".into()),
                conditions: vec![],
            }])
            .await
            .unwrap();
        store
            .compare_and_set(&LiveState::new(monitor_id.clone(), 0), None)
            .await
            .unwrap();
        store
            .open_incident(&Incident {
                id: IncidentId::new(&monitor_id, 1_700_000_000_000),
                monitor_id: monitor_id.clone(),
                started_at: 1_700_000_000_000,
                ended_at: None,
                cause: "status 500".into(),
                proof: vec![1_700_000_000_000],
            })
            .await
            .unwrap();
    }
    let gone = MonitorId::parse("gone").unwrap();
    let kept = MonitorId::parse("kept").unwrap();
    assert!(store.delete_monitor(&gone).await.unwrap());

    assert!(
        store
            .history(&gone, 0, i64::MAX, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .rollups(&gone, Granularity::Hour, 0, i64::MAX)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.get_state(&gone).await.unwrap().is_none());
    assert!(store.list_incidents(&gone, 10).await.unwrap().is_empty());

    assert_eq!(
        store.history(&kept, 0, i64::MAX, 10).await.unwrap().len(),
        1
    );
    assert!(store.get_state(&kept).await.unwrap().is_some());
    assert_eq!(store.list_incidents(&kept, 10).await.unwrap().len(), 1);
}
