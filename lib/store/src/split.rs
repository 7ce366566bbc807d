//! Stores split across backends, as the AWS deployment keeps them: monitors and
//! accounts in PostgreSQL, ping logs in MongoDB, live state, incidents, the alert ledger
//! and rate limits in DynamoDB. [`SplitStores`] and [`SplitAccounts`] implement the
//! ports by delegating each to its backend, so the pipeline and the API stay unaware
//! of the split.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use sentinel_core::ecs::{EcsMetric, MetricPoint, ServiceKey, ServiceSnapshot};
use sentinel_core::stats::{CheckCounts, Granularity, Rollup, WindowPlan};
use sentinel_core::{CheckResult, Incident, IncidentId, LiveState, MonitorId, MonitorSpec, UnixMs};

use sentinel_core::account::{Email, UserId};

use crate::ecs::{EcsAccountRecord, EcsIncident, EcsSettings, PreviousHealth};
use crate::{
    AlertLedger, ApiKey, ApiKeyStore, CasOutcome, ChannelRecord, ChannelStore, Delivery,
    DeliveryStatus, EcsAccountStore, EcsIncidentStore, EcsSnapshotStore, IncidentStore,
    LiveStateStore, MonitorRecord, MonitorRecords, MonitorStore, PingLog, RateDecision,
    RateLimiter, RefreshToken, RotateOutcome, StoreResult, TokenStore, User, UserStore,
};

/// Deletes everything a backend recorded under a monitor id (pings, rollups, state,
/// incidents, deliveries): what `delete_monitor` needs from the backends that do not
/// hold the monitor itself, so a later monitor with the same id starts clean.
#[async_trait]
pub trait PurgeMonitor: Send + Sync {
    async fn purge_monitor(&self, id: &MonitorId) -> StoreResult<()>;
}

/// One backend per port.
#[derive(Clone)]
pub struct SplitStores {
    pub monitors: Arc<dyn MonitorStore>,
    pub pings: Arc<dyn PingLog>,
    pub states: Arc<dyn LiveStateStore>,
    pub incidents: Arc<dyn IncidentStore>,
    pub ledger: Arc<dyn AlertLedger>,
    /// Backends holding history of monitors besides `monitors` itself.
    pub purgers: Vec<Arc<dyn PurgeMonitor>>,
}

#[async_trait]
impl MonitorStore for SplitStores {
    async fn upsert_monitor(&self, spec: &MonitorSpec) -> StoreResult<()> {
        self.monitors.upsert_monitor(spec).await
    }

    async fn get_monitor(&self, id: &MonitorId) -> StoreResult<Option<MonitorSpec>> {
        self.monitors.get_monitor(id).await
    }

    async fn list_monitors(&self) -> StoreResult<Vec<MonitorSpec>> {
        self.monitors.list_monitors().await
    }

    /// History first, the monitor last: if a step fails the monitor still exists and
    /// deleting it again finishes the job.
    async fn delete_monitor(&self, id: &MonitorId) -> StoreResult<bool> {
        for purger in &self.purgers {
            purger.purge_monitor(id).await?;
        }
        self.monitors.delete_monitor(id).await
    }
}

#[async_trait]
impl PingLog for SplitStores {
    async fn append(&self, results: &[CheckResult]) -> StoreResult<()> {
        self.pings.append(results).await
    }

    async fn history(
        &self,
        monitor: &MonitorId,
        from: UnixMs,
        to: UnixMs,
        limit: usize,
    ) -> StoreResult<Vec<CheckResult>> {
        self.pings.history(monitor, from, to, limit).await
    }

    async fn rollups(
        &self,
        monitor: &MonitorId,
        granularity: Granularity,
        from: UnixMs,
        to: UnixMs,
    ) -> StoreResult<Vec<Rollup>> {
        self.pings.rollups(monitor, granularity, from, to).await
    }

    async fn prune(&self, before: UnixMs) -> StoreResult<u64> {
        self.pings.prune(before).await
    }

    async fn window_rollups(
        &self,
        monitor: &MonitorId,
        plan: &WindowPlan,
    ) -> StoreResult<Vec<Rollup>> {
        self.pings.window_rollups(monitor, plan).await
    }

