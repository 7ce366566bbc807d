import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, type CheckResult, type Monitor, type MonitorInput } from '../api';
import { CheckOutcome } from '../components/check';
import { Button, describedBy, ErrorNotice, Field, Loading, Notice, toast, useAsync, useTitle } from '../components/ui';
import { navigate } from '../router';
import { useUser } from '../session';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

export const CONDITION_EXAMPLES: [string, string][] = [
  ['[STATUS] == 200', 'the answer is HTTP 200'],
  ['[STATUS] < 400', 'any success or redirect'],
  ['[RESPONSE_TIME] < 500', 'answers within 500 ms'],
  ['[BODY].status == UP', 'JSON field status is UP'],
  ['[BODY] == pat(*healthy*)', 'body contains "healthy"'],
  ['len([BODY].items) > 0', 'JSON array items is not empty'],
  ['[CERTIFICATE_EXPIRATION] > 48h', 'TLS certificate valid 2 more days'],
  ['[CONNECTED] == true', 'the connection was made'],
];

interface Form {
  name: string;
  url: string;
  method: string;
  interval: string;
  timeout: string;
  failure_threshold: string;
  success_threshold: string;
  follow_redirects: boolean;
  conditions: string[];
  headers: [string, string][];
  body: string;
  tags: string;
  public: boolean;
  paused: boolean;
  alerts: string[];
}

const EMPTY: Form = {
  name: '',
  url: 'https://',
  method: 'GET',
  interval: '60s',
  timeout: '',
  failure_threshold: '2',
  success_threshold: '1',
  follow_redirects: true,
  conditions: ['[STATUS] == 200'],
  headers: [],
  body: '',
  tags: '',
  public: false,
  paused: false,
  alerts: [],
};

function durationText(v: string | number | null | undefined): string {
  if (v == null) return '';
  return typeof v === 'number' ? `${v}s` : v;
}

export function fromMonitor(m: Monitor): Form {
  return {
    name: m.name,
    url: m.url,
    method: m.method ?? 'GET',
    interval: durationText(m.interval) || '60s',
    timeout: durationText(m.timeout),
    failure_threshold: String(m.failure_threshold ?? 2),
    success_threshold: String(m.success_threshold ?? 1),
    follow_redirects: m.follow_redirects ?? true,
    conditions: m.conditions?.length ? [...m.conditions] : [],
    headers: Object.entries(m.headers ?? {}),
    body: m.body ?? '',
    tags: (m.tags ?? []).join(', '),
    public: !!m.public,
    paused: !!m.paused,
    alerts: [...(m.alerts ?? [])],
  };
}

function intOrText(s: string): number | string | null {
  const t = s.trim();
  if (!t) return null;
  return /^-?\d+$/.test(t) ? Number(t) : t;
}

/** The API body: empty optional fields are `null` so a PATCH resets them. */
export function toInput(f: Form): MonitorInput {
  const threshold = (s: string) => {
    const v = intOrText(s);
    return (typeof v === 'number' ? v : v === null ? null : (v as unknown as number));
  };
  return {
    name: f.name.trim(),
    url: f.url.trim(),
    method: f.method,
    interval: intOrText(f.interval),
    timeout: intOrText(f.timeout),
    failure_threshold: threshold(f.failure_threshold),
    success_threshold: threshold(f.success_threshold),
    follow_redirects: f.follow_redirects,
    conditions: f.conditions.map((c) => c.trim()).filter(Boolean),
    headers: Object.fromEntries(f.headers.filter(([k]) => k.trim()).map(([k, v]) => [k.trim(), v])),
    body: f.body ? f.body : null,
    tags: f.tags
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
    public: f.public,
    paused: f.paused,
    alerts: f.alerts,
  };
}

/** Index of `conditions` after empty rows are dropped → index in the form. */
function conditionRow(f: Form, apiIndex: number): number {
  let seen = -1;
  for (let i = 0; i < f.conditions.length; i++) {
    if (f.conditions[i].trim()) seen++;
    if (seen === apiIndex) return i;
  }
  return apiIndex;
}

export function MonitorEdit({ id }: { id?: string }) {
  const existing = useAsync(() => (id ? api.monitor(id) : Promise.resolve(null)), [id]);
  useTitle(id ? `Edit ${existing.data?.name ?? 'monitor'}` : 'New monitor');
  if (id && !existing.data) {
    return <section class="page">{existing.error ? <ErrorNotice error={existing.error} retry={existing.reload} /> : <Loading what="monitor" />}</section>;
  }
  if (existing.data?.read_only) {
    return (
      <section class="page narrow">
        <h1>Read-only monitor</h1>
        <Notice kind="info">
          {existing.data.origin === 'config'
            ? 'This monitor comes from the config file: change it there.'
            : 'Your account cannot change this monitor.'}{' '}
          <a href={`/monitors/${encodeURIComponent(existing.data.id)}`}>Back to the monitor</a>
        </Notice>
      </section>
    );
  }
  return <EditForm initial={existing.data ?? null} />;
}

