import { Component } from 'preact';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, type Monitor } from '../api';
import { Sparkline } from '../components/sparkline';
import { ErrorNotice, Loading, StatusBadge, useAsync, useInterval, useNow, useTitle } from '../components/ui';
import { ago, ms, pct, statusWord } from '../format';
import { setQuery, useLocation } from '../router';
import { canWrite, useUser } from '../session';

const STATUSES = ['down', 'pending', 'up', 'paused'] as const;
const SEVERITY: Record<string, number> = { down: 0, pending: 1, up: 2, paused: 3 };
const POLL_MS = 30_000;

type Sort = 'problems' | 'name' | 'uptime' | 'response';

export function sortMonitors(list: Monitor[], sort: Sort): Monitor[] {
  const byName = (a: Monitor, b: Monitor) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id);
  const out = list.slice();
  switch (sort) {
    case 'name':
      return out.sort(byName);
    case 'uptime':
      return out.sort((a, b) => (a.uptime_24h ?? 101) - (b.uptime_24h ?? 101) || byName(a, b));
    case 'response':
      return out.sort((a, b) => (b.last_response_ms ?? -1) - (a.last_response_ms ?? -1) || byName(a, b));
    default:
      return out.sort((a, b) => (SEVERITY[a.status] ?? 9) - (SEVERITY[b.status] ?? 9) || byName(a, b));
  }
}

export function filterMonitors(list: Monitor[], f: { status?: string; tag?: string; q?: string }): Monitor[] {
  const q = f.q?.trim().toLowerCase();
  return list.filter(
    (m) =>
      (!f.status || m.status === f.status) &&
      (!f.tag || (m.tags ?? []).includes(f.tag)) &&
      (!q || m.name.toLowerCase().includes(q) || m.url.toLowerCase().includes(q) || m.id.includes(q)),
  );
}

export function MonitorsPage() {
  useTitle('Monitors');
  const user = useUser();
  const loc = useLocation();
  const status = loc.query.get('status') ?? '';
  const tag = loc.query.get('tag') ?? '';
  const sort = (loc.query.get('sort') as Sort) || 'problems';
  const [q, setQ] = useState(loc.query.get('q') ?? '');
  const list = useAsync(async () => {
    const monitors = await api.monitors();
    performance.mark('sentinel:monitors-data');
    return monitors;
  }, []);
  useInterval(list.reload, POLL_MS);

  useEffect(() => {
    const t = setTimeout(() => setQuery({ q: q || undefined }), 200);
    return () => clearTimeout(t);
  }, [q]);

  const all = list.data ?? [];
  const counts = useMemo(() => {
    const c: Record<string, number> = { down: 0, pending: 0, up: 0, paused: 0 };
    for (const m of all) c[m.status] = (c[m.status] ?? 0) + 1;
    return c;
  }, [all]);
  const tags = useMemo(() => [...new Set(all.flatMap((m) => m.tags ?? []))].sort(), [all]);
  const shown = useMemo(
    () => sortMonitors(filterMonitors(all, { status, tag, q: loc.query.get('q') ?? '' }), sort),
    [all, status, tag, sort, loc.query.get('q')],
  );

  return (
    <section class="page wide" aria-labelledby="monitors-title">
      <div class="page-head">
        <div>
          <h1 id="monitors-title">Monitors</h1>
          {list.data && (
            <p class="summary" aria-live="polite">
              {all.length === 0
                ? 'Nothing monitored yet.'
                : STATUSES.filter((s) => counts[s])
                    .map((s) => `${counts[s]} ${statusWord(s).toLowerCase()}`)
                    .join(' · ')}
            </p>
          )}
        </div>
        {canWrite(user) && (
          <a class="btn btn-primary" href="/monitors/new">
            New monitor
          </a>
        )}
      </div>

      {all.length > 0 && (
        <div class="filters" role="search">
          <div class="segmented" role="group" aria-label="Filter by status">
            <button type="button" aria-pressed={!status} onClick={() => setQuery({ status: undefined })}>
              All <span class="count">{all.length}</span>
            </button>
            {STATUSES.map((s) => (
              <button type="button" aria-pressed={status === s} onClick={() => setQuery({ status: status === s ? undefined : s })}>
                <span class={`dot dot-${s}`} aria-hidden="true" />
                {statusWord(s)} <span class="count">{counts[s] ?? 0}</span>
              </button>
            ))}
          </div>
          <label class="inline-field">
            <span class="visually-hidden">Search monitors</span>
            <input type="search" placeholder="Search name or URL" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
          </label>
          {tags.length > 0 && (
            <label class="inline-field">
              <span>Tag</span>
              <select value={tag} onChange={(e) => setQuery({ tag: e.currentTarget.value || undefined })}>
                <option value="">Any</option>
                {tags.map((t) => (
                  <option value={t}>{t}</option>
                ))}
              </select>
            </label>
          )}
          <label class="inline-field">
            <span>Sort</span>
            <select value={sort} onChange={(e) => setQuery({ sort: e.currentTarget.value === 'problems' ? undefined : e.currentTarget.value })}>
              <option value="problems">Problems first</option>
              <option value="name">Name</option>
              <option value="uptime">Lowest uptime</option>
              <option value="response">Slowest</option>
            </select>
          </label>
        </div>
      )}

      <ErrorNotice error={list.error} retry={list.reload} />
      {list.loading && !list.data ? (
        <Loading what="monitors" />
      ) : all.length === 0 && list.data ? (
        <div class="empty">
          <h2>Watch your first endpoint</h2>
          <p>
            A monitor requests a URL on a schedule, checks the answer against your conditions, and tells you when it goes
            down and when it recovers.
          </p>
          {canWrite(user) ? (
            <a class="btn btn-primary" href="/monitors/new">
              Create a monitor
            </a>
          ) : (
            <p class="muted">Your account can read monitors but not create them.</p>
          )}
        </div>
      ) : list.data ? (
        shown.length === 0 ? (
          <p class="empty-filter">
            No monitor matches these filters.{' '}
            <button type="button" class="link-button" onClick={() => (setQ(''), setQuery({ status: undefined, tag: undefined, q: undefined }))}>
              Clear filters
            </button>
          </p>
        ) : (
          <MonitorTable monitors={shown} total={all.length} />
        )
      ) : null}
    </section>
  );
}

