//! The collector as the pipeline's [`EcsSource`]: one [`AccountCollection`] becomes an
//! [`EcsAccountSnapshot`], an [`AccountError`] its message.

use async_trait::async_trait;
use sentinel_core::UnixMs;
use sentinel_pipeline::ecs::{EcsAccountSnapshot, EcsSource, EcsTarget};

use super::{AccountCollection, AccountTarget, EcsCollector};

/// Region errors of this operation leave the region's services complete (only the
/// metric history is missing), so the region still counts as collected.
const METRICS_OPERATION: &str = "GetMetricData";

#[async_trait]
impl EcsSource for EcsCollector {
    async fn collect(
        &self,
        targets: &[EcsTarget],
        now: UnixMs,
    ) -> Vec<Result<EcsAccountSnapshot, String>> {
        let targets: Vec<AccountTarget> = targets
            .iter()
            .map(|t| AccountTarget {
                role_arn: t.role_arn.clone(),
                external_id: t.external_id.clone(),
                regions: t.regions.clone(),
            })
            .collect();
        let results = collect_boxed(self, &targets, now).await;
        targets
            .iter()
            .zip(results)
            .map(|(target, result)| {
                result
                    .map(|collection| account_snapshot(target, collection))
                    .map_err(|e| e.message)
            })
            .collect()
    }
}

/// The collector's future, boxed where its lifetimes are concrete: awaited directly
/// inside the `async_trait` method, the compiler cannot prove it `Send` (the
/// higher-ranked lifetimes of its stream closures, rust-lang/rust#102211).
fn collect_boxed<'a>(
    collector: &'a EcsCollector,
    targets: &'a [AccountTarget],
    now: UnixMs,
) -> futures::future::BoxFuture<'a, Vec<Result<AccountCollection, super::AccountError>>> {
    Box::pin(collector.collect_all(targets, now))
}

/// `regions_collected` is the target's regions minus those with an error that leaves
/// their services incomplete; every region error and the alias error become warnings.
pub fn account_snapshot(target: &AccountTarget, c: AccountCollection) -> EcsAccountSnapshot {
    let regions_collected = target
        .regions
        .iter()
        .filter(|region| {
            !c.region_errors
                .iter()
                .any(|e| &e.region == *region && e.operation != METRICS_OPERATION)
        })
        .cloned()
        .collect();
    let mut warnings: Vec<String> = c.region_errors.iter().map(ToString::to_string).collect();
    if let Some(alias_error) = &c.alias_error {
        warnings.push(format!("account alias not read: {alias_error}"));
    }
    EcsAccountSnapshot {
        account_id: c.account_id,
        alias: c.alias,
        regions_collected,
        services: c.services,
        metrics: c
            .metrics
            .into_iter()
            .map(|s| (s.key, s.metric, s.points))
            .collect(),
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecs::RegionError;

    fn region_error(region: &str, operation: &str) -> RegionError {
        RegionError {
            region: region.to_owned(),
            operation: operation.to_owned(),
            code: Some("ThrottlingException".to_owned()),
            retryable: true,
            message: format!("ThrottlingException: Rate exceeded ({operation})"),
        }
    }

    #[test]
    fn failed_regions_are_not_collected_but_a_metrics_failure_is_only_a_warning() {
        let target = AccountTarget {
            role_arn: None,
            external_id: None,
            regions: vec!["us-east-1".into(), "eu-west-1".into(), "ap-south-1".into()],
        };
        let collection = AccountCollection {
            account_id: "123456789012".into(),
            alias: "prod".into(),
            role_arn: None,
            clusters: Vec::new(),
            services: Vec::new(),
            metrics: Vec::new(),
            region_errors: vec![
                region_error("eu-west-1", "ListClusters"),
                region_error("ap-south-1", "GetMetricData"),
            ],
            alias_error: Some("AccessDenied".into()),
            calls: Default::default(),
            collected_at: 1,
        };
        let snapshot = account_snapshot(&target, collection);
        assert_eq!(snapshot.regions_collected, ["us-east-1", "ap-south-1"]);
        assert_eq!(snapshot.account_id, "123456789012");
        assert_eq!(snapshot.alias, "prod");
        assert_eq!(
            snapshot.warnings,
            [
                "eu-west-1: ThrottlingException: Rate exceeded (ListClusters)",
                "ap-south-1: ThrottlingException: Rate exceeded (GetMetricData)",
                "account alias not read: AccessDenied",
            ]
        );
    }
}
