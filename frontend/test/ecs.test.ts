import { describe, expect, it } from 'vitest';
import { ApiError, Client, type EcsAccount, type EcsCluster, type EcsClusters, type EcsDeployment, type EcsServiceSummary } from '../src/api';
import {
  accountBody,
  accountFieldErrors,
  accountLabel,
  buildTree,
  countHealth,
  countsText,
  detailQuery,
  healthWord,
  minutesAgo,
  parseHealth,
  parseRange,
  parseRegions,
  progress,
  refreshSummary,
  rolloutWord,
  serviceHref,
  serviceKeyFromQuery,
  serviceMatches,
  sortDeployments,
  sortEvents,
  sortServices,
  taskDefShort,
  usageData,
  usageSummary,
} from '../src/ecs';

const svc = (service: string, health: EcsServiceSummary['health'], p: Partial<EcsServiceSummary> = {}): EcsServiceSummary => ({
  service,
  health,
  health_reason: health === 'healthy' ? null : `${service} is ${health}`,
  desired_count: 2,
  running_count: health === 'healthy' ? 2 : 1,
  pending_count: 0,
  rollout_state: 'COMPLETED',
  task_definition: `arn:aws:ecs:eu-west-1:111111111111:task-definition/${service}:7`,
  launch_type: 'FARGATE',
  collected_at: 1,
  ...p,
});

const cluster = (account_id: string, name: string, services: EcsServiceSummary[], region = 'eu-west-1'): EcsCluster => ({
  account_id,
  alias: null,
  region,
  cluster: name,
  cluster_arn: `arn:aws:ecs:${region}:${account_id}:cluster/${name}`,
  services,
});

const account = (id: string, account_id: string | null, p: Partial<EcsAccount> = {}): EcsAccount => ({
  id,
  name: null,
  account_id,
  alias: null,
  regions: ['eu-west-1'],
  role_arn: null,
  has_external_id: false,
  last_collected_at: 1000,
  last_error: null,
  ...p,
});

function sample(): EcsClusters {
  return {
    accounts: [
      account('1', '111111111111', { name: 'Production', alias: 'acme-prod' }),
      account('2', '222222222222', { name: 'Staging', last_error: 'AccessDenied: not authorized to perform sts:AssumeRole' }),
      account('3', null, { name: 'New account', last_collected_at: null }),
    ],
    clusters: [
      cluster('111111111111', 'web', [svc('frontend', 'healthy'), svc('api', 'failed'), svc('worker', 'degraded'), svc('admin', 'healthy')]),
      cluster('111111111111', 'batch', [svc('nightly', 'healthy')], 'us-east-1'),
      cluster('222222222222', 'stage', [svc('api', 'healthy')]),
      // An AWS account no configured account names any more.
      cluster('333333333333', 'legacy', [svc('old', 'degraded')]),
    ],
  };
}

describe('health words and counts', () => {
  it('counts services per health and words them worst first, leaving out zeros', () => {
    const c = countHealth([svc('a', 'healthy'), svc('b', 'failed'), svc('c', 'healthy'), svc('d', 'degraded')]);
    expect(c).toEqual({ failed: 1, degraded: 1, healthy: 2, total: 4 });
    expect(countsText(c)).toBe('1 failed · 1 degraded · 2 healthy');
    expect(countsText(countHealth([svc('a', 'healthy')]))).toBe('1 healthy');
    expect(countsText(countHealth([]))).toBe('no services');
  });
  it('names health, rollout states and task definitions readably', () => {
    expect(healthWord('degraded')).toBe('Degraded');
    expect(healthWord('nonsense')).toBe('Unknown');
    expect(parseHealth('failed')).toBe('failed');
    expect(parseHealth('down')).toBeNull();
    expect(parseHealth(null)).toBeNull();
    expect(rolloutWord('IN_PROGRESS')).toBe('In progress');
    expect(rolloutWord(null)).toBe('—');
    expect(taskDefShort('arn:aws:ecs:eu-west-1:111111111111:task-definition/web:42')).toBe('web:42');
    expect(taskDefShort('web:42')).toBe('web:42');
    expect(taskDefShort(null)).toBe('—');
  });
  it('labels an account by name, then alias, then account ID', () => {
    expect(accountLabel(account('1', '111111111111', { name: 'Prod', alias: 'acme' }))).toBe('Prod');
    expect(accountLabel(account('1', '111111111111', { name: ' ', alias: 'acme' }))).toBe('acme');
    expect(accountLabel(account('1', '111111111111'))).toBe('111111111111');
    expect(accountLabel(account('9', null))).toBe('Account 9');
  });
});

