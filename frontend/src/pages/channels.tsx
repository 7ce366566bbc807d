import { useState } from 'preact/hooks';
import { api, ApiError, type ChannelBody, type ChannelView } from '../api';
import { Button, ConfirmButton, describedBy, ErrorNotice, errorText, Field, Loading, Notice, toast, useAsync, useTitle } from '../components/ui';
import { dateTime } from '../format';
import { canWrite, useUser } from '../session';

type Kind = 'email' | 'slack' | 'discord' | 'webhook';
const KINDS: [Kind, string][] = [
  ['email', 'Email'],
  ['slack', 'Slack'],
  ['discord', 'Discord'],
  ['webhook', 'Webhook (signed JSON)'],
];

function target(c: ChannelView): string {
  if (c.type === 'email') return (c.to ?? []).join(', ');
  if (c.type === 'webhook') return c.url ?? '';
  return c.webhook_url ?? '';
}

export function ChannelsPage() {
  useTitle('Alert channels');
  const user = useUser();
  const list = useAsync(() => api.channels(), []);
  const [adding, setAdding] = useState(false);
  const writable = canWrite(user);
  return (
    <section class="page" aria-labelledby="channels-title">
      <div class="page-head">
        <div>
          <h1 id="channels-title">Alert channels</h1>
          <p class="muted">Where alerts go when a monitor goes down, recovers, or stays down. Secrets are stored encrypted and shown masked.</p>
        </div>
        {writable && !adding && (
          <Button variant="primary" onClick={() => setAdding(true)}>
            New channel
          </Button>
        )}
      </div>
      {adding && (
        <NewChannel
          onDone={(c) => {
            setAdding(false);
            if (c) {
              list.set([...(list.data ?? []), c]);
              toast(`Channel ${c.name} added`);
            }
          }}
        />
      )}
      <ErrorNotice error={list.error} retry={list.reload} />
      {!list.data ? (
        !list.error && <Loading what="channels" />
      ) : list.data.length === 0 ? (
        !adding && (
          <div class="empty">
            <h2>No alert channels yet</h2>
            <p>Add an email address, a Slack or Discord incoming webhook, or your own HTTPS endpoint (signed with HMAC-SHA256).</p>
          </div>
        )
      ) : (
        <ul class="cards-list">
          {list.data.map((c) => (
            <ChannelItem c={c} writable={writable} onDelete={() => list.set(list.data!.filter((x) => x.id !== c.id))} />
          ))}
        </ul>
      )}
    </section>
  );
}

function ChannelItem({ c, writable, onDelete }: { c: ChannelView; writable: boolean; onDelete: () => void }) {
  const [testing, setTesting] = useState(false);
  const [outcome, setOutcome] = useState<{ sent: boolean; error?: string | null } | null>(null);
  const [deleting, setDeleting] = useState(false);
  const test = async () => {
    setTesting(true);
    setOutcome(null);
    try {
      setOutcome(await api.testChannel(c.id));
    } catch (e) {
      setOutcome({ sent: false, error: errorText(e) });
    } finally {
      setTesting(false);
    }
  };
  return (
    <li class="card channel" data-channel={c.name}>
      <div class="card-head">
        <div>
          <h2 class="h3">{c.name}</h2>
          <div class="muted small">
            <span class={`kind kind-${c.type}`}>{c.type}</span> · <span class="mono">{target(c)}</span> · added {dateTime(c.created_at)}
          </div>
        </div>
        {writable && (
          <div class="actions">
            <Button busy={testing} onClick={test}>
              Send test
            </Button>
            <ConfirmButton
              label="Delete"
              confirmLabel="Delete channel"
              busy={deleting}
              onConfirm={async () => {
                setDeleting(true);
                try {
                  await api.deleteChannel(c.id);
                  onDelete();
                  toast(`Channel ${c.name} deleted`);
                } catch (e) {
                  toast(errorText(e), 'error');
                } finally {
                  setDeleting(false);
                }
              }}
            />
          </div>
        )}
      </div>
      {outcome &&
        (outcome.sent ? (
          <Notice kind="ok">Test alert delivered. Check that it arrived.</Notice>
        ) : (
          <Notice kind="error">Test alert not delivered: {outcome.error ?? 'unknown reason'}</Notice>
        ))}
    </li>
  );
}

function NewChannel({ onDone }: { onDone: (c: ChannelView | null) => void }) {
  const [type, setType] = useState<Kind>('email');
  const [name, setName] = useState('');
  const [to, setTo] = useState('');
  const [url, setUrl] = useState('');
  const [secret, setSecret] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const fe = error instanceof ApiError ? error.byField() : {};
  const submit = async (ev: Event) => {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    const body: ChannelBody = { name: name.trim(), type };
    if (type === 'email')
      body.to = to
        .split(/[,\s]+/)
        .map((s) => s.trim())
        .filter(Boolean);
    else if (type === 'webhook') {
      body.url = url.trim();
      body.secret = secret;
    } else body.webhook_url = url.trim();
    try {
      onDone(await api.createChannel(body));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const urlErr = fe.url ?? fe.webhook_url ?? fe['webhook-url'];
  const shown = new Set(['name', 'type', 'to', 'url', 'webhook_url', 'webhook-url', 'secret']);
  const other = error && !Object.keys(fe).some((k) => shown.has(k) || k.startsWith('to'));
  return (
    <form class="card form-card" onSubmit={submit} noValidate aria-labelledby="new-channel-title">
      <h2 id="new-channel-title">New alert channel</h2>
      {other ? <ErrorNotice error={error} /> : null}
      <div class="field-row">
        <Field label="Type" id="c-type" error={fe.type}>
          <select id="c-type" value={type} onChange={(e) => setType(e.currentTarget.value as Kind)}>
            {KINDS.map(([k, l]) => (
              <option value={k}>{l}</option>
            ))}
          </select>
        </Field>
        <Field label="Name" id="c-name" error={fe.name} hint="Monitors pick channels by this name" class="grow">
          <input {...describedBy('c-name', fe.name, true)} value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="on-call" />
        </Field>
      </div>
      {type === 'email' ? (
        <Field label="Recipients" id="c-to" error={fe.to ?? Object.entries(fe).find(([k]) => k.startsWith('to'))?.[1]} hint="One or more addresses, separated by commas">
          <input {...describedBy('c-to', fe.to, true)} value={to} onInput={(e) => setTo(e.currentTarget.value)} placeholder="oncall@example.com" />
        </Field>
      ) : (
        <Field
          label={type === 'webhook' ? 'Receiver URL' : `${type === 'slack' ? 'Slack' : 'Discord'} incoming-webhook URL`}
          id="c-url"
          error={urlErr}
          hint={type === 'webhook' ? 'Gets the alert as JSON with X-Sentinel-Signature' : undefined}
        >
          <input {...describedBy('c-url', urlErr, type === 'webhook')} type="url" value={url} onInput={(e) => setUrl(e.currentTarget.value)} placeholder="https://" />
        </Field>
      )}
      {type === 'webhook' && (
        <Field label="Signing secret" id="c-secret" error={fe.secret} hint="At least 16 characters; the receiver checks HMAC-SHA256(secret, timestamp.body)">
          <input {...describedBy('c-secret', fe.secret, true)} value={secret} onInput={(e) => setSecret(e.currentTarget.value)} autoComplete="off" />
        </Field>
      )}
      <div class="form-actions">
        <Button type="submit" variant="primary" busy={busy}>
          Add channel
        </Button>
        <Button variant="ghost" onClick={() => onDone(null)}>
          Cancel
        </Button>
      </div>
    </form>
  );
}
