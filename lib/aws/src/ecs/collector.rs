//! The collection itself: credentials, identity and alias per account, then clusters,
//! services and metrics per region.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::SystemTime;

use aws_config::SdkConfig;
use aws_sdk_cloudwatch::types::ScanBy;
use aws_sdk_ecs::config::retry::{RetryConfig, RetryPartition};
use aws_sdk_ecs::config::{Credentials, Region, SharedCredentialsProvider};
use aws_sdk_ecs::primitives::DateTime;
use futures::stream::{self, StreamExt};
use sentinel_core::UnixMs;
use sentinel_core::ecs::{MAX_REGIONS, ServiceKey, ServiceSnapshot, is_region, parse_role_arn};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::calls::{Call, CallCounter};
use super::convert::{SnapshotContext, last_segment, snapshot, unexplained_failure};
use super::error::{AccountError, CallFailure, InvalidSettings, RegionError};
use super::metrics::{MAX_METRIC_QUERIES, MetricSeries, QUERIES_PER_SERVICE, QueryBatch, window};
use super::{
    AccountCollection, AccountTarget, ClusterSummary, CollectorSettings, MAX_DESCRIBE_SERVICES,
};
use crate::AwsConfig;

/// Collects the ECS services of watched accounts. Cheap to clone; build once.
#[derive(Debug, Clone)]
pub struct EcsCollector {
    base: SdkConfig,
    settings: CollectorSettings,
}

impl EcsCollector {
    /// Uses `config`'s credentials for the local account and to assume roles, and its
    /// endpoint override (an emulator) for every call.
    pub fn new(config: &AwsConfig, settings: CollectorSettings) -> Result<Self, InvalidSettings> {
        settings.validate()?;
        Ok(Self {
            base: config.sdk().clone(),
            settings,
        })
    }

    pub fn settings(&self) -> &CollectorSettings {
        &self.settings
    }

    /// Collects every target, a few accounts at a time; one result per target, in the
    /// targets' order. A failed account never fails the others.
    pub async fn collect_all(
        &self,
        targets: &[AccountTarget],
        now: UnixMs,
    ) -> Vec<Result<AccountCollection, AccountError>> {
        // Futures made up front, not in a stream closure: a closure over borrowed items
        // keeps the future from being provably `Send` (rust-lang/rust#102211).
        let collections: Vec<_> = targets.iter().map(|t| self.collect(t, now)).collect();
        stream::iter(collections)
            .buffered(self.settings.max_concurrent_accounts)
            .collect()
            .await
    }

    /// Collects one account. `Err` only when nothing of the account can be read (bad
    /// target, role not assumable, identity unreadable); a failing region is kept in
    /// [`AccountCollection::region_errors`] beside the regions that worked.
    #[tracing::instrument(skip_all, fields(account = %target.label()))]
    pub async fn collect(
        &self,
        target: &AccountTarget,
        now: UnixMs,
    ) -> Result<AccountCollection, AccountError> {
        let regions = checked_regions(target)?;
        let home_region = regions[0].clone();
        let counter = Arc::new(CallCounter::default());
        let sdk = self.account_sdk(target, &home_region, &counter).await?;
        let account = Account {
            sdk,
            settings: &self.settings,
            counter: Arc::clone(&counter),
            in_flight: Semaphore::new(self.settings.max_in_flight),
            partition: partition_label(target),
            now,
        };
        let account_id = account.caller_identity(target, &home_region).await?;
        let (alias, alias_error) = account.alias(&home_region, &account_id).await;

        let harvests: Vec<_> = regions
            .iter()
            .map(|region| account.region(region, &account_id))
            .collect();
        let harvests: Vec<RegionHarvest> = stream::iter(harvests)
            .buffer_unordered(regions.len())
            .collect()
            .await;
        let mut collection = AccountCollection {
            account_id,
            alias,
            role_arn: target.role_arn.clone(),
            clusters: Vec::new(),
            services: Vec::new(),
            metrics: Vec::new(),
            region_errors: Vec::new(),
            alias_error,
            calls: Default::default(),
            collected_at: now,
        };
        for harvest in harvests {
            collection.clusters.extend(harvest.clusters);
            collection.services.extend(harvest.services);
            collection.metrics.extend(harvest.metrics);
            collection.region_errors.extend(harvest.errors);
        }
        collection
            .clusters
            .sort_by(|a, b| (&a.region, &a.name).cmp(&(&b.region, &b.name)));
        collection.services.sort_by(|a, b| a.key.cmp(&b.key));
        collection
            .metrics
            .sort_by(|a, b| (&a.key, a.metric as u8).cmp(&(&b.key, b.metric as u8)));
        collection
            .region_errors
            .sort_by(|a, b| (&a.region, &a.operation).cmp(&(&b.region, &b.operation)));
        collection.calls = counter.snapshot();
        tracing::info!(
            account_id = %collection.account_id,
            clusters = collection.clusters.len(),
            services = collection.services.len(),
            region_errors = collection.region_errors.len(),
            calls = collection.calls.total(),
            "ECS account collected"
        );
        Ok(collection)
    }

