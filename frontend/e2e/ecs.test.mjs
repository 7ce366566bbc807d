// End-to-end, the ECS page: the built dashboard against a real `sentinel serve` whose AWS
// SDK talks to moto (SENTINEL_TEST_AWS_ENDPOINT, credentials testing/testing, us-east-1).
// 1. An admin adds the local account through the form (field errors for a bad region and a
//    bad role ARN), edits and deletes accounts, and toggles "ECS visible to users".
// 2. With moto seeded (a cluster with a healthy and a failed service, CPU and memory
//    datapoints), "Refresh now" lists them with health badges; the health filter; the
//    service page with counts, deployments, events, charts and the 1h/24h/7d range.
// 3. A `monitor` user reads the page without admin controls; a `user` is told to ask an
//    admin until the setting is on, then reads it too.
// moto is shared: the cluster name is unique per run and the cluster is deleted after.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launchBrowser, startStack } from './harness.mjs';

const ADMIN = { email: 'ecs-admin@example.com', password: 'clusters all the way down' };
const MONITOR = { email: 'ecs-monitor@example.com', password: 'watching but not touching' };
const USER = { email: 'ecs-user@example.com', password: 'only when allowed to look' };
const REGION = 'us-east-1';
const ACCOUNT_NAME = 'Local e2e';
const CLUSTER = `sentinel-e2e-${process.pid}-${Date.now() % 1_000_000_000}`;
const HEALTHY = 'web';
const FAILED = 'worker';

let stack;
let browser;
let page;
let token;
let csrf = {};
let moto;
let seeded = false;
/** Set by the refresh test once serve collected from moto; the later tests need it. */
let collected = false;
/** The AWS account id moto gives the testing credentials, learned by the collection. */
let awsAccountId = null;
const pageErrors = [];
const unexpectedResponses = [];

async function apiCall(method, url, body) {
  const r = await fetch(`${stack.base}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...csrf, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${url}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// ---- moto --------------------------------------------------------------------------------

/**
 * One call to moto's JSON API as the testing credentials. moto does not check
 * signatures; the Authorization header only tells it the region and service.
 */
async function motoCall(service, target, body) {
  const protocol = service === 'ecs' ? { type: 'application/x-amz-json-1.1', prefix: 'AmazonEC2ContainerServiceV20141113' } : { type: 'application/x-amz-json-1.0', prefix: 'GraniteServiceVersion20100801' };
  const r = await fetch(`${moto}/`, {
    method: 'POST',
    headers: {
      'content-type': protocol.type,
      'x-amz-target': `${protocol.prefix}.${target}`,
      authorization: `AWS4-HMAC-SHA256 Credential=testing/20250101/${REGION}/${service}/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`moto ${service} ${target}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : {};
}

const ecs = (target, body) => motoCall('ecs', target, body);

/** Datapoints every 5 min from 10 min to 55 min ago, and 2, 3 and 5 h ago (outside 1h). */
function metricTimes(now) {
  const minutes = [10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 120, 180, 300];
  return minutes.map((m) => Math.floor((now - m * 60_000) / 1000));
}

/**
 * The cluster: `web` wants 1 task and runs it (moto sets running to desired on an update),
 * `worker` wants 2 and runs none (moto starts no task for a new service) → failed. CPU
 * and memory datapoints for both services.
 */
async function seedMoto() {
  await ecs('CreateCluster', { clusterName: CLUSTER });
  for (const family of [HEALTHY, FAILED]) {
    await ecs('RegisterTaskDefinition', { family: `${CLUSTER}-${family}`, containerDefinitions: [{ name: 'app', image: 'nginx:1.27', memory: 128 }] });
  }
  await ecs('CreateService', { cluster: CLUSTER, serviceName: HEALTHY, taskDefinition: `${CLUSTER}-${HEALTHY}`, desiredCount: 1, launchType: 'EC2' });
  await ecs('UpdateService', { cluster: CLUSTER, service: HEALTHY, desiredCount: 1 });
  await ecs('CreateService', { cluster: CLUSTER, serviceName: FAILED, taskDefinition: `${CLUSTER}-${FAILED}`, desiredCount: 2, launchType: 'EC2' });
  seeded = true;
  const times = metricTimes(Date.now());
  for (const service of [HEALTHY, FAILED]) {
    const dims = [
      { Name: 'ClusterName', Value: CLUSTER },
      { Name: 'ServiceName', Value: service },
    ];
    const data = times.flatMap((t, i) => [
      { MetricName: 'CPUUtilization', Dimensions: dims, Timestamp: t, Value: 20 + i, Unit: 'Percent' },
      { MetricName: 'MemoryUtilization', Dimensions: dims, Timestamp: t, Value: 50 + i, Unit: 'Percent' },
    ]);
    await motoCall('monitoring', 'PutMetricData', { Namespace: 'AWS/ECS', MetricData: data });
  }
}

async function unseedMoto() {
  for (const service of [HEALTHY, FAILED]) {
    await ecs('DeleteService', { cluster: CLUSTER, service, force: true }).catch(() => {});
    await ecs('DeregisterTaskDefinition', { taskDefinition: `${CLUSTER}-${service}:1` }).catch(() => {});
  }
  await ecs('DeleteCluster', { cluster: CLUSTER }).catch((e) => console.log(`# could not delete ${CLUSTER}: ${e.message}`));
}

// ---- browser helpers -------------------------------------------------------------------

async function signIn(who) {
  await page.goto(`${stack.base}/sign-in`);
  await page.fill('#email', who.email);
  await page.fill('#password', who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/monitors');
}

async function signOut() {
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.waitForURL('**/sign-in');
}

/** Waits for the response of `method path` that `action` causes; returns its status and JSON body. */
async function answerTo(method, path, action) {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === method && new URL(r.url()).pathname === path),
    action(),
  ]);
  const body = await response.json().catch(() => null);
  return { status: response.status(), body };
}

