//! ECS collection in `sentinel serve`: a background task runs a collection round every
//! `ECS_COLLECT_MINUTES` (default 5) while at least one account is watched, and the
//! same round answers `POST /api/ecs/refresh`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use async_trait::async_trait;
use sentinel_api::ApiSettings;
use sentinel_api::groups::ecs::external_id_opener;
use sentinel_aws::{AwsConfig, CollectorSettings, EcsCollector};
use sentinel_core::UnixMs;
use sentinel_pipeline::Notifier;
use sentinel_pipeline::ecs::{
    EcsAccountSnapshot, EcsCollection, EcsRefresh, EcsRefreshError, EcsSource, EcsTarget,
    NotifierEcsSink,
};
use sentinel_store::split::SplitEcsStores;
use sentinel_store::{AlertLedger, EcsAccountStore};
use tokio::sync::OnceCell;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

/// Minutes between collections unless `ECS_COLLECT_MINUTES` says otherwise.
pub const DEFAULT_COLLECT_MINUTES: u64 = 5;
const MAX_COLLECT_MINUTES: u64 = 1440;

/// The collection period from `ECS_COLLECT_MINUTES` (a whole number, 1 to 1440).
pub fn collect_every(raw: Option<&str>) -> anyhow::Result<Duration> {
    let minutes = match raw.map(str::trim).filter(|v| !v.is_empty()) {
        None => DEFAULT_COLLECT_MINUTES,
        Some(text) => match text.parse::<u64>() {
            Ok(n) if (1..=MAX_COLLECT_MINUTES).contains(&n) => n,
            _ => bail!(
                "ECS_COLLECT_MINUTES: must be a whole number from 1 to {MAX_COLLECT_MINUTES}, not {text:?}"
            ),
        },
    };
    Ok(Duration::from_secs(minutes * 60))
}

/// The collection round over this server's stores: accounts `accounts`, snapshots and
/// incidents `snapshots` / `incidents`, the AWS SDK collector over the environment's
/// credentials (`AWS_*`, optionally `AWS_ENDPOINT_URL`), external ids opened with the
/// API's keyring, and health transitions alerted through `notifier` right away.
///
/// The AWS configuration is loaded on the first round that has an account to collect,
/// so a server that watches none never looks for credentials.
pub fn ecs_refresh<S>(
    stores: SplitEcsStores,
    notifier: Arc<Notifier<S>>,
    settings: &ApiSettings,
) -> Arc<dyn EcsRefresh>
where
    S: AlertLedger + Send + Sync + ?Sized + 'static,
{
    Arc::new(EcsCollection::new(
        Arc::new(stores),
        Arc::new(EnvCollector::default()),
        external_id_opener(settings.encryption.clone()),
        Arc::new(NotifierEcsSink::new(notifier)),
    ))
}

/// The SDK collector over `AwsConfig::from_env()`, built when first needed.
#[derive(Default)]
struct EnvCollector {
    collector: OnceCell<Result<EcsCollector, String>>,
}

#[async_trait]
impl EcsSource for EnvCollector {
    async fn collect(
        &self,
        targets: &[EcsTarget],
        now: UnixMs,
    ) -> Vec<Result<EcsAccountSnapshot, String>> {
        if targets.is_empty() {
            return Vec::new();
        }
        let collector = self
            .collector
            .get_or_init(|| async {
                let config = AwsConfig::from_env().await;
                EcsCollector::new(&config, CollectorSettings::default())
                    .map_err(|e| format!("the ECS collector cannot start: {e}"))
            })
            .await;
        match collector {
            Ok(collector) => EcsSource::collect(collector, targets, now).await,
            Err(e) => targets.iter().map(|_| Err(e.clone())).collect(),
        }
    }
}

/// Runs a round every `every` (the first at once) until `shutdown`; a tick with no
/// account registered does nothing, so the task costs nothing until one is.
pub fn spawn_collector(
    refresh: Arc<dyn EcsRefresh>,
    accounts: Arc<dyn EcsAccountStore>,
    every: Duration,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        // A slow round delays the next one instead of bunching them up.
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = ticks.tick() => {
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = collect_once(refresh.as_ref(), accounts.as_ref()) => {}
                    }
                }
            }
        }
        debug!("ECS collector stopped");
    })
}

async fn collect_once(refresh: &dyn EcsRefresh, accounts: &dyn EcsAccountStore) {
    match accounts.list_ecs_accounts().await {
        Ok(list) if list.is_empty() => {
            debug!("no ECS account registered: nothing to collect");
            return;
        }
        Ok(_) => {}
        Err(e) => {
            warn!(error = %e, "cannot read the ECS accounts; collection skipped");
            return;
        }
    }
    match refresh.refresh(sentinel_pipeline::now_ms()).await {
        Ok(report) => report.log(),
        // A refresh from the API is running: it collects for this tick.
        Err(EcsRefreshError::Busy) => debug!("an ECS collection is already running"),
        Err(EcsRefreshError::Store(e)) => warn!(error = %e, "ECS collection failed"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use sentinel_core::UnixMs;
    use sentinel_embedded::SqliteStore;
    use sentinel_pipeline::ecs::EcsRefreshReport;
    use sentinel_store::EcsAccountRecord;

    use super::*;

    struct Counting(AtomicUsize);

    #[async_trait]
    impl EcsRefresh for Counting {
        async fn refresh(&self, now: UnixMs) -> Result<EcsRefreshReport, EcsRefreshError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(EcsRefreshReport {
                collected_at: now,
                ..EcsRefreshReport::default()
            })
        }
    }

    #[test]
    fn the_period_defaults_to_five_minutes_and_refuses_nonsense() {
        assert_eq!(collect_every(None).unwrap(), Duration::from_secs(300));
        assert_eq!(collect_every(Some(" ")).unwrap(), Duration::from_secs(300));
        assert_eq!(collect_every(Some("1")).unwrap(), Duration::from_secs(60));
        for bad in ["0", "1441", "5m", "-1"] {
            let err = collect_every(Some(bad)).unwrap_err().to_string();
            assert!(err.starts_with("ECS_COLLECT_MINUTES"), "{err}");
        }
    }

    #[tokio::test]
    async fn rounds_run_only_while_an_account_is_watched_and_stop_on_shutdown() {
        let store = Arc::new(SqliteStore::open_in_memory().await.unwrap());
        let refresh = Arc::new(Counting(AtomicUsize::new(0)));
        let shutdown = CancellationToken::new();
        let task = spawn_collector(
            Arc::clone(&refresh) as Arc<dyn EcsRefresh>,
            Arc::clone(&store) as Arc<dyn EcsAccountStore>,
            Duration::from_millis(20),
            shutdown.clone(),
        );
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(refresh.0.load(Ordering::SeqCst), 0, "no account: no round");

        store
            .create_ecs_account(&EcsAccountRecord {
                id: "ecs_local".into(),
                name: None,
                role_arn: None,
                role_account_id: None,
                regions: vec!["eu-west-1".into()],
                external_id: None,
                account_id: None,
                alias: None,
                last_collected_at: None,
                last_error: None,
                created_at: 1,
                updated_at: 1,
            })
            .await
            .unwrap();
        let mut waited = 0;
        while refresh.0.load(Ordering::SeqCst) < 2 && waited < 200 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            waited += 1;
        }
        assert!(
            refresh.0.load(Ordering::SeqCst) >= 2,
            "rounds run every period"
        );

        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the task ends on shutdown")
            .unwrap();
        let after = refresh.0.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(
            refresh.0.load(Ordering::SeqCst),
            after,
            "no round after shutdown"
        );
    }
}