    /// The base config with our retry policy and, for a role, the assumed credentials
    /// (one `AssumeRole` per account per collection; they last the default hour).
    async fn account_sdk(
        &self,
        target: &AccountTarget,
        home_region: &str,
        counter: &CallCounter,
    ) -> Result<SdkConfig, AccountError> {
        let retry = &self.settings.retry;
        let retry_config = RetryConfig::standard()
            .with_max_attempts(retry.max_attempts)
            .with_initial_backoff(retry.initial_backoff)
            .with_max_backoff(retry.max_backoff);
        let with_retry = self.base.to_builder().retry_config(retry_config).build();
        let Some(role_arn) = target.role_arn.as_deref() else {
            return Ok(with_retry);
        };
        // The base credentials sign AssumeRole, in the base region if it has one.
        let sts_region = with_retry
            .region()
            .cloned()
            .unwrap_or_else(|| Region::new(home_region.to_owned()));
        let sts = aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(&with_retry)
                .region(sts_region)
                .build(),
        );
        let answer = sts
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(&self.settings.session_name)
            .set_external_id(target.external_id.clone())
            .send()
            .await;
        counter.record(Call::AssumeRole);
        let refused = |code: Option<String>, retryable: bool, message: String| AccountError {
            role_arn: Some(role_arn.to_owned()),
            message: format!(
                "{} assuming {role_arn}: {message}",
                code.as_deref().unwrap_or("Error")
            ),
            code,
            retryable,
        };
        let answer = answer.map_err(|e| {
            let failure = CallFailure::from_sdk("AssumeRole", e);
            refused(failure.code, failure.retryable, failure.message)
        })?;
        let Some(credentials) = answer.credentials() else {
            return Err(refused(
                None,
                true,
                "STS answered without credentials".to_owned(),
            ));
        };
        let expiry = SystemTime::try_from(*credentials.expiration()).ok();
        let credentials = Credentials::new(
            credentials.access_key_id(),
            credentials.secret_access_key(),
            Some(credentials.session_token().to_owned()),
            expiry,
            "sentinel-ecs-assume-role",
        );
        Ok(with_retry
            .into_builder()
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .build())
    }
}

/// What one account's collection shares: its credentials, its call tally and its
/// bound on requests in flight.
struct Account<'a> {
    sdk: SdkConfig,
    settings: &'a CollectorSettings,
    counter: Arc<CallCounter>,
    in_flight: Semaphore,
    /// Names this account's retry quotas.
    partition: String,
    now: UnixMs,
}

#[derive(Default)]
struct RegionHarvest {
    clusters: Vec<ClusterSummary>,
    services: Vec<ServiceSnapshot>,
    metrics: Vec<MetricSeries>,
    errors: Vec<RegionError>,
}

