import { useState } from 'preact/hooks';
import { api, ApiError, type KeyView } from '../api';
import { Button, ConfirmButton, CopyButton, describedBy, ErrorNotice, errorText, Field, Loading, Notice, toast, useAsync, useTitle } from '../components/ui';
import { ago, dateTime } from '../format';
import { canWrite, useUser } from '../session';

export function ApiKeysPage() {
  useTitle('API keys');
  const user = useUser();
  const keys = useAsync(() => api.keys(), []);
  const [created, setCreated] = useState<(KeyView & { key: string }) | null>(null);
  const writable = canWrite(user);
  return (
    <section class="page" aria-labelledby="keys-title">
      <div class="page-head">
        <div>
          <h1 id="keys-title">API keys</h1>
          <p class="muted">
            Keys act as you, within their scope: <strong>read</strong> can only GET, <strong>write</strong> can also change monitors and
            channels. No key can manage users, keys or passwords. Send one as <code>Authorization: Bearer snt_…</code> or{' '}
            <code>X-API-Key</code>; the API is described at{' '}
            <a href="/api/openapi.json" data-native>
              /api/openapi.json
            </a>
            .
          </p>
        </div>
      </div>
      {created && (
        <div class="card key-reveal" role="status">
          <h2>Copy your new key now</h2>
          <p>
            This is the only time <strong>{created.name}</strong> is shown. Sentinel stores only its hash.
          </p>
          <div class="snippet">
            <label for="new-key" class="visually-hidden">
              New API key
            </label>
            <input id="new-key" class="mono" readOnly value={created.key} onFocus={(e) => e.currentTarget.select()} />
            <CopyButton text={created.key} />
          </div>
          <Button variant="ghost" onClick={() => setCreated(null)}>
            I have copied it
          </Button>
        </div>
      )}
      {writable ? (
        <NewKey
          onCreated={(k) => {
            setCreated(k);
            keys.set([k, ...(keys.data ?? [])]);
          }}
        />
      ) : (
        <Notice kind="info">Your role is read-only: it cannot create API keys.</Notice>
      )}
      <ErrorNotice error={keys.error} retry={keys.reload} />
      {!keys.data ? (
        !keys.error && <Loading what="keys" />
      ) : keys.data.length === 0 ? (
        <p class="muted">No keys yet.</p>
      ) : (
        <div class="table-wrap card flush">
          <table class="data">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key</th>
                <th scope="col">Scope</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Expires</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.data.map((k) => (
                <KeyRow k={k} onRevoked={() => keys.set(keys.data!.filter((x) => x.id !== k.id))} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function KeyRow({ k, onRevoked }: { k: KeyView; onRevoked: () => void }) {
  const [busy, setBusy] = useState(false);
  const expired = k.expiresAt != null && k.expiresAt < Date.now();
  return (
    <tr data-key={k.name}>
      <td>{k.name}</td>
      <td class="mono">{k.prefix}…</td>
      <td>
        <span class={`pill scope-${k.scope}`}>{k.scope}</span>
      </td>
      <td class="nowrap">{dateTime(k.createdAt)}</td>
      <td class="nowrap">{k.lastUsedAt ? ago(k.lastUsedAt) : 'never'}</td>
      <td class="nowrap">{k.expiresAt ? (expired ? <span class="danger-text">expired</span> : dateTime(k.expiresAt)) : 'never'}</td>
      <td class="right">
        <ConfirmButton
          label="Revoke"
          confirmLabel="Revoke key"
          busy={busy}
          onConfirm={async () => {
            setBusy(true);
            try {
              await api.revokeKey(k.id);
              onRevoked();
              toast(`Key ${k.name} revoked`);
            } catch (e) {
              toast(errorText(e), 'error');
            } finally {
              setBusy(false);
            }
          }}
        />
      </td>
    </tr>
  );
}

function NewKey({ onCreated }: { onCreated: (k: KeyView & { key: string }) => void }) {
  const [name, setName] = useState('');
  const [scope, setScope] = useState<'read' | 'write'>('read');
  const [expiresIn, setExpiresIn] = useState('90d');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const fe = error instanceof ApiError ? error.byField() : {};
  const submit = async (ev: Event) => {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const k = await api.createKey({ name: name.trim(), scope, ...(expiresIn ? { expiresIn } : {}) });
      setName('');
      onCreated(k);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card form-card" onSubmit={submit} noValidate aria-labelledby="new-key-title">
      <h2 id="new-key-title" class="h3">
        Create a key
      </h2>
      {error && !fe.name && !fe.scope && !fe.expiresIn ? <ErrorNotice error={error} /> : null}
      <div class="field-row align-end">
        <Field label="Name" id="k-name" error={fe.name} class="grow">
          <input {...describedBy('k-name', fe.name)} value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="CI deploy check" />
        </Field>
        <Field label="Scope" id="k-scope" error={fe.scope}>
          <select id="k-scope" value={scope} onChange={(e) => setScope(e.currentTarget.value as 'read' | 'write')}>
            <option value="read">read</option>
            <option value="write">write</option>
          </select>
        </Field>
        <Field label="Expires after" id="k-exp" error={fe.expiresIn}>
          <select id="k-exp" value={expiresIn} onChange={(e) => setExpiresIn(e.currentTarget.value)}>
            <option value="30d">30 days</option>
            <option value="90d">90 days</option>
            <option value="365d">1 year</option>
            <option value="">never</option>
          </select>
        </Field>
        <Button type="submit" variant="primary" busy={busy}>
          Create key
        </Button>
      </div>
    </form>
  );
}
