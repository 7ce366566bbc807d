//! The adapters of the AWS deployment, built once per cold start and shared by every
//! invocation of a warm function.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sentinel_api::alert_routing::AccountChannels;
use sentinel_api::groups::ecs::external_id_opener;
use sentinel_api::{AccountStores, ApiSettings, AppState, NoMonitorEvents};
use sentinel_aws::{
    AwsConfig, CollectorSettings, DynamoTable, EcsCollector, EventPublisher, S3BlobStore,
    SesMailer, SqsQueue,
};
use sentinel_core::Transition;
use sentinel_mongo::{MongoPingLog, MongoSettings};
use sentinel_pipeline::channels::{ChannelDeps, http_client};
use sentinel_pipeline::cloud::{
    ECS_EVENT_SOURCE, EVENT_DETAIL_TYPE, EVENT_SOURCE, PublishError, TransitionSink,
};
use sentinel_pipeline::ecs::{EcsCollection, EcsRefresh};
use sentinel_pipeline::{Notifier, RetryPolicy};
use sentinel_postgres::{PgSettings, PgStore};
use sentinel_probe::{ProbeSettings, Prober};
use sentinel_store::split::{PurgeMonitor, SplitAccounts, SplitEcsStores, SplitStores};
use sentinel_store::{
    BlobStore, EcsAccountStore, EcsIncidentStore, EcsSnapshotStore, Mailer, StoreError,
    StoreResult, Stores,
};

use crate::config::CloudConfig;
use crate::ecs::BusEcsSink;

/// Timeout of webhook deliveries from the notifier.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything a function needs, connected lazily: building it does no I/O, so a cold
/// start pays nothing for the backends a given invocation never touches.
pub struct Cloud {
    pub config: CloudConfig,
    pub aws: AwsConfig,
    pub pg: PgStore,
    pub pings: Arc<MongoPingLog>,
    pub table: Arc<DynamoTable>,
    pub stores: Arc<SplitStores>,
    pub accounts: Arc<SplitAccounts<PgStore>>,
}

impl Cloud {
    pub async fn connect(config: CloudConfig, aws: AwsConfig) -> anyhow::Result<Self> {
        // One connection per warm Lambda, checked on checkout: a thawed container's
        // connection may have been dropped by the server while frozen.
        let pg_settings = PgSettings::from_url(&config.postgres_url)?
            .with_pool_size(2)
            .with_check_on_checkout(true);
        let pg = PgStore::connect_lazy(&pg_settings)?;
        let mongo_settings = MongoSettings {
            retention: Some(config.ping_retention),
            app_name: std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok(),
            ..MongoSettings::default()
        };
        let pings = Arc::new(
            MongoPingLog::connect(
                &config.mongodb_uri,
                &config.mongodb_database,
                mongo_settings,
            )
            .await?,
        );
        let table = Arc::new(DynamoTable::new(aws.dynamodb(), config.table_name.clone()));
        let stores = Arc::new(SplitStores {
            monitors: Arc::new(pg.clone()),
            pings: Arc::clone(&pings) as _,
            states: Arc::clone(&table) as _,
            incidents: Arc::clone(&table) as _,
            ledger: Arc::clone(&table) as _,
            purgers: vec![
                Arc::clone(&pings) as Arc<dyn PurgeMonitor>,
                Arc::clone(&table) as Arc<dyn PurgeMonitor>,
            ],
        });
        let accounts = Arc::new(SplitAccounts {
            accounts: Arc::new(pg.clone()),
            limits: Arc::clone(&table) as _,
        });
        Ok(Self {
            config,
            aws,
            pg,
            pings,
            table,
            stores,
            accounts,
        })
    }

    /// Checks refuse private addresses unless `ALLOW_PRIVATE_TARGETS` says otherwise.
    pub fn prober(&self) -> anyhow::Result<Prober> {
        Ok(Prober::new(ProbeSettings {
            allow_private: self.config.allow_private,
            ..ProbeSettings::default()
        })?)
    }

    pub fn mailer(&self) -> Arc<dyn Mailer> {
        Arc::new(SesMailer::new(self.aws.ses()))
    }

    /// The reports bucket, or a store that says this function has none.
    pub fn blobs(&self) -> Arc<dyn BlobStore> {
        match &self.config.reports_bucket {
            Some(bucket) => Arc::new(S3BlobStore::new(self.aws.s3(), bucket.clone(), "exports")),
            None => Arc::new(NoBlobStore),
        }
    }

    /// Watched ECS accounts and the view's settings: PostgreSQL.
    pub fn ecs_accounts(&self) -> Arc<dyn EcsAccountStore> {
        Arc::new(self.pg.clone())
    }

    /// ECS snapshots and metric history: the DynamoDB table (`ECS#…` keys).
    pub fn ecs_snapshots(&self) -> Arc<dyn EcsSnapshotStore> {
        Arc::clone(&self.table) as Arc<dyn EcsSnapshotStore>
    }