impl Account<'_> {
    /// Waits for a slot; the semaphore is never closed, so this cannot fail, and if it
    /// somehow did the call would merely run unbounded.
    async fn slot(&self) -> Option<SemaphorePermit<'_>> {
        self.in_flight.acquire().await.ok()
    }

    fn retry_partition(&self, service: &str, region: &str) -> RetryPartition {
        RetryPartition::new(format!("sentinel-{service}-{region}-{}", self.partition))
    }

    fn ecs(&self, region: &str) -> aws_sdk_ecs::Client {
        aws_sdk_ecs::Client::from_conf(
            aws_sdk_ecs::config::Builder::from(&self.sdk)
                .region(Region::new(region.to_owned()))
                .retry_partition(self.retry_partition("ecs", region))
                .build(),
        )
    }

    fn cloudwatch(&self, region: &str) -> aws_sdk_cloudwatch::Client {
        aws_sdk_cloudwatch::Client::from_conf(
            aws_sdk_cloudwatch::config::Builder::from(&self.sdk)
                .region(aws_sdk_cloudwatch::config::Region::new(region.to_owned()))
                .retry_partition(aws_sdk_cloudwatch::config::retry::RetryPartition::new(
                    format!("sentinel-cloudwatch-{region}-{}", self.partition),
                ))
                .build(),
        )
    }

    async fn caller_identity(
        &self,
        target: &AccountTarget,
        region: &str,
    ) -> Result<String, AccountError> {
        let sts = aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(&self.sdk)
                .region(Region::new(region.to_owned()))
                .build(),
        );
        let answer = {
            let _slot = self.slot().await;
            sts.get_caller_identity().send().await
        };
        self.counter.record(Call::GetCallerIdentity);
        let failed = |code: Option<String>, retryable: bool, message: String| AccountError {
            role_arn: target.role_arn.clone(),
            message: format!(
                "{} reading the account id of {} (sts:GetCallerIdentity): {message}",
                code.as_deref().unwrap_or("Error"),
                target.label()
            ),
            code,
            retryable,
        };
        let answer = answer.map_err(|e| {
            let failure = CallFailure::from_sdk("GetCallerIdentity", e);
            failed(failure.code, failure.retryable, failure.message)
        })?;
        answer
            .account()
            .map(str::to_owned)
            .ok_or_else(|| failed(None, true, "STS answered without an account id".to_owned()))
    }

    /// The first alias, else the account id (with the reason when IAM refused).
    async fn alias(&self, region: &str, account_id: &str) -> (String, Option<String>) {
        let iam = aws_sdk_iam::Client::from_conf(
            aws_sdk_iam::config::Builder::from(&self.sdk)
                .region(Region::new(region.to_owned()))
                .build(),
        );
        let answer = {
            let _slot = self.slot().await;
            iam.list_account_aliases().send().await
        };
        self.counter.record(Call::ListAccountAliases);
        match answer {
            Ok(out) => (
                out.account_aliases()
                    .first()
                    .cloned()
                    .unwrap_or_else(|| account_id.to_owned()),
                None,
            ),
            Err(e) => {
                let failure = CallFailure::from_sdk("ListAccountAliases", e);
                (
                    account_id.to_owned(),
                    Some(format!("{} (iam:ListAccountAliases)", failure.detail())),
                )
            }
        }
    }

    #[tracing::instrument(skip(self, account_id))]
    async fn region(&self, region: &str, account_id: &str) -> RegionHarvest {
        let mut harvest = RegionHarvest::default();
        let ecs = self.ecs(region);
        let cluster_arns = match self.list_clusters(&ecs).await {
            Ok(arns) => arns,
            Err(failure) => {
                harvest.errors.push(failure.into_region_error(region));
                return harvest;
            }
        };

        let listed: Vec<(String, Result<Vec<String>, CallFailure>)> = stream::iter(cluster_arns)
            .map(|cluster_arn| async {
                let services = self.list_services(&ecs, &cluster_arn).await;
                (cluster_arn, services)
            })
            .buffer_unordered(self.settings.max_in_flight)
            .collect()
            .await;
        let mut failures = Vec::new();
        let mut batches: Vec<(String, Vec<String>)> = Vec::new();
        let mut service_counts: BTreeMap<String, usize> = BTreeMap::new();
        for (cluster_arn, services) in listed {
            match services {
                Ok(arns) => {
                    for batch in arns.chunks(MAX_DESCRIBE_SERVICES) {
                        batches.push((cluster_arn.clone(), batch.to_vec()));
                    }
                    service_counts.insert(cluster_arn, 0);
                }
                Err(failure) if is_cluster_gone(&failure) => {
                    tracing::debug!(cluster_arn, "cluster deleted while collecting");
                }
                Err(failure) => {
                    // The cluster is listed, its services unknown.
                    service_counts.insert(cluster_arn, 0);
                    failures.push(failure);
                }
            }
        }

        let described: Vec<Result<Vec<ServiceSnapshot>, CallFailure>> = stream::iter(batches)
            .map(|(cluster_arn, batch)| self.describe(&ecs, region, account_id, cluster_arn, batch))
            .buffer_unordered(self.settings.max_in_flight)
            .collect()
            .await;
        for result in described {
            match result {
                Ok(snapshots) => harvest.services.extend(snapshots),
                Err(failure) if is_cluster_gone(&failure) => {}
                Err(failure) => failures.push(failure),
            }
        }
        for service in &harvest.services {
            if let Some(count) = service_counts.get_mut(&service.cluster_arn) {
                *count += 1;
            }
        }
        harvest.clusters = service_counts
            .into_iter()
            .map(|(arn, services)| ClusterSummary {
                region: region.to_owned(),
                name: last_segment(&arn).to_owned(),
                arn,
                services,
            })
            .collect();

        let keys: Vec<ServiceKey> = harvest.services.iter().map(|s| s.key.clone()).collect();
        match self.metrics(region, &keys).await {
            Ok(series) => harvest.metrics = series,
            Err(failure) => failures.push(failure),
        }
        // One error per failing operation and code is enough for people.
        let mut seen = HashSet::new();
        harvest.errors.extend(
            failures
                .into_iter()
                .filter(|f| seen.insert((f.operation, f.code.clone())))
                .map(|f| f.into_region_error(region)),
        );
        harvest
    }

    async fn list_clusters(&self, ecs: &aws_sdk_ecs::Client) -> Result<Vec<String>, CallFailure> {
        let mut pages = ecs.list_clusters().max_results(100).into_paginator().send();
        let mut arns = Vec::new();
        loop {
            let page = {
                let _slot = self.slot().await;
                pages.next().await
            };
            let Some(page) = page else { break };
            self.counter.record(Call::ListClusters);
            let page = page.map_err(|e| CallFailure::from_sdk("ListClusters", e))?;
            arns.extend(page.cluster_arns().iter().cloned());
        }
        Ok(arns)
    }

    async fn list_services(
        &self,
        ecs: &aws_sdk_ecs::Client,
        cluster_arn: &str,
    ) -> Result<Vec<String>, CallFailure> {
        let mut pages = ecs
            .list_services()
            .cluster(cluster_arn)
            .max_results(100)
            .into_paginator()
            .send();
        let mut arns = Vec::new();
        loop {
            let page = {
                let _slot = self.slot().await;
                pages.next().await
            };
            let Some(page) = page else { break };
            self.counter.record(Call::ListServices);
            let page = page.map_err(|e| CallFailure::from_sdk("ListServices", e))?;
            arns.extend(page.service_arns().iter().cloned());
        }
        Ok(arns)
    }

    async fn describe(
        &self,
        ecs: &aws_sdk_ecs::Client,
        region: &str,
        account_id: &str,
        cluster_arn: String,
        service_arns: Vec<String>,
    ) -> Result<Vec<ServiceSnapshot>, CallFailure> {
        let named = service_arns.len();
        let answer = {
            let _slot = self.slot().await;
            ecs.describe_services()
                .cluster(&cluster_arn)
                .set_services(Some(service_arns))
                .send()
                .await
        };
        self.counter.record(Call::DescribeServices(named));
        let answer = answer.map_err(|e| CallFailure::from_sdk("DescribeServices", e))?;
        for failure in answer.failures() {
            tracing::debug!(arn = ?failure.arn(), reason = ?failure.reason(), "service not described");
        }
        if let Some(failure) = unexplained_failure(answer.failures()) {
            return Err(failure);
        }
        let ctx = SnapshotContext {
            account_id,
            region,
            cluster_name: last_segment(&cluster_arn),
            cluster_arn: &cluster_arn,
            now: self.now,
            rollout_grace_ms: self.settings.rollout_grace_ms,
        };
        Ok(answer
            .services()
            .iter()
            .filter_map(|service| snapshot(&ctx, service))
            .collect())
    }

    /// CPU and memory of `services`, up to 500 queries per call, calls in parallel,
    /// each followed through its `NextToken` pages.
    async fn metrics(
        &self,
        region: &str,
        services: &[ServiceKey],
    ) -> Result<Vec<MetricSeries>, CallFailure> {
        if services.is_empty() {
            return Ok(Vec::new());
        }
        let cloudwatch = self.cloudwatch(region);
        let period_ms = self.settings.metric_period.as_millis() as i64;
        let (start, end) = window(
            self.now,
            period_ms,
            self.settings.metric_lookback.as_millis() as i64,
        );
        let period_s = (period_ms / 1000) as i32;
        let requests: Vec<_> = services
            .chunks(MAX_METRIC_QUERIES / QUERIES_PER_SERVICE)
            .map(|chunk| {
            let cloudwatch = &cloudwatch;
            async move {
                let batch = QueryBatch::new(chunk, period_s);
                let queries = batch.queries.len();
                let mut pages = cloudwatch
                    .get_metric_data()
                    .set_metric_data_queries(Some(batch.queries.clone()))
                    .start_time(DateTime::from_millis(start))
                    .end_time(DateTime::from_millis(end))
                    .scan_by(ScanBy::TimestampAscending)
                    .into_paginator()
                    .send();
                let mut answers = Vec::new();
                loop {
                    let page = {
                        let _slot = self.slot().await;
                        pages.next().await
                    };
                    let Some(page) = page else { break };
                    self.counter.record(Call::GetMetricData(queries));
                    let page = page.map_err(|e| CallFailure::from_sdk("GetMetricData", e))?;
                    for message in page.messages() {
                        tracing::warn!(code = ?message.code(), value = ?message.value(), "GetMetricData message");
                    }
                    answers.extend(page.metric_data_results().iter().cloned());
                }
                Ok(batch.series(&answers))
            }
        })
        .collect();
        let results: Vec<Result<Vec<MetricSeries>, CallFailure>> = stream::iter(requests)
            .buffer_unordered(self.settings.max_in_flight)
            .collect()
            .await;
        let mut series = Vec::new();
        for result in results {
            series.extend(result?);
        }
        Ok(series)
    }
}

