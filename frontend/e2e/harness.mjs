// Test harness: a real `sentinel serve` on a free port with a temp data dir, serving the
// freshly built dashboard itself (SENTINEL_DASHBOARD_DIR, so the test never depends on
// what was embedded at compile time); a local target HTTP server that can be stopped and
// restarted; headless Chromium.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const frontendDir = path.resolve(here, '..');
export const distDir = path.resolve(process.env.SENTINEL_DASHBOARD_DIR ?? path.join(frontendDir, 'dist'));

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

/**
 * An HTTPS health endpoint on 127.0.0.1 with a certificate (SAN IP:127.0.0.1, valid
 * `days`) issued by a throwaway CA made with openssl; `caFile` is that CA's PEM, for
 * sentinel's `server.ca-file`.
 */
export async function startTlsTarget({ days = 60 } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sentinel-tls-'));
  const f = (n) => path.join(dir, n);
  const run = (args) => execFileSync('openssl', args, { stdio: 'pipe' });
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '365', '-subj', '/CN=Sentinel e2e CA']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('leaf.key'), '-out', f('leaf.csr'), '-subj', '/CN=127.0.0.1']);
  writeFileSync(f('leaf.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n');
  run(['x509', '-req', '-in', f('leaf.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('leaf.pem'), '-days', String(days), '-extfile', f('leaf.ext')]);
  const port = await freePort();
  const server = https.createServer({ key: readFileSync(f('leaf.key')), cert: readFileSync(f('leaf.pem')) }, (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'UP' }));
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return {
    port,
    url: `https://127.0.0.1:${port}/health`,
    caFile: f('ca.pem'),
    async stop() {
      server.closeAllConnections?.();
      await new Promise((r) => server.close(r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- sentinel serve --------------------------------------------------------------------

export function sentinelBin() {
  const bin = path.resolve(frontendDir, process.env.SENTINEL_BIN ?? '../target/debug/sentinel');
  if (!existsSync(bin)) {
    throw new Error(`sentinel binary not found at ${bin}: build it (cargo build -p sentinel-server) or set SENTINEL_BIN`);
  }
  return bin;
}

export async function startSentinel({ env = {}, log = false, caFile = null } = {}) {
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
      ...(caFile ? [`  ca-file: ${caFile}`] : []),
      'monitors: []',
      '',
    ].join('\n'),
  );
  const logFile = path.join(dir, 'sentinel.log');
  const child = spawn(bin, ['serve', '--config', config], {
    env: {
      ...process.env,
      RUST_LOG: process.env.RUST_LOG ?? 'warn',
      // Rate limits stay at their defaults (100 anonymous requests per IP, 1,000 per
      // signed-in user, per 15 min) unless a caller passes its own in `env`.
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

/** Checks that sentinel serves the dashboard at `/` from `distDir` (HTML, SPA fallback). */
export async function assertServesDashboard(base) {
  const r = await fetch(`${base}/monitors`, { headers: { accept: 'text/html' } });
  const body = await r.text();
  const type = r.headers.get('content-type') ?? '';
  if (!r.ok || !type.includes('text/html') || !body.includes('/assets/')) {
    throw new Error(`sentinel serve does not serve the dashboard from ${distDir} at / (GET /monitors: ${r.status} ${type}); a binary with dashboard serving is needed`);
  }
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

/** Everything the e2e tests and benches need, torn down by `stop()`. `env` goes to sentinel. */
export async function startStack({ log = false, env = {}, caFile = null } = {}) {
  if (!existsSync(path.join(distDir, 'index.html'))) throw new Error(`${distDir}/index.html missing: run npm run build first`);
  const sentinel = await startSentinel({ log, env, caFile });
  try {
    await assertServesDashboard(sentinel.base);
  } catch (e) {
    await sentinel.stop();
    throw e;
  }
  return {
    sentinel,
    base: sentinel.base,
    stop: () => sentinel.stop(),
  };
}
