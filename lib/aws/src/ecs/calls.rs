//! How many AWS calls a collection made, by kind: what it costs and whether the batching
//! holds (the bench reports these). Logical calls: the SDK's retries are not counted.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// API calls of one collection (or, added up, of several).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiCalls {
    pub sts_assume_role: u64,
    pub sts_get_caller_identity: u64,
    pub iam_list_account_aliases: u64,
    pub ecs_list_clusters: u64,
    pub ecs_list_services: u64,
    pub ecs_describe_services: u64,
    pub cloudwatch_get_metric_data: u64,
    /// Services named in all `DescribeServices` calls.
    pub services_described: u64,
    /// The most services one `DescribeServices` call named (ECS allows 10).
    pub max_services_per_describe: u64,
    /// Metric queries sent in all `GetMetricData` calls (a follow-up page repeats them).
    pub metric_queries: u64,
    /// The most queries one `GetMetricData` call carried (CloudWatch allows 500).
    pub max_queries_per_get_metric_data: u64,
}

impl ApiCalls {
    /// Every call made.
    pub fn total(&self) -> u64 {
        self.sts_assume_role
            + self.sts_get_caller_identity
            + self.iam_list_account_aliases
            + self.ecs_list_clusters
            + self.ecs_list_services
            + self.ecs_describe_services
            + self.cloudwatch_get_metric_data
    }

    /// Adds another collection's calls (maxima stay maxima).
    pub fn add(&mut self, other: &ApiCalls) {
        self.sts_assume_role += other.sts_assume_role;
        self.sts_get_caller_identity += other.sts_get_caller_identity;
        self.iam_list_account_aliases += other.iam_list_account_aliases;
        self.ecs_list_clusters += other.ecs_list_clusters;
        self.ecs_list_services += other.ecs_list_services;
        self.ecs_describe_services += other.ecs_describe_services;
        self.cloudwatch_get_metric_data += other.cloudwatch_get_metric_data;
        self.services_described += other.services_described;
        self.max_services_per_describe = self
            .max_services_per_describe
            .max(other.max_services_per_describe);
        self.metric_queries += other.metric_queries;
        self.max_queries_per_get_metric_data = self
            .max_queries_per_get_metric_data
            .max(other.max_queries_per_get_metric_data);
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Call {
    AssumeRole,
    GetCallerIdentity,
    ListAccountAliases,
    ListClusters,
    ListServices,
    /// With the number of services named.
    DescribeServices(usize),
    /// With the number of queries carried.
    GetMetricData(usize),
}

/// The shared, concurrent tally behind [`ApiCalls`].
#[derive(Debug, Default)]
pub(crate) struct CallCounter {
    sts_assume_role: AtomicU64,
    sts_get_caller_identity: AtomicU64,
    iam_list_account_aliases: AtomicU64,
    ecs_list_clusters: AtomicU64,
    ecs_list_services: AtomicU64,
    ecs_describe_services: AtomicU64,
    cloudwatch_get_metric_data: AtomicU64,
    services_described: AtomicU64,
    max_services_per_describe: AtomicU64,
    metric_queries: AtomicU64,
    max_queries_per_get_metric_data: AtomicU64,
}

impl CallCounter {
    pub fn record(&self, call: Call) {
        let bump = |counter: &AtomicU64| counter.fetch_add(1, Ordering::Relaxed);
        match call {
            Call::AssumeRole => bump(&self.sts_assume_role),
            Call::GetCallerIdentity => bump(&self.sts_get_caller_identity),
            Call::ListAccountAliases => bump(&self.iam_list_account_aliases),
            Call::ListClusters => bump(&self.ecs_list_clusters),
            Call::ListServices => bump(&self.ecs_list_services),
            Call::DescribeServices(services) => {
                let n = services as u64;
                self.services_described.fetch_add(n, Ordering::Relaxed);
                self.max_services_per_describe
                    .fetch_max(n, Ordering::Relaxed);
                bump(&self.ecs_describe_services)
            }
            Call::GetMetricData(queries) => {
                let n = queries as u64;
                self.metric_queries.fetch_add(n, Ordering::Relaxed);
                self.max_queries_per_get_metric_data
                    .fetch_max(n, Ordering::Relaxed);
                bump(&self.cloudwatch_get_metric_data)
            }
        };
    }

    pub fn snapshot(&self) -> ApiCalls {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        ApiCalls {
            sts_assume_role: get(&self.sts_assume_role),
            sts_get_caller_identity: get(&self.sts_get_caller_identity),
            iam_list_account_aliases: get(&self.iam_list_account_aliases),
            ecs_list_clusters: get(&self.ecs_list_clusters),
            ecs_list_services: get(&self.ecs_list_services),
            ecs_describe_services: get(&self.ecs_describe_services),
            cloudwatch_get_metric_data: get(&self.cloudwatch_get_metric_data),
            services_described: get(&self.services_described),
            max_services_per_describe: get(&self.max_services_per_describe),
            metric_queries: get(&self.metric_queries),
            max_queries_per_get_metric_data: get(&self.max_queries_per_get_metric_data),
        }
    }
}
