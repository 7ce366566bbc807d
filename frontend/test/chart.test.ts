import { describe, expect, it } from 'vitest';
import type { CheckResult, SeriesPoint } from '../src/api';
import { chartData } from '../src/components/chart';

const H = 3_600_000;
const point = (start: number, p: Partial<SeriesPoint> = {}): SeriesPoint => ({
  start,
  checks: 10,
  up: 10,
  uptime_pct: 100,
  avg_ms: 50,
  p50_ms: 45,
  p95_ms: 90,
  ...p,
});
const check = (at: number, ms: number, success = true): CheckResult => ({
  monitor_id: 'm',
  checked_at: at,
  success,
  timings: { total_ms: ms },
  conditions: [],
});

describe('chartData', () => {
  it('aligns buckets and checks on one time axis, in order', () => {
    const now = 10 * H + 30 * 60_000;
    const d = chartData([point(8 * H), point(9 * H, { p50_ms: 40 }), point(10 * H)], H, [check(9 * H + 60_000, 33)], now);
    expect(d.x).toEqual([(8.5 * H) / 1000, (9 * H + 60_000) / 1000, (9.5 * H) / 1000, now / 1000]);
    expect(d.each).toEqual([null, 33, null, null]);
    expect(d.p50).toEqual([45, null, 40, 45]);
    expect(d.p95).toEqual([90, null, 90, 90]);
    expect(d.avg).toEqual([50, null, 50, 50]);
  });
  it('skips empty buckets and failed checks (latency counts successes only)', () => {
    const d = chartData([point(0, { checks: 0, avg_ms: null, p50_ms: null, p95_ms: null })], H, [check(1000, 10_000, false)], 2 * H);
    expect(d.x).toEqual([1]);
    expect(d.each).toEqual([null]);
  });
  it('draws p50 and p95 as served, never standing in the average for a missing p50', () => {
    const d = chartData([point(0, { p50_ms: null })], H, [], H);
    expect(d.p50).toEqual([null]);
    expect(d.p95).toEqual([90]);
    expect(d.avg).toEqual([50]);
  });
});
