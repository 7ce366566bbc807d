//! CloudWatch `AWS/ECS` utilisation: the `GetMetricData` queries for a set of services,
//! and the answers turned back into per-service series.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricDataResult, MetricStat};
use sentinel_core::UnixMs;
use sentinel_core::ecs::{EcsMetric, MetricPoint, ServiceKey};
use serde::{Deserialize, Serialize};

use super::convert::millis;

/// Most queries one `GetMetricData` call may carry.
pub const MAX_METRIC_QUERIES: usize = 500;
/// CPU and memory, each as average and maximum.
pub const QUERIES_PER_SERVICE: usize = 4;
const NAMESPACE: &str = "AWS/ECS";
const METRICS: [EcsMetric; 2] = [EcsMetric::Cpu, EcsMetric::Memory];

/// One service's utilisation over the collection's window, oldest point first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSeries {
    pub key: ServiceKey,
    pub metric: EcsMetric,
    pub points: Vec<MetricPoint>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Stat {
    Average,
    Maximum,
}

impl Stat {
    fn name(self) -> &'static str {
        match self {
            Self::Average => "Average",
            Self::Maximum => "Maximum",
        }
    }
}

/// The queries for up to `MAX_METRIC_QUERIES / QUERIES_PER_SERVICE` services (one
/// call), and how to read the answers back.
pub(crate) struct QueryBatch<'a> {
    services: &'a [ServiceKey],
    pub queries: Vec<MetricDataQuery>,
}

impl<'a> QueryBatch<'a> {
    /// `period_s` must be a multiple of 60 (checked with the settings).
    pub fn new(services: &'a [ServiceKey], period_s: i32) -> Self {
        let mut queries = Vec::with_capacity(services.len() * QUERIES_PER_SERVICE);
        for (index, key) in services.iter().enumerate() {
            for metric in METRICS {
                let cloudwatch_metric = Metric::builder()
                    .namespace(NAMESPACE)
                    .metric_name(metric.cloudwatch_name())
                    .dimensions(dimension("ClusterName", &key.cluster))
                    .dimensions(dimension("ServiceName", &key.service))
                    .build();
                for stat in [Stat::Average, Stat::Maximum] {
                    queries.push(
                        MetricDataQuery::builder()
                            .id(query_id(index, metric, stat))
                            .metric_stat(
                                MetricStat::builder()
                                    .metric(cloudwatch_metric.clone())
                                    .period(period_s)
                                    .stat(stat.name())
                                    .build(),
                            )
                            .return_data(true)
                            .build(),
                    );
                }
            }
        }
        Self { services, queries }
    }

    /// Every series with at least one point (a service without data has none),
    /// merged over all pages of the answer. A period with only one of the two
    /// statistics takes it for both: the average cannot exceed the maximum.
    pub fn series(&self, results: &[MetricDataResult]) -> Vec<MetricSeries> {
        type Stats = BTreeMap<UnixMs, (Option<f64>, Option<f64>)>;
        let mut by_query: HashMap<(usize, EcsMetric), Stats> = HashMap::new();
        for result in results {
            let Some((index, metric, stat)) = result.id().and_then(parse_query_id) else {
                tracing::warn!(id = ?result.id(), "GetMetricData answered a query we did not ask");
                continue;
            };
            if index >= self.services.len() {
                continue;
            }
            let points = by_query.entry((index, metric)).or_default();
            for (at, value) in result.timestamps().iter().zip(result.values()) {
                let Some(at) = millis(at) else { continue };
                let slot = points.entry(at).or_default();
                match stat {
                    Stat::Average => slot.0 = Some(*value),
                    Stat::Maximum => slot.1 = Some(*value),
                }
            }
        }
        let mut series: Vec<MetricSeries> = by_query
            .into_iter()
            .filter(|(_, points)| !points.is_empty())
            .map(|((index, metric), points)| MetricSeries {
                key: self.services[index].clone(),
                metric,
                points: points
                    .into_iter()
                    .filter_map(|(at, (average, maximum))| {
                        let average = average.or(maximum)?;
                        Some(MetricPoint {
                            at,
                            average,
                            maximum: maximum.unwrap_or(average),
                        })
                    })
                    .collect(),
            })
            .collect();
        series.sort_by(|a, b| {
            (&a.key, metric_order(a.metric)).cmp(&(&b.key, metric_order(b.metric)))
        });
        series
    }
}

fn metric_order(metric: EcsMetric) -> u8 {
    match metric {
        EcsMetric::Cpu => 0,
        EcsMetric::Memory => 1,
    }
}

fn dimension(name: &str, value: &str) -> Dimension {
    Dimension::builder().name(name).value(value).build()
}

/// `s12_cpu_avg`: ids must start with a lowercase letter and hold only letters,
/// digits and `_`.
fn query_id(index: usize, metric: EcsMetric, stat: Stat) -> String {
    let metric = match metric {
        EcsMetric::Cpu => "cpu",
        EcsMetric::Memory => "mem",
    };
    let stat = match stat {
        Stat::Average => "avg",
        Stat::Maximum => "max",
    };
    format!("s{index}_{metric}_{stat}")
}