    async fn window_counts(
        &self,
        monitors: &[MonitorId],
        plan: &WindowPlan,
    ) -> StoreResult<HashMap<MonitorId, CheckCounts>> {
        self.pings.window_counts(monitors, plan).await
    }
}

#[async_trait]
impl LiveStateStore for SplitStores {
    async fn get_state(&self, id: &MonitorId) -> StoreResult<Option<LiveState>> {
        self.states.get_state(id).await
    }

    async fn list_states(&self) -> StoreResult<Vec<LiveState>> {
        self.states.list_states().await
    }

    async fn compare_and_set(
        &self,
        state: &LiveState,
        expected_version: Option<u64>,
    ) -> StoreResult<CasOutcome> {
        self.states.compare_and_set(state, expected_version).await
    }

    async fn delete_state(&self, id: &MonitorId) -> StoreResult<()> {
        self.states.delete_state(id).await
    }
}

#[async_trait]
impl IncidentStore for SplitStores {
    async fn open_incident(&self, incident: &Incident) -> StoreResult<()> {
        self.incidents.open_incident(incident).await
    }

    async fn close_incident(&self, id: &IncidentId, ended_at: UnixMs) -> StoreResult<()> {
        self.incidents.close_incident(id, ended_at).await
    }

    async fn get_incident(&self, id: &IncidentId) -> StoreResult<Option<Incident>> {
        self.incidents.get_incident(id).await
    }

    async fn list_incidents(
        &self,
        monitor: &MonitorId,
        limit: usize,
    ) -> StoreResult<Vec<Incident>> {
        self.incidents.list_incidents(monitor, limit).await
    }
}

#[async_trait]
impl AlertLedger for SplitStores {
    async fn claim(&self, delivery: &Delivery) -> StoreResult<bool> {
        self.ledger.claim(delivery).await
    }

    async fn finish(
        &self,
        key: &str,
        status: DeliveryStatus,
        attempts: u32,
        last_error: Option<&str>,
        now: UnixMs,
    ) -> StoreResult<()> {
        self.ledger
            .finish(key, status, attempts, last_error, now)
            .await
    }

    async fn get_delivery(&self, key: &str) -> StoreResult<Option<Delivery>> {
        self.ledger.get_delivery(key).await
    }

    async fn list_deliveries(&self, limit: usize) -> StoreResult<Vec<Delivery>> {
        self.ledger.list_deliveries(limit).await
    }
}

/// Users, tokens, keys, channels and monitor records in one backend; rate limits in
/// another (DynamoDB on AWS: counters with TTL).
#[derive(Clone)]
pub struct SplitAccounts<A: ?Sized> {
    pub accounts: Arc<A>,
    pub limits: Arc<dyn RateLimiter>,
}

#[async_trait]
impl<A> UserStore for SplitAccounts<A>
where
    A: UserStore + ?Sized,
{
    async fn create_user(&self, user: &User) -> StoreResult<()> {
        self.accounts.create_user(user).await
    }

    async fn get_user(&self, id: &UserId) -> StoreResult<Option<User>> {
        self.accounts.get_user(id).await
    }

    async fn find_user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        self.accounts.find_user_by_email(email).await
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        self.accounts.list_users().await
    }

    async fn update_user(&self, user: &User) -> StoreResult<bool> {
        self.accounts.update_user(user).await
    }

    async fn delete_user(&self, id: &UserId) -> StoreResult<bool> {
        self.accounts.delete_user(id).await
    }

    async fn count_users(&self) -> StoreResult<u64> {
        self.accounts.count_users().await
    }
}

