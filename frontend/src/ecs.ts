// ECS page data shaping: pure functions over the API answers, unit-tested in
// test/ecs.test.ts. The page components (src/pages/ecs*.tsx) only render what these return.
import type {
  EcsAccount,
  EcsAccountInput,
  EcsCluster,
  EcsClusters,
  EcsDeployment,
  EcsEvent,
  EcsHealth,
  EcsMetricPoint,
  EcsRange,
  EcsRefreshResult,
  EcsServiceKey,
  EcsServiceSummary,
} from './api';

// ---- health ---------------------------------------------------------------------------

/** Worst first: the order of filters, counts and sorting. */
export const HEALTHS: readonly EcsHealth[] = ['failed', 'degraded', 'healthy'];
const HEALTH_RANK: Record<string, number> = { failed: 0, degraded: 1, healthy: 2 };
const HEALTH_WORDS: Record<string, string> = { failed: 'Failed', degraded: 'Degraded', healthy: 'Healthy' };

export function healthRank(h: string | null | undefined): number {
  return h != null && h in HEALTH_RANK ? HEALTH_RANK[h] : 3;
}

export function healthWord(h: string | null | undefined): string {
  return h != null && h in HEALTH_WORDS ? HEALTH_WORDS[h] : 'Unknown';
}

/** A `health` query-string value, or null when absent or not a health. */
export function parseHealth(v: string | null | undefined): EcsHealth | null {
  return v === 'failed' || v === 'degraded' || v === 'healthy' ? v : null;
}

export interface HealthCounts {
  failed: number;
  degraded: number;
  healthy: number;
  total: number;
}

export function countHealth(services: readonly EcsServiceSummary[]): HealthCounts {
  const c: HealthCounts = { failed: 0, degraded: 0, healthy: 0, total: 0 };
  for (const s of services) {
    c.total++;
    if (s.health === 'failed' || s.health === 'degraded' || s.health === 'healthy') c[s.health]++;
  }
  return c;
}

function addCounts(a: HealthCounts, b: HealthCounts): HealthCounts {
  return { failed: a.failed + b.failed, degraded: a.degraded + b.degraded, healthy: a.healthy + b.healthy, total: a.total + b.total };
}

/** `1 failed · 2 degraded · 5 healthy` (zeros left out); `no services` when empty. */
export function countsText(c: HealthCounts): string {
  if (c.total === 0) return 'no services';
  const parts = HEALTHS.filter((h) => c[h] > 0).map((h) => `${c[h]} ${h}`);
  const unknown = c.total - c.failed - c.degraded - c.healthy;
  if (unknown > 0) parts.push(`${unknown} unknown`);
  return parts.join(' · ');
}

/** Rank of the worst service among `c` (3 when there is none). */
function worstRank(c: HealthCounts): number {
  return c.failed ? 0 : c.degraded ? 1 : c.healthy ? 2 : 3;
}

// ---- labels ---------------------------------------------------------------------------

/** How an account is named on the page: its name, else the AWS alias, else the account ID. */
export function accountLabel(a: Pick<EcsAccount, 'id' | 'name' | 'alias' | 'account_id'>): string {
  return a.name?.trim() || a.alias?.trim() || a.account_id || `Account ${a.id}`;
}

/** `arn:aws:ecs:…:task-definition/web:42` → `web:42`; a family:revision stays as it is. */
export function taskDefShort(td: string | null | undefined): string {
  if (!td) return '—';
  const slash = td.lastIndexOf('/');
  return slash >= 0 ? td.slice(slash + 1) : td;
}

const ROLLOUT_WORDS: Record<string, string> = { COMPLETED: 'Completed', IN_PROGRESS: 'In progress', FAILED: 'Failed' };

export function rolloutWord(state: string | null | undefined): string {
  if (!state) return '—';
  return ROLLOUT_WORDS[state] ?? state.charAt(0) + state.slice(1).toLowerCase().replace(/_/g, ' ');
}

/** `FARGATE` → `Fargate`, `EC2` stays, null → `—`. */
export function launchTypeWord(t: string | null | undefined): string {
  if (!t) return '—';
  return t === 'FARGATE' ? 'Fargate' : t === 'EXTERNAL' ? 'External' : t;
}

// ---- relative time --------------------------------------------------------------------

