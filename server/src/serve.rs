//! `sentinel serve`: the engine, the HTTP routes and graceful shutdown in one process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, bail};
use sentinel_api::alert_routing::AccountChannels;
use sentinel_api::{AccountStores, ApiSettings, AppState, MonitorEvents};
use sentinel_core::{MonitorId, MonitorSpec};
use sentinel_embedded::FolderBlobStore;
use sentinel_embedded::SqliteStore;
use sentinel_embedded::mail::{OutboxMailer, SmtpMailer};
use sentinel_mongo::{MongoPingLog, MongoSettings};
use sentinel_pipeline::EngineHandle;
use sentinel_pipeline::channels::{AlertChannel, ChannelDeps, http_client};
use sentinel_pipeline::{CheckStage, Engine, EngineConfig, Notifier, RetryPolicy};
use sentinel_postgres::{PgSettings, PgStore};
use sentinel_probe::{ProbeSettings, Prober};
use sentinel_store::split::{PurgeMonitor, SplitEcsStores, SplitStores};
use sentinel_store::{
    EcsAccountStore, EcsIncidentStore, EcsSnapshotStore, Mailer, MonitorOrigin, PingLog, Stores,
};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::config::{self, Config};
use crate::secrets;

const DEFAULT_CONFIG: &str = "sentinel.yaml";
const DEFAULT_DATA: &str = "sentinel-data";
const DEFAULT_LISTEN_PORT: u16 = 8080;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// YAML file with `monitors:` and `alerting:` [default: sentinel.yaml, if present]
    #[arg(long, env = "SENTINEL_CONFIG")]
    config: Option<PathBuf>,
    /// Folder for the database and the mail outbox [default: ./sentinel-data]
    #[arg(long, env = "SENTINEL_DATA")]
    data: Option<PathBuf>,
    /// Address to serve HTTP on [default: 127.0.0.1:8080]
    #[arg(long, env = "SENTINEL_LISTEN")]
    listen: Option<String>,
}

/// Settings after CLI, environment and file are layered (flags win).
pub struct Resolved {
    pub config: Config,
    pub data: PathBuf,
    pub listen: SocketAddr,
}

pub fn resolve(args: ServeArgs) -> anyhow::Result<Resolved> {
    let config = match &args.config {
        Some(path) => config::load(path)?,
        None if std::path::Path::new(DEFAULT_CONFIG).exists() => {
            config::load(std::path::Path::new(DEFAULT_CONFIG))?
        }
        None => {
            warn!("no {DEFAULT_CONFIG} here and no --config given: starting with no monitors");
            Config::default()
        }
    };
    let data = args
        .data
        .or_else(|| config.data.clone())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA));
    let listen: SocketAddr = match args.listen {
        Some(text) => text
            .parse()
            .with_context(|| format!("--listen {text:?} is not an address like 127.0.0.1:8080"))?,
        None => config
            .listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], DEFAULT_LISTEN_PORT))),
    };
    Ok(Resolved {
        config,
        data,
        listen,
    })
}

/// Makes the stored config monitors match the config file (the file is the source of
/// truth for them); monitors created through the API are left alone.
async fn sync_monitors(
    store: &dyn Stores,
    records: &dyn AccountStores,
    config: &Config,
) -> anyhow::Result<()> {
    let wanted: std::collections::HashSet<_> = config.monitors.iter().map(|m| &m.id).collect();
    for record in records.list_monitor_records(None).await? {
        let from_file = record.origin == MonitorOrigin::Config;
        if from_file && !wanted.contains(&record.spec.id) {
            info!(monitor_id = %record.spec.id, "monitor removed from config");
            store.delete_monitor(&record.spec.id).await?;
        } else if !from_file && wanted.contains(&record.spec.id) {
            bail!(
                "monitor id '{}' in the config file is already used by a monitor created \
                 through the API; give the config monitor another id",
                record.spec.id
            );
        }
    }
    for spec in &config.monitors {
        store.upsert_monitor(spec).await?;
    }
    Ok(())
}

/// Where `serve` keeps things.
struct Backends {
    stores: Arc<dyn Stores>,
    accounts: Arc<dyn AccountStores>,
    /// Beside the other accounts (SQLite or PostgreSQL).
    ecs_accounts: Arc<dyn EcsAccountStore>,
    /// Collection output: always SQLite here.
    ecs_snapshots: Arc<dyn EcsSnapshotStore>,
    /// ECS health incidents: SQLite, beside the snapshots.
    ecs_incidents: Arc<dyn EcsIncidentStore>,
}

