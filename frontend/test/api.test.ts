import { describe, expect, it } from 'vitest';
import { ApiError, Client, errorFrom, readCookie, withQuery } from '../src/api';

interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}) {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

const session = (token: string, role = 'admin') => ({
  accessToken: token,
  tokenType: 'Bearer',
  expiresIn: 900,
  csrfToken: 'csrf-from-body',
  user: { id: 'u_1', email: 'a@example.com', role, disabled: false, createdAt: 1, updatedAt: 1 },
});

/** A fake server: `routes` answers by "METHOD path"; every call is recorded. */
function fake(routes: Record<string, (c: Call) => Response | Promise<Response>>, cookies = 'sentinel_csrf=csrf-cookie') {
  const calls: Call[] = [];
  const fetchFn = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const c: Call = {
      url: String(input),
      method: init?.method ?? 'GET',
      headers: (init?.headers ?? {}) as Record<string, string>,
      body: init?.body as string | undefined,
    };
    calls.push(c);
    const path = c.url.split('?')[0];
    const handler = routes[`${c.method} ${path}`];
    if (!handler) return json(404, { error: { code: 'not_found', message: 'no such route' } });
    return handler(c);
  }) as typeof fetch;
  let jar = cookies;
  const client = new Client({ fetch: fetchFn, cookies: () => jar });
  return { client, calls, setCookies: (c: string) => (jar = c) };
}

describe('helpers', () => {
  it('reads one cookie among many', () => {
    expect(readCookie('a=1; sentinel_csrf=abc%3D; b=2', 'sentinel_csrf')).toBe('abc=');
    expect(readCookie('a=1', 'sentinel_csrf')).toBeNull();
    expect(readCookie('', 'x')).toBeNull();
  });
  it('drops empty query values', () => {
    expect(withQuery('/api/monitors', { status: 'down', tag: '', x: undefined })).toBe('/api/monitors?status=down');
    expect(withQuery('/api/monitors', {})).toBe('/api/monitors');
  });
});

describe('errors', () => {
  it('keep code, message, field and every field error', async () => {
    const e = await errorFrom(
      json(400, {
        error: {
          code: 'invalid_input',
          message: 'interval: must be between 10s and 24h',
          field: 'interval',
          fields: [
            { field: 'interval', message: 'must be between 10s and 24h' },
            { field: 'conditions[1]', message: 'unknown placeholder [STAUS]' },
          ],
        },
      }),
    );
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(400);
    expect(e.code).toBe('invalid_input');
    expect(e.byField()).toEqual({ interval: 'must be between 10s and 24h', 'conditions[1]': 'unknown placeholder [STAUS]' });
  });
  it('survive bodies that are not ours', async () => {
    const e = await errorFrom(new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }));
    expect(e.code).toBe('http_502');
    expect(e.message).toBe('Bad Gateway');
  });
  it('carry Retry-After on 429', async () => {
    const e = await errorFrom(json(429, { error: { code: 'rate_limited', message: 'too many requests; retry in 7s' } }, { 'retry-after': '7' }));
    expect(e.retryAfter).toBe(7);
  });
});

