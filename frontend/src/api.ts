// The REST client. The access token lives in memory only; the refresh token is an
// HTTP-only cookie, so on a 401 (or at start-up) `POST /api/auth/refresh` gets a new
// access token. State-changing requests carry `X-CSRF-Token` (the `sentinel_csrf`
// cookie, or the token the last session answer gave us).
import { detailQuery } from './ecs';

export type Role = 'admin' | 'monitor' | 'user';
export type Status = 'up' | 'down' | 'pending' | 'paused';

export interface User {
  id: string;
  email: string;
  role: Role;
  disabled: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface SessionBody {
  accessToken: string;
  tokenType: string;
  expiresIn: number;
  user: User;
  csrfToken: string;
}

export interface MonitorInput {
  id?: string | null;
  name?: string | null;
  url?: string | null;
  method?: string | null;
  headers?: Record<string, string>;
  body?: string | null;
  interval?: string | number | null;
  timeout?: string | number | null;
  conditions?: string[];
  failure_threshold?: number | null;
  success_threshold?: number | null;
  follow_redirects?: boolean | null;
  tags?: string[];
  public?: boolean | null;
  paused?: boolean | null;
  alerts?: string[];
}

export interface Monitor extends MonitorInput {
  id: string;
  name: string;
  url: string;
  origin: 'api' | 'config';
  owner: string | null;
  read_only: boolean;
  status: Status;
  since: number | null;
  uptime_24h: number | null;
  last_check_at: number | null;
  last_success: boolean | null;
  last_response_ms: number | null;
  last_failure_reason: string | null;
  open_incident: string | null;
  created_at: number;
  updated_at: number;
}

export interface Timings {
  dns_ms?: number | null;
  connect_ms?: number | null;
  tls_ms?: number | null;
  first_byte_ms?: number | null;
  total_ms: number;
}

export interface ConditionResult {
  condition: string;
  success: boolean;
  actual: string;
}

export interface CheckResult {
  monitor_id: string;
  checked_at: number;
  success: boolean;
  status_code?: number | null;
  timings: Timings;
  ip?: string | null;
  cert_expires_at?: number | null;
  error?: { kind: string; message: string } | null;
  failure_reason?: string | null;
  conditions: ConditionResult[];
}

export interface Incident {
  id: string;
  monitor_id: string;
  started_at: number;
  ended_at?: number | null;
  cause: string;
  proof: number[];
}

export type Period = '24h' | '7d' | '30d' | '90d';

export interface WindowStats {
  checks: number;
  up: number;
  uptime_pct: number | null;
  avg_ms: number | null;
  min_ms: number | null;
  max_ms: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
}

export interface MonitorStats extends WindowStats {
  monitor_id: string;
  period: Period;
  from: number;
  to: number;
  incidents: number;
  downtime_ms: number;
}

export interface SeriesPoint {
  start: number;
  checks: number;
  up: number;
  uptime_pct: number | null;
  avg_ms: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
}

export interface Series {
  monitor_id: string;
  period: Period;
  bucket: string;
  points: SeriesPoint[];
}

export interface ChannelView {
  id: string;
  name: string;
  owner: string;
  type: 'email' | 'slack' | 'discord' | 'webhook';
  url?: string;
  webhook_url?: string;
  secret?: string;
  headers?: Record<string, string>;
  to?: string[];
  from?: string;
  created_at: number;
  updated_at: number;
}

export interface ChannelBody {
  name: string;
  type: string;
  url?: string;
  secret?: string;
  headers?: Record<string, string>;
  webhook_url?: string;
  to?: string[];
  from?: string;
}

export interface KeyView {
  id: string;
  name: string;
  prefix: string;
  scope: 'read' | 'write';
  createdAt: number;
  expiresAt?: number | null;
  lastUsedAt?: number | null;
}

export interface PublicMonitor {
  id: string;
  name: string;
  status: Status;
  since?: number | null;
  uptime_24h?: number | null;
  last_check_at?: number | null;
  last_response_ms?: number | null;
  tags: string[];
}

export interface PublicStatus {
  overall: 'up' | 'down' | 'degraded' | 'unknown';
  monitors: PublicMonitor[];
  system: { status: string; store: string; scheduler: string; scheduler_last_tick?: number | null };
  generated_at: number;
}

export interface DayBar {
  date: string;
  start: number;
  checks: number;
  up: number;
  uptime_pct: number | null;
}

export interface ExportCreated {
  key: string;
  url: string;
  expiresAt: number;
  rows: number;
  truncated: boolean;
}

// ---- ECS ----------------------------------------------------------------------------

export type EcsHealth = 'healthy' | 'degraded' | 'failed';
export type EcsRolloutState = 'COMPLETED' | 'IN_PROGRESS' | 'FAILED';
export type EcsRange = '1h' | '24h' | '7d';

/** An AWS account Sentinel collects from; no role ARN = the credentials Sentinel runs with. */
export interface EcsAccount {
  id: string;
  name: string | null;
  /** The 12-digit AWS account ID (null until the first collection of a local account). */
  account_id: string | null;
  alias: string | null;
  regions: string[];
  role_arn: string | null;
  /** The external ID is write-only: the API only says whether one is stored. */
  has_external_id: boolean;
  last_collected_at: number | null;
  last_error: string | null;
}

export interface EcsServiceSummary {
  service: string;
  health: EcsHealth;
  health_reason: string | null;
  desired_count: number;
  running_count: number;
  pending_count: number;
  rollout_state: EcsRolloutState | null;
  task_definition: string | null;
  launch_type: string | null;
  collected_at: number | null;
}

export interface EcsCluster {
  account_id: string;
  alias: string | null;
  region: string;
  cluster: string;
  cluster_arn: string;
  services: EcsServiceSummary[];
}

export interface EcsClusters {
  accounts: EcsAccount[];
  clusters: EcsCluster[];
}

export interface EcsDeployment {
  id: string;
  status: 'PRIMARY' | 'ACTIVE' | 'INACTIVE';
  rollout_state: EcsRolloutState | null;
  rollout_state_reason: string | null;
  task_definition: string | null;
  desired_count: number;
  running_count: number;
  pending_count: number;
  failed_tasks: number;
  launch_type: string | null;
  created_at: number | null;
  updated_at: number | null;
}

export interface EcsEvent {
  id: string;
  created_at: number;
  message: string;
}

export interface EcsServiceDetail {
  account_id: string;
  region: string;
  cluster: string;
  service: string;
  cluster_arn: string;
  service_arn: string;
  status: string;
  desired_count: number;
  running_count: number;
  pending_count: number;
  task_definition: string | null;
  launch_type: string | null;
  deployments: EcsDeployment[];
  events: EcsEvent[];
  collected_at: number | null;
  health: EcsHealth;
  health_reason: string | null;
}

/** One CloudWatch datapoint: utilisation in percent of the reserved CPU / memory. */
export interface EcsMetricPoint {
  at: number;
  average: number | null;
  maximum: number | null;
}

export interface EcsServiceDetails {
  service: EcsServiceDetail;
  range: EcsRange;
  cpu: EcsMetricPoint[];
  memory: EcsMetricPoint[];
}

/** Which service: the AWS account ID, region, cluster name and service name. */
export interface EcsServiceKey {
  account: string;
  region: string;
  cluster: string;
  service: string;
}

export interface EcsRefreshResult {
  accounts: number;
  services: number;
  failed_accounts: { id: string; error: string }[];
  collected_at: number;
}

/** `external_id` omitted keeps the stored one on update; `""` clears it. */
export interface EcsAccountInput {
  name?: string;
  role_arn?: string;
  external_id?: string;
  regions: string[];
}

export interface EcsSettings {
  users_can_view: boolean;
}

export interface FieldError {
  field: string;
  message: string;
}

/** An error answer, `{"error":{"code","message","field"?,"fields"?}}`, or a network failure. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field?: string;
  readonly fields: FieldError[];
  readonly retryAfter?: number;

  constructor(
    status: number,
    code: string,
    message: string,
    field?: string,
    fields: FieldError[] = [],
    retryAfter?: number,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
    this.fields = fields;
    this.retryAfter = retryAfter;
  }

  /** Field → message, for inline form errors (the first message per field). */
  byField(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const f of this.fields) if (!(f.field in out)) out[f.field] = f.message;
    if (this.field && !(this.field in out)) out[this.field] = this.message;
    return out;
  }
}