describe('buildTree', () => {
  it('groups clusters under their account and counts health per cluster, account and in total', () => {
    const t = buildTree(sample());
    expect(t.totals).toEqual({ failed: 1, degraded: 2, healthy: 4, total: 7 });
    expect(t.shown).toBe(7);
    const prod = t.accounts.find((a) => a.label === 'Production')!;
    expect(prod.counts).toEqual({ failed: 1, degraded: 1, healthy: 3, total: 5 });
    expect(prod.clusters.map((c) => c.cluster.cluster)).toEqual(['web', 'batch']);
    expect(prod.clusters[0].counts).toEqual({ failed: 1, degraded: 1, healthy: 2, total: 4 });
    const staging = t.accounts.find((a) => a.label === 'Staging')!;
    expect(staging.clusters.map((c) => c.cluster.cluster)).toEqual(['stage']);
    expect(staging.account?.last_error).toContain('AccessDenied');
  });
  it('keeps accounts without clusters, and groups clusters of unknown accounts by their AWS ID', () => {
    const t = buildTree(sample());
    const fresh = t.accounts.find((a) => a.label === 'New account')!;
    expect(fresh.clusters).toEqual([]);
    const orphan = t.accounts.find((a) => a.account === null)!;
    expect(orphan.label).toBe('333333333333');
    expect(orphan.clusters[0].cluster.cluster).toBe('legacy');
  });
  it('sorts accounts worst first: failed services, then degraded or a failed collection, then by name', () => {
    const t = buildTree(sample());
    // Production has a failed service; the orphan a degraded one; Staging a failed collection
    // (ranks with degraded); "New account" nothing at all.
    expect(t.accounts.map((a) => a.label)).toEqual(['Production', '333333333333', 'Staging', 'New account']);
  });
  it('filters by health and keeps only accounts and clusters with a match, counts unfiltered', () => {
    const t = buildTree(sample(), { health: 'failed' });
    expect(t.shown).toBe(1);
    expect(t.accounts.map((a) => a.label)).toEqual(['Production']);
    expect(t.accounts[0].clusters.map((c) => c.cluster.cluster)).toEqual(['web']);
    expect(t.accounts[0].clusters[0].services.map((s) => s.service)).toEqual(['api']);
    // Header counts still describe the whole cluster and the whole fleet.
    expect(t.accounts[0].clusters[0].counts.total).toBe(4);
    expect(t.totals.total).toBe(7);
  });
  it('filters by text across service, cluster, region and account names', () => {
    expect(buildTree(sample(), { q: 'api' }).shown).toBe(2);
    expect(buildTree(sample(), { q: 'API staging' }).accounts.map((a) => a.label)).toEqual(['Staging']);
    expect(buildTree(sample(), { q: 'us-east-1' }).accounts[0].clusters[0].services.map((s) => s.service)).toEqual(['nightly']);
    expect(buildTree(sample(), { q: 'acme-prod web', health: 'healthy' }).shown).toBe(2);
    const none = buildTree(sample(), { q: 'nothing-like-this' });
    expect(none.accounts).toEqual([]);
    expect(none.shown).toBe(0);
  });
});

describe('serviceMatches', () => {
  const c = cluster('111111111111', 'web', []);
  it('needs every word, in any field, case-insensitively', () => {
    const s = svc('checkout', 'healthy');
    expect(serviceMatches(s, c, null, {})).toBe(true);
    expect(serviceMatches(s, c, null, { q: '  ' })).toBe(true);
    expect(serviceMatches(s, c, null, { q: 'CHECK web' })).toBe(true);
    expect(serviceMatches(s, c, null, { q: 'checkout:7' })).toBe(true); // task definition
    expect(serviceMatches(s, c, null, { q: 'fargate' })).toBe(true);
    expect(serviceMatches(s, c, { name: 'Prod', alias: null }, { q: 'prod' })).toBe(true);
    expect(serviceMatches(s, c, null, { q: 'checkout batch' })).toBe(false);
    expect(serviceMatches(s, c, null, { q: 'checkout', health: 'failed' })).toBe(false);
  });
});