/// SQLite in the data folder; or, when `POSTGRES_URL` is set, PostgreSQL for monitors,
/// accounts, incidents, alert deliveries and rate limits (migrated at start), MongoDB
/// for ping logs when `MONGODB_URI` is set (else SQLite), and SQLite for live state.
async fn open_backends(data: &std::path::Path) -> anyhow::Result<Backends> {
    let sqlite = Arc::new(
        SqliteStore::open(data.join("sentinel.db"))
            .await
            .with_context(|| format!("cannot open database in {}", data.display()))?,
    );
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let Some(postgres_url) = env("POSTGRES_URL") else {
        return Ok(Backends {
            stores: Arc::clone(&sqlite) as Arc<dyn Stores>,
            accounts: Arc::clone(&sqlite) as Arc<dyn AccountStores>,
            ecs_accounts: Arc::clone(&sqlite) as Arc<dyn EcsAccountStore>,
            ecs_snapshots: Arc::clone(&sqlite) as Arc<dyn EcsSnapshotStore>,
            ecs_incidents: sqlite,
        });
    };
    let settings = PgSettings::from_url(&postgres_url).context("POSTGRES_URL")?;
    let pg = PgStore::connect(&settings)
        .await
        .context("cannot connect to PostgreSQL (POSTGRES_URL)")?;
    let applied = pg.migrate().await.context("PostgreSQL migrations")?;
    info!(applied = applied.len(), "PostgreSQL ready");
    let (pings, ping_purger): (Arc<dyn PingLog>, Arc<dyn PurgeMonitor>) = match env("MONGODB_URI") {
        Some(uri) => {
            let database = env("MONGODB_DATABASE").unwrap_or_else(|| "sentinel".into());
            let mongo = Arc::new(
                MongoPingLog::connect(&uri, &database, MongoSettings::default())
                    .await
                    .context("MONGODB_URI")?,
            );
            mongo
                .ensure_schema()
                .await
                .context("cannot prepare MongoDB (MONGODB_URI)")?;
            info!(database, "ping logs in MongoDB");
            (Arc::clone(&mongo) as _, mongo as _)
        }
        None => (Arc::clone(&sqlite) as _, Arc::clone(&sqlite) as _),
    };
    let pg = Arc::new(pg);
    let stores = SplitStores {
        monitors: Arc::clone(&pg) as _,
        pings,
        states: Arc::clone(&sqlite) as _,
        incidents: Arc::clone(&pg) as _,
        ledger: Arc::clone(&pg) as _,
        purgers: vec![ping_purger, Arc::clone(&sqlite) as Arc<dyn PurgeMonitor>],
    };
    Ok(Backends {
        stores: Arc::new(stores),
        accounts: Arc::clone(&pg) as Arc<dyn AccountStores>,
        ecs_accounts: pg,
        ecs_snapshots: Arc::clone(&sqlite) as Arc<dyn EcsSnapshotStore>,
        ecs_incidents: sqlite,
    })
}

/// Tells the engine about monitors created or changed through the API.
struct EngineEvents(EngineHandle);

impl MonitorEvents for EngineEvents {
    fn upserted(&self, spec: &MonitorSpec) {
        self.0.upsert(spec.clone());
    }

    fn removed(&self, id: &MonitorId) {
        self.0.remove(id.clone());
    }
}

/// API settings from the environment, falling back to the generated secrets file.
fn api_settings(data: &std::path::Path, listen: SocketAddr) -> anyhow::Result<ApiSettings> {
    let stored = secrets::load_or_create(data)?;
    let frontend_default = format!("http://{listen}");
    let settings = ApiSettings::from_lookup(|name| {
        std::env::var(name).ok().or_else(|| match name {
            "JWT_SECRET" => Some(stored.jwt_secret.clone()),
            "ENCRYPTION_KEYS" => Some(stored.encryption_keys.clone()),
            "FRONTEND_URL" => Some(frontend_default.clone()),
            // Browsers drop `Secure` cookies on plain http: follow the frontend's scheme.
            "SECURE_COOKIES" => {
                let frontend = std::env::var("FRONTEND_URL").unwrap_or(frontend_default.clone());
                Some(frontend.starts_with("https://").to_string())
            }
            _ => None,
        })
    })?;
    Ok(settings)
}

