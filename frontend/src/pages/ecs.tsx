// The ECS page: accounts → clusters → services, with health counts, filters in the query
// string, per-account collection errors; for admins a refresh button, the accounts and the
// "visible to users" setting (src/pages/ecs-accounts.tsx).
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, ApiError, type EcsAccount, type EcsRefreshResult, type EcsServiceSummary } from '../api';
import { Button, ErrorNotice, errorText, Loading, Notice, StatusBadge, toast, useAsync, useInterval, useNow, useTitle } from '../components/ui';
import {
  type AccountNode,
  buildTree,
  type ClusterNode,
  countsText,
  filterActive,
  HEALTHS,
  healthWord,
  type HealthCounts,
  launchTypeWord,
  minutesAgo,
  parseHealth,
  progress,
  refreshSummary,
  rolloutWord,
  serviceHref,
  taskDefShort,
} from '../ecs';
import { dateTime } from '../format';
import { setQuery, useLocation } from '../router';
import { useUser } from '../session';
import { EcsAccountsAdmin, EcsSettingsCard } from './ecs-accounts';

const POLL_MS = 60_000;

export function EcsPage() {
  useTitle('ECS');
  const user = useUser();
  const admin = user?.role === 'admin';
  const loc = useLocation();
  const health = parseHealth(loc.query.get('health'));
  const qParam = loc.query.get('q') ?? '';
  const [q, setQ] = useState(qParam);
  const data = useAsync(() => api.ecsClusters(), []);
  const forbidden = data.error instanceof ApiError && data.error.status === 403;
  useInterval(() => {
    if (!forbidden) data.reload();
  }, POLL_MS);
  const now = useNow(30_000);

  useEffect(() => {
    const t = setTimeout(() => setQuery({ q: q || undefined }), 200);
    return () => clearTimeout(t);
  }, [q]);

  const tree = useMemo(() => (data.data ? buildTree(data.data, { health, q: qParam }) : null), [data.data, health, qParam]);
  const accounts = data.data?.accounts ?? [];
  const lastCollected = accounts.reduce<number | null>((m, a) => (a.last_collected_at != null && (m == null || a.last_collected_at > m) ? a.last_collected_at : m), null);

  if (forbidden) {
    return (
      <section class="page narrow">
        <h1>ECS</h1>
        <p>An admin has not made the ECS view visible to users. Ask an admin if you need it.</p>
      </section>
    );
  }

  const totals = tree?.totals;
  return (
    <section class="page wide" aria-labelledby="ecs-title">
      <div class="page-head">
        <div>
          <h1 id="ecs-title">ECS</h1>
          {data.data && (
            <p class="summary" aria-live="polite">
              {accounts.length === 0
                ? 'No AWS account connected.'
                : `${countsText(totals!)} in ${accounts.length} account${accounts.length === 1 ? '' : 's'} · last collected ${minutesAgo(lastCollected, now)}`}
            </p>
          )}
        </div>
        {admin && accounts.length > 0 && <RefreshButton accounts={accounts} onDone={data.reload} />}
      </div>

      {totals && totals.total > 0 && (
        <div class="filters" role="search">
          <div class="segmented" role="group" aria-label="Filter by health">
            <button type="button" aria-pressed={!health} onClick={() => setQuery({ health: undefined })}>
              All <span class="count">{totals.total}</span>
            </button>
            {HEALTHS.map((h) => (
              <button type="button" aria-pressed={health === h} onClick={() => setQuery({ health: health === h ? undefined : h })}>
                <span class={`dot dot-${h}`} aria-hidden="true" />
                {healthWord(h)} <span class="count">{totals[h]}</span>
              </button>
            ))}
          </div>
          <label class="inline-field">
            <span class="visually-hidden">Search services</span>
            <input type="search" class="ecs-search" placeholder="Search service, cluster, account" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
          </label>
        </div>
      )}

      <ErrorNotice error={data.error} retry={data.reload} />
      {!data.data ? (
        !data.error && <Loading what="ECS services" />
      ) : accounts.length === 0 ? (
        <EmptyState admin={admin} />
      ) : tree!.accounts.length === 0 ? (
        <p class="empty-filter">
          No service matches these filters.{' '}
          <button type="button" class="link-button" onClick={() => (setQ(''), setQuery({ health: undefined, q: undefined }))}>
            Clear filters
          </button>
        </p>
      ) : (
        <div class="ecs-tree">
          {tree!.accounts.map((n) => (
            <AccountCard key={n.key} n={n} now={now} filtered={filterActive({ health, q: qParam })} />
          ))}
        </div>
      )}

      {admin && data.data && <EcsAccountsAdmin accounts={accounts} onChanged={data.reload} />}
      {admin && <EcsSettingsCard />}
    </section>
  );
}