const ecsNavLink = () => page.locator('nav a[href="/ecs"]');
const accountRows = () => page.locator('tr[data-ecs-account]');
const clusterSection = () => page.locator(`section.ecs-cluster[data-cluster="${CLUSTER}"]`);

/** The ECS page as a non-admin reads it: no refresh, no accounts admin, no setting. */
async function assertReadOnly() {
  assert.equal(await page.getByRole('button', { name: 'Refresh now' }).count(), 0, 'no Refresh now');
  assert.equal(await page.getByRole('button', { name: 'Add account' }).count(), 0, 'no Add account');
  assert.equal(await page.getByRole('heading', { name: 'AWS accounts' }).count(), 0, 'no accounts admin card');
  assert.equal(await page.getByRole('heading', { name: 'Who sees ECS' }).count(), 0, 'no setting card');
  assert.equal(await page.locator('#ecs-account-form').count(), 0, 'no account form');
}

/** The account card of the local account and, once collected, the seeded cluster. */
async function assertSeesAccountAndCluster() {
  await page.getByRole('heading', { name: ACCOUNT_NAME, level: 2 }).waitFor();
  if (collected) {
    await clusterSection().waitFor();
    assert.equal(await clusterSection().locator(`tr[data-service="${HEALTHY}"] .status`).getAttribute('data-status'), 'healthy');
    assert.equal(await clusterSection().locator(`tr[data-service="${FAILED}"] .status`).getAttribute('data-status'), 'failed');
  }
}

