//! The notifier: a transition becomes one alert per channel, claimed in the ledger
//! first so it is never sent twice, retried with backoff, and recorded as sent or failed.

use std::sync::Arc;
use std::time::Duration;

use sentinel_core::alert::{AlertMessage, EcsTransition};
use sentinel_core::{MonitorId, MonitorSpec, Transition};
use sentinel_store::{AlertLedger, Delivery, DeliveryStatus, MonitorStore, StoreError};
use tracing::{info, instrument, warn};

use crate::channels::AlertChannel;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Total attempts per delivery, including the first.
    pub attempts: u32,
    /// Delay before the second attempt; doubles each time, capped at `max_delay`.
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            first_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(60),
        }
    }
}

/// What happened to one transition.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NotifyReport {
    pub sent: Vec<String>,
    pub failed: Vec<String>,
    /// Channels whose delivery was already claimed (duplicate transition).
    pub duplicates: Vec<String>,
}

/// Which channels a monitor's alerts go to. The config file's channels are static;
/// channels users create through the API are looked up per alert.
#[async_trait::async_trait]
pub trait ChannelSource: Send + Sync {
    async fn channels_for(
        &self,
        spec: &MonitorSpec,
    ) -> Result<Vec<Arc<dyn AlertChannel>>, StoreError>;

    /// The channels ECS health alerts go to *besides* the notifier's static (config
    /// file) channels: those of every admin user. Names must be unique among them and
    /// the static ones (the ledger keys a delivery by channel name); a channel whose
    /// name is already taken is skipped. None by default.
    async fn ecs_channels(&self) -> Result<Vec<Arc<dyn AlertChannel>>, StoreError> {
        Ok(Vec::new())
    }
}

/// The channels named in a monitor's `alerts` (all of them when it names none).
pub fn select_channels(
    channels: &[Arc<dyn AlertChannel>],
    spec: &MonitorSpec,
) -> Vec<Arc<dyn AlertChannel>> {
    channels
        .iter()
        .filter(|c| spec.alerts.is_empty() || spec.alerts.iter().any(|a| a == c.name()))
        .cloned()
        .collect()
}

pub struct Notifier<S: ?Sized> {
    stores: Arc<S>,
    channels: Vec<Arc<dyn AlertChannel>>,
    source: Option<Arc<dyn ChannelSource>>,
    retry: RetryPolicy,
    resend_failed: bool,
}

impl<S> Notifier<S>
where
    S: MonitorStore + AlertLedger + ?Sized,
{
    pub fn new(stores: Arc<S>, channels: Vec<Arc<dyn AlertChannel>>, retry: RetryPolicy) -> Self {
        Self {
            stores,
            channels,
            source: None,
            retry,
            resend_failed: false,
        }
    }

    /// Sends a delivery the ledger records as failed again when the same transition
    /// comes back. For queue-driven notifiers: each redelivery of the event is one more
    /// round of attempts, and the queue's dead-letter queue ends it.
    pub fn with_resend_failed(mut self) -> Self {
        self.resend_failed = true;
        self
    }

    /// Looks channels up per alert through `source` instead of the static list.
    pub fn with_source(mut self, source: Arc<dyn ChannelSource>) -> Self {
        self.source = Some(source);
        self
    }

    pub fn channels(&self) -> &[Arc<dyn AlertChannel>] {
        &self.channels
    }

    /// Alerts every channel the monitor subscribes to (all, when it names none).
    pub async fn notify(&self, transition: &Transition) -> Result<NotifyReport, StoreError> {
        self.notify_taking_over(transition, None).await
    }

    /// Like [`notify`](Self::notify), but a delivery left `pending` (claimed, never
    /// finished: the process died mid-send) whose last update is older than
    /// `stale_before` is sent again. Used once at start-up, when nothing else can be
    /// sending it.
    #[instrument(skip_all, fields(monitor_id = %transition.monitor_id, kind = transition.kind.as_str()))]
    pub async fn notify_taking_over(
        &self,
        transition: &Transition,
        stale_before: Option<sentinel_core::UnixMs>,
    ) -> Result<NotifyReport, StoreError> {
        if !transition.kind.is_alerted() {
            return Ok(NotifyReport::default());
        }
        let Some(spec) = self.stores.get_monitor(&transition.monitor_id).await? else {
            warn!("monitor no longer exists; alert dropped");
            return Ok(NotifyReport::default());
        };
        let message = AlertMessage::for_transition(&spec, transition);
        let targets = match &self.source {
            Some(source) => source.channels_for(&spec).await?,
            None => select_channels(&self.channels, &spec),
        };
        self.send_claimed(&message, &spec.id, &targets, stale_before)
            .await
    }
}

