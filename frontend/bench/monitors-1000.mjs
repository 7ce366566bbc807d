// Render time of the monitors page with 1,000 monitors, in headless Chromium, against a
// real `sentinel serve` seeded through the API with an API key.
//
//   npm run build && SENTINEL_BIN=../target/release/sentinel node bench/monitors-1000.mjs
//
// Figures (median of RUNS page loads):
//   render   data in hand (the /api/monitors answer parsed) → rows painted: what the
//            dashboard itself costs. Budget 300 ms.
//   to rows  navigation start → rows painted, including the API answer and JS start-up.
//   api      GET /api/monitors with 1,000 monitors, measured from node.
//   filter   click "Paused" → the filtered rows painted; then back to "All".
//   scroll   the longest frame while scrolling the whole list.
import { launchBrowser, sleep, startStack, startTarget } from '../e2e/harness.mjs';

const N = Number(process.env.MONITORS ?? 1000);
const RUNS = Number(process.env.RUNS ?? 5);
const EMAIL = 'bench@example.com';
const PASSWORD = 'bench passphrase 1000';

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function seed(base, targetUrl) {
  const reg = await fetch(`${base}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
  });
  if (!reg.ok) throw new Error(`register: ${reg.status} ${await reg.text()}`);
  const session = await reg.json();
  const csrf = session.csrfToken;
  const keyRes = await fetch(`${base}/api/api-keys`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${session.accessToken}`,
      'x-csrf-token': csrf,
      cookie: `sentinel_csrf=${csrf}`,
    },
    body: JSON.stringify({ name: 'bench seeding', scope: 'write' }),
  });
  if (!keyRes.ok) throw new Error(`api key: ${keyRes.status} ${await keyRes.text()}`);
  const { key } = await keyRes.json();
  const tags = ['production', 'staging', 'payments', 'search', 'internal'];
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < N) {
      const i = next++;
      const body = {
        name: `Service ${String(i + 1).padStart(4, '0')} ${tags[i % tags.length]}`,
        url: `${targetUrl}?service=${i}`,
        interval: '10m',
        tags: [tags[i % tags.length]],
        paused: i % 10 === 9,
      };
      const r = await fetch(`${base}/api/monitors`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key },
        body: JSON.stringify(body),
      });
      if (r.status !== 201) throw new Error(`create ${i}: ${r.status} ${await r.text()}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return { key, seedMs: performance.now() - started };
}

const target = await startTarget();
// Seeding creates N monitors with one API key, more than a key's default allowance
// (RATE_LIMIT_MAX_REQUESTS, 100 per 15 min): lift it for this throwaway server only.
const stack = await startStack({ env: { RATE_LIMIT_MAX_REQUESTS: String(Math.max(1000, N * 2)) } });
let browser;
try {
  const { key, seedMs } = await seed(stack.sentinel.base, target.url);
  console.log(`seeded ${N} monitors through the API in ${(seedMs / 1000).toFixed(1)} s`);

  const apiTimes = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const r = await fetch(`${stack.sentinel.base}/api/monitors`, { headers: { 'x-api-key': key } });
    const list = await r.json();
    apiTimes.push(performance.now() - t);
    if (list.monitors.length !== N) throw new Error(`expected ${N} monitors, got ${list.monitors.length}`);
  }

  browser = await launchBrowser();
  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  await page.goto(`${stack.base}/sign-in`);
  await page.fill('#email', EMAIL);
  await page.fill('#password', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL('**/monitors');
  await page.locator('.mrow[data-monitor]').first().waitFor({ timeout: 60_000 });

  const renders = [];
  const toRows = [];
  let domRows = 0;
  for (let i = 0; i < RUNS; i++) {
    await page.goto(`${stack.base}/monitors`);
    await page.waitForFunction(() => performance.getEntriesByName('sentinel:monitors-rendered').length > 0, null, { timeout: 60_000 });
    const m = await page.evaluate(() => {
      const data = performance.getEntriesByName('sentinel:monitors-data')[0].startTime;
      const rendered = performance.getEntriesByName('sentinel:monitors-rendered')[0].startTime;
      return { render: rendered - data, toRows: rendered, rows: document.querySelectorAll('.mbody .mrow').length };
    });
    renders.push(m.render);
    toRows.push(m.toRows);
    domRows = m.rows;
  }
  const total = await page.locator('.mtable').getAttribute('aria-rowcount');

  // Filter: "Paused" (100 monitors) and back to all 1,000.
  const filterTimes = [];
  for (const label of ['Paused', 'All']) {
    filterTimes.push(
      await page.evaluate(async (label) => {
        const button = [...document.querySelectorAll('.filters .segmented button')].find((b) => b.textContent.trim().startsWith(label));
        const t = performance.now();
        button.click();
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        return performance.now() - t;
      }, label),
    );
  }

  // Scroll the whole list and record the longest frame.
  const scroll = await page.evaluate(async () => {
    const frames = [];
    let last = performance.now();
    let running = true;
    const tick = (now) => {
      frames.push(now - last);
      last = now;
      if (running) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    const max = document.documentElement.scrollHeight - innerHeight;
    for (let y = 0; y <= max; y += 400) {
      window.scrollTo(0, y);
      await new Promise((r) => requestAnimationFrame(r));
    }
    running = false;
    const sorted = frames.slice(1).sort((a, b) => a - b);
    return { frames: sorted.length, max: sorted[sorted.length - 1], p95: sorted[Math.floor(sorted.length * 0.95)] };
  });
  await sleep(500);
  const sparkRequests = await page.evaluate(
    () => performance.getEntriesByType('resource').filter((e) => e.name.includes('/series')).length,
  );

  console.log(`monitors in the list: ${total - 1}; rows in the DOM at a time: ${domRows}`);
  console.log(`api      GET /api/monitors (${N}): median ${median(apiTimes).toFixed(0)} ms over ${RUNS}`);
  console.log(`render   data → rows painted: median ${median(renders).toFixed(1)} ms (runs: ${renders.map((x) => x.toFixed(1)).join(', ')})`);
  console.log(`to rows  navigation → rows painted: median ${median(toRows).toFixed(0)} ms`);
  console.log(`filter   Paused: ${filterTimes[0].toFixed(1)} ms, back to All: ${filterTimes[1].toFixed(1)} ms`);
  console.log(`scroll   ${scroll.frames} frames through ${N} rows: p95 ${scroll.p95.toFixed(1)} ms, longest ${scroll.max.toFixed(1)} ms`);
  console.log(`sparklines fetched lazily: ${sparkRequests} series requests after scrolling the whole list`);
  console.log(`MONITORS_1000_RENDER_MS=${median(renders).toFixed(1)} (budget 300 ms: ${median(renders) <= 300 ? 'within' : 'OVER'})`);
} finally {
  await browser?.close();
  await stack.stop();
  await target.stop();
}
