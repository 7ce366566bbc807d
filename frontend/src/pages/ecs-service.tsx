// One ECS service: counts, deployments with their progress, events, CPU and memory.
// Route: /ecs/service?account=&region=&cluster=&service=[&range=1h|24h|7d]
import { useMemo, useState } from 'preact/hooks';
import { api, ApiError, type EcsDeployment, type EcsEvent, type EcsMetricPoint, type EcsRange, type EcsServiceKey } from '../api';
import { ErrorNotice, Loading, Notice, StatusBadge, useAsync, useInterval, useNow, useTitle } from '../components/ui';
import {
  launchTypeWord,
  minutesAgo,
  parseRange,
  progress,
  RANGE_WORDS,
  RANGES,
  serviceKeyFromQuery,
  sortDeployments,
  sortEvents,
  taskDefShort,
  usageData,
  usagePct,
  usageSummary,
} from '../ecs';
import { dateTime } from '../format';
import { setQuery, useLocation } from '../router';
import { UsageChart } from './ecs-chart';
import { Rollout } from './ecs';

const POLL_MS = 60_000;
const EVENTS_SHOWN = 25;

export function EcsServicePage() {
  const loc = useLocation();
  const parsed = serviceKeyFromQuery(loc.query);
  if ('error' in parsed) {
    return (
      <section class="page narrow">
        <h1>Which service?</h1>
        <p>
          {parsed.error} <a href="/ecs">Back to ECS</a>.
        </p>
      </section>
    );
  }
  return <ServiceView k={parsed.key} range={parseRange(loc.query.get('range'))} />;
}

function ServiceView({ k, range }: { k: EcsServiceKey; range: EcsRange }) {
  useTitle(k.service);
  const now = useNow(30_000);
  const d = useAsync(() => api.ecsServiceDetails(k, range), [k.account, k.region, k.cluster, k.service, range]);
  useInterval(d.reload, POLL_MS);
  const where = `${k.cluster} · ${k.region} · ${k.account}`;

  if (d.error instanceof ApiError && (d.error.status === 404 || d.error.status === 403)) {
    return (
      <section class="page narrow">
        <h1>{d.error.status === 404 ? 'Service not found' : 'ECS'}</h1>
        <p>
          {d.error.status === 404 ? (
            <>
              Sentinel has no data for service <code>{k.service}</code> in {where}: it may have been deleted, or not been
              collected yet.
            </>
          ) : (
            'An admin has not made the ECS view visible to users.'
          )}{' '}
          <a href="/ecs">Back to ECS</a>.
        </p>
      </section>
    );
  }
  if (!d.data) return <section class="page">{d.error ? <ErrorNotice error={d.error} retry={d.reload} /> : <Loading what="service" />}</section>;

  const s = d.data.service;
  const p = progress(s);
  return (
    <section class="page wide detail" aria-labelledby="ecs-service-title">
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href="/ecs">ECS</a> <span aria-hidden="true">/</span> <a href={`/ecs?q=${encodeURIComponent(s.cluster)}`}>{s.cluster}</a>{' '}
        <span aria-hidden="true">/</span> <span>{s.service}</span>
      </nav>
      <div class="page-head ecs-detail-head">
        <div class="title-block">
          <div class="title-line">
            <StatusBadge status={s.health} large />
            <h1 id="ecs-service-title">{s.service}</h1>
          </div>
          <p class="subline muted">
            cluster {s.cluster} · {s.region} · account <span class="mono">{s.account_id}</span> · {launchTypeWord(s.launch_type)} ·{' '}
            {s.status.toLowerCase()} · collected <span title={dateTime(s.collected_at)}>{minutesAgo(s.collected_at, now)}</span>
          </p>
          {s.health !== 'healthy' && s.health_reason && (
            <Notice kind={s.health === 'failed' ? 'error' : 'warn'}>
              <strong>{s.health === 'failed' ? 'Failed' : 'Degraded'}:</strong> {s.health_reason}
            </Notice>
          )}
        </div>
      </div>

      <div class="uptime-cards ecs-stats">
        <div class="card stat">
          <div class="stat-label">Running</div>
          <div class={`stat-value ${p.done ? 'uptime-ok' : s.running_count < s.desired_count ? 'uptime-warn' : ''}`}>
            {s.running_count}
            <span class="stat-of"> of {s.desired_count}</span>
          </div>
          <div class="stat-sub muted">{p.done ? 'all desired tasks run' : p.text}</div>
        </div>
        <div class="card stat">
          <div class="stat-label">Desired</div>
          <div class="stat-value">{s.desired_count}</div>
          <div class="stat-sub muted">tasks</div>
        </div>
        <div class="card stat">
          <div class="stat-label">Pending</div>
          <div class="stat-value">{s.pending_count}</div>
          <div class="stat-sub muted">starting</div>
        </div>
        <div class="card stat">
          <div class="stat-label">Task definition</div>
          <div class="stat-value ecs-td" title={s.task_definition ?? undefined}>
            {taskDefShort(s.task_definition)}
          </div>
          <div class="stat-sub muted">{s.deployments.length} deployment{s.deployments.length === 1 ? '' : 's'}</div>
        </div>
      </div>

      <Deployments list={s.deployments} now={now} />
      <UsageCard range={range} cpu={d.data.cpu} memory={d.data.memory} loading={d.loading} error={d.error} />
      <Events list={s.events} />
    </section>
  );
}