describe('sortServices', () => {
  it('puts failed first, then degraded, then by name', () => {
    const sorted = sortServices([svc('b', 'healthy'), svc('z', 'degraded'), svc('a', 'healthy'), svc('y', 'failed'), svc('c', 'degraded'), svc('x', 'failed')]);
    expect(sorted.map((s) => `${s.health}:${s.service}`)).toEqual(['failed:x', 'failed:y', 'degraded:c', 'degraded:z', 'healthy:a', 'healthy:b']);
  });
  it('does not reorder its input', () => {
    const list = [svc('b', 'healthy'), svc('a', 'failed')];
    sortServices(list);
    expect(list.map((s) => s.service)).toEqual(['b', 'a']);
  });
});

describe('progress', () => {
  it('is running over desired, with pending next to it', () => {
    const p = progress({ desired_count: 4, running_count: 3, pending_count: 1 });
    expect(p.runningPct).toBe(75);
    expect(p.pendingPct).toBe(25);
    expect(p.percent).toBe(75);
    expect(p.done).toBe(false);
    expect(p.text).toBe('3 of 4 running · 1 pending');
    expect(progress({ desired_count: 4, running_count: 4, pending_count: 0 })).toMatchObject({ runningPct: 100, pendingPct: 0, percent: 100, done: true, text: '4 of 4 running' });
  });
  it('clamps: more running than desired fills the bar, pending never overflows it', () => {
    const over = progress({ desired_count: 2, running_count: 5, pending_count: 1 });
    expect(over.runningPct).toBe(100);
    expect(over.pendingPct).toBe(0);
    expect(over.done).toBe(false);
    const pending = progress({ desired_count: 2, running_count: 1, pending_count: 9 });
    expect(pending.runningPct).toBe(50);
    expect(pending.pendingPct).toBe(50);
    const garbage = progress({ desired_count: 3, running_count: -2, pending_count: Number.NaN });
    expect(garbage).toMatchObject({ runningPct: 0, pendingPct: 0, percent: 0, text: '0 of 3 running' });
  });
  it('never shows 100 % before every task runs', () => {
    const p = progress({ desired_count: 1000, running_count: 999, pending_count: 0 });
    expect(p.percent).toBe(99);
    expect(p.runningPct).toBeCloseTo(99.9);
  });
  it('handles desired 0: done once nothing runs, stopping while tasks still run', () => {
    expect(progress({ desired_count: 0, running_count: 0, pending_count: 0 })).toEqual({ runningPct: 0, pendingPct: 0, percent: 100, done: true, text: 'scaled to 0' });
    const draining = progress({ desired_count: 0, running_count: 2, pending_count: 0 });
    expect(draining.done).toBe(false);
    expect(draining.percent).toBe(0);
    expect(draining.runningPct).toBe(0);
    expect(draining.text).toBe('2 running, stopping (desired 0)');
  });
});

describe('ranges and links', () => {
  it('reads the range, defaulting to 24h', () => {
    expect(parseRange('1h')).toBe('1h');
    expect(parseRange('7d')).toBe('7d');
    expect(parseRange('30d')).toBe('24h');
    expect(parseRange(null)).toBe('24h');
  });
  it('puts the range into the service-details query', () => {
    const key = { account: '111111111111', region: 'eu-west-1', cluster: 'web', service: 'api' };
    expect(detailQuery(key, '7d')).toEqual({ ...key, range: '7d' });
    expect(detailQuery(key, 'bogus').range).toBe('24h');
  });
  it('links to a service and reads the link back', () => {
    const key = { account: '111111111111', region: 'eu-west-1', cluster: 'web & co', service: 'api/v2' };
    const href = serviceHref(key);
    expect(href.startsWith('/ecs/service?account=111111111111&region=eu-west-1&cluster=web+%26+co&service=api%2Fv2')).toBe(true);
    expect(serviceKeyFromQuery(new URL(href, 'http://x').searchParams)).toEqual({ key });
  });
  it('says what a broken service link lacks', () => {
    expect(serviceKeyFromQuery(new URLSearchParams('account=111111111111&region=eu-west-1'))).toEqual({ error: 'The link lacks cluster, service.' });
    const bad = serviceKeyFromQuery(new URLSearchParams('account=12345&region=r&cluster=c&service=s'));
    expect('error' in bad && bad.error).toContain('12-digit');
  });
});