/** Parses an error body; tolerant of proxies answering HTML or nothing. */
export async function errorFrom(res: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    // not JSON
  }
  const retryHeader = res.headers.get('retry-after');
  const retryAfter = retryHeader ? Number(retryHeader) || undefined : undefined;
  const e = (body as { error?: Record<string, unknown> } | null)?.error;
  if (e && typeof e === 'object') {
    return new ApiError(
      res.status,
      String(e.code ?? 'error'),
      String(e.message ?? res.statusText),
      typeof e.field === 'string' ? e.field : undefined,
      Array.isArray(e.fields) ? (e.fields as FieldError[]) : [],
      retryAfter,
    );
  }
  return new ApiError(res.status, `http_${res.status}`, res.statusText || `HTTP ${res.status}`, undefined, [], retryAfter);
}

export function readCookie(cookies: string, name: string): string | null {
  for (const part of cookies.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    if (part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return null;
}

type Query = Record<string, string | number | undefined | null>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export interface ClientOptions {
  fetch?: typeof fetch;
  /** Returns `document.cookie` (injected for tests). */
  cookies?: () => string;
  base?: string;
}

interface RequestOptions {
  body?: unknown;
  query?: Query;
  /** Sign-in routes: no Authorization header, no refresh on 401. */
  anonymous?: boolean;
  signal?: AbortSignal;
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export class Client {
  private token: string | null = null;
  private csrf: string | null = null;
  private refreshing: Promise<boolean> | null = null;
  private readonly fetchFn: typeof fetch;
  private readonly cookies: () => string;
  private readonly base: string;
  /** The signed-in user, or null. */
  user: User | null = null;
  private listeners = new Set<(user: User | null) => void>();

  constructor(opts: ClientOptions = {}) {
    this.fetchFn = opts.fetch ?? ((...args) => fetch(...args));
    this.cookies = opts.cookies ?? (() => (typeof document === 'undefined' ? '' : document.cookie));
    this.base = opts.base ?? '';
  }

  onUser(fn: (user: User | null) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private setSession(s: SessionBody | null) {
    this.token = s?.accessToken ?? null;
    if (s?.csrfToken) this.csrf = s.csrfToken;
    const before = this.user;
    this.user = s?.user ?? null;
    if (before?.id !== this.user?.id || before?.role !== this.user?.role) {
      for (const fn of this.listeners) fn(this.user);
    }
  }

  hasToken(): boolean {
    return this.token !== null;
  }

  csrfToken(): string | null {
    return readCookie(this.cookies(), 'sentinel_csrf') ?? this.csrf;
  }

  private headers(method: string, anonymous: boolean, hasBody: boolean): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json' };
    if (hasBody) h['content-type'] = 'application/json';
    if (!anonymous && this.token) h.authorization = `Bearer ${this.token}`;
    if (!SAFE.has(method)) {
      const csrf = this.csrfToken();
      if (csrf) h['x-csrf-token'] = csrf;
    }
    return h;
  }

  private async send(method: string, path: string, opts: RequestOptions): Promise<Response> {
    const hasBody = opts.body !== undefined;
    try {
      return await this.fetchFn(this.base + withQuery(path, opts.query), {
        method,
        headers: this.headers(method, !!opts.anonymous, hasBody),
        body: hasBody ? JSON.stringify(opts.body) : undefined,
        credentials: 'same-origin',
        signal: opts.signal,
      });
    } catch (e) {
      if ((e as Error)?.name === 'AbortError') throw e;
      throw new ApiError(0, 'network', 'Cannot reach the server. Check your connection and try again.');
    }
  }

  /** One request; a 401 on an authenticated call refreshes the session once and retries. */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    let res = await this.send(method, path, opts);
    if (res.status === 401 && !opts.anonymous) {
      if (await this.refresh()) res = await this.send(method, path, opts);
    }
    if (!res.ok) {
      const err = await errorFrom(res);
      if (res.status === 401 && !opts.anonymous) this.setSession(null);
      throw err;
    }
    if (res.status === 204) return undefined as T;
    const type = res.headers.get('content-type') ?? '';
    if (type.includes('json')) return (await res.json()) as T;
    return (await res.text()) as unknown as T;
  }

  /**
   * Gets a new access token through the refresh cookie. Concurrent callers share one
   * request (the refresh token rotates: two parallel refreshes would look like theft).
   */
  refresh(): Promise<boolean> {
    if (!this.refreshing) {
      this.refreshing = (async () => {
        try {
          if (!this.csrfToken()) return false;
          const res = await this.send('POST', '/api/auth/refresh', { anonymous: true });
          if (!res.ok) {
            this.setSession(null);
            return false;
          }
          this.setSession((await res.json()) as SessionBody);
          return true;
        } catch {
          return false;
        } finally {
          this.refreshing = null;
        }
      })();
    }
    return this.refreshing;
  }

  // ---- auth ---------------------------------------------------------------------------

  async login(email: string, password: string): Promise<User> {
    const s = await this.request<SessionBody>('POST', '/api/auth/login', { body: { email, password }, anonymous: true });
    this.setSession(s);
    return s.user;
  }

  async register(email: string, password: string): Promise<User> {
    const s = await this.request<SessionBody>('POST', '/api/auth/register', { body: { email, password }, anonymous: true });
    this.setSession(s);
    return s.user;
  }

  async logout(): Promise<void> {
    try {
      if (!this.csrfToken()) await this.request('GET', '/api/auth/csrf-token', { anonymous: true });
      await this.request('POST', '/api/auth/logout', { anonymous: true });
    } finally {
      this.setSession(null);
    }
  }

  /**
   * Ends every session of this user (all refresh tokens) and this tab's. Access tokens
   * other devices already hold keep working until they expire (15 min by default).
   */
  async logoutAll(): Promise<void> {
    await this.request('POST', '/api/auth/logout-all');
    this.setSession(null);
  }

  async changePassword(currentPassword: string, newPassword: string): Promise<void> {
    const s = await this.request<SessionBody>('POST', '/api/auth/change-password', {
      body: { currentPassword, newPassword },
    });
    this.setSession(s);
  }

  forgotPassword(email: string) {
    return this.request<{ message: string }>('POST', '/api/auth/forgot-password', { body: { email }, anonymous: true });
  }

  verifyResetToken(token: string) {
    return this.request<{ valid: boolean }>('GET', '/api/auth/verify-reset-token', { query: { token }, anonymous: true });
  }

  resetPassword(token: string, newPassword: string) {
    return this.request<{ message: string }>('POST', '/api/auth/reset-password', {
      body: { token, newPassword },
      anonymous: true,
    });
  }

  me() {
    return this.request<User>('GET', '/api/auth/me');
  }

  // ---- monitors -----------------------------------------------------------------------

  async monitors(filter: { status?: string; tag?: string } = {}, signal?: AbortSignal): Promise<Monitor[]> {
    const r = await this.request<{ monitors: Monitor[] }>('GET', '/api/monitors', { query: filter, signal });
    return r.monitors;
  }

  monitor(id: string) {
    return this.request<Monitor>('GET', `/api/monitors/${enc(id)}`);
  }

  createMonitor(input: MonitorInput) {
    return this.request<Monitor>('POST', '/api/monitors', { body: input });
  }

  updateMonitor(id: string, patch: MonitorInput) {
    return this.request<Monitor>('PATCH', `/api/monitors/${enc(id)}`, { body: patch });
  }

  deleteMonitor(id: string) {
    return this.request<void>('DELETE', `/api/monitors/${enc(id)}`);
  }

  pause(id: string) {
    return this.request<Monitor>('POST', `/api/monitors/${enc(id)}/pause`);
  }

  resume(id: string) {
    return this.request<Monitor>('POST', `/api/monitors/${enc(id)}/resume`);
  }

  checkNow(id: string) {
    return this.request<CheckResult>('POST', `/api/monitors/${enc(id)}/check`);
  }

  testMonitor(input: MonitorInput) {
    return this.request<CheckResult>('POST', '/api/monitors/test', { body: input });
  }

  async incidents(id: string, limit = 50): Promise<Incident[]> {
    const r = await this.request<{ incidents: Incident[] }>('GET', `/api/monitors/${enc(id)}/incidents`, { query: { limit } });
    return r.incidents;
  }

  // ---- metrics ------------------------------------------------------------------------

  pings(id: string, q: { from?: number; to?: number; limit?: number; cursor?: string } = {}) {
    return this.request<{ items: CheckResult[]; next_cursor?: string | null }>('GET', `/api/metrics/${enc(id)}`, { query: q });
  }

  stats(id: string, period: Period) {
    return this.request<MonitorStats>('GET', `/api/metrics/${enc(id)}/stats`, { query: { period } });
  }

  series(id: string, period: Period = '24h', bucket?: '1h' | '1d', signal?: AbortSignal) {
    return this.request<Series>('GET', `/api/metrics/${enc(id)}/series`, { query: { period, bucket }, signal });
  }

  exportCsv(id: string, range: { from?: number; to?: number } = {}) {
    return this.request<ExportCreated>('POST', `/api/export/csv/${enc(id)}`, { body: range });
  }

  // ---- alert channels -----------------------------------------------------------------

  async channels(): Promise<ChannelView[]> {
    return (await this.request<{ channels: ChannelView[] }>('GET', '/api/alert-channels')).channels;
  }

  createChannel(body: ChannelBody) {
    return this.request<ChannelView>('POST', '/api/alert-channels', { body });
  }

  updateChannel(id: string, body: Partial<ChannelBody>) {
    return this.request<ChannelView>('PATCH', `/api/alert-channels/${enc(id)}`, { body });
  }

  deleteChannel(id: string) {
    return this.request<void>('DELETE', `/api/alert-channels/${enc(id)}`);
  }

  testChannel(id: string) {
    return this.request<{ sent: boolean; error?: string | null }>('POST', `/api/alert-channels/${enc(id)}/test`);
  }

  // ---- API keys -----------------------------------------------------------------------

  keys() {
    return this.request<KeyView[]>('GET', '/api/api-keys');
  }

  createKey(body: { name: string; scope: 'read' | 'write'; expiresIn?: string }) {
    return this.request<KeyView & { key: string }>('POST', '/api/api-keys', { body });
  }

  revokeKey(id: string) {
    return this.request<void>('DELETE', `/api/api-keys/${enc(id)}`);
  }

  // ---- users (admin) ------------------------------------------------------------------

  users() {
    return this.request<User[]>('GET', '/api/users');
  }

  createUser(body: { email: string; password: string; role: Role }) {
    return this.request<User>('POST', '/api/users', { body });
  }

  updateUser(id: string, body: { role?: Role; disabled?: boolean }) {
    return this.request<User>('PATCH', `/api/users/${enc(id)}`, { body });
  }

  deleteUser(id: string) {
    return this.request<void>('DELETE', `/api/users/${enc(id)}`);
  }

  // ---- ECS ----------------------------------------------------------------------------

  ecsClusters(signal?: AbortSignal) {
    return this.request<EcsClusters>('GET', '/api/ecs/clusters', { signal });
  }

  ecsServiceDetails(key: EcsServiceKey, range: EcsRange, signal?: AbortSignal) {
    return this.request<EcsServiceDetails>('GET', '/api/ecs/service-details', { query: detailQuery(key, range), signal });
  }

  ecsRefresh() {
    return this.request<EcsRefreshResult>('POST', '/api/ecs/refresh');
  }

  async ecsAccounts(): Promise<EcsAccount[]> {
    return (await this.request<{ accounts: EcsAccount[] }>('GET', '/api/ecs/accounts')).accounts;
  }

  createEcsAccount(body: EcsAccountInput) {
    return this.request<EcsAccount>('POST', '/api/ecs/accounts', { body });
  }

  updateEcsAccount(id: string, body: EcsAccountInput) {
    return this.request<EcsAccount>('PUT', `/api/ecs/accounts/${enc(id)}`, { body });
  }

  deleteEcsAccount(id: string) {
    return this.request<void>('DELETE', `/api/ecs/accounts/${enc(id)}`);
  }

  ecsSettings() {
    return this.request<EcsSettings>('GET', '/api/ecs/settings');
  }

  updateEcsSettings(body: EcsSettings) {
    return this.request<EcsSettings>('PUT', '/api/ecs/settings', { body });
  }

  // ---- public -------------------------------------------------------------------------

  publicStatus() {
    return this.request<PublicStatus>('GET', '/api/public/status', { anonymous: true });
  }

  publicMonitor(id: string) {
    return this.request<PublicMonitor>('GET', `/api/public/monitors/${enc(id)}/status`, { anonymous: true });
  }

  /** Per-day uptime of a public monitor, oldest first, today last. */
  async publicDays(id: string, days = 90): Promise<DayBar[]> {
    const r = await this.request<{ monitor_id: string; days: DayBar[] }>('GET', `/api/public/monitors/${enc(id)}/days`, {
      query: { days },
      anonymous: true,
    });
    return r.days;
  }
}

function enc(id: string): string {
  return encodeURIComponent(id);
}

export const api = new Client();