describe('Client', () => {
  it('signs in, keeps the token in memory and sends it as a Bearer', async () => {
    const { client, calls } = fake({
      'POST /api/auth/login': () => json(200, session('t1')),
      'GET /api/monitors': () => json(200, { monitors: [] }),
    });
    const user = await client.login('a@example.com', 'pw');
    expect(user.role).toBe('admin');
    expect(await client.monitors()).toEqual([]);
    expect(calls[0].headers.authorization).toBeUndefined();
    expect(calls[1].headers.authorization).toBe('Bearer t1');
    expect(JSON.parse(calls[0].body!)).toEqual({ email: 'a@example.com', password: 'pw' });
  });

  it('sends the CSRF cookie on state-changing requests only', async () => {
    const { client, calls } = fake({
      'POST /api/auth/login': () => json(200, session('t1')),
      'POST /api/monitors/web/pause': () => json(200, { id: 'web' }),
      'GET /api/monitors/web': () => json(200, { id: 'web' }),
    });
    await client.login('a@example.com', 'pw');
    await client.pause('web');
    await client.monitor('web');
    expect(calls[1].headers['x-csrf-token']).toBe('csrf-cookie');
    expect(calls[2].headers['x-csrf-token']).toBeUndefined();
  });

  it('falls back to the CSRF token of the session answer when the cookie is unreadable', async () => {
    const { client, calls } = fake(
      {
        'POST /api/auth/login': () => json(200, session('t1')),
        'DELETE /api/api-keys/k1': () => new Response(null, { status: 204 }),
      },
      '',
    );
    await client.login('a@example.com', 'pw');
    await client.revokeKey('k1');
    expect(calls[1].headers['x-csrf-token']).toBe('csrf-from-body');
  });

  it('refreshes once on 401 and retries with the new token', async () => {
    let n = 0;
    const { client, calls } = fake({
      'POST /api/auth/login': () => json(200, session('old')),
      'GET /api/monitors': (c) =>
        c.headers.authorization === 'Bearer new'
          ? json(200, { monitors: [{ id: 'web' }] })
          : json(401, { error: { code: 'unauthorized', message: 'token expired' } }),
      'POST /api/auth/refresh': () => (n++, json(200, session('new'))),
    });
    await client.login('a@example.com', 'pw');
    const list = await client.monitors();
    expect(list).toEqual([{ id: 'web' }]);
    expect(n).toBe(1);
    const refresh = calls.find((c) => c.url === '/api/auth/refresh')!;
    expect(refresh.headers['x-csrf-token']).toBe('csrf-cookie');
    expect(refresh.headers.authorization).toBeUndefined();
  });

  it('shares one refresh between concurrent 401s (the refresh token rotates)', async () => {
    let refreshes = 0;
    const { client } = fake({
      'POST /api/auth/login': () => json(200, session('old')),
      'GET /api/monitors/a': (c) => (c.headers.authorization === 'Bearer new' ? json(200, { id: 'a' }) : json(401, { error: { code: 'unauthorized', message: 'x' } })),
      'GET /api/monitors/b': (c) => (c.headers.authorization === 'Bearer new' ? json(200, { id: 'b' }) : json(401, { error: { code: 'unauthorized', message: 'x' } })),
      'POST /api/auth/refresh': async () => {
        refreshes++;
        await new Promise((r) => setTimeout(r, 10));
        return json(200, session('new'));
      },
    });
    await client.login('a@example.com', 'pw');
    const [a, b] = await Promise.all([client.monitor('a'), client.monitor('b')]);
    expect([a.id, b.id]).toEqual(['a', 'b']);
    expect(refreshes).toBe(1);
  });

  it('signs out locally when the refresh is refused', async () => {
    const seen: (string | null)[] = [];
    const { client } = fake({
      'POST /api/auth/login': () => json(200, session('old')),
      'GET /api/auth/me': () => json(401, { error: { code: 'unauthorized', message: 'expired' } }),
      'POST /api/auth/refresh': () => json(401, { error: { code: 'refresh_token_reused', message: 'sign in again' } }),
    });
    client.onUser((u) => seen.push(u?.email ?? null));
    await client.login('a@example.com', 'pw');
    await expect(client.me()).rejects.toMatchObject({ status: 401 });
    expect(client.user).toBeNull();
    expect(client.hasToken()).toBe(false);
    expect(seen).toEqual(['a@example.com', null]);
  });

  it('does not try to refresh without a CSRF token (never signed in here)', async () => {
    const { client, calls } = fake({}, '');
    expect(await client.refresh()).toBe(false);
    expect(calls).toHaveLength(0);
  });

  it('never refreshes on a failed sign-in', async () => {
    const { client, calls } = fake({
      'POST /api/auth/login': () => json(401, { error: { code: 'unauthorized', message: 'invalid email or password' } }),
    });
    await expect(client.login('a@example.com', 'nope')).rejects.toMatchObject({ message: 'invalid email or password' });
    expect(calls.map((c) => c.url)).toEqual(['/api/auth/login']);
  });

  it('signs out through the API and forgets the session even if that fails', async () => {
    const { client, calls } = fake({
      'POST /api/auth/login': () => json(200, session('t1')),
      'POST /api/auth/logout': () => json(503, { error: { code: 'storage_unavailable', message: 'try again' } }),
    });
    await client.login('a@example.com', 'pw');
    await expect(client.logout()).rejects.toBeInstanceOf(ApiError);
    expect(client.user).toBeNull();
    expect(calls[1].headers['x-csrf-token']).toBe('csrf-cookie');
  });

  it('signs out everywhere with the session and the CSRF token, then forgets the session', async () => {
    const { client, calls } = fake({
      'POST /api/auth/login': () => json(200, session('t1')),
      'POST /api/auth/logout-all': () => new Response(null, { status: 204 }),
    });
    await client.login('a@example.com', 'pw');
    await client.logoutAll();
    expect(client.user).toBeNull();
    expect(calls[1].headers.authorization).toBe('Bearer t1');
    expect(calls[1].headers['x-csrf-token']).toBe('csrf-cookie');
  });

  it('keeps the session when signing out everywhere fails', async () => {
    const { client } = fake({
      'POST /api/auth/login': () => json(200, session('t1')),
      'POST /api/auth/logout-all': () => json(503, { error: { code: 'storage_unavailable', message: 'try again' } }),
    });
    await client.login('a@example.com', 'pw');
    await expect(client.logoutAll()).rejects.toBeInstanceOf(ApiError);
    expect(client.user).not.toBeNull();
  });

  it('turns network failures into a readable error', async () => {
    const client = new Client({
      fetch: (async () => {
        throw new TypeError('Failed to fetch');
      }) as typeof fetch,
      cookies: () => '',
    });
    await expect(client.publicStatus()).rejects.toMatchObject({ status: 0, code: 'network' });
  });

  it('encodes ids and query strings', async () => {
    const { client, calls } = fake({
      'POST /api/auth/login': () => json(200, session('t1')),
      'GET /api/metrics/a%2Fb/series': () => json(200, { points: [] }),
    });
    await client.login('a@example.com', 'pw');
    await client.series('a/b', '7d', '1h');
    expect(calls[1].url).toBe('/api/metrics/a%2Fb/series?period=7d&bucket=1h');
  });

  it('reads the daily bars of a public monitor, anonymously', async () => {
    const days = [{ date: '2026-11-25', start: 1, checks: 10, up: 9, uptime_pct: 90 }];
    const { client, calls } = fake({ 'GET /api/public/monitors/web/days': () => json(200, { monitor_id: 'web', days }) });
    expect(await client.publicDays('web')).toEqual(days);
    expect(calls[0].url).toBe('/api/public/monitors/web/days?days=90');
    expect(calls[0].headers.authorization).toBeUndefined();
    await expect(client.publicDays('other')).rejects.toMatchObject({ status: 404 });
  });

  it('creates a monitor with the body as given and returns field errors', async () => {
    const { client, calls } = fake({
      'POST /api/auth/login': () => json(200, session('t1')),
      'POST /api/monitors': () =>
        json(400, { error: { code: 'invalid_input', message: 'url: is required', field: 'url', fields: [{ field: 'url', message: 'is required' }] } }),
    });
    await client.login('a@example.com', 'pw');
    const err = await client.createMonitor({ name: 'x', interval: '30s' }).catch((e) => e);
    expect(err.byField()).toEqual({ url: 'is required' });
    expect(calls[1].headers['content-type']).toBe('application/json');
    expect(JSON.parse(calls[1].body!)).toEqual({ name: 'x', interval: '30s' });
  });
});