function EditForm({ initial }: { initial: Monitor | null }) {
  const user = useUser();
  const [f, setF] = useState<Form>(initial ? fromMonitor(initial) : EMPTY);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);
  const [testing, setTesting] = useState(false);
  const [test, setTest] = useState<CheckResult | null>(null);
  const channels = useAsync(() => api.channels(), []);
  const summary = useRef<HTMLDivElement>(null);
  const set = <K extends keyof Form>(k: K, v: Form[K]) => setF((old) => ({ ...old, [k]: v }));

  useEffect(() => {
    if (Object.keys(errors).length || formError) summary.current?.focus();
  }, [errors, formError]);

  const fail = (e: unknown) => {
    if (e instanceof ApiError && (e.fields.length || e.field)) {
      const by = e.byField();
      // conditions[i] from the API counts non-empty rows only.
      const mapped: Record<string, string> = {};
      for (const [k, v] of Object.entries(by)) {
        const m = /^conditions\[(\d+)\]$/.exec(k);
        mapped[m ? `conditions[${conditionRow(f, Number(m[1]))}]` : k] = v;
      }
      setErrors(mapped);
      setFormError(null);
    } else {
      setErrors({});
      setFormError(e);
    }
  };

  const save = async (ev: Event) => {
    ev.preventDefault();
    setSaving(true);
    try {
      const body = toInput(f);
      const m = initial ? await api.updateMonitor(initial.id, body) : await api.createMonitor(body);
      toast(initial ? 'Monitor saved' : `Monitoring ${m.name}`);
      navigate(`/monitors/${encodeURIComponent(m.id)}`);
    } catch (e) {
      fail(e);
    } finally {
      setSaving(false);
    }
  };

  const testNow = async () => {
    setTesting(true);
    setTest(null);
    try {
      const body = toInput(f);
      delete body.id;
      body.paused = false;
      setTest(await api.testMonitor(body));
      setErrors({});
      setFormError(null);
    } catch (e) {
      fail(e);
    } finally {
      setTesting(false);
    }
  };

  const errorList = Object.entries(errors);
  const err = (k: string) => errors[k];
  const headerErr = (k: string) => errors[`headers.${k}`];
  const known = (k: string) =>
    ['name', 'url', 'method', 'interval', 'timeout', 'failure_threshold', 'success_threshold', 'body', 'conditions', 'tags', 'public', 'headers'].includes(k) ||
    /^(conditions|tags|alerts)\[\d+\]$/.test(k) ||
    k.startsWith('headers.');

  return (
    <section class="page narrow" aria-labelledby="edit-title">
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href="/monitors">Monitors</a> <span aria-hidden="true">/</span>{' '}
        {initial ? (
          <>
            <a href={`/monitors/${encodeURIComponent(initial.id)}`}>{initial.name}</a> <span aria-hidden="true">/</span> <span>Edit</span>
          </>
        ) : (
          <span>New</span>
        )}
      </nav>
      <h1 id="edit-title">{initial ? `Edit ${initial.name}` : 'New monitor'}</h1>
      <div ref={summary} tabIndex={-1} class="error-summary-host">
        {errorList.length > 0 && (
          <Notice kind="error">
            <strong>
              {errorList.length === 1 ? 'One thing to fix' : `${errorList.length} things to fix`} before this can be saved:
            </strong>
            <ul>
              {errorList.map(([k, v]) => (
                <li>
                  {known(k) ? <a href={`#f-${k.replace(/[^a-zA-Z0-9_-]/g, '-')}`} data-native>{label(k)}</a> : label(k)}: {v}
                </li>
              ))}
            </ul>
          </Notice>
        )}
        <ErrorNotice error={formError} />
      </div>
      <form onSubmit={save} noValidate class="monitor-form">
        <fieldset>
          <legend>What to check</legend>
          <Field label="Name" id="f-name" error={err('name')}>
            <input {...describedBy('f-name', err('name'))} value={f.name} onInput={(e) => set('name', e.currentTarget.value)} required maxLength={200} placeholder="Checkout API" />
          </Field>
          <div class="field-row">
            <Field label="Method" id="f-method" error={err('method')} class="w-method">
              <select {...describedBy('f-method', err('method'))} value={f.method} onChange={(e) => set('method', e.currentTarget.value)}>
                {METHODS.map((m) => (
                  <option>{m}</option>
                ))}
              </select>
            </Field>
            <Field label="URL" id="f-url" error={err('url')} class="grow">
              <input {...describedBy('f-url', err('url'))} type="url" inputMode="url" value={f.url} onInput={(e) => set('url', e.currentTarget.value)} required placeholder="https://api.example.com/health" />
            </Field>
          </div>
        </fieldset>

        <fieldset>
          <legend>Conditions</legend>
          <p class="hint">
            Every condition must hold for a check to pass (Gatus syntax). With none, any 2xx or 3xx answer passes.
          </p>
          {err('conditions') && <div class="field-error" role="alert">{err('conditions')}</div>}
          {f.conditions.map((c, i) => {
            const key = `conditions[${i}]`;
            const id = `f-conditions-${i}-`;
            return (
              <div class={`condition-row${err(key) ? ' has-error' : ''}`}>
                <label for={id} class="visually-hidden">
                  Condition {i + 1}
                </label>
                <input
                  {...describedBy(id, err(key))}
                  class="mono"
                  value={c}
                  spellcheck={false}
                  autoComplete="off"
                  onInput={(e) => set('conditions', f.conditions.map((x, j) => (j === i ? e.currentTarget.value : x)))}
                />
                <button type="button" class="btn btn-ghost btn-small" aria-label={`Remove condition ${i + 1}`} onClick={() => set('conditions', f.conditions.filter((_, j) => j !== i))}>
                  Remove
                </button>
                {err(key) && (
                  <div class="field-error" id={`${id}-error`}>
                    {err(key)}
                  </div>
                )}
              </div>
            );
          })}
          <button type="button" class="btn btn-secondary btn-small" onClick={() => set('conditions', [...f.conditions, ''])}>
            Add a condition
          </button>
          <details class="examples">
            <summary>Examples</summary>
            <ul>
              {CONDITION_EXAMPLES.map(([c, what]) => (
                <li>
                  <button type="button" class="link-button mono" onClick={() => set('conditions', [...f.conditions.filter((x) => x.trim()), c])} title="Add this condition">
                    {c}
                  </button>{' '}
                  <span class="muted">{what}</span>
                </li>
              ))}
            </ul>
            <p class="small muted">
              Placeholders: <code>[STATUS]</code> <code>[RESPONSE_TIME]</code> (ms) <code>[BODY]</code> (and JSON paths like{' '}
              <code>[BODY].data[0].id</code>) <code>[IP]</code> <code>[CONNECTED]</code> <code>[CERTIFICATE_EXPIRATION]</code>. Operators{' '}
              <code>== != &lt; &lt;= &gt; &gt;=</code>; functions <code>len()</code>, <code>pat()</code>, <code>any()</code>.
            </p>
          </details>
        </fieldset>

        <fieldset>
          <legend>Schedule and confirmation</legend>
          <div class="field-row">
            <Field label="Every" id="f-interval" error={err('interval')} hint="10s to 24h, e.g. 30s, 5m, 1h">
              <input {...describedBy('f-interval', err('interval'), true)} value={f.interval} onInput={(e) => set('interval', e.currentTarget.value)} />
            </Field>
            <Field label="Timeout" id="f-timeout" error={err('timeout')} hint="Default 10s; at most 60s">
              <input {...describedBy('f-timeout', err('timeout'), true)} value={f.timeout} placeholder="10s" onInput={(e) => set('timeout', e.currentTarget.value)} />
            </Field>
          </div>
          <div class="field-row">
            <Field label="Down after" id="f-failure_threshold" error={err('failure_threshold')} hint="failed checks in a row (1–10)">
              <input {...describedBy('f-failure_threshold', err('failure_threshold'), true)} inputMode="numeric" value={f.failure_threshold} onInput={(e) => set('failure_threshold', e.currentTarget.value)} />
            </Field>
            <Field label="Up after" id="f-success_threshold" error={err('success_threshold')} hint="good checks in a row (1–10)">
              <input {...describedBy('f-success_threshold', err('success_threshold'), true)} inputMode="numeric" value={f.success_threshold} onInput={(e) => set('success_threshold', e.currentTarget.value)} />
            </Field>
          </div>
          <label class="check">
            <input type="checkbox" checked={f.follow_redirects} onChange={(e) => set('follow_redirects', e.currentTarget.checked)} /> Follow redirects (up to 10)
          </label>
          <label class="check">
            <input type="checkbox" checked={f.paused} onChange={(e) => set('paused', e.currentTarget.checked)} /> Paused (not checked, no alerts)
          </label>
        </fieldset>

        <details class="fieldset-details" open={f.headers.length > 0 || !!f.body || Object.keys(errors).some((k) => k.startsWith('headers') || k === 'body')}>
          <summary>Request headers and body</summary>
          <div class="inner">
            {err('headers') && <div class="field-error">{err('headers')}</div>}
            {f.headers.map(([k, v], i) => (
              <div class="header-row">
                <label class="visually-hidden" for={`f-headers-${i}-name`}>
                  Header {i + 1} name
                </label>
                <input id={`f-headers-${i}-name`} placeholder="Header" value={k} aria-invalid={headerErr(k) ? true : undefined} onInput={(e) => set('headers', f.headers.map((h, j) => (j === i ? [e.currentTarget.value, h[1]] : h)))} />
                <label class="visually-hidden" for={`f-headers-${i}-value`}>
                  Header {i + 1} value
                </label>
                <input id={`f-headers-${i}-value`} placeholder="Value" value={v} onInput={(e) => set('headers', f.headers.map((h, j) => (j === i ? [h[0], e.currentTarget.value] : h)))} />
                <button type="button" class="btn btn-ghost btn-small" onClick={() => set('headers', f.headers.filter((_, j) => j !== i))} aria-label={`Remove header ${k || i + 1}`}>
                  Remove
                </button>
                {headerErr(k) && <div class="field-error" id={`f-headers-${k}`}>{headerErr(k)}</div>}
              </div>
            ))}
            <button type="button" class="btn btn-secondary btn-small" onClick={() => set('headers', [...f.headers, ['', '']])}>
              Add a header
            </button>
            <Field label="Body" id="f-body" error={err('body')} hint="Sent with the request (at most 64 KiB)">
              <textarea {...describedBy('f-body', err('body'), true)} class="mono" rows={3} value={f.body} onInput={(e) => set('body', e.currentTarget.value)} />
            </Field>
          </div>
        </details>

        <fieldset>
          <legend>Organise and alert</legend>
          <Field label="Tags" id="f-tags" error={err('tags') ?? Object.entries(errors).find(([k]) => k.startsWith('tags['))?.[1]} hint="Comma-separated, e.g. production, payments">
            <input {...describedBy('f-tags', err('tags'), true)} value={f.tags} onInput={(e) => set('tags', e.currentTarget.value)} />
          </Field>
          <div class="field">
            <span class="label">Alert channels</span>
            {channels.data && channels.data.length > 0 ? (
              <div class="checks-list">
                {channels.data.map((c) => (
                  <label class="check">
                    <input
                      type="checkbox"
                      checked={f.alerts.includes(c.name)}
                      onChange={(e) => set('alerts', e.currentTarget.checked ? [...f.alerts, c.name] : f.alerts.filter((a) => a !== c.name))}
                    />{' '}
                    {c.name} <span class="muted">({c.type})</span>
                  </label>
                ))}
                <div class="hint">None ticked: every channel is alerted.</div>
              </div>
            ) : (
              <div class="hint">
                No alert channels yet: <a href="/channels">add one</a>. Until then this monitor's alerts go to the channels of the
                config file.
              </div>
            )}
          </div>
          {user?.role === 'admin' ? (
            <label class="check" id="f-public">
              <input type="checkbox" checked={f.public} onChange={(e) => set('public', e.currentTarget.checked)} /> Public: on the status
              page and badges (name and status only, never the URL)
            </label>
          ) : (
            f.public && <p class="hint">This monitor is public (only admins change that).</p>
          )}
          {err('public') && <div class="field-error">{err('public')}</div>}
        </fieldset>

        {test && (
          <div class="card test-result" role="status">
            <h2>Test result</h2>
            <p class="muted small">Not saved, not recorded.</p>
            <CheckOutcome r={test} />
          </div>
        )}

        <div class="form-actions">
          <Button type="submit" variant="primary" busy={saving}>
            {initial ? 'Save changes' : 'Create monitor'}
          </Button>
          <Button busy={testing} onClick={testNow}>
            Test now
          </Button>
          <a class="btn btn-ghost" href={initial ? `/monitors/${encodeURIComponent(initial.id)}` : '/monitors'}>
            Cancel
          </a>
        </div>
      </form>
    </section>
  );
}

function label(field: string): string {
  const m = /^(\w+)\[(\d+)\]$/.exec(field);
  if (m) return `${label(m[1]).replace(/s$/, '')} ${Number(m[2]) + 1}`;
  if (field.startsWith('headers.')) return `Header ${field.slice(8)}`;
  const words: Record<string, string> = {
    name: 'Name',
    url: 'URL',
    method: 'Method',
    interval: 'Every',
    timeout: 'Timeout',
    failure_threshold: 'Down after',
    success_threshold: 'Up after',
    conditions: 'Conditions',
    tags: 'Tags',
    alerts: 'Alert channels',
    body: 'Body',
    id: 'Id',
    public: 'Public',
  };
  return words[field] ?? field;
}

