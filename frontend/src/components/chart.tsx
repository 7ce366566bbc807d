// Response-time chart (uPlot, loaded on demand so the first page stays small).
// Drag across the plot to zoom in; double-click or "Reset zoom" to zoom out.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { CheckResult, SeriesPoint } from '../api';
import { ms } from '../format';
import { Spinner } from './ui';

import type uPlot from 'uplot';
type UPlot = uPlot;

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

export interface ChartData {
  x: number[];
  each: (number | null)[];
  p50: (number | null)[];
  p95: (number | null)[];
  avg: (number | null)[];
}

/**
 * One x axis for buckets (placed at their middle) and individual checks (24 h view):
 * uPlot wants aligned arrays, so each series has nulls where the other has points.
 */
export function chartData(points: SeriesPoint[], bucketMs: number, checks: CheckResult[] = [], now = Date.now()): ChartData {
  type Row = [x: number, each: number | null, p50: number | null, p95: number | null, avg: number | null];
  const rows: Row[] = [];
  for (const p of points) {
    if (p.checks === 0) continue;
    // The middle of the bucket, but never in the future (the current hour is partial).
    rows.push([Math.max(p.start, Math.min(p.start + bucketMs / 2, now)) / 1000, null, p.p50_ms, p.p95_ms, p.avg_ms]);
  }
  for (const c of checks) rows.push([c.checked_at / 1000, c.success ? c.timings.total_ms : null, null, null, null]);
  rows.sort((a, b) => a[0] - b[0]);
  return {
    x: rows.map((r) => r[0]),
    each: rows.map((r) => r[1]),
    p50: rows.map((r) => r[2]),
    p95: rows.map((r) => r[3]),
    avg: rows.map((r) => r[4]),
  };
}

export function LatencyChart({ data, label }: { data: ChartData; label: string }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<UPlot | null>(null);
  const [zoomed, setZoomed] = useState(false);
  const [ready, setReady] = useState(false);

  useEffect(() => {
    let cancelled = false;
    let ro: ResizeObserver | null = null;
    Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')]).then(([mod]) => {
      if (cancelled || !host.current) return;
      const UPlotCtor = mod.default;
      const text = cssVar('--text-2', '#57606a');
      const grid = cssVar('--border', '#d0d7de');
      const width = host.current.clientWidth || 600;
      const showEach = data.each.some((v) => v != null);
      const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
      const u = new UPlotCtor(
        {
          width,
          height: 240,
          cursor: { drag: { x: true, y: false, setScale: true } },
          legend: { live: true },
          scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(10, max * 1.1)] } },
          axes: [axis, { ...axis, size: 72, values: (_u, vals) => vals.map((v) => ms(v)) }],
          series: [
            { label: 'Time' },
            {
              label: 'Each check',
              show: showEach,
              stroke: cssVar('--chart-each', '#8c959f'),
              width: 1,
              points: { show: true, size: 4 },
              spanGaps: false,
              value: (_u, v) => ms(v),
            },
            { label: 'p50', stroke: cssVar('--chart-p50', '#1f6feb'), width: 2, spanGaps: true, value: (_u, v) => ms(v) },
            { label: 'p95', stroke: cssVar('--chart-p95', '#bf8700'), width: 2, dash: [6, 4], spanGaps: true, value: (_u, v) => ms(v) },
            // Off by default (click its legend entry): one slow check drags an average, not a median.
            { label: 'Average', show: false, stroke: cssVar('--chart-avg', '#8250df'), width: 1, dash: [2, 3], spanGaps: true, value: (_u, v) => ms(v) },
          ],
          hooks: {
            setScale: [
              (self, key) => {
                if (key !== 'x') return;
                const xs = self.data[0];
                if (!xs.length) return;
                const min = self.scales.x.min ?? xs[0];
                const max = self.scales.x.max ?? xs[xs.length - 1];
                // The visible range, for tests and tools (the axes are drawn on the canvas).
                host.current?.setAttribute('data-x-range', `${min},${max}`);
                setZoomed(min > xs[0] + 1 || max < xs[xs.length - 1] - 1);
              },
            ],
          },
        },
        [data.x, data.each, data.p50, data.p95, data.avg],
        host.current,
      );
      plot.current = u;
      setReady(true);
      ro = new ResizeObserver(() => {
        if (host.current) u.setSize({ width: host.current.clientWidth, height: 240 });
      });
      ro.observe(host.current);
    });
    return () => {
      cancelled = true;
      ro?.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [data]);

  const reset = () => {
    const u = plot.current;
    if (!u || !data.x.length) return;
    u.setScale('x', { min: data.x[0], max: data.x[data.x.length - 1] });
  };

  return (
    <div class="chart">
      <div class="chart-tools">
        <span class="muted small">Drag across the chart to zoom; double-click to zoom out.</span>
        {zoomed && (
          <button type="button" class="btn btn-small btn-secondary" onClick={reset}>
            Reset zoom
          </button>
        )}
      </div>
      {!ready && (
        <div class="chart-loading">
          <Spinner label="Loading chart" />
        </div>
      )}
      <div ref={host} class="chart-host" role="img" aria-label={label} />
    </div>
  );
}