fn parse_query_id(id: &str) -> Option<(usize, EcsMetric, Stat)> {
    let mut parts = id.strip_prefix('s')?.split('_');
    let index = parts.next()?.parse().ok()?;
    let metric = match parts.next()? {
        "cpu" => EcsMetric::Cpu,
        "mem" => EcsMetric::Memory,
        _ => return None,
    };
    let stat = match parts.next()? {
        "avg" => Stat::Average,
        "max" => Stat::Maximum,
        _ => return None,
    };
    parts.next().is_none().then_some((index, metric, stat))
}

/// `[start, end)` of the window: the last `lookback_ms` up to the start of the current
/// period, aligned to the period so every point covers a whole period (CloudWatch
/// rounds unaligned starts anyway; an emulator may not).
pub(crate) fn window(now: UnixMs, period_ms: i64, lookback_ms: i64) -> (UnixMs, UnixMs) {
    let end = now.div_euclid(period_ms) * period_ms;
    let start = (end - lookback_ms).div_euclid(period_ms) * period_ms;
    (start, end)
}

#[cfg(test)]
mod tests {
    use aws_sdk_cloudwatch::primitives::DateTime;

    use super::*;

    fn key(service: &str) -> ServiceKey {
        ServiceKey {
            account_id: "210987654321".to_owned(),
            region: "eu-west-1".to_owned(),
            cluster: "prod".to_owned(),
            service: service.to_owned(),
        }
    }

    fn result(id: &str, points: &[(UnixMs, f64)]) -> MetricDataResult {
        let mut b = MetricDataResult::builder().id(id);
        for (at, v) in points {
            b = b.timestamps(DateTime::from_millis(*at)).values(*v);
        }
        b.build()
    }

    #[test]
    fn four_queries_per_service_with_unique_parseable_ids() {
        let services: Vec<ServiceKey> = (0..125).map(|i| key(&format!("svc{i}"))).collect();
        let batch = QueryBatch::new(&services, 300);
        assert_eq!(batch.queries.len(), MAX_METRIC_QUERIES);
        let mut ids: Vec<&str> = batch.queries.iter().filter_map(|q| q.id()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), MAX_METRIC_QUERIES);
        for q in &batch.queries {
            let id = q.id().expect("an id");
            assert!(id.starts_with(|c: char| c.is_ascii_lowercase()), "{id}");
            assert!(parse_query_id(id).is_some(), "{id}");
            let stat = q.metric_stat().expect("a metric stat");
            assert_eq!(stat.period(), Some(300));
            let metric = stat.metric().expect("a metric");
            assert_eq!(metric.namespace(), Some("AWS/ECS"));
            let dims: Vec<(&str, &str)> = metric
                .dimensions()
                .iter()
                .map(|d| (d.name().unwrap_or(""), d.value().unwrap_or("")))
                .collect();
            assert_eq!(dims[0], ("ClusterName", "prod"));
            assert_eq!(dims[1].0, "ServiceName");
        }
        let first: Vec<(&str, &str)> = batch.queries[..4]
            .iter()
            .map(|q| {
                let s = q.metric_stat().expect("stat");
                (
                    s.metric().and_then(|m| m.metric_name()).unwrap_or(""),
                    s.stat().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(
            first,
            [
                ("CPUUtilization", "Average"),
                ("CPUUtilization", "Maximum"),
                ("MemoryUtilization", "Average"),
                ("MemoryUtilization", "Maximum"),
            ]
        );
    }

    #[test]
    fn answers_merge_by_time_across_pages_into_sorted_series() {
        let services = [key("api"), key("web")];
        let batch = QueryBatch::new(&services, 300);
        let results = [
            // Second page first: order must not matter.
            result("s0_cpu_avg", &[(600_000, 50.0)]),
            result("s0_cpu_avg", &[(300_000, 30.0)]),
            result("s0_cpu_max", &[(300_000, 40.0), (600_000, 50.0)]),
            result("s0_mem_avg", &[(300_000, 70.0)]),
            // A maximum without an average: both take it.
            result("s0_mem_max", &[(300_000, 80.0), (900_000, 90.0)]),
            result("s1_cpu_avg", &[]),
            result("bogus", &[(300_000, 1.0)]),
            result("s7_cpu_avg", &[(300_000, 1.0)]),
        ];
        let series = batch.series(&results);
        assert_eq!(series.len(), 2, "{series:?}");
        assert_eq!(series[0].key.service, "api");
        assert_eq!(series[0].metric, EcsMetric::Cpu);
        assert_eq!(
            series[0].points,
            [
                MetricPoint {
                    at: 300_000,
                    average: 30.0,
                    maximum: 40.0
                },
                MetricPoint {
                    at: 600_000,
                    average: 50.0,
                    maximum: 50.0
                },
            ]
        );
        assert_eq!(series[1].metric, EcsMetric::Memory);
        assert_eq!(
            series[1].points,
            [
                MetricPoint {
                    at: 300_000,
                    average: 70.0,
                    maximum: 80.0
                },
                MetricPoint {
                    at: 900_000,
                    average: 90.0,
                    maximum: 90.0
                },
            ]
        );
    }

    #[test]
    fn the_window_is_aligned_to_the_period() {
        let period = 300_000;
        let day = 86_400_000;
        let (start, end) = window(1_800_000_123_456, period, day);
        assert_eq!(end % period, 0);
        assert_eq!(start % period, 0);
        assert_eq!(end - start, day);
        assert!(end <= 1_800_000_123_456 && 1_800_000_123_456 - end < period);
    }
}
