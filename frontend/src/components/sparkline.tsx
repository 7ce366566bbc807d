import { useEffect, useRef, useState } from 'preact/hooks';
import type { SeriesPoint } from '../api';
import { ms } from '../format';
import { cachedSpark, watchSpark, type Spark } from '../sparks';

// Colours come from the CSS (light or dark); read once per scheme, not per canvas: a
// getComputedStyle per row would force a style recalculation while scrolling.
let colours: { line: string; down: string } | null = null;
if (typeof window !== 'undefined' && window.matchMedia) {
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => (colours = null));
}
function palette() {
  if (!colours) {
    const style = getComputedStyle(document.documentElement);
    colours = {
      line: style.getPropertyValue('--spark').trim() || '#0969da',
      down: style.getPropertyValue('--down').trim() || '#cf222e',
    };
  }
  return colours;
}

/** Draws response time (line) and hours with failed checks (red ticks) on a canvas. */
export function drawSpark(canvas: HTMLCanvasElement, points: SeriesPoint[]) {
  const dpr = window.devicePixelRatio || 1;
  // Sizes from the CSS box (120×28, 96×24 on phones) without a layout read per row.
  const narrow = window.innerWidth <= 720;
  const w = narrow ? 96 : 120;
  const h = narrow ? 24 : 28;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const n = points.length;
  if (!n) return;
  const values = points.map((p) => p.avg_ms);
  const present = values.filter((v): v is number => v != null);
  const max = Math.max(1, ...present);
  const step = n > 1 ? w / (n - 1) : w;
  const padTop = 3;
  const padBottom = 5;
  const y = (v: number) => padTop + (h - padTop - padBottom) * (1 - v / max);
  ctx.lineWidth = 1.5;
  ctx.lineJoin = 'round';
  ctx.strokeStyle = palette().line;
  ctx.beginPath();
  let pen = false;
  values.forEach((v, i) => {
    if (v == null) {
      pen = false;
      return;
    }
    const x = i * step;
    if (pen) ctx.lineTo(x, y(v));
    else ctx.moveTo(x, y(v));
    pen = true;
  });
  ctx.stroke();
  // A lone point (a new monitor's first hour) has no line: draw it as a dot.
  values.forEach((v, i) => {
    if (v == null || values[i - 1] != null || values[i + 1] != null) return;
    ctx.beginPath();
    ctx.arc(Math.min(w - 2, Math.max(2, i * step)), y(v), 2, 0, Math.PI * 2);
    ctx.fillStyle = ctx.strokeStyle;
    ctx.fill();
  });
  ctx.fillStyle = palette().down;
  points.forEach((p, i) => {
    if (p.checks > 0 && p.up < p.checks) ctx.fillRect(Math.max(0, i * step - 1.5), h - 3, 3, 3);
  });
}

function label(points: SeriesPoint[]): string {
  const vals = points.map((p) => p.avg_ms).filter((v): v is number => v != null);
  if (!vals.length) return 'No checks in the last 24 hours';
  const bad = points.filter((p) => p.checks > 0 && p.up < p.checks).length;
  return `Response time over 24 h: ${ms(Math.min(...vals))} to ${ms(Math.max(...vals))}${bad ? `; ${bad} hour${bad > 1 ? 's' : ''} with failed checks` : ''}`;
}

/** A monitor's 24 h sparkline, fetched when it is mounted (i.e. on screen). */
export function Sparkline({ id }: { id: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const [spark, setSpark] = useState<Spark | undefined>(() => cachedSpark(id));
  useEffect(() => watchSpark(id, setSpark), [id]);
  useEffect(() => {
    if (spark && ref.current) drawSpark(ref.current, spark.points);
  }, [spark]);
  if (!spark) return <span class="spark spark-empty" aria-label="Response time loading" role="img" />;
  return <canvas ref={ref} class="spark" role="img" aria-label={label(spark.points)} />;
}