describe('minutesAgo', () => {
  const now = 10 * 86_400_000;
  it('counts whole minutes, then hours, then days', () => {
    expect(minutesAgo(null, now)).toBe('never');
    expect(minutesAgo(now - 59_000, now)).toBe('just now');
    expect(minutesAgo(now + 30_000, now)).toBe('just now');
    expect(minutesAgo(now - 60_000, now)).toBe('1 min ago');
    expect(minutesAgo(now - 7 * 60_000 - 59_000, now)).toBe('7 min ago');
    expect(minutesAgo(now - 59 * 60_000, now)).toBe('59 min ago');
    expect(minutesAgo(now - 60 * 60_000, now)).toBe('1 h ago');
    expect(minutesAgo(now - 47 * 3_600_000, now)).toBe('47 h ago');
    expect(minutesAgo(now - 72 * 3_600_000, now)).toBe('3 d ago');
  });
});

describe('deployments, events and usage', () => {
  const dep = (id: string, status: EcsDeployment['status'], created_at: number): EcsDeployment => ({
    id,
    status,
    rollout_state: null,
    rollout_state_reason: null,
    task_definition: null,
    desired_count: 1,
    running_count: 1,
    pending_count: 0,
    failed_tasks: 0,
    launch_type: null,
    created_at,
    updated_at: created_at,
  });
  it('lists the primary deployment first, then the others newest first', () => {
    const sorted = sortDeployments([dep('old', 'INACTIVE', 1), dep('act1', 'ACTIVE', 2), dep('prim', 'PRIMARY', 5), dep('act2', 'ACTIVE', 3)]);
    expect(sorted.map((d) => d.id)).toEqual(['prim', 'act2', 'act1', 'old']);
  });
  it('lists events newest first', () => {
    const sorted = sortEvents([
      { id: 'a', created_at: 1, message: 'first' },
      { id: 'c', created_at: 3, message: 'third' },
      { id: 'b', created_at: 2, message: 'second' },
    ]);
    expect(sorted.map((e) => e.id)).toEqual(['c', 'b', 'a']);
  });
  it('turns datapoints into ordered chart arrays in seconds, with a latest and a peak', () => {
    const d = usageData([
      { at: 120_000, average: 30, maximum: 80 },
      { at: 60_000, average: 10, maximum: 95.5 },
      { at: 180_000, average: null, maximum: 40 },
      { at: Number.NaN, average: 99, maximum: 99 },
    ]);
    expect(d).toEqual({ x: [60, 120, 180], average: [10, 30, null], maximum: [95.5, 80, 40] });
    expect(usageSummary(d)).toEqual({ latest: 30, peak: 95.5 });
    expect(usageSummary(usageData([]))).toEqual({ latest: null, peak: null });
  });
});

describe('account form', () => {
  const form = { name: '', role_arn: '', external_id: '', clear_external_id: false, regions: '' };
  it('reads comma-separated regions', () => {
    expect(parseRegions(' eu-west-1, us-east-1 ,,eu-west-1 ap-south-1 ')).toEqual(['eu-west-1', 'us-east-1', 'ap-south-1']);
    expect(parseRegions('')).toEqual([]);
  });
  it('leaves out empty optional fields (no role ARN = the local account)', () => {
    expect(accountBody({ ...form, regions: 'eu-west-1' }, false)).toEqual({ regions: ['eu-west-1'] });
    expect(accountBody({ ...form, name: ' Prod ', role_arn: 'arn:aws:iam::111111111111:role/r', external_id: 'xyz', regions: 'eu-west-1' }, false)).toEqual({
      name: 'Prod',
      role_arn: 'arn:aws:iam::111111111111:role/r',
      external_id: 'xyz',
      regions: ['eu-west-1'],
    });
  });
  it('keeps the stored external ID on edit unless one is typed or it is cleared', () => {
    expect(accountBody({ ...form, regions: 'eu-west-1' }, true)).not.toHaveProperty('external_id');
    expect(accountBody({ ...form, regions: 'eu-west-1', clear_external_id: true }, true).external_id).toBe('');
    expect(accountBody({ ...form, regions: 'eu-west-1', external_id: 'new' }, true).external_id).toBe('new');
    // "Clear" means nothing when creating.
    expect(accountBody({ ...form, regions: 'eu-west-1', clear_external_id: true }, false)).not.toHaveProperty('external_id');
  });
  it('puts API field errors next to their fields, naming the region at fault', () => {
    expect(accountFieldErrors({ role_arn: 'must be an IAM role ARN' }, [])).toEqual({ role_arn: 'must be an IAM role ARN' });
    expect(accountFieldErrors({ 'regions[1]': 'unknown region' }, ['eu-west-1', 'mars-1'])).toEqual({ regions: 'mars-1: unknown region' });
    expect(accountFieldErrors({ 'regions[0]': 'bad', 'regions[2]': 'bad too' }, ['x', 'y', 'z'])).toEqual({ regions: 'x: bad; z: bad too' });
    expect(accountFieldErrors({ regions: 'at least one region' }, [])).toEqual({ regions: 'at least one region' });
    expect(accountFieldErrors({ colour: 'unexpected' }, [])).toEqual({ other: 'colour: unexpected' });
  });
});