function EmptyState({ admin }: { admin: boolean }) {
  return (
    <div class="empty">
      <h2>Connect an AWS account</h2>
      <p>
        Sentinel lists the ECS clusters and services of the AWS accounts added here, with their health, deployments, events
        and CPU and memory use. It needs read-only access to ECS and CloudWatch in each account: the IAM policy and the
        role trust set-up are in <code>docs/ecs.md</code>.
      </p>
      {admin ? (
        <p>
          <a class="btn btn-primary" href="#ecs-account-form">
            Add an account
          </a>
          <span class="block muted small">Leave the role ARN empty to use the account Sentinel itself runs in.</span>
        </p>
      ) : (
        <p class="muted">Ask an admin to add an AWS account.</p>
      )}
    </div>
  );
}

function RefreshButton({ accounts, onDone }: { accounts: EcsAccount[]; onDone: () => void }) {
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<EcsRefreshResult | null>(null);
  const run = async () => {
    setBusy(true);
    try {
      setResult(await api.ecsRefresh());
      onDone();
    } catch (e) {
      toast(errorText(e), 'error');
    } finally {
      setBusy(false);
    }
  };
  const summary = result ? refreshSummary(result, accounts) : null;
  return (
    <div class="ecs-refresh">
      <Button variant="primary" busy={busy} onClick={run}>
        Refresh now
      </Button>
      {summary && (
        <Notice kind={summary.failures.length ? 'warn' : 'ok'}>
          <span class="ecs-refresh-summary">{summary.text}</span>
          {summary.failures.length > 0 && (
            <ul>
              {summary.failures.map((f) => (
                <li>
                  <strong>{f.label}</strong>: {f.error}
                </li>
              ))}
            </ul>
          )}
          <button type="button" class="link-button" onClick={() => setResult(null)}>
            Dismiss
          </button>
        </Notice>
      )}
    </div>
  );
}

/** `2 failed · 1 healthy` as dot + word + figure (never colour alone). */
function Counts({ c, label }: { c: HealthCounts; label: string }) {
  if (c.total === 0) return <span class="muted small">no services</span>;
  return (
    <ul class="ecs-counts" aria-label={label}>
      {HEALTHS.filter((h) => c[h] > 0).map((h) => (
        <li class={`ecs-count status-${h}`}>
          <span class="dot" aria-hidden="true" />
          {c[h]} {h}
        </li>
      ))}
    </ul>
  );
}

