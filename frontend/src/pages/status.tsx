// Public status pages: no sign-in, only public monitors (name and status, never URLs).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, type DayBar, type PublicMonitor } from '../api';
import { CopyButton, ErrorNotice, Loading, StatusBadge, useAsync, useInterval, useNow, useTitle } from '../components/ui';
import { ago, badgeSnippets, dateTime, day, duration, ms, pct, uptimeLevel } from '../format';

const OVERALL: Record<string, [string, string]> = {
  up: ['All systems operational', 'ok'],
  down: ['Some systems are down', 'bad'],
  degraded: ['Some systems are not being checked right now', 'warn'],
  unknown: ['No public monitors yet', 'none'],
};

export function PublicStatusPage() {
  useTitle('Status');
  const st = useAsync(() => api.publicStatus(), []);
  useInterval(st.reload, 60_000);
  const now = useNow();
  if (!st.data) return <section class="page narrow">{st.error ? <ErrorNotice error={st.error} retry={st.reload} /> : <Loading what="status" />}</section>;
  const [headline, level] = OVERALL[st.data.overall] ?? [st.data.overall, 'none'];
  const down = st.data.monitors.filter((m) => m.status === 'down');
  return (
    <section class="page narrow status-page" aria-labelledby="status-title">
      <h1 id="status-title" class="visually-hidden">
        Service status
      </h1>
      <div class={`overall overall-${level}`} role="status" data-overall={st.data.overall}>
        <span class="overall-icon" aria-hidden="true">
          {level === 'ok' ? '✓' : level === 'bad' ? '!' : '–'}
        </span>
        <div>
          <div class="overall-title">{headline}</div>
          <div class="small">
            {down.length > 0 && <>{down.map((m) => m.name).join(', ')} · </>}Updated {ago(st.data.generated_at, now)}
          </div>
        </div>
      </div>
      {st.data.monitors.length === 0 ? (
        <p class="muted">Nothing is published here yet: an admin marks monitors as public.</p>
      ) : (
        <ul class="status-list">
          {st.data.monitors.map((m) => (
            <li class="card" data-monitor={m.id}>
              <PublicMonitorBlock m={m} link now={now} />
            </li>
          ))}
        </ul>
      )}
      {st.data.system.status !== 'ok' && (
        <p class="small muted">
          Monitoring itself is degraded (scheduler: {st.data.system.scheduler}); statuses may be stale.
        </p>
      )}
    </section>
  );
}

function PublicMonitorBlock({ m, link, now }: { m: PublicMonitor; link?: boolean; now: number }) {
  return (
    <>
      <div class="status-row">
        <div class="status-name">
          {link ? <a href={`/status/${encodeURIComponent(m.id)}`}>{m.name}</a> : <span>{m.name}</span>}
        </div>
        <StatusBadge status={m.status} />
      </div>
      <DayBars id={m.id} />
      <div class="status-meta muted small">
        <span>24 h uptime {pct(m.uptime_24h)}</span>
        {m.last_response_ms != null && <span>response {ms(m.last_response_ms)}</span>}
        {m.since != null && m.status !== 'pending' && <span>{m.status} for {duration(now - m.since)}</span>}
      </div>
    </>
  );
}

/** Per-day uptime over 90 days; loaded when scrolled into view. */
export function DayBars({ id, days = 90 }: { id: string; days?: number }) {
  const ref = useRef<HTMLDivElement>(null);
  const [visible, setVisible] = useState(false);
  const [bars, setBars] = useState<DayBar[] | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    if (!('IntersectionObserver' in window)) {
      setVisible(true);
      return;
    }
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) {
        setVisible(true);
        io.disconnect();
      }
    });
    io.observe(el);
    return () => io.disconnect();
  }, []);
  useEffect(() => {
    if (!visible) return;
    api.publicDays(id, days).then(setBars, setError);
  }, [visible, id, days]);

  let body;
  if (error) body = <span class="muted small">Daily history unavailable.</span>;
  else if (bars === undefined) body = <span class="bars bars-loading" aria-hidden="true" />;
  else body = <Bars bars={bars} days={days} />;
  return (
    <div class="daybars" ref={ref}>
      {body}
    </div>
  );
}

