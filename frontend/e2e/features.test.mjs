// End-to-end, second story: the monitor-detail features and forms the first story
// (dashboard.test.mjs) does not walk through. Its own `sentinel serve` (default rate
// limits, `ca-file` trusting a throwaway CA), an HTTP target, an HTTPS target with a
// certificate from that CA, and a local Slack/Discord stand-in.
// Keyboard: sign in, open a monitor and run "Check now" with Tab/Enter only.
// Monitor detail: the four uptime figures equal GET /api/metrics/{id}/stats; chart zoom;
// TLS expiry; the phase breakdown; a failing condition with its actual value.
// Pause/resume; editing a monitor (PATCH); email/Slack/Discord channels; WCAG contrast.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, launchBrowser, startStack, startTarget, startTlsTarget } from './harness.mjs';

const ADMIN = { email: 'keys@example.com', password: 'only the keyboard today' };
const TRANSITION_MS = 45_000;
const PERIODS = ['24h', '7d', '30d', '90d'];

let stack;
let target;
let tls;
let browser;
let page;
let hooks;
let token;
let csrf = {};
const pageErrors = [];
const unexpectedResponses = [];

/** Same rounding as src/format.ts pct(). */
function pct(value, digits = 2) {
  if (value == null || !Number.isFinite(value)) return '—';
  if (value >= 100) return '100 %';
  const factor = 10 ** digits;
  let shown = Math.round(value * factor) / factor;
  if (shown >= 100 && value < 100) shown = Math.floor(value * factor) / factor;
  return `${shown.toFixed(digits)} %`;
}

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

async function startHookReceiver() {
  const port = await freePort();
  const received = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ path: req.url, body });
      res.writeHead(204);
      res.end();
    });
  });
  server.listen(port, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { base: `http://127.0.0.1:${port}`, received, stop: () => new Promise((r) => server.close(r)) };
}

/** Tab (at most `max` times) until the focused element matches; asserts it shows a focus ring. */
async function tabTo(matches, max = 60) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const hit = await page.evaluate(matches);
    if (hit) {
      const ring = await page.evaluate(() => {
        const el = document.activeElement;
        const s = getComputedStyle(el);
        return { visible: el.matches(':focus-visible'), style: s.outlineStyle, width: parseFloat(s.outlineWidth) };
      });
      assert.ok(ring.visible && ring.style !== 'none' && ring.width >= 2, `visible focus ring: ${JSON.stringify(ring)}`);
      return;
    }
  }
  throw new Error(`no focusable element matched within ${max} Tab presses`);
}

/**
 * WCAG 2 contrast of every visible text element (status words, body text, buttons, links,
 * headings, table cells) against its composited background; returns the failures.
 */
function contrastFailures() {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 1;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const rgba = (c) => {
    ctx.clearRect(0, 0, 1, 1);
    ctx.fillStyle = '#000';
    ctx.fillStyle = c;
    ctx.fillRect(0, 0, 1, 1);
    const [r, g, b, a] = ctx.getImageData(0, 0, 1, 1).data;
    return [r, g, b, a / 255];
  };
  const over = (top, under) => {
    const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + under[i] * (1 - a)).concat(1);
  };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      const c = rgba(s.backgroundColor);
      const o = parseFloat(s.opacity);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1 && o >= 1) break;
    }
    let bg = [255, 255, 255, 1];
    for (const l of layers.reverse()) bg = over(l, bg);
    return bg;
  };
  const lum = ([r, g, b]) => {
    const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const ratio = (a, b) => {
    const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const failures = [];
  let checked = 0;
  const sel = '.status .word, p, li, td, th, dt, dd, label, a, button, .btn, h1, h2, h3, .muted, .stat-label, .stat-value, .pill, .tag, code, span';
  for (const el of document.querySelectorAll(sel)) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.closest('.visually-hidden, [aria-hidden="true"], .uplot, .skip') || el.matches(':disabled')) continue;
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    if (!r.width || !r.height || s.visibility === 'hidden' || parseFloat(s.opacity) === 0) continue;
    const bg = background(el);
    const fg = over(rgba(s.color), bg);
    const size = parseFloat(s.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700);
    const need = large ? 3 : 4.5;
    const got = ratio(fg, bg);
    checked++;
    if (got < need) failures.push(`${el.tagName.toLowerCase()}.${el.className} "${el.textContent.trim().slice(0, 30)}" ${got.toFixed(2)} < ${need} (${s.color} on rgb(${bg.slice(0, 3).map(Math.round)}))`);
  }
  return { checked, failures };
}