function AccountCard({ n, now, filtered }: { n: AccountNode; now: number; filtered: boolean }) {
  const a = n.account;
  const headId = `ecs-acct-${n.key.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  return (
    <article class="card ecs-account" aria-labelledby={headId} data-account={a?.id ?? n.accountId ?? ''}>
      <div class="card-head">
        <div>
          <h2 id={headId}>{n.label}</h2>
          <p class="muted small ecs-meta">
            {n.accountId ? <span class="mono">{n.accountId}</span> : <span>account ID known after the first collection</span>}
            {a?.alias && a.alias !== n.label && <span>alias {a.alias}</span>}
            {a && <span>{a.regions.join(', ') || 'no region'}</span>}
            {a && <span>{a.role_arn ? 'assumed role' : 'Sentinel’s own account'}</span>}
            {a && (
              <span title={a.last_collected_at != null ? dateTime(a.last_collected_at) : undefined}>last collected {minutesAgo(a.last_collected_at, now)}</span>
            )}
            {!a && <span>not a configured account any more</span>}
          </p>
        </div>
        <Counts c={n.counts} label={`Services of ${n.label} by health`} />
      </div>
      {a?.last_error && (
        <Notice kind="error">
          <strong>Last collection failed:</strong> {a.last_error}
        </Notice>
      )}
      {n.clusters.length === 0 && !filtered && (
        <p class="muted">
          {a && a.last_collected_at == null && !a.last_error
            ? 'Not collected yet: the next collection run (or Refresh now) reads its clusters.'
            : `No ECS cluster found in ${a?.regions.join(', ') || 'its regions'}.`}
        </p>
      )}
      {n.clusters.map((c) => (
        <ClusterBlock c={c} />
      ))}
    </article>
  );
}

function ClusterBlock({ c }: { c: ClusterNode }) {
  const { cluster } = c;
  const label = `${cluster.cluster} (${cluster.region})`;
  return (
    <section class="ecs-cluster" aria-label={`Cluster ${label}`} data-cluster={cluster.cluster}>
      <div class="ecs-cluster-head">
        <h3>
          {cluster.cluster} <span class="muted small">{cluster.region}</span>
        </h3>
        <Counts c={c.counts} label={`Services of ${label} by health`} />
      </div>
      {c.services.length === 0 ? (
        <p class="muted small">No service in this cluster.</p>
      ) : (
        <div class="table-wrap">
          <table class="data ecs-services">
            <thead>
              <tr>
                <th scope="col" class="c-health">
                  Health
                </th>
                <th scope="col">Service</th>
                <th scope="col" class="num c-tasks">
                  Running / desired
                </th>
                <th scope="col" class="c-rollout">
                  Rollout
                </th>
                <th scope="col" class="c-td">
                  Task definition
                </th>
                <th scope="col" class="c-launch">
                  Launch type
                </th>
              </tr>
            </thead>
            <tbody>
              {c.services.map((s) => (
                <ServiceRow s={s} account={cluster.account_id} region={cluster.region} cluster={cluster.cluster} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function ServiceRow({ s, account, region, cluster }: { s: EcsServiceSummary; account: string; region: string; cluster: string }) {
  const p = progress(s);
  return (
    <tr class={`ecs-row-${s.health}`} data-service={s.service}>
      <td>
        <StatusBadge status={s.health} />
      </td>
      <td>
        <a href={serviceHref({ account, region, cluster, service: s.service })} class="ecs-service-name">
          {s.service}
        </a>
        {s.health !== 'healthy' && s.health_reason && <span class="block small reason">{s.health_reason}</span>}
      </td>
      <td class="num nowrap" title={p.text}>
        {s.running_count} / {s.desired_count}
        {s.pending_count > 0 && <span class="block small muted">+{s.pending_count} pending</span>}
      </td>
      <td>
        <Rollout state={s.rollout_state} />
      </td>
      <td class="c-td">
        <code title={s.task_definition ?? undefined}>{taskDefShort(s.task_definition)}</code>
      </td>
      <td class="c-launch">{launchTypeWord(s.launch_type)}</td>
    </tr>
  );
}

/** Rollout state as a word with an icon; colour only adds to it. */
export function Rollout({ state }: { state: string | null | undefined }) {
  if (!state) return <span class="muted">—</span>;
  const cls = state === 'FAILED' ? 'failed' : state === 'IN_PROGRESS' ? 'progress' : state === 'COMPLETED' ? 'done' : 'other';
  return (
    <span class={`rollout rollout-${cls}`}>
      <span aria-hidden="true">{cls === 'failed' ? '✕ ' : cls === 'progress' ? '↻ ' : cls === 'done' ? '✓ ' : ''}</span>
      {rolloutWord(state)}
    </span>
  );
}