    /// One ECS collection round over this deployment's adapters, shared by the
    /// `ecs-collector` function (its schedule) and the `ecs` function
    /// (`POST /api/ecs/refresh`): accounts in PostgreSQL, snapshots and incidents in
    /// DynamoDB, the SDK collector over this function's credentials, and health
    /// transitions to the bus for the notifier function. Does no I/O.
    pub fn ecs_refresh(
        &self,
        settings: &ApiSettings,
    ) -> anyhow::Result<Option<Arc<dyn EcsRefresh>>> {
        let stores = Arc::new(SplitEcsStores {
            accounts: self.ecs_accounts(),
            snapshots: self.ecs_snapshots(),
            incidents: Arc::clone(&self.table) as Arc<dyn EcsIncidentStore>,
        });
        let collector = EcsCollector::new(&self.aws, CollectorSettings::default())?;
        Ok(Some(Arc::new(EcsCollection::new(
            stores,
            Arc::new(collector),
            external_id_opener(settings.encryption.clone()),
            Arc::new(self.ecs_alert_sink()?),
        ))))
    }

    /// ECS health transitions to the EventBridge bus.
    pub fn ecs_alert_sink(&self) -> anyhow::Result<BusEcsSink> {
        let bus = self
            .config
            .need("EVENT_BUS_NAME", &self.config.event_bus_name)?;
        Ok(BusEcsSink(EventPublisher::new(
            self.aws.eventbridge(),
            bus,
            ECS_EVENT_SOURCE,
        )))
    }

    /// The API's state over the cloud adapters (no in-process scheduler here).
    pub fn app_state(&self, settings: ApiSettings) -> anyhow::Result<AppState> {
        let prober = self.prober()?;
        Ok(AppState {
            stores: Arc::clone(&self.stores) as Arc<dyn Stores>,
            accounts: Arc::clone(&self.accounts) as Arc<dyn AccountStores>,
            blobs: self.blobs(),
            mailer: self.mailer(),
            settings: Arc::new(settings),
            events: Arc::new(NoMonitorEvents),
            prober,
            last_tick: None,
            ecs_accounts: self.ecs_accounts(),
            ecs_snapshots: self.ecs_snapshots(),
            // Only the `ecs` function runs rounds on demand (`lambda::run_ecs_http`).
            ecs_refresh: None,
        })
    }

    /// The notifier for transition events: users' channels (decrypted with the
    /// keyring), each redelivery one more round of attempts.
    pub fn notifier(&self, settings: &ApiSettings) -> anyhow::Result<Notifier<SplitStores>> {
        let deps = ChannelDeps {
            http: http_client(WEBHOOK_TIMEOUT, self.config.allow_private)?,
            mailer: self.mailer(),
            default_from: self
                .config
                .mail_from
                .clone()
                .unwrap_or_else(|| "sentinel@localhost".into()),
            allow_private: self.config.allow_private,
        };
        let routing = AccountChannels {
            config_channels: Vec::new(),
            accounts: Arc::clone(&self.accounts) as Arc<dyn AccountStores>,
            keyring: settings.encryption.clone(),
            deps,
        };
        let retry = RetryPolicy {
            attempts: 2,
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(2),
        };
        Ok(Notifier::new(Arc::clone(&self.stores), Vec::new(), retry)
            .with_source(Arc::new(routing))
            .with_resend_failed())
    }

    pub fn checks_queue(&self) -> anyhow::Result<SqsQueue> {
        let url = self
            .config
            .need("CHECKS_QUEUE_URL", &self.config.checks_queue_url)?;
        Ok(SqsQueue::new(self.aws.sqs(), url))
    }

    pub fn transition_sink(&self) -> anyhow::Result<BusSink> {
        let bus = self
            .config
            .need("EVENT_BUS_NAME", &self.config.event_bus_name)?;
        Ok(BusSink(EventPublisher::new(
            self.aws.eventbridge(),
            bus,
            EVENT_SOURCE,
        )))
    }
}

/// Transitions to the EventBridge bus.
pub struct BusSink(pub EventPublisher);

#[async_trait]
impl TransitionSink for BusSink {
    async fn publish(&self, transitions: &[Transition]) -> Result<(), PublishError> {
        let events = transitions
            .iter()
            .map(|t| {
                serde_json::to_value(t)
                    .map(|detail| sentinel_aws::OutgoingEvent {
                        detail_type: EVENT_DETAIL_TYPE.to_owned(),
                        detail,
                    })
                    .map_err(|e| PublishError(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let report = self.0.publish(events).await;
        if report.failed.is_empty() {
            Ok(())
        } else {
            Err(PublishError(format!(
                "{} of {} events refused: {:?}",
                report.failed.len(),
                transitions.len(),
                report.failed
            )))
        }
    }
}

/// For functions deployed without a reports bucket.
struct NoBlobStore;

#[async_trait]
impl BlobStore for NoBlobStore {
    async fn put_blob(&self, _key: &str, _bytes: Vec<u8>, _content_type: &str) -> StoreResult<()> {
        Err(unavailable())
    }

    async fn get_blob(&self, _key: &str) -> StoreResult<Option<(Vec<u8>, String)>> {
        Err(unavailable())
    }
}

fn unavailable() -> StoreError {
    StoreError::Backend {
        message: "this function has no reports bucket (REPORTS_BUCKET is not set)".into(),
        source: None,
    }
}
