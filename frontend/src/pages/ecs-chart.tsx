// CPU / memory utilisation chart of an ECS service: average and maximum per CloudWatch
// period. uPlot is loaded on demand, as for the response-time chart (components/chart.tsx).
import { useEffect, useRef, useState } from 'preact/hooks';
import type uPlot from 'uplot';
import { Spinner } from '../components/ui';
import { type UsageData, usagePct } from '../ecs';

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

const HEIGHT = 200;

export function UsageChart({ data, label }: { data: UsageData; label: string }) {
  const host = useRef<HTMLDivElement>(null);
  const [ready, setReady] = useState(false);

  useEffect(() => {
    let cancelled = false;
    let ro: ResizeObserver | null = null;
    let plot: uPlot | null = null;
    Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')]).then(([mod]) => {
      if (cancelled || !host.current) return;
      const text = cssVar('--text-2', '#57606a');
      const grid = cssVar('--border', '#d0d7de');
      const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
      const fmt = (_u: uPlot, v: number | null) => usagePct(v);
      plot = new mod.default(
        {
          width: host.current.clientWidth || 400,
          height: HEIGHT,
          cursor: { drag: { x: true, y: false, setScale: true } },
          legend: { live: true },
          // 100 % is the reservation; a service may burst above it.
          scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(100, Math.ceil((max ?? 0) * 1.05))] } },
          axes: [axis, { ...axis, size: 56, values: (_u, vals) => vals.map((v) => `${v} %`) }],
          series: [
            { label: 'Time' },
            { label: 'Average', stroke: cssVar('--chart-p50', '#0969da'), width: 2, spanGaps: false, value: fmt },
            // Dashed as well as another colour: the two lines differ without colour.
            { label: 'Maximum', stroke: cssVar('--chart-p95', '#bc4c00'), width: 2, dash: [6, 4], spanGaps: false, value: fmt },
          ],
        },
        [data.x, data.average, data.maximum],
        host.current,
      );
      setReady(true);
      const p = plot;
      ro = new ResizeObserver(() => {
        if (host.current) p.setSize({ width: host.current.clientWidth, height: HEIGHT });
      });
      ro.observe(host.current);
    });
    return () => {
      cancelled = true;
      ro?.disconnect();
      plot?.destroy();
    };
  }, [data]);

  return (
    <div class="chart ecs-chart">
      {!ready && (
        <div class="chart-loading">
          <Spinner label="Loading chart" />
        </div>
      )}
      <div ref={host} class="chart-host" role="img" aria-label={label} />
    </div>
  );
}
