// End-to-end: the built dashboard against a real `sentinel serve`, in headless Chromium.
// One story, in order: register → create a monitor → up → target stops → down with an
// incident → target back → recovered; channels, keys, users; sign out everywhere; the
// public status page with its 90-day bars and badges without a session; a read-only
// `monitor` user sees no edit buttons. `sentinel serve` serves the freshly built dist/
// itself (SENTINEL_DASHBOARD_DIR), with the default rate limits.
// Screenshots of the main pages go to $SCREENSHOTS_DIR (default e2e/out/screenshots).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { distDir, freePort, frontendDir, launchBrowser, startStack, startTarget } from './harness.mjs';

const SHOTS = process.env.SCREENSHOTS_DIR ?? path.join(frontendDir, 'e2e', 'out', 'screenshots');
const ADMIN = { email: 'admin@example.com', password: 'correct horse battery staple' };
const VIEWER = { email: 'viewer@example.com', password: 'read only but curious' };
// A status change needs one check (interval 10 s, the minimum) and one refresh of the
// page (it polls at the monitor's interval): allow for both, and then some.
const TRANSITION_MS = 45_000;

let stack;
let target;
let browser;
let page;
let receiver;
const pageErrors = [];
const unexpectedResponses = [];
const seriesBodies = [];
const rateLimitLow = {}; // limit → fewest requests left seen by the browser

async function shot(name, opts = {}) {
  if (opts.fullPage) await page.evaluate(() => window.scrollTo(0, 0)); // keep the sticky bar on top
  await page.waitForTimeout(150); // let charts and sparklines paint
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: opts.fullPage ?? false });
}

/** A local webhook receiver standing in for a third party. */
async function startReceiver() {
  const port = await freePort();
  const received = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204);
      res.end();
    });
  });
  server.listen(port, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { url: `http://127.0.0.1:${port}/hook`, received, stop: () => new Promise((r) => server.close(r)) };
}

/** 90 daily bars, today's with checks in it, each with a tooltip, and a summary in words for screen readers. */
async function assertDayBars(scope) {
  const bars = scope.locator('.daybars .bars[role="img"]');
  await bars.waitFor();
  assert.equal(await bars.locator('.bar').count(), 90);
  const label = await bars.getAttribute('aria-label');
  // The target was down for a while today, so today is below 99.9 % and named.
  assert.match(label, /^90-day uptime \d+(\.\d+)? %; \d+ days? below 99\.9 %, lowest \d{1,2} \w{3} \d{4} \d+(\.\d+)? %/);
  const titles = await bars.locator('.bar').evaluateAll((els) => els.map((e) => e.getAttribute('title')));
  for (const t of titles) assert.match(t, /^\d{1,2} \w{3} \d{4}: (\d+(\.\d+)? % of \d+ checks?|no data)$/);
  assert.match(titles[89], / % of \d+ checks$/, `today has checks: ${titles[89]}`);
  assert.ok(!(await bars.locator('.bar').last().getAttribute('class')).includes('bar-none'));
}

