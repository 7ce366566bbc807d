//! Shared pieces of Sentinel's benchmarks: CPU and memory figures from `/proc`, the
//! local target server (plain HTTP or TLS) that runs in its own process, and small
//! statistics helpers. The binaries in `src/bin/` are the benchmarks; see
//! `bench/RESULTS.md` for what they measure and the figures.

pub mod proc;
pub mod rng;
pub mod target;

/// The `q` quantile (0..=1) of `sorted` by the nearest-rank method (rank `ceil(q·n)`,
/// at least 1), the definition `LatencyHistogram::quantile` approximates.
pub fn nearest_rank(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
    Some(sorted[rank - 1])
}

/// Median, 95th percentile and minimum of timings (any unit), for reports.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Summary {
    pub n: usize,
    pub min: f64,
    pub median: f64,
    pub p95: f64,
    pub max: f64,
}

impl Summary {
    pub fn of(values: &[f64]) -> Option<Self> {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        Some(Self {
            n: v.len(),
            min: *v.first()?,
            median: nearest_rank(&v, 0.5)?,
            p95: nearest_rank(&v, 0.95)?,
            max: *v.last()?,
        })
    }
}

/// The path of a sibling binary of this one (all bench binaries build into one folder).
pub fn sibling_binary(name: &str) -> anyhow::Result<std::path::PathBuf> {
    let me = std::env::current_exe()?;
    let dir = me
        .parent()
        .ok_or_else(|| anyhow::anyhow!("{} has no parent folder", me.display()))?;
    let path = dir.join(name);
    anyhow::ensure!(
        path.exists(),
        "{} not found: build with `cargo build --release -p sentinel-bench`",
        path.display()
    );
    Ok(path)
}

/// Today's date (UTC) as `YYYY-MM-DD`, for reports.
pub fn today_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let days = secs.div_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `nproc` and the CPU model, for the header of every report.
pub fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    format!("{cpus} CPUs, {model}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_matches_the_definition() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(nearest_rank(&v, 0.5), Some(2.0));
        assert_eq!(nearest_rank(&v, 0.51), Some(3.0));
        assert_eq!(nearest_rank(&v, 0.0), Some(1.0));
        assert_eq!(nearest_rank(&v, 1.0), Some(4.0));
        assert_eq!(nearest_rank(&[], 0.5), None);
    }

    #[test]
    fn dates_are_civil() {
        assert_eq!(today_utc().len(), 10);
    }
}