fn is_cluster_gone(failure: &CallFailure) -> bool {
    failure.code.as_deref() == Some("ClusterNotFoundException")
}

/// The target's regions, deduplicated, or why the target cannot be collected.
fn checked_regions(target: &AccountTarget) -> Result<Vec<String>, AccountError> {
    let invalid = |message: String| AccountError {
        role_arn: target.role_arn.clone(),
        code: Some("InvalidTarget".to_owned()),
        retryable: false,
        message: format!("{} cannot be collected: {message}", target.label()),
    };
    if let Some(arn) = target.role_arn.as_deref()
        && parse_role_arn(arn).is_none()
    {
        return Err(invalid(
            "the role must be an IAM role ARN like arn:aws:iam::123456789012:role/SentinelReadOnly"
                .to_owned(),
        ));
    }
    if target.external_id.is_some() && target.role_arn.is_none() {
        return Err(invalid(
            "an external id only applies to a role (the local account needs none)".to_owned(),
        ));
    }
    if target.regions.is_empty() {
        return Err(invalid("no regions to scan".to_owned()));
    }
    if target.regions.len() > MAX_REGIONS {
        return Err(invalid(format!("more than {MAX_REGIONS} regions")));
    }
    let mut regions: Vec<String> = Vec::new();
    for region in &target.regions {
        if !is_region(region) {
            return Err(invalid(format!(
                "{region:?} is not an AWS region name like eu-west-1"
            )));
        }
        if !regions.contains(region) {
            regions.push(region.clone());
        }
    }
    Ok(regions)
}