#[async_trait]
impl<A> TokenStore for SplitAccounts<A>
where
    A: TokenStore + ?Sized,
{
    async fn insert_refresh(&self, token: &RefreshToken) -> StoreResult<()> {
        self.accounts.insert_refresh(token).await
    }

    async fn rotate_refresh(
        &self,
        old_hash: &str,
        new: &RefreshToken,
        now: UnixMs,
    ) -> StoreResult<RotateOutcome> {
        self.accounts.rotate_refresh(old_hash, new, now).await
    }

    async fn revoke_refresh_family(&self, token_hash: &str) -> StoreResult<bool> {
        self.accounts.revoke_refresh_family(token_hash).await
    }

    async fn revoke_user_refresh(&self, user_id: &UserId) -> StoreResult<u64> {
        self.accounts.revoke_user_refresh(user_id).await
    }

    async fn insert_reset(
        &self,
        token_hash: &str,
        user_id: &UserId,
        expires_at: UnixMs,
    ) -> StoreResult<()> {
        self.accounts
            .insert_reset(token_hash, user_id, expires_at)
            .await
    }

    async fn peek_reset(&self, token_hash: &str, now: UnixMs) -> StoreResult<Option<UserId>> {
        self.accounts.peek_reset(token_hash, now).await
    }

    async fn consume_reset(&self, token_hash: &str, now: UnixMs) -> StoreResult<Option<UserId>> {
        self.accounts.consume_reset(token_hash, now).await
    }
}

#[async_trait]
impl<A> ApiKeyStore for SplitAccounts<A>
where
    A: ApiKeyStore + ?Sized,
{
    async fn create_key(&self, key: &ApiKey) -> StoreResult<()> {
        self.accounts.create_key(key).await
    }

    async fn find_key_by_hash(&self, key_hash: &str) -> StoreResult<Option<ApiKey>> {
        self.accounts.find_key_by_hash(key_hash).await
    }

    async fn list_keys(&self, user_id: &UserId) -> StoreResult<Vec<ApiKey>> {
        self.accounts.list_keys(user_id).await
    }

    async fn delete_key(&self, id: &str, user_id: Option<&UserId>) -> StoreResult<bool> {
        self.accounts.delete_key(id, user_id).await
    }

    async fn touch_key(&self, id: &str, now: UnixMs) -> StoreResult<()> {
        self.accounts.touch_key(id, now).await
    }
}

#[async_trait]
impl<A> ChannelStore for SplitAccounts<A>
where
    A: ChannelStore + ?Sized,
{
    async fn create_channel(&self, channel: &ChannelRecord) -> StoreResult<()> {
        self.accounts.create_channel(channel).await
    }

    async fn get_channel(&self, id: &str) -> StoreResult<Option<ChannelRecord>> {
        self.accounts.get_channel(id).await
    }

    async fn list_channels(&self, owner: Option<&UserId>) -> StoreResult<Vec<ChannelRecord>> {
        self.accounts.list_channels(owner).await
    }

    async fn update_channel(&self, channel: &ChannelRecord) -> StoreResult<bool> {
        self.accounts.update_channel(channel).await
    }

    async fn delete_channel(&self, id: &str) -> StoreResult<bool> {
        self.accounts.delete_channel(id).await
    }
}

#[async_trait]
impl<A> MonitorRecords for SplitAccounts<A>
where
    A: MonitorRecords + ?Sized,
{
    async fn save_monitor_record(&self, record: &MonitorRecord) -> StoreResult<()> {
        self.accounts.save_monitor_record(record).await
    }

    async fn get_monitor_record(&self, id: &MonitorId) -> StoreResult<Option<MonitorRecord>> {
        self.accounts.get_monitor_record(id).await
    }

    async fn list_monitor_records(
        &self,
        owner: Option<&UserId>,
    ) -> StoreResult<Vec<MonitorRecord>> {
        self.accounts.list_monitor_records(owner).await
    }
}

#[async_trait]
impl<A> RateLimiter for SplitAccounts<A>
where
    A: Send + Sync + ?Sized,
{
    async fn hit(
        &self,
        key: &str,
        limit: u32,
        window_ms: i64,
        now: UnixMs,
    ) -> StoreResult<RateDecision> {
        self.limits.hit(key, limit, window_ms, now).await
    }
}

