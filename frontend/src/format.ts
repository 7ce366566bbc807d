// Formatting helpers: pure functions, unit-tested in test/format.test.ts.

export type Status = 'up' | 'down' | 'pending' | 'paused';

const STATUS_WORDS: Record<string, string> = {
  up: 'Up',
  down: 'Down',
  pending: 'Pending',
  paused: 'Paused',
};

/** The word shown next to a status dot (never colour alone). */
export function statusWord(status: string | null | undefined): string {
  if (!status) return 'Unknown';
  return STATUS_WORDS[status] ?? status.charAt(0).toUpperCase() + status.slice(1);
}

/** `99.95 %`; `—` when there is no data. Never rounds a non-100 value up to 100. */
export function pct(value: number | null | undefined, digits = 2): string {
  if (value == null || !Number.isFinite(value)) return '—';
  if (value >= 100) return '100 %';
  const factor = 10 ** digits;
  let shown = Math.round(value * factor) / factor;
  if (shown >= 100 && value < 100) shown = Math.floor(value * factor) / factor;
  return `${shown.toFixed(digits)} %`;
}

/** Response time: `87 ms`, `1.24 s`, `—`. */
export function ms(value: number | null | undefined): string {
  if (value == null || !Number.isFinite(value)) return '—';
  if (value === 0) return '0 ms';
  if (value < 1) return `${value.toFixed(2)} ms`;
  if (value < 10) return `${value.toFixed(1)} ms`;
  if (value < 1000) return `${Math.round(value)} ms`;
  if (value < 10_000) return `${(value / 1000).toFixed(2)} s`;
  return `${(value / 1000).toFixed(1)} s`;
}

/** A length of time in words: `45 s`, `3 min`, `2 h 5 min`, `4 d 3 h`. */
export function duration(msValue: number | null | undefined): string {
  if (msValue == null || !Number.isFinite(msValue)) return '—';
  const s = Math.max(0, Math.round(msValue / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 && m < 10 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** `just now`, `12 s ago`, `3 min ago`, `in 5 d` relative to `now`. */
export function ago(at: number | null | undefined, now: number = Date.now()): string {
  if (at == null || !Number.isFinite(at)) return 'never';
  const diff = now - at;
  if (Math.abs(diff) < 2000) return 'just now';
  return diff >= 0 ? `${duration(diff)} ago` : `in ${duration(-diff)}`;
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Local date and time, `2026-11-25 14:03:09` (unambiguous, sortable). */
export function dateTime(at: number | null | undefined): string {
  if (at == null || !Number.isFinite(at)) return '—';
  const d = new Date(at);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(
    d.getMinutes(),
  )}:${pad(d.getSeconds())}`;
}

/** Local time of day `14:03:09`. */
export function time(at: number): string {
  const d = new Date(at);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A UTC calendar day `2026-11-25` as `25 Nov 2026`. */
export function day(isoDate: string): string {
  const [y, m, d] = isoDate.split('-').map(Number);
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  if (!y || !m || !d) return isoDate;
  return `${d} ${months[m - 1]} ${y}`;
}

/** TLS certificate expiry: words and a severity for colour + icon. */
export function certExpiry(
  expiresAt: number | null | undefined,
  now: number = Date.now(),
): { text: string; level: 'ok' | 'warn' | 'bad' | 'none' } {
  if (expiresAt == null) return { text: 'no certificate seen', level: 'none' };
  const left = expiresAt - now;
  if (left <= 0) return { text: `expired ${duration(-left)} ago`, level: 'bad' };
  const days = left / 86_400_000;
  const text = `expires in ${duration(left)}`;
  return { text, level: days < 7 ? 'bad' : days < 21 ? 'warn' : 'ok' };
}

/** Uptime level for bars: thresholds match the status page legend. */
export function uptimeLevel(value: number | null | undefined): 'none' | 'ok' | 'warn' | 'bad' {
  if (value == null) return 'none';
  if (value >= 99.9) return 'ok';
  if (value >= 95) return 'warn';
  return 'bad';
}

/** Parses `30s`, `5m`, `1h30m`, `2d`, `500ms` or bare seconds into ms; null when unreadable. */
export function parseDuration(raw: string): number | null {
  const text = raw.trim();
  if (!text) return null;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const re = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    const n = Number(m[1]);
    const unit = m[2];
    total += n * (unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : unit === 'h' ? 3_600_000 : 86_400_000);
    matched = re.lastIndex;
  }
  return matched === text.length ? total : null;
}

/** Turns a human field name from the API (`failure_threshold`, `conditions[1]`) into a form key. */
export function fieldKey(field: string): string {
  return field.replace(/\[(\d+)\]/g, '.$1').replace(/-/g, '_');
}

/** CSV-safe file name for a monitor export. */
export function exportFileName(monitorId: string, at: number = Date.now()): string {
  const d = new Date(at);
  return `${monitorId}-${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}.csv`;
}

/** Markdown and HTML embed snippets for a badge. */
export function badgeSnippets(origin: string, id: string, kind: string, period: string, name: string) {
  const q = kind === 'status' ? '' : `?kind=${kind}&period=${period}`;
  const img = `${origin}/api/public/monitors/${encodeURIComponent(id)}/badge.svg${q}`;
  const link = `${origin}/status/${encodeURIComponent(id)}`;
  const alt = `${name} ${kind === 'status' ? 'status' : kind === 'uptime' ? `uptime ${period}` : `response time ${period}`}`;
  const escAttr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  const escMd = (s: string) => s.replace(/[[\]]/g, '\\$&');
  return {
    img,
    link,
    markdown: `[![${escMd(alt)}](${img})](${link})`,
    html: `<a href="${escAttr(link)}"><img src="${escAttr(img)}" alt="${escAttr(alt)}"></a>`,
  };
}