/// Retry quotas are kept per account (role ARN, or `local`): one account's throttling
/// cannot use up another's retries.
fn partition_label(target: &AccountTarget) -> String {
    match target.role_arn.as_deref().and_then(parse_role_arn) {
        Some(account) => {
            let role = target
                .role_arn
                .as_deref()
                .map(last_segment)
                .unwrap_or_default();
            format!("{account}-{role}")
        }
        None => "local".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(role: Option<&str>, ext: Option<&str>, regions: &[&str]) -> AccountTarget {
        AccountTarget {
            role_arn: role.map(str::to_owned),
            external_id: ext.map(str::to_owned),
            regions: regions.iter().map(|r| (*r).to_owned()).collect(),
        }
    }

    #[test]
    fn targets_are_checked_before_any_call() {
        let ok = checked_regions(&target(
            Some("arn:aws:iam::210987654321:role/ops/SentinelReadOnly"),
            Some("ext-1"),
            &["eu-west-1", "us-east-1", "eu-west-1"],
        ))
        .expect("valid");
        assert_eq!(ok, ["eu-west-1", "us-east-1"]);
        let cases = [
            (
                target(Some("arn:aws:s3:::bucket"), None, &["eu-west-1"]),
                "IAM role ARN",
            ),
            (target(None, Some("ext-1"), &["eu-west-1"]), "external id"),
            (target(None, None, &[]), "no regions"),
            (target(None, None, &["Mars"]), "\"Mars\""),
        ];
        for (bad, needle) in cases {
            let err = checked_regions(&bad).expect_err("invalid");
            assert_eq!(err.code.as_deref(), Some("InvalidTarget"));
            assert!(!err.retryable);
            assert!(err.message.contains(needle), "{needle}: {}", err.message);
        }
    }

    #[test]
    fn retry_quotas_are_per_account() {
        assert_eq!(
            partition_label(&target(None, None, &["eu-west-1"])),
            "local"
        );
        assert_eq!(
            partition_label(&target(
                Some("arn:aws:iam::210987654321:role/ops/Reader"),
                None,
                &["eu-west-1"]
            )),
            "210987654321-Reader"
        );
    }
}
