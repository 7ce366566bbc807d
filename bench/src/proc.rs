//! CPU time and memory of this process (and its reaped children) from `/proc`.
//!
//! `/proc/self/stat` reports user and system time in clock ticks (`USER_HZ`, 100 per
//! second on Linux): fields 14/15 for this process (all threads, live and exited) and
//! 16/17 for the children it has waited for. The kernel derives them from the precise
//! scheduler runtime, so a difference over a few seconds is good to about one tick.

use std::time::Duration;

use anyhow::{Context, bail};

/// User and system CPU time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cpu {
    pub user: Duration,
    pub system: Duration,
}

impl Cpu {
    pub fn total(&self) -> Duration {
        self.user + self.system
    }

    /// `self - earlier`, field by field (zero if a counter went backwards).
    pub fn since(&self, earlier: &Cpu) -> Cpu {
        Cpu {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
        }
    }
}

/// Clock ticks per second for `/proc` times. Linux fixes `USER_HZ` at 100 on every
/// architecture we run on; `getconf CLK_TCK` confirms it (called once, before anything
/// is measured, since its CPU lands in the children's time).
pub fn clock_ticks() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}

fn stat_fields() -> anyhow::Result<Vec<u64>> {
    let text = std::fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
    // The command name (field 2) may hold spaces; everything after its ')' is numeric
    // or single-letter, starting with field 3 (state).
    let rest = text
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("unexpected /proc/self/stat")?;
    Ok(rest
        .split_whitespace()
        .map(|f| f.parse::<i64>().map_or(0, |v| v.max(0) as u64))
        .collect())
}

fn ticks(n: u64, hz: u64) -> Duration {
    Duration::from_nanos(n.saturating_mul(1_000_000_000) / hz.max(1))
}

/// CPU time of this process so far, all threads.
pub fn self_cpu(hz: u64) -> anyhow::Result<Cpu> {
    let f = stat_fields()?;
    // Field 14 (utime) is index 11 counting from field 3.
    if f.len() < 15 {
        bail!("short /proc/self/stat");
    }
    Ok(Cpu {
        user: ticks(f[11], hz),
        system: ticks(f[12], hz),
    })
}

/// CPU time of the children this process has waited for.
pub fn children_cpu(hz: u64) -> anyhow::Result<Cpu> {
    let f = stat_fields()?;
    if f.len() < 15 {
        bail!("short /proc/self/stat");
    }
    Ok(Cpu {
        user: ticks(f[13], hz),
        system: ticks(f[14], hz),
    })
}

/// A `kB` line of `/proc/self/status` (`VmHWM`, `VmRSS`, …) in bytes.
pub fn status_kb(key: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

/// Peak resident set size (`VmHWM`) in bytes.
pub fn peak_rss() -> Option<u64> {
    status_kb("VmHWM")
}

/// Current resident set size (`VmRSS`) in bytes.
pub fn rss() -> Option<u64> {
    status_kb("VmRSS")
}

/// Threads of this process.
pub fn threads() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Open file descriptors of this process.
pub fn open_fds() -> Option<usize> {
    std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count())
}

/// The soft limit on open files.
pub fn fd_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// IPv4 TCP sockets in TIME_WAIT on the machine (`/proc/net/tcp` state `06`).
pub fn time_wait_sockets() -> usize {
    std::fs::read_to_string("/proc/net/tcp")
        .map(|t| {
            t.lines()
                .skip(1)
                .filter(|l| l.split_whitespace().nth(3) == Some("06"))
                .count()
        })
        .unwrap_or(0)
}

/// The local port range (`net.ipv4.ip_local_port_range`).
pub fn ephemeral_ports() -> Option<(u32, u32)> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let mut it = text.split_whitespace().map(|v| v.parse().ok());
    Some((it.next()??, it.next()??))
}

pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_figures() {
        assert!(self_cpu(100).is_ok());
        assert!(children_cpu(100).is_ok());
        assert!(peak_rss().unwrap_or(0) > 0);
        assert!(threads().unwrap_or(0) >= 1);
    }
}
