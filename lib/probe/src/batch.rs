//! Bounded concurrent batches of checks.

use std::borrow::Borrow;

use futures::stream::{self, Stream, StreamExt};
use sentinel_core::UnixMs;
use sentinel_core::check::ProbeOutcome;
use sentinel_core::monitor::MonitorSpec;

use crate::Prober;

impl Prober {
    /// Checks every spec with at most `concurrency` checks in flight (0 counts as 1),
    /// yielding each outcome with the spec it belongs to as soon as it is done, so in
    /// completion order. `now` is called as each check starts and becomes its
    /// `started_at`.
    ///
    /// `S` is anything that borrows a spec: `&MonitorSpec`, `Arc<MonitorSpec>`, or an
    /// owned `MonitorSpec`. All checks run on the task that polls the stream; to use
    /// several cores, split the monitors and drive one stream per spawned task.
    pub fn check_stream<'a, I, S>(
        &'a self,
        specs: I,
        concurrency: usize,
        now: impl Fn() -> UnixMs + 'a,
    ) -> impl Stream<Item = (S, ProbeOutcome)> + 'a
    where
        I: IntoIterator<Item = S>,
        I::IntoIter: 'a,
        S: Borrow<MonitorSpec> + 'a,
    {
        stream::iter(specs)
            .map(move |spec| {
                let started_at = now();
                async move {
                    let outcome = self.check(spec.borrow(), started_at).await;
                    (spec, outcome)
                }
            })
            .buffer_unordered(concurrency.max(1))
    }

    /// Checks every spec, at most `concurrency` at a time, and returns the outcomes in
    /// the order of `specs`: `outcomes[i]` belongs to `specs[i]`.
    pub async fn run_batch(
        &self,
        specs: &[MonitorSpec],
        concurrency: usize,
        now: impl Fn() -> UnixMs,
    ) -> Vec<ProbeOutcome> {
        let mut outcomes: Vec<ProbeOutcome> = Vec::with_capacity(specs.len());
        outcomes.resize_with(specs.len(), ProbeOutcome::default);
        let mut done = stream::iter(specs.iter().enumerate())
            .map(|(index, spec)| {
                let started_at = now();
                async move { (index, self.check(spec, started_at).await) }
            })
            .buffer_unordered(concurrency.max(1));
        while let Some((index, outcome)) = done.next().await {
            outcomes[index] = outcome;
        }
        outcomes
    }
}