function Deployments({ list, now }: { list: EcsDeployment[]; now: number }) {
  const sorted = useMemo(() => sortDeployments(list), [list]);
  return (
    <div class="card">
      <h2>Deployments</h2>
      {sorted.length === 0 ? (
        <p class="muted">No deployment recorded.</p>
      ) : (
        <ul class="ecs-deployments">
          {sorted.map((dep) => (
            <DeploymentItem d={dep} now={now} />
          ))}
        </ul>
      )}
    </div>
  );
}

function DeploymentItem({ d, now }: { d: EcsDeployment; now: number }) {
  const p = progress(d);
  const label = `${d.status.toLowerCase()} deployment ${taskDefShort(d.task_definition)}`;
  return (
    <li class={`ecs-deployment ecs-deployment-${d.status.toLowerCase()}`} data-deployment={d.id}>
      <div class="ecs-deployment-head">
        <span class={`pill${d.status === 'PRIMARY' ? ' pill-primary' : ''}`}>{d.status.toLowerCase()}</span>
        <code title={d.task_definition ?? undefined}>{taskDefShort(d.task_definition)}</code>
        <Rollout state={d.rollout_state} />
        <span class="muted small" title={dateTime(d.created_at)}>
          started {minutesAgo(d.created_at, now)}
          {d.updated_at != null && d.updated_at !== d.created_at && <> · updated {minutesAgo(d.updated_at, now)}</>}
        </span>
      </div>
      <div
        class={`ecs-bar${p.done ? ' ecs-bar-done' : ''}`}
        role="progressbar"
        aria-label={`Tasks of the ${label}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={p.percent}
        aria-valuetext={p.text}
      >
        <span class="ecs-bar-running" style={{ width: `${p.runningPct}%` }} />
        <span class="ecs-bar-pending" style={{ width: `${p.pendingPct}%` }} />
      </div>
      <div class="small ecs-deployment-figures">
        <span>{p.text}</span>
        {d.desired_count > 0 && <span class="muted">{p.percent} %</span>}
        {d.failed_tasks > 0 && (
          <span class="ecs-failed-tasks">
            {d.failed_tasks} failed task{d.failed_tasks === 1 ? '' : 's'}
          </span>
        )}
        <span class="muted">{launchTypeWord(d.launch_type)}</span>
      </div>
      {d.rollout_state_reason && <p class="muted small ecs-deployment-reason">{d.rollout_state_reason}</p>}
    </li>
  );
}

function UsageCard({ range, cpu, memory, loading, error }: { range: EcsRange; cpu: EcsMetricPoint[]; memory: EcsMetricPoint[]; loading: boolean; error: unknown }) {
  return (
    <div class="card" aria-busy={loading}>
      <div class="card-head">
        <h2>CPU and memory</h2>
        <div class="segmented" role="group" aria-label="Chart range">
          {RANGES.map((r) => (
            <button type="button" aria-pressed={r === range} onClick={() => setQuery({ range: r === '24h' ? undefined : r })}>
              {r}
            </button>
          ))}
        </div>
      </div>
      <ErrorNotice error={error} />
      <p class="muted small">Utilisation of the reserved CPU and memory of all its tasks, as CloudWatch reports it. Drag to zoom; double-click to zoom out.</p>
      <div class="grid-2">
        <UsagePanel title="CPU" points={cpu} range={range} />
        <UsagePanel title="Memory" points={memory} range={range} />
      </div>
    </div>
  );
}

function UsagePanel({ title, points, range }: { title: string; points: EcsMetricPoint[]; range: EcsRange }) {
  const data = useMemo(() => usageData(points), [points]);
  const sum = usageSummary(data);
  return (
    <div class="ecs-usage" data-metric={title.toLowerCase()}>
      <h3>
        {title}{' '}
        <span class="muted small">
          now {usagePct(sum.latest)} average · peak {usagePct(sum.peak)}
        </span>
      </h3>
      {data.x.length ? (
        <UsageChart
          data={data}
          label={`${title} utilisation over the last ${RANGE_WORDS[range]}: latest average ${usagePct(sum.latest)}, highest maximum ${usagePct(sum.peak)}`}
        />
      ) : (
        <p class="muted chart-empty">No {title.toLowerCase()} datapoints in the last {RANGE_WORDS[range]}.</p>
      )}
    </div>
  );
}

function Events({ list }: { list: EcsEvent[] }) {
  const [all, setAll] = useState(false);
  const sorted = useMemo(() => sortEvents(list), [list]);
  const shown = all ? sorted : sorted.slice(0, EVENTS_SHOWN);
  return (
    <div class="card">
      <div class="card-head">
        <h2>Events</h2>
        <span class="muted small">{sorted.length ? `${sorted.length}, newest first` : ''}</span>
      </div>
      {sorted.length === 0 ? (
        <p class="muted">No service events.</p>
      ) : (
        <ol class="ecs-events" aria-label="Service events, newest first">
          {shown.map((e) => (
            <li data-event={e.id}>
              <time dateTime={Number.isFinite(e.created_at) ? new Date(e.created_at).toISOString() : undefined} class="nowrap muted">
                {dateTime(e.created_at)}
              </time>
              <span class="ecs-event-message">{e.message}</span>
            </li>
          ))}
        </ol>
      )}
      {!all && sorted.length > EVENTS_SHOWN && (
        <button type="button" class="btn btn-secondary load-more" onClick={() => setAll(true)}>
          Show all {sorted.length} events
        </button>
      )}
    </div>
  );
}