/// The stores of an ECS collection round, one backend each: watched accounts beside
/// the other accounts (PostgreSQL or SQLite), snapshots and incidents where the
/// collection output lives (DynamoDB or SQLite).
#[derive(Clone)]
pub struct SplitEcsStores {
    pub accounts: Arc<dyn EcsAccountStore>,
    pub snapshots: Arc<dyn EcsSnapshotStore>,
    pub incidents: Arc<dyn EcsIncidentStore>,
}

#[async_trait]
impl EcsAccountStore for SplitEcsStores {
    async fn create_ecs_account(&self, account: &EcsAccountRecord) -> StoreResult<()> {
        self.accounts.create_ecs_account(account).await
    }

    async fn get_ecs_account(&self, id: &str) -> StoreResult<Option<EcsAccountRecord>> {
        self.accounts.get_ecs_account(id).await
    }

    async fn list_ecs_accounts(&self) -> StoreResult<Vec<EcsAccountRecord>> {
        self.accounts.list_ecs_accounts().await
    }

    async fn update_ecs_account(&self, account: &EcsAccountRecord) -> StoreResult<bool> {
        self.accounts.update_ecs_account(account).await
    }

    async fn delete_ecs_account(&self, id: &str) -> StoreResult<bool> {
        self.accounts.delete_ecs_account(id).await
    }

    async fn record_ecs_collection(
        &self,
        id: &str,
        account_id: Option<&str>,
        alias: Option<&str>,
        at: UnixMs,
        error: Option<&str>,
    ) -> StoreResult<bool> {
        self.accounts
            .record_ecs_collection(id, account_id, alias, at, error)
            .await
    }

    async fn ecs_settings(&self) -> StoreResult<EcsSettings> {
        self.accounts.ecs_settings().await
    }

    async fn set_ecs_settings(&self, settings: &EcsSettings) -> StoreResult<()> {
        self.accounts.set_ecs_settings(settings).await
    }
}

#[async_trait]
impl EcsSnapshotStore for SplitEcsStores {
    async fn replace_snapshots(
        &self,
        account_id: &str,
        region: &str,
        snapshots: &[ServiceSnapshot],
        at: UnixMs,
    ) -> StoreResult<Vec<PreviousHealth>> {
        self.snapshots
            .replace_snapshots(account_id, region, snapshots, at)
            .await
    }

    async fn list_snapshots(&self) -> StoreResult<Vec<ServiceSnapshot>> {
        self.snapshots.list_snapshots().await
    }

    async fn get_snapshot(&self, key: &ServiceKey) -> StoreResult<Option<ServiceSnapshot>> {
        self.snapshots.get_snapshot(key).await
    }

    async fn append_metrics(
        &self,
        key: &ServiceKey,
        metric: EcsMetric,
        points: &[MetricPoint],
    ) -> StoreResult<()> {
        self.snapshots.append_metrics(key, metric, points).await
    }

    async fn metrics(
        &self,
        key: &ServiceKey,
        metric: EcsMetric,
        from: UnixMs,
        to: UnixMs,
    ) -> StoreResult<Vec<MetricPoint>> {
        self.snapshots.metrics(key, metric, from, to).await
    }

    async fn prune_metrics(&self, before: UnixMs) -> StoreResult<u64> {
        self.snapshots.prune_metrics(before).await
    }

    async fn delete_account_data(&self, account_id: &str) -> StoreResult<()> {
        self.snapshots.delete_account_data(account_id).await
    }
}

#[async_trait]
impl EcsIncidentStore for SplitEcsStores {
    async fn open_ecs_incident(&self, incident: &EcsIncident) -> StoreResult<EcsIncident> {
        self.incidents.open_ecs_incident(incident).await
    }

    async fn close_ecs_incident(
        &self,
        key: &ServiceKey,
        at: UnixMs,
    ) -> StoreResult<Option<EcsIncident>> {
        self.incidents.close_ecs_incident(key, at).await
    }

    async fn list_ecs_incidents(&self, limit: usize) -> StoreResult<Vec<EcsIncident>> {
        self.incidents.list_ecs_incidents(limit).await
    }

    async fn open_ecs_incidents(&self) -> StoreResult<Vec<EcsIncident>> {
        self.incidents.open_ecs_incidents().await
    }
}
