//! The Lambda entry points: each function's `main` calls one of these. Clients and
//! configuration are built once per cold start; logs are JSON.

use std::sync::Arc;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use axum::Router;
use lambda_runtime::{LambdaEvent, service_fn};
use sentinel_api::{ApiSettings, AppState};
use sentinel_aws::AwsConfig;
use sentinel_pipeline::CheckStage;
use sentinel_pipeline::cloud::ProbeWorker;

use crate::config::CloudConfig;
use crate::handlers::{
    QueueMessage, ecs_collect, notify_messages, probe_messages, schedule_minute,
};
use crate::wiring::Cloud;

pub type Error = lambda_runtime::Error;

/// JSON logs (CloudWatch), level from `RUST_LOG` (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .without_time()
        .try_init();
}

async fn cloud() -> Result<Cloud, Error> {
    let config = CloudConfig::from_env()?;
    let aws = AwsConfig::from_env().await;
    Ok(Cloud::connect(config, aws).await?)
}

fn api_settings() -> Result<ApiSettings, Error> {
    Ok(ApiSettings::from_lookup(|name| std::env::var(name).ok())?)
}

/// An HTTP function: one route group behind API Gateway.
pub async fn run_http(routes: Router<AppState>) -> Result<(), Error> {
    init_tracing();
    let cloud = cloud().await?;
    let state = cloud.app_state(api_settings()?)?;
    let app = sentinel_api::middleware::layers(sentinel_api::with_fallbacks(routes), &state)
        .with_state(state);
    lambda_http::run(app).await
}

/// The `ecs` HTTP function: its routes, plus the collection round behind
/// `POST /api/ecs/refresh` (503 `not_configured` while none is wired).
pub async fn run_ecs_http(routes: Router<AppState>) -> Result<(), Error> {
    init_tracing();
    let cloud = cloud().await?;
    let settings = api_settings()?;
    let refresh = cloud.ecs_refresh(&settings)?;
    let mut state = cloud.app_state(settings)?;
    state.ecs_refresh = refresh;
    let app = sentinel_api::middleware::layers(sentinel_api::with_fallbacks(routes), &state)
        .with_state(state);
    lambda_http::run(app).await
}

/// The ECS collector: an EventBridge schedule, every `ECS_COLLECT_MINUTES`.
pub async fn run_ecs_collector() -> Result<(), Error> {
    init_tracing();
    let cloud = cloud().await?;
    let Some(refresh) = cloud.ecs_refresh(&api_settings()?)? else {
        return Err(
            "the ECS collection round is not wired into this build (Cloud::ecs_refresh)".into(),
        );
    };
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<serde_json::Value>| {
        let refresh = Arc::clone(&refresh);
        async move {
            let outcome = ecs_collect(refresh.as_ref(), sentinel_pipeline::now_ms()).await?;
            Ok::<_, Error>(serde_json::to_value(outcome)?)
        }
    }))
    .await
}

/// The scheduler: an EventBridge schedule, every minute.
pub async fn run_scheduler() -> Result<(), Error> {
    init_tracing();
    let cloud = Arc::new(cloud().await?);
    let queue = Arc::new(cloud.checks_queue()?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let cloud = Arc::clone(&cloud);
        let queue = Arc::clone(&queue);
        async move {
            let now = sentinel_pipeline::now_ms();
            let scheduled_at = event
                .payload
                .get("time")
                .and_then(|t| t.as_str())
                .and_then(|t| humantime::parse_rfc3339_weak(t).ok())
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .and_then(|d| i64::try_from(d.as_millis()).ok())
                .unwrap_or(now);
            let report = schedule_minute(
                &cloud.stores,
                &queue,
                scheduled_at,
                now,
                cloud.config.check_slot_seconds,
            )
            .await?;
            Ok::<_, Error>(serde_json::json!({
                "monitors": report.monitors,
                "checks": report.checks,
                "jobs": report.jobs,
            }))
        }
    }))
    .await
}

fn messages(event: SqsEvent) -> Vec<QueueMessage> {
    event
        .records
        .into_iter()
        .map(|r| QueueMessage {
            id: r.message_id.unwrap_or_default(),
            body: r.body.unwrap_or_default(),
        })
        .collect()
}

fn batch_response(failed: Vec<String>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed
        .into_iter()
        .map(|id| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            failure
        })
        .collect();
    response
}

/// The prober: batches of check jobs from the `checks` queue.
pub async fn run_prober() -> Result<(), Error> {
    init_tracing();
    let cloud = cloud().await?;
    let prober = cloud.prober()?;
    let concurrency = cloud.config.probe_concurrency;
    let stage = CheckStage::new(Arc::clone(&cloud.stores), prober, concurrency);
    let worker = Arc::new(
        ProbeWorker::new(stage, Arc::new(cloud.transition_sink()?), concurrency)
            .with_heartbeat(cloud.config.state_heartbeat)
            .with_reminders(cloud.config.reminder_every),
    );
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let worker = Arc::clone(&worker);
        async move {
            let failed = probe_messages(&worker, &messages(event.payload)).await;
            Ok::<_, Error>(batch_response(failed))
        }
    }))
    .await
}

/// The notifier: transition events from the `notifications` queue.
pub async fn run_notifier() -> Result<(), Error> {
    init_tracing();
    let cloud = cloud().await?;
    let notifier = Arc::new(cloud.notifier(&api_settings()?)?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let notifier = Arc::clone(&notifier);
        async move {
            let now = sentinel_pipeline::now_ms();
            let failed = notify_messages(&notifier, &messages(event.payload), now).await;
            Ok::<_, Error>(batch_response(failed))
        }
    }))
    .await
}