async fn shutdown_signal(token: CancellationToken) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
        _ = token.cancelled() => {},
    }
    info!("shutting down: finishing in-flight checks");
    token.cancel();
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let Resolved {
        config,
        data,
        listen,
    } = resolve(args)?;
    let prober = Prober::new(ProbeSettings {
        allow_private: config.allow_private,
        extra_root_certs: config.extra_root_certs.clone(),
        ..ProbeSettings::default()
    })?;
    let api_prober = prober.clone();

    let mailer: Arc<dyn Mailer> = match &config.smtp {
        Some(smtp) => Arc::new(SmtpMailer::new(smtp).map_err(|e| anyhow::anyhow!(e.message))?),
        None => {
            let outbox = data.join("outbox");
            info!(outbox = %outbox.display(), "no smtp configured: email alerts go to the outbox folder");
            Arc::new(OutboxMailer::new(outbox))
        }
    };
    let deps = ChannelDeps {
        http: http_client(Duration::from_secs(10), config.allow_private)?,
        allow_private: config.allow_private,
        mailer: Arc::clone(&mailer),
        default_from: config
            .smtp
            .as_ref()
            .and_then(|s| s.from.clone())
            .unwrap_or_else(|| "sentinel@localhost.localdomain".to_owned()),
    };
    let mut channels: Vec<Arc<dyn AlertChannel>> = Vec::new();
    for (name, channel) in &config.channels {
        match channel.build(name, &deps) {
            Ok(c) => channels.push(c),
            Err(e) => bail!("alerting.{name}.{}: {}", e.field, e.message),
        }
    }

    std::fs::create_dir_all(&data)
        .with_context(|| format!("cannot create data folder {}", data.display()))?;
    let settings = api_settings(&data, listen)?;
    let Backends {
        stores: store,
        accounts,
        ecs_accounts,
        ecs_snapshots,
        ecs_incidents,
    } = open_backends(&data).await?;
    sync_monitors(store.as_ref(), accounts.as_ref(), &config).await?;

    let stage = Arc::new(
        CheckStage::new(Arc::clone(&store), prober, config.max_in_flight)
            .with_reminders(config.reminder_every),
    );
    // Config monitors alert the file's channels; API monitors their owner's channels.
    let routing = AccountChannels {
        config_channels: channels.clone(),
        accounts: Arc::clone(&accounts),
        keyring: settings.encryption.clone(),
        deps: deps.clone(),
    };
    let notifier = Arc::new(
        Notifier::new(Arc::clone(&store), channels, RetryPolicy::default())
            .with_source(Arc::new(routing)),
    );
    let shutdown = CancellationToken::new();
    let monitors = store.list_monitors().await?;
    // ECS health alerts go through the same notifier (and ledger) as monitor alerts.
    let ecs_refresh = crate::ecs::ecs_refresh(
        SplitEcsStores {
            accounts: Arc::clone(&ecs_accounts),
            snapshots: Arc::clone(&ecs_snapshots),
            incidents: ecs_incidents,
        },
        Arc::clone(&notifier),
        &settings,
    );
    let (engine, engine_done) = Engine::spawn(
        stage,
        notifier,
        monitors.clone(),
        EngineConfig {
            max_in_flight: config.max_in_flight,
        },
        shutdown.clone(),
    );

    // Raw pings are pruned after the retention period; rollups stay.
    let retention_ms = config.ping_retention.as_millis() as i64;
    let prune_store = Arc::clone(&store);
    let prune_token = shutdown.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tokio::select! {
                _ = prune_token.cancelled() => break,
                _ = every.tick() => {
                    let before = sentinel_pipeline::now_ms() - retention_ms;
                    match prune_store.prune(before).await {
                        Ok(n) if n > 0 => info!(pruned = n, "old pings pruned"),
                        Ok(_) => {}
                        Err(e) => warn!(error = %e, "pruning old pings failed"),
                    }
                }
            }
        }
    });

    // ECS: a round every ECS_COLLECT_MINUTES while an account is watched; the same
    // round answers `POST /api/ecs/refresh`.
    let ecs_every =
        crate::ecs::collect_every(std::env::var("ECS_COLLECT_MINUTES").ok().as_deref())?;
    crate::ecs::spawn_collector(
        Arc::clone(&ecs_refresh),
        Arc::clone(&ecs_accounts),
        ecs_every,
        shutdown.clone(),
    );

    let stats = Arc::clone(&engine.stats);
    let state = AppState {
        stores: Arc::clone(&store),
        accounts: Arc::clone(&accounts),
        blobs: Arc::new(FolderBlobStore::new(data.join("blobs"))),
        mailer: Arc::clone(&mailer),
        settings: Arc::new(settings),
        events: Arc::new(EngineEvents(engine.clone())),
        prober: api_prober,
        last_tick: Some(Arc::new(move || {
            match stats.last_tick_ms.load(Ordering::Relaxed) {
                0 => None,
                v => i64::try_from(v).ok(),
            }
        })),
        ecs_accounts,
        ecs_snapshots,
        ecs_refresh: Some(ecs_refresh),
    };
    let dashboard = crate::dashboard::Dashboard::from_env();
    if !dashboard.is_available() {
        tracing::warn!(
            "no dashboard in this build: / shows how to build it (npm ci && npm run build in frontend/)"
        );
    }
    let routes = sentinel_api::with_fallbacks(sentinel_api::groups::all_routes());
    let app = sentinel_api::middleware::layers(
        crate::dashboard::serve_at_root(routes, dashboard),
        &state,
    )
    .with_state(state);

    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    info!(
        address = %listener.local_addr().unwrap_or(listen),
        monitors = monitors.len(),
        data = %data.display(),
        "sentinel is serving"
    );
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal(shutdown.clone()))
    .await
    .context("http server failed")?;
    shutdown.cancel();
    engine_done.await.context("engine task failed")?;
    info!("stopped cleanly");
    Ok(())
}