describe('refreshSummary', () => {
  it('names the failed accounts as the page does', () => {
    const s = refreshSummary({ accounts: 3, services: 12, failed_accounts: [{ id: '2', error: 'AccessDenied' }, { id: '9', error: 'gone' }], collected_at: 1 }, sample().accounts);
    expect(s.text).toBe('Refreshed 3 accounts, 12 services; 2 accounts failed.');
    expect(s.failures).toEqual([
      { label: 'Staging', error: 'AccessDenied' },
      { label: 'Account 9', error: 'gone' },
    ]);
    expect(refreshSummary({ accounts: 1, services: 1, failed_accounts: [], collected_at: 1 }, []).text).toBe('Refreshed 1 account, 1 service.');
  });
});

// ---- the client calls against a fake server ---------------------------------------------

interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

function fakeClient(answer: (c: Call) => Response) {
  const calls: Call[] = [];
  const fetchFn = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const c: Call = { url: String(input), method: init?.method ?? 'GET', headers: (init?.headers ?? {}) as Record<string, string>, body: init?.body as string | undefined };
    calls.push(c);
    return answer(c);
  }) as typeof fetch;
  return { client: new Client({ fetch: fetchFn, cookies: () => 'sentinel_csrf=tok' }), calls };
}

const json = (status: number, body: unknown) => new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('ECS client calls', () => {
  it('asks for service details with the range as a query parameter', async () => {
    const { client, calls } = fakeClient(() => json(200, { service: {}, range: '7d', cpu: [], memory: [] }));
    await client.ecsServiceDetails({ account: '111111111111', region: 'eu-west-1', cluster: 'web', service: 'api' }, '7d');
    const url = new URL(calls[0].url, 'http://x');
    expect(url.pathname).toBe('/api/ecs/service-details');
    expect(Object.fromEntries(url.searchParams)).toEqual({ account: '111111111111', region: 'eu-west-1', cluster: 'web', service: 'api', range: '7d' });
  });
  it('refreshes with a POST carrying the CSRF token', async () => {
    const { client, calls } = fakeClient(() => json(200, { accounts: 1, services: 2, failed_accounts: [], collected_at: 5 }));
    const r = await client.ecsRefresh();
    expect(r.services).toBe(2);
    expect(calls[0]).toMatchObject({ method: 'POST', url: '/api/ecs/refresh' });
    expect(calls[0].headers['x-csrf-token']).toBe('tok');
  });
  it('updates an account with PUT and leaves a kept external ID out of the body', async () => {
    const { client, calls } = fakeClient((c) => json(200, { ...account('a 1', '111111111111'), regions: JSON.parse(c.body!).regions }));
    await client.updateEcsAccount('a 1', accountBody({ name: '', role_arn: '', external_id: '', clear_external_id: false, regions: 'eu-west-1, us-east-1' }, true));
    expect(calls[0]).toMatchObject({ method: 'PUT', url: '/api/ecs/accounts/a%201' });
    expect(JSON.parse(calls[0].body!)).toEqual({ regions: ['eu-west-1', 'us-east-1'] });
  });
  it('turns a 422 into an error the form can place', async () => {
    const { client } = fakeClient(() => json(422, { error: { code: 'invalid_input', message: 'unknown region', field: 'regions[1]' } }));
    const regions = ['eu-west-1', 'mars-1'];
    const e = await client.createEcsAccount({ regions }).catch((x) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(accountFieldErrors((e as ApiError).byField(), regions)).toEqual({ regions: 'mars-1: unknown region' });
  });
  it('deletes with 204 and reads the 403 of a user without access', async () => {
    const del = fakeClient(() => json(204, undefined));
    await expect(del.client.deleteEcsAccount('7')).resolves.toBeUndefined();
    expect(del.calls[0]).toMatchObject({ method: 'DELETE', url: '/api/ecs/accounts/7' });
    const forbidden = fakeClient(() => json(403, { error: { code: 'forbidden', message: 'ECS is not visible to users' } }));
    const e = await forbidden.client.ecsClusters().catch((x) => x);
    expect(e).toMatchObject({ status: 403, code: 'forbidden' });
  });
});