describe('ECS page against sentinel serve and moto', { concurrency: false }, () => {
  before(async () => {
    moto = process.env.SENTINEL_TEST_AWS_ENDPOINT;
    assert.ok(moto, 'SENTINEL_TEST_AWS_ENDPOINT (moto) must be set: source the test services first');
    stack = await startStack({
      log: !!process.env.E2E_LOG,
      env: {
        AWS_ENDPOINT_URL: moto,
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_SESSION_TOKEN: '',
        AWS_REGION: REGION,
        AWS_DEFAULT_REGION: REGION,
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    });
    console.log(`# sentinel serve at ${stack.base}; moto at ${moto}; cluster ${CLUSTER}`);
    const reg = await fetch(`${stack.base}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ADMIN),
    });
    assert.ok(reg.ok, await reg.clone().text());
    const session = await reg.json();
    token = session.accessToken;
    csrf = { cookie: reg.headers.getSetCookie().map((c) => c.split(';')[0]).join('; '), 'x-csrf-token': session.csrfToken };
    await apiCall('POST', '/api/users', { ...MONITOR, role: 'monitor' });
    await apiCall('POST', '/api/users', { ...USER, role: 'user' });
    browser = await launchBrowser();
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('response', (r) => {
      const u = new URL(r.url());
      if (r.status() >= 500 || r.status() === 429) {
        unexpectedResponses.push(`${r.status()} ${u.pathname}`);
      }
    });
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
    if (seeded) await unseedMoto();
  });

  // ---- 1. admin: accounts and the setting ---------------------------------------------

  it('shows an admin the empty state with the account form open', async () => {
    await signIn(ADMIN);
    await ecsNavLink().click();
    await page.waitForURL('**/ecs');
    await page.getByRole('heading', { name: 'ECS', level: 1 }).waitFor();
    await page.getByText('No AWS account connected.').waitFor();
    await page.getByRole('heading', { name: 'Connect an AWS account' }).waitFor();
    await page.getByRole('heading', { name: 'Add an AWS account' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Refresh now' }).count(), 0, 'nothing to refresh yet');
    assert.equal(await accountRows().count(), 0);
    // "Add an account" jumps to the open form.
    assert.equal(await page.getByRole('link', { name: 'Add an account' }).getAttribute('href'), '#ecs-account-form');
  });

  it('puts the API field errors next to the region and role ARN fields', async () => {
    const submit = page.locator('#ecs-account-form button[type="submit"]');
    await page.fill('#ecs-new-name', ACCOUNT_NAME);
    await page.fill('#ecs-new-regions', `${REGION}, EU-West`);
    const badRegion = await answerTo('POST', '/api/ecs/accounts', () => submit.click());
    assert.ok([400, 422].includes(badRegion.status), `bad region answered ${badRegion.status}`);
    const regionError = page.locator('#ecs-new-regions-error');
    await regionError.waitFor();
    assert.match(await regionError.textContent(), /^EU-West: .*not an AWS region name/);
    assert.equal(await page.getAttribute('#ecs-new-regions', 'aria-invalid'), 'true');
    assert.equal(await page.locator('#ecs-new-role-error').count(), 0);

    await page.fill('#ecs-new-regions', REGION);
    await page.fill('#ecs-new-role', 'arn:aws:iam::12345:role/too-short-an-account');
    const badRole = await answerTo('POST', '/api/ecs/accounts', () => submit.click());
    assert.ok([400, 422].includes(badRole.status), `bad role ARN answered ${badRole.status}`);
    const roleError = page.locator('#ecs-new-role-error');
    await roleError.waitFor();
    assert.match(await roleError.textContent(), /IAM role ARN/);
    assert.equal(await page.locator('#ecs-new-regions-error').count(), 0, 'the region error is gone');
    assert.equal(await accountRows().count(), 0, 'nothing was added');
  });

  it('adds the local account: listed with "not set" external id', async () => {
    await page.fill('#ecs-new-role', '');
    const created = await answerTo('POST', '/api/ecs/accounts', () => page.locator('#ecs-account-form button[type="submit"]').click());
    assert.equal(created.status, 201);
    assert.equal(created.body.role_arn, null);
    await page.locator('.toast', { hasText: `${ACCOUNT_NAME} added` }).waitFor();
    const row = page.locator(`tr[data-ecs-account="${created.body.id}"]`);
    await row.waitFor();
    const cells = await row.locator('td').allTextContents();
    assert.equal(cells[0], ACCOUNT_NAME);
    assert.equal(cells[1], REGION);
    assert.equal(cells[2], 'Sentinel’s own credentials');
    assert.equal(cells[3], 'not set');
    assert.match(cells[4], /never/);
    // The form closed; the account card says it is not collected yet; Refresh now appears.
    assert.equal(await page.locator('#ecs-account-form').count(), 0);
    await page.getByText('1 account · last collected never', { exact: false }).waitFor();
    await page.getByRole('button', { name: 'Refresh now' }).waitFor();
    const card = page.locator(`article.ecs-account[data-account="${created.body.id}"]`);
    await card.getByText('Not collected yet', { exact: false }).waitFor();
    const listed = await apiCall('GET', '/api/ecs/accounts');
    assert.deepEqual(
      listed.accounts.map((a) => [a.name, a.regions, a.role_arn, a.has_external_id]),
      [[ACCOUNT_NAME, [REGION], null, false]],
    );
  });

  it('edits an account and deletes another', async () => {
    // A second account, through a role with an external id: "set", never shown.
    await page.getByRole('button', { name: 'Add account' }).click();
    await page.getByRole('heading', { name: 'Add an AWS account' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'ecs-new-name', 'the opened form takes the focus');
    const roleArn = 'arn:aws:iam::210987654321:role/sentinel-e2e-read';
    await page.fill('#ecs-new-name', 'Staging');
    await page.fill('#ecs-new-regions', 'eu-west-1 eu-central-1');
    await page.fill('#ecs-new-role', roleArn);
    await page.fill('#ecs-new-external', 'e2e-external-id');
    const created = await answerTo('POST', '/api/ecs/accounts', () => page.locator('#ecs-account-form button[type="submit"]').click());
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.has_external_id, true);
    assert.equal(JSON.stringify(created.body).includes('e2e-external-id'), false, 'the external id is never returned');
    const row = page.locator(`tr[data-ecs-account="${created.body.id}"]`);
    await row.waitFor();
    let cells = await row.locator('td').allTextContents();
    assert.match(cells[0], /^Staging/);
    assert.equal(cells[1], 'eu-west-1, eu-central-1');
    assert.equal(cells[2], roleArn);
    assert.equal(cells[3], 'set');
    assert.equal(await accountRows().count(), 2);

    // Edit: the name and one region; the external id stays (left empty).
    await page.getByRole('button', { name: 'Edit Staging' }).click();
    await page.getByRole('heading', { name: 'Edit Staging' }).waitFor();
    assert.equal(await page.inputValue('#ecs-edit-regions'), 'eu-west-1, eu-central-1');
    assert.equal(await page.inputValue('#ecs-edit-role'), roleArn);
    assert.match(await page.locator('#ecs-edit-external-hint').textContent(), /Currently set/);
    await page.fill('#ecs-edit-name', 'Staging EU');
    await page.fill('#ecs-edit-regions', 'eu-west-1');
    const saved = await answerTo('PUT', `/api/ecs/accounts/${created.body.id}`, () => page.getByRole('button', { name: 'Save account' }).click());
    assert.equal(saved.status, 200, JSON.stringify(saved.body));
    await page.locator('.toast', { hasText: 'Staging EU saved' }).waitFor();
    await row.getByText('Staging EU').waitFor();
    cells = await row.locator('td').allTextContents();
    assert.equal(cells[1], 'eu-west-1');
    assert.equal(cells[3], 'set', 'an edit without an external id keeps it');

    // Delete: two steps.
    await row.getByRole('button', { name: 'Delete', exact: true }).click();
    const deleted = await answerTo('DELETE', `/api/ecs/accounts/${created.body.id}`, () => row.getByRole('button', { name: 'Delete Staging EU' }).click());
    assert.equal(deleted.status, 204);
    await page.locator('.toast', { hasText: 'Staging EU removed' }).waitFor();
    await row.waitFor({ state: 'detached' });
    assert.equal(await accountRows().count(), 1);
    assert.deepEqual(
      (await apiCall('GET', '/api/ecs/accounts')).accounts.map((a) => a.name),
      [ACCOUNT_NAME],
    );
  });

  it('toggles "ECS visible to users"', async () => {
    const box = page.getByRole('checkbox', { name: /ECS visible to users/ });
    await box.waitFor();
    assert.equal(await box.isChecked(), false, 'off by default');
    const on = await answerTo('PUT', '/api/ecs/settings', () => box.click());
    assert.equal(on.status, 200);
    await page.locator('.toast', { hasText: 'Users can now see ECS' }).waitFor();
    assert.equal(await box.isChecked(), true);
    assert.deepEqual(await apiCall('GET', '/api/ecs/settings'), { users_can_view: true });
    // Stays across a reload (it is stored, not page state).
    await page.reload();
    await page.getByRole('checkbox', { name: /ECS visible to users/ }).waitFor();
    assert.equal(await page.getByRole('checkbox', { name: /ECS visible to users/ }).isChecked(), true);
    const off = await answerTo('PUT', '/api/ecs/settings', () => page.getByRole('checkbox', { name: /ECS visible to users/ }).click());
    assert.equal(off.status, 200);
    await page.locator('.toast', { hasText: 'ECS is now hidden from users' }).waitFor();
    assert.equal(await page.getByRole('checkbox', { name: /ECS visible to users/ }).isChecked(), false);
    assert.deepEqual(await apiCall('GET', '/api/ecs/settings'), { users_can_view: false });
  });

  // ---- 2. collection from moto ---------------------------------------------------------

  it('refreshes now: the seeded cluster and its services with health badges', async (t) => {
    await seedMoto();
    const refresh = await answerTo('POST', '/api/ecs/refresh', () => page.getByRole('button', { name: 'Refresh now' }).click());
    assert.equal(refresh.status, 200, JSON.stringify(refresh.body));
    collected = true;
    assert.equal(refresh.body.accounts, 1, JSON.stringify(refresh.body));
    assert.deepEqual(refresh.body.failed_accounts, []);
    assert.ok(refresh.body.services >= 2, `at least the two seeded services: ${JSON.stringify(refresh.body)}`);
    await page.getByText(/^Refreshed 1 account, \d+ services\.$/).waitFor();

    const cluster = clusterSection();
    await cluster.waitFor();
    assert.equal(await cluster.getByRole('heading', { level: 3 }).textContent(), `${CLUSTER} ${REGION}`);
    // Counts of the cluster: dot + figure + word.
    assert.deepEqual(await cluster.locator('.ecs-cluster-head .ecs-count').allTextContents(), ['1 failed', '1 healthy']);
    // Worst first: the failed service is listed before the healthy one.
    assert.deepEqual(await cluster.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.service)), [FAILED, HEALTHY]);
    const failedRow = cluster.locator(`tr[data-service="${FAILED}"]`);
    const healthyRow = cluster.locator(`tr[data-service="${HEALTHY}"]`);
    assert.equal(await failedRow.locator('.status').getAttribute('data-status'), 'failed');
    assert.equal(await failedRow.locator('.status .word').textContent(), 'Failed');
    assert.equal(await failedRow.locator('.reason').textContent(), '0 of 2 tasks running');
    assert.equal(await failedRow.locator('td').nth(2).textContent(), '0 / 2+2 pending');
    assert.equal(await healthyRow.locator('.status').getAttribute('data-status'), 'healthy');
    assert.equal(await healthyRow.locator('.status .word').textContent(), 'Healthy');
    assert.equal(await healthyRow.locator('.reason').count(), 0, 'no reason shown for a healthy service');
    assert.equal(await healthyRow.locator('td').nth(2).textContent(), '1 / 1');
    assert.equal(await healthyRow.locator('code').textContent(), `${CLUSTER}-${HEALTHY}:1`);
    assert.equal(await healthyRow.locator('td.c-launch').textContent(), 'EC2');

    // The account learned its AWS id (moto's testing credentials) and its collection time.
    const accounts = (await apiCall('GET', '/api/ecs/accounts')).accounts;
    awsAccountId = accounts[0].account_id;
    assert.match(awsAccountId ?? '', /^\d{12}$/);
    assert.equal(accounts[0].last_error, null);
    assert.ok(accounts[0].last_collected_at > Date.now() - 120_000);
    const card = page.locator('article.ecs-account', { has: clusterSection() });
    assert.match(await card.locator('.ecs-meta').textContent(), new RegExp(`${awsAccountId}.*last collected just now`));
    await page.locator('.summary', { hasText: 'last collected just now' }).waitFor();
  });

  it('filters by health (in the URL) and by search', async (t) => {
    assert.ok(collected, 'the refresh test collected from moto');
    const filters = page.getByRole('group', { name: 'Filter by health' });
    await filters.getByRole('button', { name: /^Failed/ }).click();
    await page.waitForURL((u) => new URL(u).searchParams.get('health') === 'failed');
    const cluster = clusterSection();
    await cluster.locator(`tr[data-service="${HEALTHY}"]`).waitFor({ state: 'detached' });
    assert.deepEqual(await cluster.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.service)), [FAILED]);
    assert.equal(await filters.getByRole('button', { name: /^Failed/ }).getAttribute('aria-pressed'), 'true');
    // Every row left on the page is failed.
    const statuses = await page.locator('.ecs-services tbody .status').evaluateAll((els) => els.map((e) => e.dataset.status));
    assert.ok(statuses.length >= 1 && statuses.every((s) => s === 'failed'), statuses.join(','));

    await filters.getByRole('button', { name: /^Healthy/ }).click();
    await page.waitForURL((u) => new URL(u).searchParams.get('health') === 'healthy');
    await cluster.locator(`tr[data-service="${FAILED}"]`).waitFor({ state: 'detached' });
    assert.deepEqual(await cluster.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.service)), [HEALTHY]);

    // The filter survives a reload (it is in the query string); "All" clears it.
    await page.reload();
    await cluster.locator(`tr[data-service="${HEALTHY}"]`).waitFor();
    assert.equal(await cluster.locator(`tr[data-service="${FAILED}"]`).count(), 0);
    await page.getByRole('group', { name: 'Filter by health' }).getByRole('button', { name: /^All/ }).click();
    await page.waitForURL((u) => !new URL(u).searchParams.has('health'));
    await cluster.locator(`tr[data-service="${FAILED}"]`).waitFor();

    // Search narrows to the seeded cluster (moto's account may hold other tests' clusters).
    await page.fill('input.ecs-search', CLUSTER);
    await page.waitForURL((u) => new URL(u).searchParams.get('q') === CLUSTER);
    assert.deepEqual(await page.locator('section.ecs-cluster').evaluateAll((els) => els.map((e) => e.dataset.cluster)), [CLUSTER]);
    await page.fill('input.ecs-search', `${CLUSTER} no-such-service`);
    await page.getByText('No service matches these filters.').waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.waitForURL((u) => !new URL(u).searchParams.has('q'));
    await cluster.waitFor();
  });

  it('opens a service: counts, deployments, events, CPU and memory charts', async (t) => {
    assert.ok(collected, 'the refresh test collected from moto');
    const details = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/ecs/service-details' && r.ok());
    await clusterSection().locator(`tr[data-service="${HEALTHY}"] a.ecs-service-name`).click();
    await page.waitForURL('**/ecs/service?**');
    const url = new URL(page.url());
    assert.deepEqual(Object.fromEntries(url.searchParams), { account: awsAccountId, region: REGION, cluster: CLUSTER, service: HEALTHY });
    const body = await (await details).json();
    assert.equal(body.range, '24h');
    await page.getByRole('heading', { name: HEALTHY, level: 1 }).waitFor();
    assert.equal(await page.locator('.title-line .status').getAttribute('data-status'), 'healthy');
    assert.match(await page.locator('.subline').textContent(), new RegExp(`cluster ${CLUSTER} · ${REGION} · account ${awsAccountId} · EC2 · active · collected just now`));
    const stats = await page.locator('.ecs-stats .stat').evaluateAll((els) =>
      els.map((e) => [e.querySelector('.stat-label').textContent, e.querySelector('.stat-value').textContent]),
    );
    assert.deepEqual(stats, [
      ['Running', '1 of 1'],
      ['Desired', '1'],
      ['Pending', '0'],
      ['Task definition', `${CLUSTER}-${HEALTHY}:1`],
    ]);

    // Deployments: what the API returned, primary first, each with a progress bar.
    const deployments = page.locator('li.ecs-deployment');
    assert.ok(body.service.deployments.length >= 1);
    assert.equal(await deployments.count(), body.service.deployments.length);
    const primary = body.service.deployments.find((d) => d.status === 'PRIMARY');
    assert.equal(await deployments.first().getAttribute('data-deployment'), primary.id);
    assert.equal(await deployments.first().locator('.pill').first().textContent(), 'primary');
    const bar = deployments.first().locator('[role="progressbar"]');
    assert.equal(await bar.getAttribute('aria-valuetext'), `${primary.running_count} of ${primary.desired_count} running${primary.pending_count ? ` · ${primary.pending_count} pending` : ''}`);

    // Events: as many as the API has (moto records none: the empty message then).
    const eventsCard = page.locator('.card', { has: page.getByRole('heading', { name: 'Events', level: 2 }) });
    await eventsCard.waitFor();
    if (body.service.events.length === 0) {
      await eventsCard.getByText('No service events.').waitFor();
    } else {
      assert.equal(await eventsCard.locator('li[data-event]').count(), Math.min(25, body.service.events.length));
    }

    // CPU and memory: the seeded datapoints, drawn on a canvas, with a text summary.
    assert.ok(body.cpu.length >= 10, `cpu points: ${body.cpu.length}`);
    assert.ok(body.memory.length >= 10, `memory points: ${body.memory.length}`);
    for (const metric of ['cpu', 'memory']) {
      const panel = page.locator(`.ecs-usage[data-metric="${metric}"]`);
      await panel.locator('canvas').first().waitFor();
      const label = await panel.locator('.chart-host[role="img"]').getAttribute('aria-label');
      assert.match(label, /utilisation over the last 24 hours: latest average \d+\.\d %, highest maximum \d+\.\d %$/);
      const box = await panel.locator('canvas').first().boundingBox();
      assert.ok(box.width > 100 && box.height > 100, `${metric} canvas ${JSON.stringify(box)}`);
    }
    const peakCpu = Math.max(...body.cpu.map((p) => p.maximum));
    assert.match(await page.locator('.ecs-usage[data-metric="cpu"] h3').textContent(), new RegExp(`peak ${peakCpu.toFixed(1)} %`));
  });

  it('switches the chart range 1h / 24h / 7d (in the URL)', async (t) => {
    assert.ok(collected, 'the refresh test collected from moto');
    const range = page.getByRole('group', { name: 'Chart range' });
    const pick = async (r) => {
      const resp = page.waitForResponse((x) => {
        const u = new URL(x.url());
        return u.pathname === '/api/ecs/service-details' && u.searchParams.get('range') === r && x.ok();
      });
      await range.getByRole('button', { name: r, exact: true }).click();
      const body = await (await resp).json();
      await page.waitForURL((u) => (new URL(u).searchParams.get('range') ?? '24h') === r);
      assert.equal(await range.getByRole('button', { name: r, exact: true }).getAttribute('aria-pressed'), 'true');
      return body;
    };
    const hour = await pick('1h');
    assert.equal(new URL(page.url()).searchParams.get('range'), '1h');
    const since = Date.now() - 3_600_000 - 60_000;
    assert.ok(hour.cpu.length >= 1, 'points within the hour');
    assert.ok(hour.cpu.every((p) => p.at >= since), 'the 1h range holds the last hour only');
    await page.locator('.ecs-usage[data-metric="cpu"] .chart-host[aria-label*="over the last hour"]').waitFor();
    const week = await pick('7d');
    assert.equal(new URL(page.url()).searchParams.get('range'), '7d');
    await page.locator('.ecs-usage[data-metric="cpu"] .chart-host[aria-label*="over the last 7 days"]').waitFor();
    assert.ok(week.cpu.length > hour.cpu.length, `7d (${week.cpu.length}) holds the older points too (1h: ${hour.cpu.length})`);
    await pick('24h');
    assert.equal(new URL(page.url()).searchParams.has('range'), false, '24h is the default: no range in the URL');
    await page.locator('.ecs-usage[data-metric="memory"] canvas').first().waitFor();
    // The range in a link opens that range.
    await page.goto(`${page.url()}&range=1h`);
    await page.locator('.ecs-usage[data-metric="cpu"] .chart-host[aria-label*="over the last hour"]').waitFor();
    assert.equal(await page.getByRole('group', { name: 'Chart range' }).getByRole('button', { name: '1h', exact: true }).getAttribute('aria-pressed'), 'true');
    // The failed service's page says why.
    await page.goto(`${stack.base}/ecs/service?account=${awsAccountId}&region=${REGION}&cluster=${CLUSTER}&service=${FAILED}`);
    await page.getByRole('heading', { name: FAILED, level: 1 }).waitFor();
    await page.getByText('Failed: 0 of 2 tasks running').waitFor();
  });

  // ---- 3. roles --------------------------------------------------------------------------

  it('shows a monitor user the page read-only', async () => {
    await page.goto(`${stack.base}/ecs`);
    await signOut();
    await signIn(MONITOR);
    assert.equal(await page.locator('.usermenu .role').textContent(), 'monitor');
    await ecsNavLink().click();
    await page.waitForURL('**/ecs');
    await assertSeesAccountAndCluster();
    await assertReadOnly();
    // The API refuses what the buttons would do.
    const login = await (await fetch(`${stack.base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(MONITOR) })).json();
    const refused = await fetch(`${stack.base}/api/ecs/refresh`, { method: 'POST', headers: { authorization: `Bearer ${login.accessToken}` } });
    assert.equal(refused.status, 403);
    await signOut();
  });

  it('tells a user to ask an admin until the setting is on, then shows the clusters', async () => {
    await signIn(USER);
    assert.equal(await page.locator('.usermenu .role').textContent(), 'user');
    assert.equal(await ecsNavLink().count(), 0, 'no ECS entry while hidden');
    await page.goto(`${stack.base}/ecs`);
    await page.getByText('An admin has not made the ECS view visible to users. Ask an admin if you need it.').waitFor();
    assert.equal(await page.getByRole('heading', { name: ACCOUNT_NAME }).count(), 0);
    await assertReadOnly();

    // The admin opens ECS to users (from the API: this browser is the user's).
    await apiCall('PUT', '/api/ecs/settings', { users_can_view: true });
    await page.reload();
    await assertSeesAccountAndCluster();
    await assertReadOnly();
    await ecsNavLink().waitFor();
    assert.equal(await page.getByText('Ask an admin if you need it.').count(), 0);
  });

  it('had no page errors and no server errors', () => {
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(unexpectedResponses, []);
  });
});