impl<S> Notifier<S>
where
    S: AlertLedger + ?Sized,
{
    /// Alerts an ECS health change to the static channels and the source's
    /// [`ecs_channels`](ChannelSource::ecs_channels), once per channel: the ledger
    /// claim is keyed by the transition's incident and kind, so a round that runs twice
    /// (or a redelivered event) sends nothing new.
    #[instrument(skip_all, fields(incident_id = %transition.incident_id, event = transition.event()))]
    pub async fn notify_ecs(&self, transition: &EcsTransition) -> Result<NotifyReport, StoreError> {
        let message = AlertMessage::for_ecs(transition);
        let mut targets: Vec<Arc<dyn AlertChannel>> = self.channels.clone();
        if let Some(source) = &self.source {
            for channel in source.ecs_channels().await? {
                if targets.iter().any(|t| t.name() == channel.name()) {
                    warn!(
                        channel = channel.name(),
                        "two ECS alert channels share a name; the second is skipped"
                    );
                    continue;
                }
                targets.push(channel);
            }
        }
        self.send_claimed(&message, &ecs_ledger_id(transition), &targets, None)
            .await
    }

    /// Claims, sends and records `message` on each channel in `targets`.
    async fn send_claimed(
        &self,
        message: &AlertMessage,
        monitor_id: &MonitorId,
        targets: &[Arc<dyn AlertChannel>],
        stale_before: Option<sentinel_core::UnixMs>,
    ) -> Result<NotifyReport, StoreError> {
        let mut report = NotifyReport::default();
        for channel in targets {
            let now = crate::now_ms();
            let delivery = Delivery {
                key: format!("{}:{}", message.idempotency_key, channel.name()),
                channel: channel.name().to_owned(),
                monitor_id: monitor_id.clone(),
                event: message.event.clone(),
                status: DeliveryStatus::Pending,
                attempts: 0,
                last_error: None,
                created_at: now,
                updated_at: now,
            };
            if !self.stores.claim(&delivery).await? {
                let take_over = if stale_before.is_some() || self.resend_failed {
                    self.stores
                        .get_delivery(&delivery.key)
                        .await?
                        .is_some_and(|d| match d.status {
                            DeliveryStatus::Pending => {
                                stale_before.is_some_and(|before| d.updated_at < before)
                            }
                            DeliveryStatus::Failed => self.resend_failed,
                            DeliveryStatus::Sent => false,
                        })
                } else {
                    false
                };
                if !take_over {
                    report.duplicates.push(delivery.channel);
                    continue;
                }
                warn!(channel = channel.name(), key = %delivery.key, "resending an alert a previous run left pending or failed");
            }
            let (status, attempts, error) = self.deliver(channel.as_ref(), message).await;
            self.stores
                .finish(
                    &delivery.key,
                    status,
                    attempts,
                    error.as_deref(),
                    crate::now_ms(),
                )
                .await?;
            match status {
                DeliveryStatus::Sent => report.sent.push(delivery.channel),
                _ => report.failed.push(delivery.channel),
            }
        }
        Ok(report)
    }

    async fn deliver(
        &self,
        channel: &dyn AlertChannel,
        message: &AlertMessage,
    ) -> (DeliveryStatus, u32, Option<String>) {
        let mut delay = self.retry.first_delay;
        let mut last_error = None;
        for attempt in 1..=self.retry.attempts.max(1) {
            match channel.send(message).await {
                Ok(()) => {
                    info!(channel = channel.name(), attempt, "alert sent");
                    return (DeliveryStatus::Sent, attempt, None);
                }
                Err(e) => {
                    warn!(channel = channel.name(), attempt, error = %e.message, "alert failed");
                    last_error = Some(e.message);
                    if !e.retryable || attempt == self.retry.attempts {
                        return (DeliveryStatus::Failed, attempt, last_error);
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.retry.max_delay);
                }
            }
        }
        (DeliveryStatus::Failed, self.retry.attempts, last_error)
    }
}

/// The ledger's `monitor_id` of an ECS delivery (the ledger is keyed by monitor ids):
/// `ecs-` and the service key, slugged to a valid id (cut at 64 characters).
fn ecs_ledger_id(t: &EcsTransition) -> MonitorId {
    let k = &t.key;
    let slug = MonitorId::slug(&format!(
        "ecs {} {} {} {}",
        k.account_id, k.region, k.cluster, k.service
    ));
    // The slug starts with "ecs", so it always exists; "ecs" itself is a valid id.
    slug.or_else(|| MonitorId::slug("ecs"))
        .unwrap_or_else(|| unreachable!("\"ecs\" is a valid monitor id"))
}
