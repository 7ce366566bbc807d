// Test harness: a real `sentinel serve` on a free port with a temp data dir, a local
// target HTTP server that can be stopped and restarted, headless Chromium, and (only
// when the binary does not serve the dashboard itself) a tiny static server with SPA
// fallback that proxies /api and /health to sentinel.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const frontendDir = path.resolve(here, '..');
export const distDir = process.env.SENTINEL_DASHBOARD_DIR ?? path.join(frontendDir, 'dist');

export const CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export async function freePort() {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// ---- the monitored target ------------------------------------------------------------

/** A JSON health endpoint on 127.0.0.1 that can be stopped (connection refused) and restarted on the same port. */
export async function startTarget() {
  const port = await freePort();
  let server = null;
  const sockets = new Set();
  const handler = (req, res) => {
    if (req.url.startsWith('/health')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'UP', version: '1.0.0' }));
    } else {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    }
  };
  const target = {
    port,
    url: `http://127.0.0.1:${port}/health`,
    get up() {
      return server !== null;
    },
    async start() {
      if (server) return;
      server = http.createServer(handler);
      server.on('connection', (s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    },
    async stop() {
      if (!server) return;
      const s = server;
      server = null;
      for (const sock of sockets) sock.destroy();
      await new Promise((r) => s.close(r));
    },
  };
  await target.start();
  return target;
}

// ---- sentinel serve --------------------------------------------------------------------

export function sentinelBin() {
  const bin = path.resolve(frontendDir, process.env.SENTINEL_BIN ?? '../target/debug/sentinel');
  if (!existsSync(bin)) {
    throw new Error(`sentinel binary not found at ${bin}: build it (cargo build -p sentinel-server) or set SENTINEL_BIN`);
  }
  return bin;
}

export async function startSentinel({ env = {}, log = false } = {}) {
  const bin = sentinelBin();
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'sentinel-e2e-'));
  const config = path.join(dir, 'sentinel.yaml');
  writeFileSync(
    config,
    [
      '# written by frontend/e2e/harness.mjs',
      'server:',
      `  listen: 127.0.0.1:${port}`,
      `  data: ${path.join(dir, 'data')}`,
      '  allow-private: true',
      'monitors: []',
      '',
    ].join('\n'),
  );
  const logFile = path.join(dir, 'sentinel.log');
  const child = spawn(bin, ['serve', '--config', config], {
    env: {
      ...process.env,
      RUST_LOG: process.env.RUST_LOG ?? 'warn',
      // The whole suite runs from one IP: lift the per-IP limit (default 100 / 15 min).
      RATE_LIMIT_MAX_REQUESTS: '1000000',
      SENTINEL_DASHBOARD_DIR: distDir,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (d) => {
    output += d;
    if (log) process.stderr.write(d);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sentinel exited (${child.exitCode}):\n${output}`);
    try {
      const r = await fetch(`${base}/health`);
      if (r.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`sentinel did not answer /health within 30 s:\n${output}`);
    await sleep(100);
  }
  return {
    port,
    base,
    dir,
    output: () => output,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await Promise.race([once(child, 'exit'), sleep(5000)]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      writeFileSync(logFile, output);
      if (!process.env.KEEP_TMP) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Whether sentinel itself serves the dashboard at `/` (HTML, SPA fallback). */
export async function servesDashboard(base) {
  try {
    const r = await fetch(`${base}/monitors`, { headers: { accept: 'text/html' } });
    return r.ok && (r.headers.get('content-type') ?? '').includes('text/html');
  } catch {
    return false;
  }
}

// ---- fallback static server ----------------------------------------------------------------

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/** Serves dist/ with SPA fallback; /api and /health go to `upstream`. */
export async function startStaticProxy(upstreamPort) {
  const port = await freePort();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname.startsWith('/api/') || url.pathname === '/health') {
      const up = http.request(
        { host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers },
        (ur) => {
          res.writeHead(ur.statusCode, ur.headers);
          ur.pipe(res);
        },
      );
      up.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      req.pipe(up);
      return;
    }
    let file = path.join(distDir, decodeURIComponent(url.pathname));
    if (!file.startsWith(distDir) || !existsSync(file) || statSync(file).isDirectory()) file = path.join(distDir, 'index.html');
    const ext = path.extname(file);
    const headers = { 'content-type': TYPES[ext] ?? 'application/octet-stream', 'content-security-policy': CSP };
    headers['cache-control'] = file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache';
    res.writeHead(200, headers);
    res.end(readFileSync(file));
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return { port, base: `http://127.0.0.1:${port}`, stop: () => new Promise((r) => server.close(r)) };
}

// ---- browser -------------------------------------------------------------------------------

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Chromium with a fresh --user-data-dir (a persistent context on a new temp dir). */
export async function launchBrowser(options = {}) {
  const { chromium } = await import('playwright-core');
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
  const profile = mkdtempSync(path.join(tmpdir(), 'sentinel-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 860 },
    ...options,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Everything the e2e tests and benches need, torn down by `stop()`. */
export async function startStack({ log = false } = {}) {
  if (!existsSync(path.join(distDir, 'index.html'))) throw new Error(`${distDir}/index.html missing: run npm run build first`);
  const sentinel = await startSentinel({ log });
  let proxy = null;
  let base = sentinel.base;
  const direct = await servesDashboard(sentinel.base);
  if (!direct) {
    proxy = await startStaticProxy(sentinel.port);
    base = proxy.base;
  }
  return {
    sentinel,
    base,
    direct,
    async stop() {
      await proxy?.stop();
      await sentinel.stop();
    },
  };
}