const WORST_LISTED = 3;

function Bars({ bars, days }: { bars: DayBar[]; days: number }) {
  const checks = bars.reduce((a, b) => a + b.checks, 0);
  const up = bars.reduce((a, b) => a + b.up, 0);
  const overall = checks ? (up / checks) * 100 : null;
  const bad = bars.filter((b) => b.uptime_pct != null && b.uptime_pct < 99.9);
  // Screen readers get the summary and the worst days in words; sighted users hover a bar.
  const worst = [...bad].sort((a, b) => (a.uptime_pct ?? 100) - (b.uptime_pct ?? 100)).slice(0, WORST_LISTED);
  const label =
    `${days}-day uptime ${pct(overall)}; ` +
    (bad.length === 0
      ? 'no day below 99.9 %'
      : `${bad.length} day${bad.length === 1 ? '' : 's'} below 99.9 %` +
        (worst.length ? `, lowest ${worst.map((b) => `${day(b.date)} ${pct(b.uptime_pct)}`).join(', ')}` : ''));
  return (
    <>
      <div class="bars" role="img" aria-label={label}>
        {bars.map((b) => (
          <span
            class={`bar bar-${uptimeLevel(b.uptime_pct)}`}
            data-date={b.date}
            title={`${day(b.date)}: ${b.checks ? `${pct(b.uptime_pct)} of ${b.checks} check${b.checks === 1 ? '' : 's'}` : 'no data'}`}
          />
        ))}
      </div>
      <div class="bars-axis muted small" aria-hidden="true">
        <span>{days} days ago</span>
        <span>{pct(overall)} uptime</span>
        <span>today</span>
      </div>
    </>
  );
}

export function PublicMonitorPage({ id }: { id: string }) {
  const m = useAsync(() => api.publicMonitor(id), [id]);
  useTitle(m.data ? `${m.data.name} status` : 'Status');
  useInterval(m.reload, 60_000);
  const now = useNow();
  if (m.error instanceof ApiError && m.error.status === 404) {
    return (
      <section class="page narrow">
        <h1>Not found</h1>
        <p>
          No public monitor is called <code>{id}</code>. <a href="/status">See all public monitors</a>.
        </p>
      </section>
    );
  }
  if (!m.data) return <section class="page narrow">{m.error ? <ErrorNotice error={m.error} retry={m.reload} /> : <Loading />}</section>;
  const d = m.data;
  const b = badgeSnippets(location.origin, d.id, 'status', '30d', d.name);
  return (
    <section class="page narrow status-page" aria-labelledby="pm-title">
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href="/status">All systems</a> <span aria-hidden="true">/</span> <span>{d.name}</span>
      </nav>
      <div class="title-line">
        <StatusBadge status={d.status} large />
        <h1 id="pm-title">{d.name}</h1>
      </div>
      <p class="muted">
        {d.since != null && d.status !== 'pending' ? `${d.status === 'up' ? 'Up' : d.status === 'down' ? 'Down' : 'Paused'} since ${dateTime(d.since)}` : 'Waiting for checks'}
        {d.last_check_at != null && <> · last checked {ago(d.last_check_at, now)}</>}
      </p>
      <div class="card">
        <PublicMonitorBlock m={d} now={now} />
      </div>
      <div class="card">
        <h2>Embed this status</h2>
        <p>
          <img src={b.img} alt={`${d.name} status badge`} height={20} class="badge-live" />{' '}
          <img src={badgeSnippets(location.origin, d.id, 'uptime', '30d', d.name).img} alt={`${d.name} 30-day uptime badge`} height={20} />
        </p>
        <div class="snippet">
          <label for="md-snippet" class="visually-hidden">
            Markdown snippet
          </label>
          <input id="md-snippet" class="mono" readOnly value={b.markdown} onFocus={(e) => e.currentTarget.select()} />
          <CopyButton text={b.markdown} label="Copy Markdown" />
        </div>
      </div>
    </section>
  );
}