describe('dashboard against sentinel serve', { concurrency: false }, () => {
  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    target = await startTarget();
    receiver = await startReceiver();
    stack = await startStack({ log: !!process.env.E2E_LOG });
    console.log(`# sentinel serve at ${stack.base}, dashboard from ${distDir}`);
    browser = await launchBrowser();
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('response', (r) => {
      const u = new URL(r.url());
      if (r.status() >= 500 || r.status() === 429) unexpectedResponses.push(`${r.status()} ${u.pathname}`);
      const limit = r.headers()['ratelimit-limit'];
      const left = Number(r.headers()['ratelimit-remaining']);
      if (limit && !(rateLimitLow[limit] <= left)) rateLimitLow[limit] = left;
      if (/^\/api\/metrics\/[^/]+\/series$/.test(u.pathname) && r.ok()) seriesBodies.push(r.json().catch(() => null));
    });
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
    await target?.stop();
    await receiver?.stop();
  });

  it('sends a visitor without a session to sign in', async () => {
    await page.goto(`${stack.base}/monitors`);
    await page.waitForURL('**/sign-in?next=%2Fmonitors');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    // Keyboard: the first Tab stop is the form's email field (autofocused), and the page has labels.
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'email');
    await shot('sign-in');
  });

  it('registers the first account, which becomes the admin', async () => {
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.waitForURL('**/register');
    await page.fill('#email', ADMIN.email);
    await page.fill('#password', 'short');
    await page.fill('#confirm', 'short');
    await page.getByRole('button', { name: 'Create account' }).click();
    // The API's field error appears next to the password field.
    await page.locator('#password-error').waitFor();
    await page.fill('#password', ADMIN.password);
    await page.fill('#confirm', ADMIN.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL('**/monitors');
    await page.getByText('Watch your first endpoint').waitFor();
    assert.equal(await page.locator('.usermenu .role').textContent(), 'admin');
  });

  it('shows field-level validation errors from the API inline', async () => {
    await page.getByRole('link', { name: 'New monitor' }).first().click();
    await page.waitForURL('**/monitors/new');
    await page.fill('#f-name', 'Checkout API');
    await page.fill('#f-url', target.url);
    await page.fill('#f-interval', '2s');
    await page.locator('#f-conditions-0-').fill('[STAUS] == 200');
    await page.getByRole('button', { name: 'Create monitor' }).click();
    const intervalError = page.locator('#f-interval-error');
    await intervalError.waitFor();
    assert.match(await intervalError.textContent(), /between 10s and 24h/);
    assert.equal(await page.locator('#f-interval').getAttribute('aria-invalid'), 'true');
    assert.match(await page.locator('#f-conditions-0--error').textContent(), /STAUS/);
    await shot('monitor-form-errors', { fullPage: true });
  });

  it('tests the monitor before saving, then creates it', async () => {
    await page.fill('#f-interval', '10s');
    await page.fill('#f-failure_threshold', '1');
    await page.locator('#f-conditions-0-').fill('[STATUS] == 200');
    await page.locator('.examples summary').click();
    await page.getByRole('button', { name: '[BODY].status == UP' }).click();
    await page.locator('label.check', { hasText: 'Public' }).locator('input').check();
    await page.fill('#f-tags', 'production, payments');
    await page.getByRole('button', { name: 'Test now' }).click();
    const result = page.locator('.test-result');
    await result.waitFor();
    await result.locator('.status[data-status="up"]').waitFor();
    assert.equal(await result.locator('.conditions li.pass').count(), 2);
    assert.match(await result.textContent(), /actual:\s*UP/);
    await shot('monitor-form-test', { fullPage: true });
    await page.getByRole('button', { name: 'Create monitor' }).click();
    await page.waitForURL('**/monitors/checkout-api');
  });

  it('is served by sentinel itself: deep links load the app, unknown API paths stay JSON 404s', async () => {
    // A fresh navigation straight to a dashboard route (nothing in memory), then a reload.
    await page.goto(`${stack.base}/monitors/checkout-api`);
    await page.getByRole('heading', { name: 'Checkout API', exact: true, level: 1 }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Checkout API', exact: true, level: 1 }).waitFor();
    assert.match(page.url(), /\/monitors\/checkout-api$/);
    // The same from outside the browser: index.html (no-cache) for routes, immutable hashed assets.
    const deep = await fetch(`${stack.base}/monitors/checkout-api`);
    assert.equal(deep.status, 200);
    assert.match(deep.headers.get('content-type'), /^text\/html/);
    assert.equal(deep.headers.get('cache-control'), 'no-cache');
    assert.match(deep.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    const html = await deep.text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(asset, 'index.html loads a hashed script');
    assert.equal(html, readFileSync(path.join(distDir, 'index.html'), 'utf8'), 'served from the fresh build');
    const js = await fetch(`${stack.base}${asset}`);
    assert.equal(js.status, 200);
    assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.match(js.headers.get('content-type'), /javascript/);
    const missingAsset = await fetch(`${stack.base}/assets/nope-0000.js`);
    assert.equal(missingAsset.status, 404, 'a missing file is not answered with index.html');
    const nope = await fetch(`${stack.base}/api/nope`);
    assert.equal(nope.status, 404);
    assert.match(nope.headers.get('content-type'), /application\/json/);
    assert.equal(typeof (await nope.json()).error?.code, 'string');
  });

  it('sees the monitor go up', async () => {
    await page.locator('.title-line .status[data-status="up"]').waitFor({ timeout: TRANSITION_MS });
    await page.locator('table.checks tbody tr.ok').first().waitFor();
    // The session survives a reload: the access token is in memory, the refresh cookie is not.
    await page.reload();
    await page.locator('.title-line .status[data-status="up"]').waitFor();
    assert.match(page.url(), /\/monitors\/checkout-api$/);
  });

  it('sees it go down with an incident when the target stops', async () => {
    await target.stop();
    await page.locator('.title-line .status[data-status="down"]').waitFor({ timeout: TRANSITION_MS });
    const incident = page.locator('.incident-open');
    await incident.waitFor();
    assert.match(await incident.textContent(), /Ongoing outage/);
    // The failing check shows what failed (connection refused) with its breakdown.
    const failed = page.locator('table.checks tbody tr.failed').first();
    await failed.waitFor();
    assert.match(await failed.locator('.fail-cell').textContent(), /refused|connect/i);
    await shot('monitor-down', { fullPage: true });
  });

  it('sees it recover when the target is back, and the incident resolved', async () => {
    await target.start();
    await page.locator('.title-line .status[data-status="up"]').waitFor({ timeout: TRANSITION_MS });
    await page.locator('.incident-closed').first().waitFor();
    assert.equal(await page.locator('.incident-open').count(), 0);
    assert.match(await page.locator('.incident-closed').first().textContent(), /Resolved/);
  });

  it('runs a check on demand and shows its breakdown', async () => {
    await page.getByRole('button', { name: 'Check now' }).click();
    const outcome = page.locator('.card', { has: page.getByRole('heading', { name: 'Check now' }) });
    await outcome.locator('.status[data-status="up"]').waitFor();
    assert.match(await outcome.textContent(), /HTTP 200/);
    assert.match(await outcome.textContent(), /connect/);
    await page.getByRole('button', { name: 'Close' }).click();
  });

  it('renders badges and their embed snippets', async () => {
    const badges = page.locator('#badges');
    await badges.scrollIntoViewIfNeeded();
    const img = badges.locator('img.badge-live');
    await img.waitFor();
    await page.waitForFunction(() => {
      const i = document.querySelector('#badges img.badge-live');
      return i instanceof HTMLImageElement && i.complete && i.naturalWidth > 0;
    });
    const md = await page.locator('#badge-snippet').inputValue();
    assert.match(md, /^\[!\[Checkout API status\]\(http:\/\/127\.0\.0\.1:\d+\/api\/public\/monitors\/checkout-api\/badge\.svg\)\]/);
    await page.getByRole('button', { name: 'HTML' }).click();
    assert.match(await page.locator('#badge-snippet').inputValue(), /^<a href=".*\/status\/checkout-api"><img src=/);
    const svg = await fetch(`${stack.base}/api/public/monitors/checkout-api/badge.svg`);
    assert.equal(svg.status, 200);
    assert.match(svg.headers.get('content-type'), /image\/svg\+xml/);
  });

  it('exports the checks as CSV', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
    const file = await download.path();
    const csv = readFileSync(file, 'utf8');
    assert.ok(csv.split('\n').length > 2, 'CSV has a header and rows');
    await page.getByText(/checks exported/).waitFor();
    // The response-time chart draws p50 and p95 (the average is there, off by default).
    // Reload first: the chart refreshes once a minute, and the screenshot should show every check so far.
    await page.reload();
    await page.locator('.uplot').waitFor();
    const legend = (await page.locator('.u-legend .u-series .u-label').allTextContents()).map((t) => t.trim());
    for (const label of ['p50', 'p95', 'Average']) assert.ok(legend.includes(label), `legend has ${label}: ${legend}`);
    const series = (await Promise.all(seriesBodies)).filter(Boolean);
    const points = series.flatMap((b) => b.points).filter((p) => p.checks > 0);
    assert.ok(points.length > 0, 'the chart had data');
    assert.ok(points.every((p) => typeof p.p50_ms === 'number' && typeof p.p95_ms === 'number'), 'points carry p50_ms and p95_ms');
    await shot('monitor-detail', { fullPage: true });
  });

  it('lists the monitor with status word, uptime, response time and a sparkline', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Monitors' }).click();
    await page.waitForURL('**/monitors');
    const row = page.locator('.mrow[data-monitor="checkout-api"]');
    await row.waitFor();
    assert.equal((await row.locator('.status .word').textContent()).trim(), 'Up');
    assert.match(await row.locator('.c-uptime').textContent(), /%/);
    assert.match(await row.locator('.c-resp').textContent(), /ms/);
    await row.locator('canvas.spark').waitFor();
    // Filters: "Down" hides it, the tag keeps it.
    await page.getByRole('button', { name: /^Down/ }).click();
    await page.getByText('No monitor matches these filters.').waitFor();
    await page.getByRole('button', { name: /^All/ }).click();
    await page.selectOption('select:near(:text("Tag"))', 'payments');
    await row.waitFor();
    await page.selectOption('select:near(:text("Tag"))', '');
    await shot('monitors');
  });

  it('adds an alert channel and sends a test through it', async () => {
    await page.getByRole('link', { name: 'Alert channels' }).click();
    await page.getByRole('button', { name: 'New channel' }).click();
    await page.selectOption('#c-type', 'webhook');
    await page.fill('#c-name', 'ops-hook');
    await page.fill('#c-url', receiver.url);
    await page.fill('#c-secret', 'short');
    await page.getByRole('button', { name: 'Add channel' }).click();
    await page.locator('#c-secret-error').waitFor();
    await page.fill('#c-secret', 'a-signing-secret-of-some-length');
    await page.getByRole('button', { name: 'Add channel' }).click();
    const item = page.locator('.channel[data-channel="ops-hook"]');
    await item.waitFor();
    await item.getByRole('button', { name: 'Send test' }).click();
    await item.getByText('Test alert delivered').waitFor();
    assert.equal(receiver.received.length, 1);
    assert.match(receiver.received[0].headers['x-sentinel-signature'], /^sha256=[0-9a-f]{64}$/);
    await shot('alert-channels');
  });

  it('creates an API key shown once, and revokes it', async () => {
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.fill('#k-name', 'CI smoke test');
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = await page.locator('#new-key').inputValue();
    assert.match(key, /^snt_/);
    // The key works against the API.
    const r = await fetch(`${stack.sentinel.base}/api/monitors`, { headers: { 'x-api-key': key } });
    assert.equal(r.status, 200);
    await shot('api-keys');
    await page.getByRole('button', { name: 'I have copied it' }).click();
    const row = page.locator('tr[data-key="CI smoke test"]');
    await row.getByRole('button', { name: 'Revoke' }).click();
    await row.getByRole('button', { name: 'Revoke key' }).click();
    await row.waitFor({ state: 'detached' });
    const after = await fetch(`${stack.sentinel.base}/api/monitors`, { headers: { 'x-api-key': key } });
    assert.equal(after.status, 401);
  });

  it('lets the admin add a read-only monitor-role user', async () => {
    await page.getByRole('link', { name: 'Users' }).click();
    await page.fill('#u-email', VIEWER.email);
    await page.fill('#u-password', VIEWER.password);
    await page.selectOption('#u-role', 'monitor');
    await page.getByRole('button', { name: 'Add user' }).click();
    const row = page.locator(`tr[data-user="${VIEWER.email}"]`);
    await row.waitFor();
    assert.equal(await row.locator('select').inputValue(), 'monitor');
    await shot('admin-users');
  });

  it('changes the password from the profile', async () => {
    await page.getByRole('link', { name: /admin@example.com/ }).click();
    await page.fill('#p-current', 'not my password');
    await page.fill('#p-new', 'another long passphrase');
    await page.fill('#p-confirm', 'another long passphrase');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.locator('#p-current-error').waitFor();
    await page.fill('#p-current', ADMIN.password);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('Password changed.').waitFor();
    ADMIN.password = 'another long passphrase';
    await page.locator('.toast').first().waitFor({ state: 'detached', timeout: 10_000 }); // earlier pages' toasts
    await shot('profile', { fullPage: true });
  });

  it('signs out', async () => {
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL('**/sign-in');
    await page.goto(`${stack.base}/monitors`);
    await page.waitForURL('**/sign-in?next=%2Fmonitors');
  });

  it('signs out everywhere: another device can no longer renew its session', async () => {
    // "Another device": a session opened from node, with its own refresh cookie.
    const login = await fetch(`${stack.base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ADMIN),
    });
    assert.equal(login.status, 200);
    const other = await login.json();
    const cookie = login.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    assert.match(cookie, /sentinel_refresh=/);
    const refreshOther = () =>
      fetch(`${stack.base}/api/auth/refresh`, { method: 'POST', headers: { cookie, 'x-csrf-token': other.csrfToken } });
    // This browser signs in again and ends every session from the profile page.
    await page.fill('#email', ADMIN.email);
    await page.fill('#password', ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/monitors');
    await page.getByRole('link', { name: /admin@example.com/ }).click();
    const card = page.getByRole('group', { name: 'Sign out everywhere' });
    assert.match(await card.textContent(), /15 minutes/);
    await card.getByRole('button', { name: 'Sign out everywhere' }).click();
    await card.getByRole('button', { name: 'Sign out all sessions' }).click();
    await page.waitForURL('**/sign-in');
    await page.getByText('Signed out everywhere.').waitFor();
    // This browser's cookie is gone: a reload of a private page asks for sign-in.
    await page.goto(`${stack.base}/monitors`);
    await page.waitForURL('**/sign-in?next=%2Fmonitors');
    // The other device's refresh token is revoked; its access token lives out its 15 min.
    assert.equal((await refreshOther()).status, 401);
    const stillValid = await fetch(`${stack.base}/api/auth/me`, { headers: { authorization: `Bearer ${other.accessToken}` } });
    assert.equal(stillValid.status, 200);
  });

  it('shows the public status page without a session, with daily bars', async () => {
    await page.goto(`${stack.base}/status`);
    await page.locator('.overall[data-overall="up"]').waitFor();
    const item = page.locator('.status-list li[data-monitor="checkout-api"]');
    await item.waitFor();
    assert.equal((await item.locator('.status .word').textContent()).trim(), 'Up');
    await assertDayBars(item);
    // No URL leaks on the public page.
    assert.ok(!(await page.content()).includes(`127.0.0.1:${target.port}`));
    await shot('status-page');
    await item.getByRole('link', { name: 'Checkout API' }).click();
    await page.waitForURL('**/status/checkout-api');
    await assertDayBars(page.locator('.status-page .card').first());
    await page.waitForFunction(() => {
      const i = document.querySelector('img.badge-live');
      return i instanceof HTMLImageElement && i.complete && i.naturalWidth > 0;
    });
    await shot('status-monitor');
  });

  it('resets a forgotten password through the mailed link', async () => {
    await page.goto(`${stack.base}/sign-in`);
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.fill('#email', VIEWER.email);
    await page.getByRole('button', { name: 'Send the link' }).click();
    await page.getByText('is on its way').waitFor();
    // Without SMTP the mail lands in <data>/outbox/*.eml.
    const outbox = path.join(stack.sentinel.dir, 'data', 'outbox');
    let token = null;
    for (let i = 0; i < 50 && !token; i++) {
      const files = existsSync(outbox) ? readdirSync(outbox).filter((f) => f.endsWith('.eml')) : [];
      for (const f of files) {
        const text = readFileSync(path.join(outbox, f), 'utf8').replace(/=\r?\n/g, '').replace(/=3D/g, '=');
        const m = /reset-password\?token=([A-Za-z0-9_-]+)/.exec(text);
        if (m && text.includes(VIEWER.email)) token = m[1];
      }
      if (!token) await page.waitForTimeout(100);
    }
    assert.ok(token, 'a reset mail with a link');
    await page.goto(`${stack.base}/reset-password?token=${token}`);
    VIEWER.password = 'a brand new passphrase';
    await page.fill('#new-password', VIEWER.password);
    await page.fill('#confirm', VIEWER.password);
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await page.getByText('Your password is changed').waitFor();
    // The link works once.
    await page.goto(`${stack.base}/reset-password?token=${token}`);
    await page.getByText('This link is invalid, expired or already used.').waitFor();
  });

  it('shows a monitor-role user no edit buttons', async () => {
    await page.goto(`${stack.base}/sign-in`);
    await page.fill('#email', VIEWER.email);
    await page.fill('#password', VIEWER.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/monitors');
    await page.locator('.mrow[data-monitor="checkout-api"]').waitFor();
    assert.equal(await page.locator('.usermenu .role').textContent(), 'monitor');
    assert.equal(await page.getByRole('link', { name: 'New monitor' }).count(), 0);
    assert.equal(await page.getByRole('link', { name: 'Users' }).count(), 0);
    await page.getByRole('link', { name: 'Checkout API' }).click();
    await page.waitForURL('**/monitors/checkout-api');
    await page.locator('.title-line .status').waitFor();
    await page.getByRole('heading', { name: 'Recent checks' }).waitFor();
    for (const name of ['Check now', 'Pause', 'Resume', 'Delete']) {
      assert.equal(await page.getByRole('button', { name, exact: true }).count(), 0, `no ${name} button`);
    }
    assert.equal(await page.getByRole('link', { name: 'Edit', exact: true }).count(), 0, 'no Edit link');
    await shot('monitor-readonly', { fullPage: true });
    await page.getByRole('link', { name: 'Alert channels' }).click();
    await page.locator('.channel[data-channel="ops-hook"]').waitFor();
    assert.equal(await page.getByRole('button', { name: 'New channel' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Send test' }).count(), 0);
  });

  it('follows the system dark mode and fits a phone', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${stack.base}/monitors`);
    await page.locator('.mrow[data-monitor="checkout-api"] canvas.spark').waitFor();
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.notEqual(bg, 'rgb(246, 247, 249)');
    await shot('monitors-dark');
    await page.getByRole('link', { name: 'Checkout API' }).click();
    await page.locator('.uplot').waitFor();
    await shot('monitor-detail-dark', { fullPage: true });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${stack.base}/monitors`);
    await page.locator('.mrow[data-monitor="checkout-api"]').waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
    assert.equal(overflow, false, 'no horizontal scrolling on a phone');
    await shot('monitors-phone');
    await page.goto(`${stack.base}/status`);
    await page.locator('.status-list li .bars[role="img"]').first().waitFor();
    const phoneOverflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
    assert.equal(phoneOverflow, false, 'the 90 bars fit a phone');
    await shot('status-page-phone');
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  it('raised no script errors and no server errors', () => {
    // With the default limits: how close the browser came (anonymous per IP: 100, per user: 1000).
    console.log(`# rate limit headroom (limit: fewest left) ${JSON.stringify(rateLimitLow)}`);
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(unexpectedResponses, []);
  });
});
