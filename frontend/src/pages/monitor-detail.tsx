import { useMemo, useState } from 'preact/hooks';
import { api, ApiError, type CheckResult, type Incident, type Monitor, type MonitorStats, type Period } from '../api';
import { chartData, LatencyChart } from '../components/chart';
import { CheckOutcome, failingCondition, TimingBar } from '../components/check';
import {
  Button,
  ConfirmButton,
  CopyButton,
  ErrorNotice,
  errorText,
  Loading,
  Notice,
  StatusBadge,
  toast,
  useAsync,
  useInterval,
  useNow,
  useTitle,
} from '../components/ui';
import { ago, badgeSnippets, certExpiry, dateTime, duration, ms, parseDuration, pct } from '../format';
import { navigate } from '../router';

const PERIODS: Period[] = ['24h', '7d', '30d', '90d'];
const PERIOD_WORDS: Record<Period, string> = { '24h': '24 hours', '7d': '7 days', '30d': '30 days', '90d': '90 days' };
const PERIOD_MS: Record<Period, number> = { '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000, '90d': 90 * 86_400_000 };

export function MonitorDetail({ id }: { id: string }) {
  const mon = useAsync(() => api.monitor(id), [id]);
  useTitle(mon.data?.name ?? 'Monitor');
  // Follow the monitor's own rhythm: a 10 s monitor refreshes every 10 s, at most every 30 s.
  useInterval(mon.reload, pollMs(mon.data?.interval));

  if (mon.error instanceof ApiError && mon.error.status === 404) {
    return (
      <section class="page narrow">
        <h1>Monitor not found</h1>
        <p>
          There is no monitor <code>{id}</code>, or it is not yours to see. <a href="/monitors">Back to monitors</a>.
        </p>
      </section>
    );
  }
  if (!mon.data) return <section class="page">{mon.error ? <ErrorNotice error={mon.error} retry={mon.reload} /> : <Loading what="monitor" />}</section>;
  return <Detail m={mon.data} onChange={mon.set} reload={mon.reload} />;
}

function Detail({ m: raw, onChange, reload }: { m: Monitor; onChange: (m: Monitor) => void; reload: () => void }) {
  // The status lags a pause/resume until the scheduler picks it up: follow the flag.
  const m = shownMonitor(raw);
  const now = useNow();
  const [busy, setBusy] = useState<string | null>(null);
  const [checkResult, setCheckResult] = useState<CheckResult | null>(null);
  const writable = !m.read_only;

  const act = async (what: string, fn: () => Promise<void>) => {
    setBusy(what);
    try {
      await fn();
    } catch (e) {
      toast(errorText(e), 'error');
    } finally {
      setBusy(null);
    }
  };

  return (
    <section class="page wide detail" aria-labelledby="monitor-title">
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href="/monitors">Monitors</a> <span aria-hidden="true">/</span> <span>{m.name}</span>
      </nav>
      <div class="page-head">
        <div class="title-block">
          <div class="title-line">
            <StatusBadge status={m.status} large />
            <h1 id="monitor-title">{m.name}</h1>
          </div>
          <p class="subline">
            <span class="method">{m.method ?? 'GET'}</span>{' '}
            <a href={m.url} class="url" target="_blank" rel="noopener noreferrer" data-native>
              {m.url}
            </a>
          </p>
          <p class="subline muted">
            {m.status === 'pending' ? 'Waiting for the first checks' : `${statusWordLong(m.status)} for ${duration(m.since != null ? now - m.since : null)}`}
            {' · '}every {fmtInterval(m.interval)}
            {m.last_check_at != null && <> · checked {ago(m.last_check_at, now)}</>}
            {m.public && <> · <span class="pill">public</span></>}
            {m.origin === 'config' && <> · <span class="pill" title="Defined in the config file; change it there">config file</span></>}
            {(m.tags ?? []).map((t) => (
              <>
                {' '}
                <a class="tag" href={`/monitors?tag=${encodeURIComponent(t)}`}>
                  {t}
                </a>
              </>
            ))}
          </p>
          {m.status === 'down' && m.last_failure_reason && (
            <Notice kind="error">
              <strong>Failing:</strong> {m.last_failure_reason}
            </Notice>
          )}
        </div>
        <div class="actions">
          {writable && (
            <Button
              variant="primary"
              busy={busy === 'check'}
              onClick={() =>
                act('check', async () => {
                  setCheckResult(await api.checkNow(m.id));
                })
              }
            >
              Check now
            </Button>
          )}
          {writable &&
            (m.paused ? (
              <Button busy={busy === 'resume'} onClick={() => act('resume', async () => (onChange(await api.resume(m.id)), toast('Monitor resumed')))}>
                Resume
              </Button>
            ) : (
              <Button busy={busy === 'pause'} onClick={() => act('pause', async () => (onChange(await api.pause(m.id)), toast('Monitor paused')))}>
                Pause
              </Button>
            ))}
          {writable && (
            <a class="btn btn-secondary" href={`/monitors/${encodeURIComponent(m.id)}/edit`}>
              Edit
            </a>
          )}
          {writable && (
            <ConfirmButton
              label="Delete"
              confirmLabel="Delete with its history"
              busy={busy === 'delete'}
              onConfirm={() =>
                act('delete', async () => {
                  await api.deleteMonitor(m.id);
                  toast(`Deleted ${m.name}`);
                  navigate('/monitors');
                })
              }
            />
          )}
        </div>
      </div>

      {checkResult && (
        <div class="card">
          <div class="card-head">
            <h2>Check now</h2>
            <button type="button" class="btn btn-ghost btn-small" onClick={() => setCheckResult(null)}>
              Close
            </button>
          </div>
          <p class="muted small">A one-off check; it is not recorded and does not change the status.</p>
          <CheckOutcome r={checkResult} />
        </div>
      )}

      <UptimeCards id={m.id} status={m.status} />
      <ChartCard id={m.id} />
      <div class="grid-2">
        <IncidentsCard id={m.id} now={now} status={m.status} />
        <div class="stack">
          <TlsCard m={m} />
          <ExportCard id={m.id} />
        </div>
      </div>
      <ChecksCard id={m.id} onReload={reload} lastCheck={m.last_check_at} />
      <BadgesCard m={m} />
    </section>
  );
}

export function shownMonitor(m: Monitor): Monitor {
  if (m.paused && m.status !== 'paused') return { ...m, status: 'paused' };
  if (m.paused === false && m.status === 'paused') return { ...m, status: 'pending' };
  return m;
}

export function pollMs(interval: string | number | null | undefined): number {
  const secs = typeof interval === 'number' ? interval : interval ? (parseDuration(interval) ?? 60_000) / 1000 : 60;
  return Math.min(30_000, Math.max(5_000, secs * 1000));
}

function statusWordLong(s: string): string {
  return s === 'up' ? 'Up' : s === 'down' ? 'Down' : s === 'paused' ? 'Paused' : 'Pending';
}

function fmtInterval(v: string | number | null | undefined): string {
  if (v == null) return '60s';
  return typeof v === 'number' ? `${v}s` : v;
}

function UptimeCards({ id, status }: { id: string; status: string }) {
  const stats = useAsync(() => Promise.all(PERIODS.map((p) => api.stats(id, p))), [id, status]);
  useInterval(stats.reload, 120_000);
  if (stats.error) return <ErrorNotice error={stats.error} retry={stats.reload} />;
  return (
    <div class="uptime-cards" aria-busy={stats.loading}>
      {PERIODS.map((p, i) => {
        const s: MonitorStats | undefined = stats.data?.[i];
        return (
          <div class="card stat">
            <div class="stat-label">Uptime {p}</div>
            <div class={`stat-value uptime-${level(s?.uptime_pct)}`}>{s ? pct(s.uptime_pct) : '…'}</div>
            <div class="stat-sub muted">
              {s ? (
                <>
                  {s.checks.toLocaleString()} checks · {s.incidents} incident{s.incidents === 1 ? '' : 's'}
                  {s.downtime_ms > 0 && <> · down {duration(s.downtime_ms)}</>}
                </>
              ) : (
                '\u00a0'
              )}
            </div>
          </div>
        );
      })}
    </div>
  );
}

function level(v: number | null | undefined) {
  if (v == null) return 'none';
  return v >= 99.9 ? 'ok' : v >= 95 ? 'warn' : 'bad';
}

function ChartCard({ id }: { id: string }) {
  const [period, setPeriod] = useState<Period>('24h');
  const bucket = period === '90d' ? '1d' : '1h';
  const data = useAsync(async () => {
    const [series, stats, pings] = await Promise.all([
      api.series(id, period, bucket),
      api.stats(id, period),
      period === '24h' ? api.pings(id, { from: Date.now() - PERIOD_MS['24h'], limit: 1000 }) : Promise.resolve(null),
    ]);
    const bucketMs = bucket === '1d' ? 86_400_000 : 3_600_000;
    return { chart: chartData(series.points, bucketMs, pings?.items ?? []), stats };
  }, [id, period]);
  useInterval(data.reload, 60_000);
  const s = data.data?.stats;
  return (
    <div class="card">
      <div class="card-head">
        <h2 id="chart-title">Response time</h2>
        <div class="segmented" role="group" aria-label="Chart period">
          {PERIODS.map((p) => (
            <button type="button" aria-pressed={p === period} onClick={() => setPeriod(p)}>
              {p}
            </button>
          ))}
        </div>
      </div>
      {s && (
        <dl class="latency-stats">
          <div>
            <dt>p50</dt>
            <dd>{ms(s.p50_ms)}</dd>
          </div>
          <div>
            <dt>p95</dt>
            <dd>{ms(s.p95_ms)}</dd>
          </div>
          <div>
            <dt>p99</dt>
            <dd>{ms(s.p99_ms)}</dd>
          </div>
          <div>
            <dt>Average</dt>
            <dd>{ms(s.avg_ms)}</dd>
          </div>
          <div>
            <dt>Fastest</dt>
            <dd>{ms(s.min_ms)}</dd>
          </div>
          <div>
            <dt>Slowest</dt>
            <dd>{ms(s.max_ms)}</dd>
          </div>
        </dl>
      )}
      <ErrorNotice error={data.error} retry={data.reload} />
      {data.data ? (
        data.data.chart.x.length ? (
          <LatencyChart data={data.data.chart} label={`Response time over the last ${PERIOD_WORDS[period]}: p50 ${ms(s?.p50_ms)}, p95 ${ms(s?.p95_ms)}`} />
        ) : (
          <p class="muted chart-empty">No successful checks in the last {PERIOD_WORDS[period]} yet.</p>
        )
      ) : (
        !data.error && <Loading what="chart" />
      )}
    </div>
  );
}

function IncidentsCard({ id, now, status }: { id: string; now: number; status: string }) {
  const inc = useAsync(() => api.incidents(id, 100), [id, status]);
  useInterval(inc.reload, 30_000);
  const list = inc.data ?? [];
  return (
    <div class="card">
      <div class="card-head">
        <h2>Incidents</h2>
        <span class="muted small">{inc.data ? `${list.length}${list.length === 100 ? '+' : ''} recorded` : ''}</span>
      </div>
      <ErrorNotice error={inc.error} retry={inc.reload} />
      {inc.data && <IncidentStrip incidents={list} now={now} />}
      {!inc.data && !inc.error ? (
        <Loading what="incidents" />
      ) : list.length === 0 ? (
        <p class="muted">No incidents. Every confirmed outage will be listed here with its cause.</p>
      ) : (
        <ol class="timeline" aria-label="Incidents, newest first">
          {list.slice(0, 20).map((i) => (
            <IncidentItem i={i} now={now} />
          ))}
        </ol>
      )}
    </div>
  );
}

function IncidentItem({ i, now }: { i: Incident; now: number }) {
  const open = i.ended_at == null;
  return (
    <li class={`incident ${open ? 'incident-open' : 'incident-closed'}`} data-incident={i.id}>
      <span class="tl-dot" aria-hidden="true" />
      <div class="incident-head">
        <strong>{open ? 'Ongoing outage' : 'Resolved'}</strong>
        <span class="muted">
          {' '}
          · {open ? `down for ${duration(now - i.started_at)}` : `lasted ${duration((i.ended_at ?? now) - i.started_at)}`}
        </span>
      </div>
      <div class="incident-cause">{i.cause}</div>
      <div class="muted small">
        Started {dateTime(i.started_at)}
        {!open && <> · recovered {dateTime(i.ended_at!)}</>} · confirmed by {i.proof.length} failed check{i.proof.length === 1 ? '' : 's'}
      </div>
    </li>
  );
}

/** Down periods over the last 7 days as red segments on a line. */
function IncidentStrip({ incidents, now }: { incidents: Incident[]; now: number }) {
  const span = 7 * 86_400_000;
  const from = now - span;
  const segs = incidents
    .filter((i) => (i.ended_at ?? now) > from)
    .map((i) => {
      const a = Math.max(i.started_at, from);
      const b = i.ended_at ?? now;
      return { left: ((a - from) / span) * 100, width: Math.max(0.4, ((b - a) / span) * 100), i };
    });
  return (
    <div class="strip-wrap">
      <div class="strip" role="img" aria-label={`Last 7 days: ${segs.length} incident${segs.length === 1 ? '' : 's'}`}>
        {segs.map((s) => (
          <span class="strip-seg" style={{ left: `${s.left}%`, width: `${s.width}%` }} title={`${dateTime(s.i.started_at)}: ${s.i.cause}`} />
        ))}
      </div>
      <div class="strip-axis muted small" aria-hidden="true">
        <span>7 days ago</span>
        <span>now</span>
      </div>
    </div>
  );
}

function TlsCard({ m }: { m: Monitor }) {
  const last = useAsync(() => api.pings(m.id, { limit: 20 }), [m.id, m.last_check_at]);
  const https = m.url.startsWith('https://');
  const withCert = last.data?.items.find((c) => c.cert_expires_at != null);
  const cert = certExpiry(withCert?.cert_expires_at);
  return (
    <div class="card">
      <h2>TLS certificate</h2>
      {!https ? (
        <p class="muted">Plain HTTP: no certificate to watch.</p>
      ) : !last.data ? (
        <Loading />
      ) : withCert ? (
        <p class={`cert cert-${cert.level}`}>
          <span class="cert-icon" aria-hidden="true">
            {cert.level === 'ok' ? '✓' : '!'}
          </span>
          <span>
            {cert.text.charAt(0).toUpperCase() + cert.text.slice(1)}
            <span class="muted small block">on {dateTime(withCert.cert_expires_at!)}</span>
          </span>
        </p>
      ) : (
        <p class="muted">No certificate seen in the recent checks.</p>
      )}
      <p class="muted small">
        Add <code>[CERTIFICATE_EXPIRATION] &gt; 72h</code> as a condition to be alerted before it expires.
      </p>
    </div>
  );
}

function ExportCard({ id }: { id: string }) {
  const [range, setRange] = useState<Period>('30d');
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<{ url: string; rows: number; truncated: boolean } | null>(null);
  const run = async () => {
    setBusy(true);
    setDone(null);
    try {
      const to = Date.now();
      const r = await api.exportCsv(id, { from: to - PERIOD_MS[range], to });
      setDone(r);
      const a = document.createElement('a');
      a.href = r.url;
      a.download = '';
      document.body.appendChild(a);
      a.click();
      a.remove();
    } catch (e) {
      toast(errorText(e), 'error');
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="card">
      <h2>Export</h2>
      <div class="row-form">
        <label class="inline-field">
          <span>Checks of the last</span>
          <select value={range} onChange={(e) => setRange(e.currentTarget.value as Period)}>
            {PERIODS.map((p) => (
              <option value={p}>{PERIOD_WORDS[p]}</option>
            ))}
          </select>
        </label>
        <Button busy={busy} onClick={run}>
          Download CSV
        </Button>
      </div>
      {done && (
        <p class="small muted" role="status">
          {done.rows.toLocaleString()} checks exported{done.truncated ? ' (the newest; the range held more)' : ''}.{' '}
          <a href={done.url} download data-native>
            Download again
          </a>{' '}
          (link valid 15 min)
        </p>
      )}
    </div>
  );
}

function ChecksCard({ id, onReload, lastCheck }: { id: string; onReload: () => void; lastCheck: number | null }) {
  const [pages, setPages] = useState<CheckResult[][]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [more, setMore] = useState(false);
  // While older pages are open, new checks do not reshuffle the table.
  const [frozenAt, setFrozenAt] = useState<number | null | undefined>(undefined);
  const first = useAsync(async () => {
    const r = await api.pings(id, { limit: 25 });
    setPages([]);
    setCursor(r.next_cursor ?? null);
    return r.items;
  }, [id, frozenAt === undefined ? lastCheck : frozenAt]);
  const items = useMemo(() => [...(first.data ?? []), ...pages.flat()], [first.data, pages]);
  const older = async () => {
    if (!cursor) return;
    setMore(true);
    if (frozenAt === undefined) setFrozenAt(lastCheck);
    try {
      const r = await api.pings(id, { limit: 50, cursor });
      setPages((p) => [...p, r.items]);
      setCursor(r.next_cursor ?? null);
    } catch (e) {
      toast(errorText(e), 'error');
    } finally {
      setMore(false);
    }
  };
  return (
    <div class="card">
      <div class="card-head">
        <h2>Recent checks</h2>
        <button
          type="button"
          class="btn btn-ghost btn-small"
          onClick={() => {
            setFrozenAt(undefined);
            first.reload();
            onReload();
          }}
        >
          Refresh
        </button>
      </div>
      <ErrorNotice error={first.error} retry={first.reload} />
      {!first.data && !first.error ? (
        <Loading what="checks" />
      ) : items.length === 0 ? (
        <p class="muted">No checks yet. The first one runs within one interval of creating or resuming the monitor.</p>
      ) : (
        <div class="table-wrap">
          <table class="checks">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Result</th>
                <th scope="col" class="num">
                  HTTP
                </th>
                <th scope="col" class="num">
                  Total
                </th>
                <th scope="col">DNS · connect · TLS · first byte</th>
                <th scope="col">Failing condition / error</th>
              </tr>
            </thead>
            <tbody>
              {items.map((c) => (
                <CheckRow c={c} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {cursor && items.length > 0 && (
        <Button busy={more} onClick={older} class="load-more">
          Load older checks
        </Button>
      )}
    </div>
  );
}

function CheckRow({ c }: { c: CheckResult }) {
  const [open, setOpen] = useState(false);
  const fail = failingCondition(c);
  return (
    <>
      <tr class={c.success ? 'ok' : 'failed'} data-check={c.checked_at}>
        <td class="nowrap">
          <button type="button" class="expander" aria-expanded={open} onClick={() => setOpen(!open)} title="Show every condition">
            <span aria-hidden="true">{open ? '▾' : '▸'}</span> {dateTime(c.checked_at)}
          </button>
        </td>
        <td>
          <StatusBadge status={c.success ? 'up' : 'down'} />
        </td>
        <td class="num">{c.status_code ?? '—'}</td>
        <td class="num">{ms(c.timings.total_ms)}</td>
        <td>
          <TimingBar t={c.timings} />
        </td>
        <td class="fail-cell">
          {fail ? (
            <>
              <code>{fail.what}</code>
              {fail.actual !== undefined && (
                <span class="actual">
                  {' '}
                  actual: <code>{fail.actual}</code>
                </span>
              )}
            </>
          ) : (
            <span class="muted">—</span>
          )}
        </td>
      </tr>
      {open && (
        <tr class="check-details">
          <td colSpan={6}>
            <CheckOutcome r={c} />
          </td>
        </tr>
      )}
    </>
  );
}

function BadgesCard({ m }: { m: Monitor }) {
  const [kind, setKind] = useState<'status' | 'uptime' | 'response'>('status');
  const [period, setPeriod] = useState<Period>('30d');
  const [format, setFormat] = useState<'markdown' | 'html'>('markdown');
  const s = badgeSnippets(location.origin, m.id, kind, period, m.name);
  const snippet = format === 'markdown' ? s.markdown : s.html;
  // Badges are cached for a minute by browsers and proxies; the previews here add the
  // current status to the URL so a status change shows at once (the snippets do not).
  const fresh = (src: string) => `${src}${src.includes('?') ? '&' : '?'}v=${m.status}`;
  return (
    <div class="card" id="badges">
      <h2>Badges</h2>
      {!m.public ? (
        <p class="muted">
          Badges and the public status page show only public monitors.{' '}
          {m.read_only ? 'An admin can make this one public.' : 'An admin can make this monitor public in its settings.'}
        </p>
      ) : (
        <>
          <div class="badge-previews">
            {(['status', 'uptime', 'response'] as const).map((k) => {
              const b = badgeSnippets(location.origin, m.id, k, period, m.name);
              return (
                <button type="button" class={`badge-choice${kind === k ? ' selected' : ''}`} aria-pressed={kind === k} onClick={() => setKind(k)}>
                  <img src={fresh(b.img)} alt={`${k} badge preview`} height={20} />
                </button>
              );
            })}
          </div>
          <div class="row-form">
            {kind !== 'status' && (
              <label class="inline-field">
                <span>Period</span>
                <select value={period} onChange={(e) => setPeriod(e.currentTarget.value as Period)}>
                  {PERIODS.map((p) => (
                    <option value={p}>{p}</option>
                  ))}
                </select>
              </label>
            )}
            <div class="segmented" role="group" aria-label="Snippet format">
              <button type="button" aria-pressed={format === 'markdown'} onClick={() => setFormat('markdown')}>
                Markdown
              </button>
              <button type="button" aria-pressed={format === 'html'} onClick={() => setFormat('html')}>
                HTML
              </button>
            </div>
          </div>
          <div class="snippet">
            <label for="badge-snippet" class="visually-hidden">
              {format === 'markdown' ? 'Markdown' : 'HTML'} snippet
            </label>
            <textarea id="badge-snippet" readOnly rows={2} value={snippet} onFocus={(e) => e.currentTarget.select()} />
            <CopyButton text={snippet} />
          </div>
          <p class="small muted">
            Preview: <img src={fresh(s.img)} alt={`${m.name} badge`} height={20} class="badge-live" /> · links to{' '}
            <a href={s.link} target="_blank" rel="noopener" data-native>
              the public status page
            </a>
          </p>
        </>
      )}
    </div>
  );
}