/** `just now`, `4 min ago`, `3 h ago`, `2 d ago`; `never` for null. Whole units, rounded down. */
export function minutesAgo(at: number | null | undefined, now: number = Date.now()): string {
  if (at == null || !Number.isFinite(at)) return 'never';
  const min = Math.floor((now - at) / 60_000);
  if (min < 1) return 'just now';
  if (min < 60) return `${min} min ago`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} d ago`;
}

// ---- the accounts → clusters → services tree ----------------------------------------

export interface EcsFilter {
  health?: EcsHealth | null;
  q?: string;
}

export interface ClusterNode {
  cluster: EcsCluster;
  /** Every service of the cluster, filter or not. */
  counts: HealthCounts;
  /** The services the filter lets through, worst first. */
  services: EcsServiceSummary[];
}

export interface AccountNode {
  key: string;
  /** Null for clusters of an AWS account no configured account names (removed meanwhile). */
  account: EcsAccount | null;
  label: string;
  accountId: string | null;
  counts: HealthCounts;
  clusters: ClusterNode[];
}

export interface EcsTree {
  accounts: AccountNode[];
  /** Every service, filter or not. */
  totals: HealthCounts;
  /** Services the filter lets through. */
  shown: number;
}

export function filterActive(f: EcsFilter): boolean {
  return !!f.health || !!f.q?.trim();
}

/** Every whitespace-separated word of `q` must occur in one of the service's names. */
export function serviceMatches(
  s: EcsServiceSummary,
  cluster: Pick<EcsCluster, 'cluster' | 'region' | 'alias' | 'account_id'>,
  account: Pick<EcsAccount, 'name' | 'alias'> | null,
  f: EcsFilter,
): boolean {
  if (f.health && s.health !== f.health) return false;
  const words = (f.q ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return true;
  const hay = [s.service, s.task_definition, s.launch_type, cluster.cluster, cluster.region, cluster.alias, cluster.account_id, account?.name, account?.alias]
    .filter((v): v is string => !!v)
    .join('\n')
    .toLowerCase();
  return words.every((w) => hay.includes(w));
}

/** Failed first, then degraded, then healthy; by name within each. */
export function sortServices(list: readonly EcsServiceSummary[]): EcsServiceSummary[] {
  return list.slice().sort((a, b) => healthRank(a.health) - healthRank(b.health) || a.service.localeCompare(b.service));
}

/**
 * Joins clusters to their accounts (by AWS account ID), counts health per cluster and per
 * account, applies the filter and sorts worst first. Without a filter every account is
 * listed, also those with no cluster yet or whose last collection failed; with one, only
 * accounts and clusters with a matching service.
 */
export function buildTree(data: EcsClusters, f: EcsFilter = {}): EcsTree {
  const active = filterActive(f);
  const nodes: AccountNode[] = [];
  const byAwsId = new Map<string, AccountNode>();
  for (const a of data.accounts) {
    const node: AccountNode = { key: `a:${a.id}`, account: a, label: accountLabel(a), accountId: a.account_id, counts: countHealth([]), clusters: [] };
    nodes.push(node);
    // Two configured accounts for one AWS account: clusters go to the first.
    if (a.account_id && !byAwsId.has(a.account_id)) byAwsId.set(a.account_id, node);
  }
  for (const c of data.clusters) {
    let node = byAwsId.get(c.account_id);
    if (!node) {
      node = { key: `aws:${c.account_id}`, account: null, label: c.alias || c.account_id, accountId: c.account_id, counts: countHealth([]), clusters: [] };
      byAwsId.set(c.account_id, node);
      nodes.push(node);
    }
    const counts = countHealth(c.services);
    node.counts = addCounts(node.counts, counts);
    const services = sortServices(c.services.filter((s) => serviceMatches(s, c, node.account, f)));
    if (active && !services.length) continue;
    node.clusters.push({ cluster: c, counts, services });
  }
  let totals = countHealth([]);
  let shown = 0;
  for (const n of nodes) {
    totals = addCounts(totals, n.counts);
    n.clusters.sort(
      (a, b) => worstRank(a.counts) - worstRank(b.counts) || a.cluster.cluster.localeCompare(b.cluster.cluster) || a.cluster.region.localeCompare(b.cluster.region),
    );
    for (const c of n.clusters) shown += c.services.length;
  }
  const accounts = nodes.filter((n) => !active || n.clusters.length > 0).sort((a, b) => accountRank(a) - accountRank(b) || a.label.localeCompare(b.label));
  return { accounts, totals, shown };
}

/** A failed collection ranks with degraded services: something there needs a look. */
function accountRank(n: AccountNode): number {
  return Math.min(worstRank(n.counts), n.account?.last_error ? 1 : 3);
}

// ---- service detail -------------------------------------------------------------------

export const RANGES: readonly EcsRange[] = ['1h', '24h', '7d'];
export const RANGE_WORDS: Record<EcsRange, string> = { '1h': 'hour', '24h': '24 hours', '7d': '7 days' };

/** The `range` query value (page URL or API), `24h` when absent or unknown. */
export function parseRange(v: string | null | undefined): EcsRange {
  return v === '1h' || v === '24h' || v === '7d' ? v : '24h';
}

/** The query of `GET /api/ecs/service-details`. */
export function detailQuery(key: EcsServiceKey, range: string | null | undefined): Record<string, string> {
  return { account: key.account, region: key.region, cluster: key.cluster, service: key.service, range: parseRange(range) };
}

/** The service page link, `/ecs/service?account=…&region=…&cluster=…&service=…`. */
export function serviceHref(key: EcsServiceKey): string {
  return `/ecs/service?${new URLSearchParams({ account: key.account, region: key.region, cluster: key.cluster, service: key.service })}`;
}

/** Reads the service page query; a message for what is missing or malformed. */
export function serviceKeyFromQuery(q: URLSearchParams): { key: EcsServiceKey } | { error: string } {
  const get = (k: string) => q.get(k)?.trim() ?? '';
  const key = { account: get('account'), region: get('region'), cluster: get('cluster'), service: get('service') };
  const missing = (Object.keys(key) as (keyof EcsServiceKey)[]).filter((k) => !key[k]);
  if (missing.length) return { error: `The link lacks ${missing.join(', ')}.` };
  if (!/^\d{12}$/.test(key.account)) return { error: `The account must be a 12-digit AWS account ID, not "${key.account}".` };
  return { key };
}

export interface Progress {
  /** Width of the running part of the bar, 0–100. */
  runningPct: number;
  /** Width of the pending part, 0–(100 − runningPct). */
  pendingPct: number;
  /** Running share of desired in whole percent, rounded down (100 only when complete). */
  percent: number;
  /** Running = desired and nothing pending. */
  done: boolean;
  /** `3 of 4 running · 1 pending`, for the bar's text and screen readers. */
  text: string;
}

const count = (n: unknown) => (typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.floor(n) : 0);
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/**
 * How far a deployment (or service) is: running and pending tasks against desired.
 * More running than desired (old tasks draining) fills the bar; desired 0 has nothing to
 * fill: done once nothing runs.
 */
export function progress(d: { desired_count: number; running_count: number; pending_count: number }): Progress {
  const desired = count(d.desired_count);
  const running = count(d.running_count);
  const pending = count(d.pending_count);
  const pendingText = pending ? ` · ${pending} pending` : '';
  if (desired === 0) {
    const done = running === 0 && pending === 0;
    return { runningPct: 0, pendingPct: 0, percent: done ? 100 : 0, done, text: done ? 'scaled to 0' : `${running} running, stopping (desired 0)${pendingText}` };
  }
  const runningPct = clamp((running / desired) * 100, 0, 100);
  const pendingPct = clamp((pending / desired) * 100, 0, 100 - runningPct);
  return {
    runningPct,
    pendingPct,
    percent: Math.floor(runningPct),
    done: running === desired && pending === 0,
    text: `${running} of ${desired} running${pendingText}`,
  };
}

const DEPLOYMENT_RANK: Record<string, number> = { PRIMARY: 0, ACTIVE: 1, INACTIVE: 2 };

/** The primary (new) deployment first, then active (old, draining) ones, newest first. */
export function sortDeployments(list: readonly EcsDeployment[]): EcsDeployment[] {
  return list
    .slice()
    .sort((a, b) => (DEPLOYMENT_RANK[a.status] ?? 3) - (DEPLOYMENT_RANK[b.status] ?? 3) || (b.created_at ?? 0) - (a.created_at ?? 0));
}

/** Newest first (ECS keeps the last 100 events). */
export function sortEvents(list: readonly EcsEvent[]): EcsEvent[] {
  return list.slice().sort((a, b) => b.created_at - a.created_at);
}

export interface UsageData {
  /** Seconds, for uPlot. */
  x: number[];
  average: (number | null)[];
  maximum: (number | null)[];
}

/** Datapoints → aligned, time-ordered arrays; points without a time are dropped. */
export function usageData(points: readonly EcsMetricPoint[]): UsageData {
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const rows = points.filter((p) => Number.isFinite(p.at)).sort((a, b) => a.at - b.at);
  return { x: rows.map((p) => p.at / 1000), average: rows.map((p) => num(p.average)), maximum: rows.map((p) => num(p.maximum)) };
}

/** The latest average and the highest maximum of the range (for the text summary). */
export function usageSummary(d: UsageData): { latest: number | null; peak: number | null } {
  let latest: number | null = null;
  for (let i = d.average.length - 1; i >= 0 && latest == null; i--) latest = d.average[i];
  let peak: number | null = null;
  for (const v of d.maximum) if (v != null && (peak == null || v > peak)) peak = v;
  return { latest, peak };
}

/** `42.5 %` for utilisation; `—` without data. */
export function usagePct(v: number | null | undefined): string {
  return v == null || !Number.isFinite(v) ? '—' : `${v.toFixed(1)} %`;
}

// ---- admin: accounts and refresh ------------------------------------------------------

/** `eu-west-1, us-east-1` (commas and/or spaces) → trimmed, without empties and repeats. */
export function parseRegions(text: string): string[] {
  const out: string[] = [];
  for (const r of text.split(/[\s,]+/)) if (r && !out.includes(r)) out.push(r);
  return out;
}

export interface AccountForm {
  name: string;
  role_arn: string;
  external_id: string;
  /** Editing: send `""` to remove the stored external ID. */
  clear_external_id: boolean;
  regions: string;
}

/**
 * The POST/PUT body. Empty name and role ARN are left out (no role ARN = the account
 * Sentinel runs in). The external ID is write-only: left out unless typed (or cleared),
 * so an edit keeps the stored one.
 */
export function accountBody(f: AccountForm, editing: boolean): EcsAccountInput {
  const body: EcsAccountInput = { regions: parseRegions(f.regions) };
  if (f.name.trim()) body.name = f.name.trim();
  if (f.role_arn.trim()) body.role_arn = f.role_arn.trim();
  if (f.external_id.trim()) body.external_id = f.external_id.trim();
  else if (editing && f.clear_external_id) body.external_id = '';
  return body;
}

export type AccountField = 'name' | 'role_arn' | 'external_id' | 'regions';

/**
 * API field errors (`role_arn`, `regions[1]`, …) → the form field they belong to; a region
 * error names the region it is about. What fits no field goes to `other`.
 */
export function accountFieldErrors(byField: Record<string, string>, sentRegions: readonly string[]): Partial<Record<AccountField | 'other', string>> {
  const out: Partial<Record<AccountField | 'other', string>> = {};
  const put = (k: AccountField | 'other', msg: string) => {
    out[k] = out[k] ? `${out[k]}; ${msg}` : msg;
  };
  for (const [field, msg] of Object.entries(byField)) {
    const region = /^regions\[(\d+)\]$/.exec(field);
    if (region) {
      const name = sentRegions[Number(region[1])];
      put('regions', name ? `${name}: ${msg}` : msg);
    } else if (field === 'name' || field === 'role_arn' || field === 'external_id' || field === 'regions') put(field, msg);
    else put('other', `${field}: ${msg}`);
  }
  return out;
}

/** What `POST /api/ecs/refresh` did, with failed accounts named as on the page. */
export function refreshSummary(r: EcsRefreshResult, accounts: readonly EcsAccount[]): { text: string; failures: { label: string; error: string }[] } {
  const failures = r.failed_accounts.map((f) => {
    const a = accounts.find((x) => String(x.id) === String(f.id));
    return { label: a ? accountLabel(a) : `Account ${f.id}`, error: f.error };
  });
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  const text = `Refreshed ${plural(r.accounts, 'account')}, ${plural(r.services, 'service')}${failures.length ? `; ${plural(failures.length, 'account')} failed` : ''}.`;
  return { text, failures };
}
