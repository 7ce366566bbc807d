// Admin parts of the ECS page: the AWS accounts (add, edit, delete) and whether users see ECS.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, type EcsAccount } from '../api';
import { Button, ConfirmButton, describedBy, ErrorNotice, errorText, Field, Loading, Notice, toast, useAsync } from '../components/ui';
import { accountBody, accountFieldErrors, type AccountForm, accountLabel, minutesAgo, parseRegions } from '../ecs';
import { dateTime } from '../format';

export function EcsAccountsAdmin({ accounts, onChanged }: { accounts: EcsAccount[]; onChanged: () => void }) {
  // With no account yet the form is open: adding one is the only thing to do here.
  const [editing, setEditing] = useState<EcsAccount | 'new' | null>(null);
  const shown = editing ?? (accounts.length === 0 ? 'new' : null);
  const done = () => {
    setEditing(null);
    onChanged();
  };
  return (
    <div class="card ecs-accounts" aria-labelledby="ecs-accounts-title">
      <div class="card-head">
        <h2 id="ecs-accounts-title">AWS accounts</h2>
        {shown === null && (
          <Button class="btn-small" onClick={() => setEditing('new')}>
            Add account
          </Button>
        )}
      </div>
      {accounts.length > 0 && (
        <div class="table-wrap">
          <table class="data">
            <thead>
              <tr>
                <th scope="col">Account</th>
                <th scope="col">Regions</th>
                <th scope="col">Access</th>
                <th scope="col">External ID</th>
                <th scope="col">Last collection</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {accounts.map((a) => (
                <AccountRow a={a} onEdit={() => setEditing(a)} onDeleted={done} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {shown !== null && (
        <AccountEditor
          key={shown === 'new' ? 'new' : shown.id}
          account={shown === 'new' ? null : shown}
          canCancel={accounts.length > 0}
          focusOnOpen={editing !== null}
          onCancel={() => setEditing(null)}
          onSaved={done}
        />
      )}
    </div>
  );
}

function AccountRow({ a, onEdit, onDeleted }: { a: EcsAccount; onEdit: () => void; onDeleted: () => void }) {
  const [busy, setBusy] = useState(false);
  const label = accountLabel(a);
  return (
    <tr data-ecs-account={a.id}>
      <td>
        <strong>{label}</strong>
        {a.account_id && a.account_id !== label && <span class="block small muted mono">{a.account_id}</span>}
      </td>
      <td>{a.regions.join(', ')}</td>
      <td class="ecs-arn">{a.role_arn ? <code>{a.role_arn}</code> : <span class="muted">Sentinel’s own credentials</span>}</td>
      <td>{a.has_external_id ? <span class="pill">set</span> : <span class="muted">not set</span>}</td>
      <td class="nowrap">
        {a.last_error ? (
          <span class="pill pill-bad" title={a.last_error}>
            failed
          </span>
        ) : a.last_collected_at != null ? (
          <span class="pill pill-ok">ok</span>
        ) : null}{' '}
        <span title={a.last_collected_at != null ? dateTime(a.last_collected_at) : undefined}>{minutesAgo(a.last_collected_at)}</span>
      </td>
      <td class="right nowrap">
        <Button variant="ghost" class="btn-small" onClick={onEdit} aria-label={`Edit ${label}`}>
          Edit
        </Button>
        <ConfirmButton
          label="Delete"
          confirmLabel={`Delete ${label}`}
          busy={busy}
          onConfirm={async () => {
            setBusy(true);
            try {
              await api.deleteEcsAccount(a.id);
              toast(`${label} removed`);
              onDeleted();
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

function AccountEditor({
  account,
  canCancel,
  focusOnOpen,
  onCancel,
  onSaved,
}: {
  account: EcsAccount | null;
  canCancel: boolean;
  /** Opened by Add/Edit (not shown by default on an empty page): take the focus. */
  focusOnOpen: boolean;
  onCancel: () => void;
  onSaved: () => void;
}) {
  const [form, setForm] = useState<AccountForm>({
    name: account?.name ?? '',
    role_arn: account?.role_arn ?? '',
    external_id: '',
    clear_external_id: false,
    regions: account?.regions.join(', ') ?? '',
  });
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (focusOnOpen) first.current?.focus();
  }, []);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [sentRegions, setSentRegions] = useState<string[]>([]);
  const fe = error instanceof ApiError ? accountFieldErrors(error.byField(), sentRegions) : {};
  const unplaced = error && !fe.name && !fe.role_arn && !fe.external_id && !fe.regions;
  const set = (k: keyof AccountForm) => (e: { currentTarget: HTMLInputElement }) =>
    setForm({ ...form, [k]: k === 'clear_external_id' ? e.currentTarget.checked : e.currentTarget.value });
  const p = account ? `ecs-edit` : 'ecs-new';

  const submit = async (ev: Event) => {
    ev.preventDefault();
    const body = accountBody(form, !!account);
    setSentRegions(body.regions);
    setBusy(true);
    setError(null);
    try {
      const saved = account ? await api.updateEcsAccount(account.id, body) : await api.createEcsAccount(body);
      toast(account ? `${accountLabel(saved)} saved` : `${accountLabel(saved)} added; Refresh now collects it at once`);
      onSaved();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const regionCount = parseRegions(form.regions).length;
  return (
    <form id="ecs-account-form" class="ecs-account-form" onSubmit={submit} noValidate aria-labelledby={`${p}-title`}>
      <h3 id={`${p}-title`}>{account ? `Edit ${accountLabel(account)}` : 'Add an AWS account'}</h3>
      {unplaced ? <ErrorNotice error={fe.other ? new Error(fe.other) : error} /> : fe.other ? <Notice>{fe.other}</Notice> : null}
      <div class="field-row">
        <Field label="Name (optional)" id={`${p}-name`} error={fe.name} hint="Shown on this page; without one, the AWS account alias or ID." class="grow">
          <input {...describedBy(`${p}-name`, fe.name, true)} ref={first} value={form.name} onInput={set('name')} autoComplete="off" />
        </Field>
        <Field
          label="Regions"
          id={`${p}-regions`}
          error={fe.regions}
          hint={`Comma-separated, e.g. eu-west-1, us-east-1${regionCount ? ` (${regionCount})` : ''}.`}
          class="grow"
        >
          <input {...describedBy(`${p}-regions`, fe.regions, true)} value={form.regions} onInput={set('regions')} autoComplete="off" spellcheck={false} />
        </Field>
      </div>
      <Field
        label="Role ARN (optional)"
        id={`${p}-role`}
        error={fe.role_arn}
        hint={
          <>
            The role Sentinel assumes in that account, e.g. <code>arn:aws:iam::123456789012:role/sentinel-ecs-read</code>. Leave empty
            for the account Sentinel runs in. Policy and trust set-up: <code>docs/ecs.md</code>.
          </>
        }
      >
        <input {...describedBy(`${p}-role`, fe.role_arn, true)} value={form.role_arn} onInput={set('role_arn')} autoComplete="off" spellcheck={false} class="mono" />
      </Field>
      <Field
        label="External ID (optional)"
        id={`${p}-external`}
        error={fe.external_id}
        hint={
          account
            ? `Currently ${account.has_external_id ? 'set' : 'not set'}. It is never shown; leave empty to keep ${account.has_external_id ? 'it' : 'none'}.`
            : 'Only if the role’s trust policy asks for one. Stored, never shown again.'
        }
      >
        <input
          {...describedBy(`${p}-external`, fe.external_id, true)}
          type="password"
          value={form.external_id}
          onInput={set('external_id')}
          autoComplete="new-password"
          disabled={form.clear_external_id}
          placeholder={account?.has_external_id ? 'set (hidden)' : ''}
        />
      </Field>
      {account?.has_external_id && (
        <label class="check">
          <input type="checkbox" checked={form.clear_external_id} onChange={set('clear_external_id')} /> Remove the stored external ID
        </label>
      )}
      <div class="form-actions">
        <Button type="submit" variant="primary" busy={busy}>
          {account ? 'Save account' : 'Add account'}
        </Button>
        {canCancel && (
          <Button variant="ghost" onClick={onCancel}>
            Cancel
          </Button>
        )}
      </div>
    </form>
  );
}

/** The admin switch: may users with the `user` role read the ECS page? */
export function EcsSettingsCard() {
  const settings = useAsync(() => api.ecsSettings(), []);
  const [busy, setBusy] = useState(false);
  const toggle = async (on: boolean) => {
    setBusy(true);
    try {
      settings.set(await api.updateEcsSettings({ users_can_view: on }));
      toast(on ? 'Users can now see ECS' : 'ECS is now hidden from users');
    } catch (e) {
      toast(errorText(e), 'error');
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="card">
      <h2>Who sees ECS</h2>
      <ErrorNotice error={settings.error} retry={settings.reload} />
      {settings.data ? (
        <label class="check">
          <input type="checkbox" checked={settings.data.users_can_view} disabled={busy} onChange={(e) => toggle(e.currentTarget.checked)} />
          <span>
            ECS visible to users (read-only). Admins and the <strong>monitor</strong> role always see it.
          </span>
        </label>
      ) : (
        !settings.error && <Loading what="settings" />
      )}
    </div>
  );
}
