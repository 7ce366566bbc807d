// How one check is shown: result, the failing condition with its actual value, the
// DNS / connect / TLS / first-byte breakdown, every condition.
import type { CheckResult, Timings } from '../api';
import { certExpiry, ms } from '../format';
import { StatusBadge } from './ui';

const ERROR_WORDS: Record<string, string> = {
  dns: 'DNS lookup failed',
  refused: 'Connection refused',
  connect: 'Could not connect',
  timeout: 'Timed out',
  tls: 'TLS handshake failed',
  http: 'HTTP error',
  too_large: 'Response too large',
  blocked: 'Address blocked',
};

/** What failed: the probe error, else the first failed condition and its actual value. */
export function failingCondition(c: CheckResult): { what: string; actual?: string } | null {
  if (c.success) return null;
  if (c.error) return { what: `${ERROR_WORDS[c.error.kind] ?? c.error.kind}: ${c.error.message}` };
  const cond = c.conditions.find((x) => !x.success);
  if (cond) return { what: cond.condition, actual: cond.actual };
  return c.failure_reason ? { what: c.failure_reason } : { what: 'failed' };
}

const PHASES: [keyof Timings, string][] = [
  ['dns_ms', 'DNS'],
  ['connect_ms', 'connect'],
  ['tls_ms', 'TLS'],
  ['first_byte_ms', 'first byte'],
];

/** Stacked bar of the phases, with the figures as text (not colour alone). */
export function TimingBar({ t }: { t: Timings }) {
  const parts = PHASES.map(([k, label]) => ({ k, label, v: t[k] as number | null | undefined })).filter((p) => p.v != null);
  const sum = Math.max(t.total_ms, parts.reduce((a, p) => a + (p.v ?? 0), 0), 0.001);
  const text = parts.map((p) => `${p.label} ${ms(p.v)}`).join(' · ') || 'no phases recorded';
  return (
    <span class="timing" title={text}>
      <span class="timing-bar" aria-hidden="true">
        {parts.map((p) => (
          <span class={`ph ph-${p.k}`} style={{ width: `${((p.v ?? 0) / sum) * 100}%` }} />
        ))}
      </span>
      <span class="timing-text">{text}</span>
    </span>
  );
}

export function CheckOutcome({ r }: { r: CheckResult }) {
  const cert = r.cert_expires_at != null ? certExpiry(r.cert_expires_at) : null;
  return (
    <div class="outcome" data-success={r.success}>
      <div class="outcome-head">
        <StatusBadge status={r.success ? 'up' : 'down'} />
        <span>{r.status_code != null ? `HTTP ${r.status_code}` : 'No HTTP answer'}</span>
        <span class="muted">in {ms(r.timings.total_ms)}</span>
        {r.ip && <span class="muted">from {r.ip}</span>}
      </div>
      {r.error && (
        <p class="outcome-error">
          <strong>{ERROR_WORDS[r.error.kind] ?? r.error.kind}:</strong> {r.error.message}
        </p>
      )}
      <dl class="phases">
        {PHASES.map(([k, label]) => (
          <div>
            <dt>{label}</dt>
            <dd>{r.timings[k] != null ? ms(r.timings[k] as number) : '—'}</dd>
          </div>
        ))}
        <div>
          <dt>total</dt>
          <dd>{ms(r.timings.total_ms)}</dd>
        </div>
        {cert && (
          <div>
            <dt>certificate</dt>
            <dd class={`cert-${cert.level}`}>{cert.text}</dd>
          </div>
        )}
      </dl>
      {r.conditions.length > 0 ? (
        <ul class="conditions">
          {r.conditions.map((c) => (
            <li class={c.success ? 'pass' : 'fail'}>
              <span class="mark" aria-hidden="true">
                {c.success ? '✓' : '✗'}
              </span>
              <span class="visually-hidden">{c.success ? 'Passed:' : 'Failed:'}</span>
              <code>{c.condition}</code> <span class="muted">actual:</span> <code>{c.actual || '""'}</code>
            </li>
          ))}
        </ul>
      ) : (
        <p class="muted small">No conditions: up on any 2xx or 3xx answer.</p>
      )}
    </div>
  );
}