function useRowHeight(): number {
  const narrow = () => window.matchMedia('(max-width: 720px)').matches;
  const [h, setH] = useState(narrow() ? 88 : 56);
  useEffect(() => {
    const mq = window.matchMedia('(max-width: 720px)');
    const fn = () => setH(mq.matches ? 88 : 56);
    mq.addEventListener('change', fn);
    return () => mq.removeEventListener('change', fn);
  }, []);
  return h;
}

/** The list, windowed: only the rows near the viewport are in the DOM. */
function MonitorTable({ monitors, total }: { monitors: Monitor[]; total: number }) {
  const rowH = useRowHeight();
  const body = useRef<HTMLDivElement>(null);
  const [range, setRange] = useState<[number, number]>([0, Math.min(monitors.length, 40)]);
  const now = useNow();

  useLayoutEffect(() => {
    let frame = 0;
    const update = () => {
      frame = 0;
      const el = body.current;
      if (!el) return;
      const top = el.getBoundingClientRect().top;
      const overscan = 6;
      const start = Math.max(0, Math.floor(-top / rowH) - overscan);
      const end = Math.min(monitors.length, Math.ceil((window.innerHeight - top) / rowH) + overscan);
      setRange((prev) => (prev[0] === start && prev[1] === end ? prev : [start, Math.max(start, end)]));
    };
    const onScroll = () => {
      if (!frame) frame = requestAnimationFrame(update);
    };
    update();
    window.addEventListener('scroll', onScroll, { passive: true });
    window.addEventListener('resize', onScroll);
    return () => {
      window.removeEventListener('scroll', onScroll);
      window.removeEventListener('resize', onScroll);
      if (frame) cancelAnimationFrame(frame);
    };
  }, [monitors.length, rowH]);

  useEffect(() => {
    // User Timing for bench/monitors-1000.mjs: data in hand → rows painted.
    requestAnimationFrame(() => {
      performance.mark('sentinel:monitors-rendered');
    });
  }, [monitors]);

  const [start, end] = range;
  const rows = monitors.slice(start, end);
  return (
    <div class="mtable" role="table" aria-label="Monitors" aria-rowcount={monitors.length + 1} data-total={total}>
      <div class="mrow mhead" role="row" aria-rowindex={1}>
        <span role="columnheader" class="c-status">Status</span>
        <span role="columnheader" class="c-name">Monitor</span>
        <span role="columnheader" class="c-uptime">Uptime 24 h</span>
        <span role="columnheader" class="c-resp">Response</span>
        <span role="columnheader" class="c-spark">Last 24 h</span>
        <span role="columnheader" class="c-checked">Checked</span>
      </div>
      <div class="mbody" ref={body} role="rowgroup" style={{ height: `${monitors.length * rowH}px` }}>
        {rows.map((m, i) => (
          <MonitorRow key={m.id} m={m} index={start + i} top={(start + i) * rowH} height={rowH} now={now} />
        ))}
      </div>
    </div>
  );
}

interface RowProps {
  m: Monitor;
  index: number;
  top: number;
  height: number;
  now: number;
}

/** Rows that stay on screen while scrolling keep their DOM untouched (same props). */
class MonitorRow extends Component<RowProps> {
  shouldComponentUpdate(next: RowProps) {
    const p = this.props;
    return next.m !== p.m || next.top !== p.top || next.height !== p.height || next.now !== p.now || next.index !== p.index;
  }
  render() {
    return <Row {...this.props} />;
  }
}

function Row({ m, index, top, height, now }: RowProps) {
  const href = `/monitors/${encodeURIComponent(m.id)}`;
  return (
    <div class={`mrow mrow-${m.status}`} role="row" aria-rowindex={index + 2} style={{ transform: `translateY(${top}px)`, height: `${height}px` }} data-monitor={m.id}>
      <span role="cell" class="c-status">
        <StatusBadge status={m.status} />
      </span>
      <span role="cell" class="c-name">
        <a href={href} class="mname">
          {m.name}
        </a>
        <span class="murl" title={m.url}>
          {m.url}
        </span>
      </span>
      <span role="cell" class="c-uptime num">
        <span class="mobile-label">Uptime 24 h </span>
        {pct(m.uptime_24h)}
      </span>
      <span role="cell" class="c-resp num">
        <span class="mobile-label">Response </span>
        {ms(m.last_response_ms)}
      </span>
      <span role="cell" class="c-spark">
        <Sparkline id={m.id} />
      </span>
      <span role="cell" class="c-checked muted" title={m.last_failure_reason ?? undefined}>
        {m.status === 'down' && m.last_failure_reason ? <span class="reason">{m.last_failure_reason}</span> : ago(m.last_check_at, now)}
      </span>
    </div>
  );
}
