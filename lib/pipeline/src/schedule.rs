//! When each monitor is due. Every monitor runs at a stable offset inside its interval
//! (derived from its id), so 10,000 monitors at 60 s spread evenly over the minute instead
//! of all firing at :00, and a check's cadence does not drift by its own duration.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use sentinel_core::{MonitorId, MonitorSpec, UnixMs};

/// FNV-1a: stable across processes and releases (unlike `DefaultHasher`).
fn stable_hash(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// splitmix64's finaliser: spreads FNV's bits so nearby ids land far apart.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The monitor's offset inside its interval, in ms (whole seconds, so the AWS
/// scheduler can place it with `DelaySeconds`).
pub fn offset_ms(id: &MonitorId, interval_ms: i64) -> i64 {
    let interval_s = (interval_ms / 1000).max(1) as u64;
    (stable_hash(id.as_str()) % interval_s) as i64 * 1000
}

/// The monitor's offset at millisecond resolution, for the in-process timetable: the
/// checks of one second spread over that second instead of opening all at once.
pub fn fine_offset_ms(id: &MonitorId, interval_ms: i64) -> i64 {
    let coarse = offset_ms(id, interval_ms);
    // A second hash picks the millisecond, staying inside the same whole second.
    let within = (mix(stable_hash(id.as_str())) % 1000) as i64;
    (coarse + within).min(interval_ms.max(1) - 1)
}

fn next_on_grid(interval: i64, offset: i64, after: UnixMs) -> UnixMs {
    let k = (after - offset).div_euclid(interval) + 1;
    k * interval + offset
}

/// The first due time strictly after `after` (whole-second offsets).
pub fn next_due(spec: &MonitorSpec, after: UnixMs) -> UnixMs {
    let interval = spec.interval.as_millis() as i64;
    next_on_grid(interval, offset_ms(&spec.id, interval), after)
}

/// Like [`next_due`] with the millisecond offset (in-process scheduling).
pub fn next_due_fine(spec: &MonitorSpec, after: UnixMs) -> UnixMs {
    let interval = spec.interval.as_millis() as i64;
    next_on_grid(interval, fine_offset_ms(&spec.id, interval), after)
}

/// The first run after (re)start. A monitor that was never checked runs on a 60 s grid
/// at its offset (so a new 24 h monitor is not `pending` for a day, and 10,000 new
/// monitors still spread over a minute); one with history keeps its cadence.
pub fn first_due(spec: &MonitorSpec, now: UnixMs, checked_before: bool) -> UnixMs {
    let regular = next_due_fine(spec, now);
    if checked_before {
        return regular;
    }
    let offset = fine_offset_ms(&spec.id, spec.interval.as_millis() as i64) % 60_000;
    let soon = ((now - offset).div_euclid(60_000) + 1) * 60_000 + offset;
    regular.min(soon)
}

/// The divisors of a minute: slots aligned to them start on the same seconds every
/// minute, so monitors with different intervals still share messages.
const MINUTE_DIVISORS: [u64; 12] = [60, 30, 20, 15, 12, 10, 6, 5, 4, 3, 2, 1];

/// The slot a monitor's checks are grouped into on AWS: the largest divisor of a minute
/// that is at most `max_slot_s` and divides the interval. Rounding the offset down to it
/// keeps the cadence exact (every due time moves by the same amount) while checks of
/// many monitors share one message and one prober invocation.
pub fn slot_seconds(interval_ms: i64, max_slot_s: u64) -> u64 {
    let interval_s = (interval_ms / 1000).max(1) as u64;
    let whole = interval_ms % 1000 == 0;
    MINUTE_DIVISORS
        .into_iter()
        .find(|&d| d <= max_slot_s.max(1) && whole && interval_s.is_multiple_of(d))
        .unwrap_or(1)
}

/// The first due time strictly after `after` with the offset rounded down to the
/// monitor's slot (see [`slot_seconds`]).
pub fn next_due_slotted(spec: &MonitorSpec, after: UnixMs, max_slot_s: u64) -> UnixMs {
    let interval = spec.interval.as_millis() as i64;
    let slot_ms = slot_seconds(interval, max_slot_s) as i64 * 1000;
    let offset = offset_ms(&spec.id, interval);
    next_on_grid(interval, offset - offset % slot_ms, after)
}

/// Every due time of every active monitor in `[from, to)`, ordered by time (what the
/// AWS scheduler sends for the next minute), offsets rounded to slots of at most
/// `max_slot_s` seconds (1: every monitor at its own second).
pub fn due_between(
    monitors: &[MonitorSpec],
    from: UnixMs,
    to: UnixMs,
    max_slot_s: u64,
) -> Vec<(UnixMs, &MonitorSpec)> {
    let mut out = Vec::new();
    for spec in monitors.iter().filter(|m| !m.paused) {
        let mut due = next_due_slotted(spec, from - 1, max_slot_s);
        while due < to {
            out.push((due, spec));
            due = next_due_slotted(spec, due, max_slot_s);
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
    out
}

/// In-process timetable: a min-heap of due times. Changing or removing a monitor
/// bumps its generation, so stale heap entries are skipped lazily.
#[derive(Default)]
pub struct Timetable {
    heap: BinaryHeap<Reverse<(UnixMs, u64, MonitorId)>>,
    monitors: HashMap<MonitorId, (u64, Arc<MonitorSpec>)>,
    generation: u64,
}

impl Timetable {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a monitor; its next run is [`first_due`] after `now`.
    pub fn upsert(&mut self, spec: Arc<MonitorSpec>, now: UnixMs, checked_before: bool) {
        self.generation += 1;
        let generation = self.generation;
        if spec.paused {
            self.monitors.remove(&spec.id);
            return;
        }
        let due = first_due(&spec, now, checked_before);
        self.heap.push(Reverse((due, generation, spec.id.clone())));
        self.monitors.insert(spec.id.clone(), (generation, spec));
    }

    pub fn remove(&mut self, id: &MonitorId) {
        self.monitors.remove(id);
    }

    pub fn len(&self) -> usize {
        self.monitors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.monitors.is_empty()
    }

    /// The earliest live due time.
    pub fn next_due_at(&mut self) -> Option<UnixMs> {
        while let Some(Reverse((due, generation, id))) = self.heap.peek() {
            match self.monitors.get(id) {
                Some((g, _)) if g == generation => return Some(*due),
                _ => {
                    self.heap.pop();
                }
            }
        }
        None
    }

    /// Pops every monitor due at or before `now`, with its due time, and schedules its
    /// next run one interval after the due time (not after `now`: no drift).
    pub fn pop_due(&mut self, now: UnixMs) -> Vec<(UnixMs, Arc<MonitorSpec>)> {
        let mut out = Vec::new();
        while let Some(due) = self.next_due_at() {
            if due > now {
                break;
            }
            let Some(Reverse((due, generation, id))) = self.heap.pop() else {
                break;
            };
            let Some((_, spec)) = self.monitors.get(&id) else {
                continue;
            };
            let spec = Arc::clone(spec);
            // If we fell behind by more than an interval, skip the missed runs.
            let next = next_due_fine(&spec, due.max(now - spec.interval.as_millis() as i64));
            self.heap.push(Reverse((next, generation, id)));
            out.push((due, spec));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sentinel_core::MonitorInput;

    fn spec(id: &str, interval: i64) -> MonitorSpec {
        MonitorInput {
            id: Some(id.into()),
            name: Some(id.into()),
            url: Some("http://127.0.0.1/".into()),
            interval: Some(sentinel_core::monitor::DurationInput::Seconds(interval)),
            timeout: Some(sentinel_core::monitor::DurationInput::Seconds(5)),
            ..MonitorInput::default()
        }
        .validate()
        .unwrap()
    }

    #[test]
    fn offsets_are_stable_whole_seconds_inside_the_interval() {
        let id = MonitorId::parse("api").unwrap();
        let a = offset_ms(&id, 60_000);
        assert_eq!(a, offset_ms(&id, 60_000));
        assert!((0..60_000).contains(&a));
        assert_eq!(a % 1000, 0);
    }

    #[test]
    fn fine_offsets_stay_inside_the_whole_second_and_spread_over_it() {
        let mut millis = std::collections::HashSet::new();
        for i in 0..2000 {
            let id = MonitorId::parse(&format!("m{i}")).unwrap();
            let coarse = offset_ms(&id, 60_000);
            let fine = fine_offset_ms(&id, 60_000);
            assert!(fine >= coarse && fine < coarse + 1000, "{coarse} {fine}");
            millis.insert(fine % 1000);
        }
        assert!(
            millis.len() > 800,
            "spread over the second: {}",
            millis.len()
        );
    }

    #[test]
    fn next_due_is_on_the_grid_and_strictly_after() {
        let s = spec("grid", 60);
        let off = offset_ms(&s.id, 60_000);
        let due = next_due(&s, 1_000_000_000_000);
        assert!(due > 1_000_000_000_000);
        assert_eq!((due - off).rem_euclid(60_000), 0);
        assert_eq!(next_due(&s, due), due + 60_000);
        assert_eq!(next_due(&s, due - 1), due);
    }

    #[test]
    fn offsets_spread_many_monitors_over_the_interval() {
        let mut per_second = [0u32; 60];
        for i in 0..6000 {
            let id = MonitorId::parse(&format!("m{i}")).unwrap();
            per_second[(offset_ms(&id, 60_000) / 1000) as usize] += 1;
        }
        // 100 per second on average; no second is empty or more than twice as full.
        assert!(
            per_second.iter().all(|&n| n > 50 && n < 200),
            "{per_second:?}"
        );
    }

    #[test]
    fn due_between_lists_sub_minute_intervals_several_times() {
        let monitors = vec![spec("fast", 10), spec("slow", 3600)];
        let due = due_between(&monitors, 0, 60_000, 1);
        assert_eq!(
            due.iter().filter(|(_, m)| m.id.as_str() == "fast").count(),
            6
        );
        assert!(due.iter().filter(|(_, m)| m.id.as_str() == "slow").count() <= 1);
        assert!(due.windows(2).all(|w| w[0].0 <= w[1].0));
    }

    #[test]
    fn slots_divide_both_the_minute_and_the_interval() {
        assert_eq!(slot_seconds(60_000, 15), 15);
        assert_eq!(slot_seconds(10_000, 15), 10);
        assert_eq!(slot_seconds(20_000, 15), 10);
        assert_eq!(slot_seconds(45_000, 15), 15);
        assert_eq!(slot_seconds(25_000, 15), 5);
        assert_eq!(slot_seconds(37_000, 15), 1);
        assert_eq!(slot_seconds(300_000, 15), 15);
        assert_eq!(slot_seconds(60_000, 1), 1);
        assert_eq!(slot_seconds(60_000, 0), 1);
        assert_eq!(slot_seconds(60_000, 60), 60);
        assert_eq!(slot_seconds(1_500, 15), 1);
    }

    #[test]
    fn slotted_due_times_keep_the_cadence_and_share_seconds() {
        let monitors: Vec<MonitorSpec> = (0..200)
            .map(|i| spec(&format!("m{i}"), [10, 20, 30, 60, 37][i % 5]))
            .collect();
        let due = due_between(&monitors, 0, 600_000, 15);
        for m in &monitors {
            let times: Vec<UnixMs> = due
                .iter()
                .filter(|(_, s)| s.id == m.id)
                .map(|(t, _)| *t)
                .collect();
            let interval = m.interval.as_millis() as i64;
            assert!(
                times.windows(2).all(|w| w[1] - w[0] == interval),
                "{}: {times:?}",
                m.id
            );
            let whole = 600_000 / interval;
            let count = times.len() as i64;
            assert!(count == whole || count == whole + 1, "{}: {count}", m.id);
            let slot = slot_seconds(interval, 15) as i64 * 1000;
            assert!(times.iter().all(|t| t % slot == 0), "{}: {times:?}", m.id);
        }
        // Everything but the 37 s monitors lands on multiples of 5 s: at most 12
        // distinct seconds a minute for them.
        let aligned: std::collections::BTreeSet<i64> = due
            .iter()
            .filter(|(_, s)| s.interval.as_millis() != 37_000)
            .map(|(t, _)| (t % 60_000) / 1000)
            .collect();
        assert!(
            aligned.len() <= 12 && aligned.iter().all(|s| s % 5 == 0),
            "{aligned:?}"
        );
    }

    #[test]
    fn timetable_keeps_cadence_and_drops_removed_monitors() {
        let mut t = Timetable::new();
        let a = Arc::new(spec("a", 10));
        t.upsert(Arc::clone(&a), 0, true);
        t.upsert(Arc::new(spec("b", 10)), 0, true);
        let first = t.next_due_at().unwrap();
        let popped = t.pop_due(first);
        assert!(!popped.is_empty());
        // Popped late: the next run stays on the grid.
        let late = t.pop_due(first + 25_000);
        for (due, s) in &late {
            assert_eq!((due - fine_offset_ms(&s.id, 10_000)).rem_euclid(10_000), 0);
        }
        t.remove(&a.id);
        let later = t.pop_due(first + 100_000);
        assert!(later.iter().all(|(_, s)| s.id.as_str() == "b"));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn a_never_checked_monitor_runs_within_a_minute_then_on_its_grid() {
        let s = spec("daily", 86_400);
        let now = 1_700_000_000_000;
        let first = first_due(&s, now, false);
        assert!(first > now && first <= now + 60_000, "{}", first - now);
        assert_eq!(first_due(&s, now, true), next_due_fine(&s, now));
        let mut t = Timetable::new();
        t.upsert(Arc::new(s.clone()), now, false);
        let popped = t.pop_due(first);
        assert_eq!(popped.len(), 1);
        assert_eq!(t.next_due_at(), Some(next_due_fine(&s, first)));
    }

    #[test]
    fn paused_monitors_are_not_scheduled() {
        let mut t = Timetable::new();
        let mut s = spec("p", 10);
        s.paused = true;
        t.upsert(Arc::new(s), 0, true);
        assert_eq!(t.next_due_at(), None);
    }
}