describe('monitor detail, forms and accessibility against sentinel serve', { concurrency: false }, () => {
  before(async () => {
    target = await startTarget();
    tls = await startTlsTarget({ days: 60 });
    hooks = await startHookReceiver();
    stack = await startStack({ log: !!process.env.E2E_LOG, caFile: tls.caFile });
    // The account and three monitors come from the API; the browser signs in with the keyboard.
    const reg = await fetch(`${stack.base}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ADMIN),
    });
    assert.ok(reg.ok, await reg.clone().text());
    const session = await reg.json();
    token = session.accessToken;
    // Writes with a session need the CSRF cookie and header, as the browser sends them.
    csrf = { cookie: reg.headers.getSetCookie().map((c) => c.split(';')[0]).join('; '), 'x-csrf-token': session.csrfToken };
    const base = { interval: '10s', failure_threshold: 1 };
    await apiCall('POST', '/api/monitors', { ...base, name: 'Orders API', url: target.url, conditions: ['[STATUS] == 200'] });
    await apiCall('POST', '/api/monitors', { ...base, name: 'Secure API', public: true, url: tls.url, conditions: ['[STATUS] == 200'] });
    await apiCall('POST', '/api/monitors', { ...base, name: 'Wants Created', url: target.url, conditions: ['[STATUS] == 201'] });
    browser = await launchBrowser();
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('response', (r) => {
      if (r.status() >= 500 || r.status() === 429) unexpectedResponses.push(`${r.status()} ${new URL(r.url()).pathname}`);
    });
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
    await target?.stop();
    await tls?.stop();
    await hooks?.stop();
  });

  it('keyboard only: signs in, opens a monitor and runs "Check now", with a visible focus ring', async () => {
    await page.goto(`${stack.base}/sign-in`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'email');
    await page.keyboard.type(ADMIN.email);
    await tabTo(() => document.activeElement?.id === 'password');
    await page.keyboard.type(ADMIN.password);
    await page.keyboard.press('Enter');
    await page.waitForURL('**/monitors');
    await page.locator('.mrow[data-monitor="orders-api"]').waitFor();
    await tabTo(() => document.activeElement?.matches('.mrow[data-monitor="orders-api"] a.mname') ?? false);
    await page.keyboard.press('Enter');
    await page.waitForURL('**/monitors/orders-api');
    await page.getByRole('heading', { name: 'Orders API', level: 1 }).waitFor();
    await tabTo(() => document.activeElement?.tagName === 'BUTTON' && document.activeElement.textContent.trim() === 'Check now');
    await page.keyboard.press('Enter');
    const outcome = page.locator('.card', { has: page.getByRole('heading', { name: 'Check now' }) });
    await outcome.locator('.status[data-status="up"]').waitFor();
    assert.match(await outcome.textContent(), /HTTP 200/);
  });

  it('shows the 24h / 7d / 30d / 90d uptime figures the stats API reports', async () => {
    await page.locator('.title-line .status[data-status="up"]').waitFor({ timeout: TRANSITION_MS });
    await page.reload(); // the uptime cards load with the status; read them after the first check
    const cards = page.locator('.uptime-cards .stat');
    await page.waitForFunction(() => {
      const values = [...document.querySelectorAll('.uptime-cards .stat-value')];
      return values.length === 4 && values.every((e) => e.textContent !== '…');
    });
    assert.equal(await cards.count(), 4);
    for (const [i, p] of PERIODS.entries()) {
      const card = cards.nth(i);
      assert.equal((await card.locator('.stat-label').textContent()).trim(), `Uptime ${p}`);
      const stats = await apiCall('GET', `/api/metrics/orders-api/stats?period=${p}`);
      assert.equal((await card.locator('.stat-value').textContent()).trim(), pct(stats.uptime_pct), `uptime ${p}`);
      assert.match(await card.locator('.stat-sub').textContent(), /\d+ checks · \d+ incidents?/);
    }
  });

  it('zooms the chart by dragging across it, and back with a double-click', async () => {
    // Three checks give the 24 h view three points to zoom between.
    for (let i = 0; i < 40; i++) {
      const s = await apiCall('GET', '/api/metrics/orders-api/stats?period=24h');
      if (s.checks >= 3) break;
      await page.waitForTimeout(1000);
    }
    await page.reload();
    const hostEl = page.locator('.chart-host[data-x-range]');
    await hostEl.waitFor();
    const range = async () => (await hostEl.getAttribute('data-x-range')).split(',').map(Number);
    const [min0, max0] = await range();
    assert.ok(max0 > min0, 'the chart spans some time');
    const over = page.locator('.uplot .u-over');
    const box = await over.boundingBox();
    const y = box.y + box.height / 2;
    await page.mouse.move(box.x + box.width * 0.3, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, y, { steps: 5 });
    await page.mouse.move(box.x + box.width * 0.7, y, { steps: 5 });
    await page.mouse.up();
    await page.getByRole('button', { name: 'Reset zoom' }).waitFor();
    const [min1, max1] = await range();
    assert.ok(min1 > min0 && max1 < max0, `zoomed in: ${min1}–${max1} within ${min0}–${max0}`);
    await over.dblclick({ position: { x: box.width / 2, y: box.height / 2 } });
    await page.getByRole('button', { name: 'Reset zoom' }).waitFor({ state: 'detached' });
    const [min2, max2] = await range();
    assert.ok(min2 <= min0 + 1 && max2 >= max0 - 1, `zoomed out: ${min2}–${max2}`);
  });

  it('shows the TLS expiry of an HTTPS target and the phase breakdown of its checks', async () => {
    await page.goto(`${stack.base}/monitors/secure-api`);
    await page.locator('.title-line .status[data-status="up"]').waitFor({ timeout: TRANSITION_MS });
    const card = page.locator('.card', { has: page.getByRole('heading', { name: 'TLS certificate' }) });
    const cert = card.locator('p.cert.cert-ok');
    await cert.waitFor();
    // The certificate was issued for 60 days a moment ago.
    assert.match(await cert.textContent(), /Expires in (59|60) d\b/);
    const row = page.locator('table.checks tbody tr.ok').first();
    await row.waitFor();
    assert.equal((await row.locator('td.num').first().textContent()).trim(), '200');
    const phases = await row.locator('.timing-text').textContent();
    assert.match(phases, /connect [\d.]+ (ms|s) · TLS [\d.]+ (ms|s) · first byte [\d.]+ (ms|s)/);
  });

  it('shows a failing condition with its actual value in the recent checks', async () => {
    await page.goto(`${stack.base}/monitors/wants-created`);
    await page.locator('.title-line .status[data-status="down"]').waitFor({ timeout: TRANSITION_MS });
    const row = page.locator('table.checks tbody tr.failed').first();
    await row.waitFor();
    const cell = row.locator('.fail-cell');
    assert.equal((await cell.locator('code').first().textContent()).trim(), '[STATUS] == 201');
    assert.equal((await cell.locator('.actual code').textContent()).trim(), '200');
    // The plain-HTTP breakdown: connect and first byte, no TLS.
    assert.match(await row.locator('.timing-text').textContent(), /connect .* first byte/);
    assert.doesNotMatch(await row.locator('.timing-text').textContent(), /TLS/);
  });

  it('pauses and resumes a monitor', async () => {
    const word = page.locator('.title-line .status .word');
    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    await page.getByRole('button', { name: 'Resume', exact: true }).waitFor();
    assert.equal((await word.textContent()).trim(), 'Paused');
    let m = await apiCall('GET', '/api/monitors/wants-created');
    assert.equal(m.paused, true);
    assert.equal(m.status, 'paused');
    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    await page.getByRole('button', { name: 'Pause', exact: true }).waitFor();
    assert.notEqual((await word.textContent()).trim(), 'Paused');
    m = await apiCall('GET', '/api/monitors/wants-created');
    assert.equal(m.paused, false);
    // The status itself follows once the scheduler has the change (at most an interval).
    for (let i = 0; i < 30 && m.status === 'paused'; i++) {
      await page.waitForTimeout(1000);
      m = await apiCall('GET', '/api/monitors/wants-created');
    }
    assert.notEqual(m.status, 'paused');
  });

  it('edits a monitor: an inline field error, then a saved name and interval', async () => {
    await page.goto(`${stack.base}/monitors/orders-api`);
    await page.getByRole('link', { name: 'Edit', exact: true }).click();
    await page.waitForURL('**/monitors/orders-api/edit');
    await page.getByRole('heading', { name: 'Edit Orders API' }).waitFor();
    assert.equal(await page.locator('#f-name').inputValue(), 'Orders API');
    await page.fill('#f-interval', '5s');
    await page.getByRole('button', { name: 'Save changes' }).click();
    const err = page.locator('#f-interval-error');
    await err.waitFor();
    assert.match(await err.textContent(), /between 10s and 24h/);
    assert.equal(await page.locator('#f-interval').getAttribute('aria-invalid'), 'true');
    await page.fill('#f-name', 'Orders API v2');
    await page.fill('#f-interval', '30s');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.waitForURL('**/monitors/orders-api');
    await page.getByRole('heading', { name: 'Orders API v2', level: 1 }).waitFor();
    assert.match(await page.locator('.subline.muted').textContent(), /every 30s/);
    const m = await apiCall('GET', '/api/monitors/orders-api');
    assert.equal(m.name, 'Orders API v2');
    assert.ok(m.interval === '30s' || m.interval === 30, `interval ${m.interval}`);
  });

  it('adds email, Slack and Discord channels, and sends a test email to the outbox', async () => {
    await page.getByRole('link', { name: 'Alert channels' }).click();
    await page.waitForURL('**/channels');
    const add = async (type, name, fill) => {
      await page.getByRole('button', { name: 'New channel' }).click();
      await page.selectOption('#c-type', type);
      await page.fill('#c-name', name);
      await fill();
      await page.getByRole('button', { name: 'Add channel' }).click();
    };
    await add('email', 'oncall-mail', () => page.fill('#c-to', 'oncall@example.com, lead@example.com'));
    const mail = page.locator('.channel[data-channel="oncall-mail"]');
    await mail.waitFor();
    assert.match(await mail.textContent(), /oncall@example\.com, lead@example\.com/);
    // Slack: a URL that is not http(s) gets an inline error; a local stand-in is accepted.
    await add('slack', 'team-slack', () => page.fill('#c-url', 'ftp://hooks.slack.com/services/T/B/X'));
    await page.locator('#c-url-error').waitFor();
    assert.equal(await page.locator('#c-url').getAttribute('aria-invalid'), 'true');
    await page.fill('#c-url', `${hooks.base}/services/T000/B000/XXXX`);
    await page.getByRole('button', { name: 'Add channel' }).click();
    const slack = page.locator('.channel[data-channel="team-slack"]');
    await slack.waitFor();
    assert.match(await slack.textContent(), /slack/);
    assert.doesNotMatch(await slack.textContent(), /XXXX/, 'the webhook token is masked');
    await add('discord', 'team-discord', () => page.fill('#c-url', `${hooks.base}/api/webhooks/1/abc`));
    const discord = page.locator('.channel[data-channel="team-discord"]');
    await discord.waitFor();
    assert.match(await discord.textContent(), /discord/);
    const list = await apiCall('GET', '/api/alert-channels');
    const types = (list.channels ?? list).map((c) => `${c.name}:${c.type}`).sort();
    assert.deepEqual(types, ['oncall-mail:email', 'team-discord:discord', 'team-slack:slack']);
    // Send test: the email lands in <data>/outbox, the Slack one at the stand-in.
    await mail.getByRole('button', { name: 'Send test' }).click();
    await mail.getByText('Test alert delivered').waitFor();
    const outbox = path.join(stack.sentinel.dir, 'data', 'outbox');
    const mails = existsSync(outbox) ? readdirSync(outbox).filter((f) => f.endsWith('.eml')) : [];
    const texts = mails.map((f) => readFileSync(path.join(outbox, f), 'utf8'));
    assert.ok(
      texts.some((t) => t.includes('oncall@example.com') && t.includes('lead@example.com')),
      `a test mail to both recipients in ${outbox}: ${mails}`,
    );
    await slack.getByRole('button', { name: 'Send test' }).click();
    await slack.getByText('Test alert delivered').waitFor();
    assert.ok(hooks.received.some((r) => r.path === '/services/T000/B000/XXXX'), 'the Slack stand-in got the test');
  });

  for (const scheme of ['light', 'dark']) {
    it(`has WCAG AA text contrast on the main pages (${scheme})`, async () => {
      await page.emulateMedia({ colorScheme: scheme });
      const report = [];
      const pages = [
        ['/monitors', '.mrow[data-monitor="wants-created"] .status .word'],
        ['/monitors/wants-created', 'table.checks tbody tr'],
        ['/monitors/secure-api', 'p.cert'],
        ['/channels', '.channel[data-channel="oncall-mail"]'],
        ['/status', '.status-list li'],
      ];
      for (const [url, ready] of pages) {
        await page.goto(`${stack.base}${url}`);
        await page.locator(ready).first().waitFor();
        await page.waitForTimeout(200);
        const { checked, failures } = await page.evaluate(contrastFailures);
        assert.ok(checked >= 5, `${url}: checked ${checked} elements`);
        for (const f of failures) report.push(`${url}: ${f}`);
      }
      await page.emulateMedia({ colorScheme: 'light' });
      assert.deepEqual(report, []);
    });
  }

  it('raised no script errors and no server errors', () => {
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(unexpectedResponses, []);
  });
});
