import { useState } from 'preact/hooks';
import { api, ApiError, type Role, type User } from '../api';
import { Button, ConfirmButton, describedBy, ErrorNotice, errorText, Field, Loading, toast, useAsync, useTitle } from '../components/ui';
import { dateTime } from '../format';
import { useUser } from '../session';

const ROLES: [Role, string][] = [
  ['admin', 'admin — everything, incl. users'],
  ['monitor', 'monitor — read-only'],
  ['user', 'user — own monitors'],
];

export function UsersPage() {
  useTitle('Users');
  const me = useUser();
  const users = useAsync(() => api.users(), []);
  const replace = (u: User) => users.set((users.data ?? []).map((x) => (x.id === u.id ? u : x)));
  return (
    <section class="page" aria-labelledby="users-title">
      <div class="page-head">
        <div>
          <h1 id="users-title">Users</h1>
          <p class="muted">
            <strong>admin</strong> manages users and sees everything; <strong>monitor</strong> reads everything and changes nothing;{' '}
            <strong>user</strong> sees and manages only their own monitors and channels.
          </p>
        </div>
      </div>
      <NewUser onCreated={(u) => users.set([...(users.data ?? []), u])} />
      <ErrorNotice error={users.error} retry={users.reload} />
      {!users.data ? (
        !users.error && <Loading what="users" />
      ) : (
        <div class="table-wrap card flush">
          <table class="data">
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Access</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {users.data.map((u) => (
                <UserRow u={u} self={u.id === me?.id} onChange={replace} onDelete={() => users.set(users.data!.filter((x) => x.id !== u.id))} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function UserRow({ u, self, onChange, onDelete }: { u: User; self: boolean; onChange: (u: User) => void; onDelete: () => void }) {
  const [busy, setBusy] = useState(false);
  const update = async (patch: { role?: Role; disabled?: boolean }) => {
    setBusy(true);
    try {
      onChange(await api.updateUser(u.id, patch));
      toast(`${u.email} updated`);
    } catch (e) {
      toast(errorText(e), 'error');
    } finally {
      setBusy(false);
    }
  };
  return (
    <tr data-user={u.email}>
      <td>
        {u.email} {self && <span class="pill">you</span>}
      </td>
      <td>
        <label class="visually-hidden" for={`role-${u.id}`}>
          Role of {u.email}
        </label>
        <select id={`role-${u.id}`} value={u.role} disabled={busy || self} onChange={(e) => update({ role: e.currentTarget.value as Role })}>
          {ROLES.map(([r]) => (
            <option value={r}>{r}</option>
          ))}
        </select>
      </td>
      <td>
        {u.disabled ? <span class="pill pill-bad">disabled</span> : <span class="pill pill-ok">active</span>}{' '}
        {!self && (
          <button type="button" class="link-button" disabled={busy} onClick={() => update({ disabled: !u.disabled })}>
            {u.disabled ? 'Enable' : 'Disable'}
          </button>
        )}
      </td>
      <td class="nowrap">{dateTime(u.createdAt)}</td>
      <td class="right">
        {!self && (
          <ConfirmButton
            label="Delete"
            confirmLabel="Delete user and their monitors"
            busy={busy}
            onConfirm={async () => {
              setBusy(true);
              try {
                await api.deleteUser(u.id);
                onDelete();
                toast(`${u.email} deleted`);
              } catch (e) {
                toast(errorText(e), 'error');
              } finally {
                setBusy(false);
              }
            }}
          />
        )}
      </td>
    </tr>
  );
}

function NewUser({ onCreated }: { onCreated: (u: User) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('user');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const fe = error instanceof ApiError ? error.byField() : {};
  const submit = async (ev: Event) => {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const u = await api.createUser({ email: email.trim(), password, role });
      onCreated(u);
      toast(`${u.email} can now sign in`);
      setEmail('');
      setPassword('');
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card form-card" onSubmit={submit} noValidate aria-labelledby="new-user-title">
      <h2 id="new-user-title" class="h3">
        Add a user
      </h2>
      {error && !fe.email && !fe.password && !fe.role ? <ErrorNotice error={error} /> : null}
      <div class="field-row align-end">
        <Field label="Email" id="u-email" error={fe.email} class="grow">
          <input {...describedBy('u-email', fe.email)} type="email" value={email} onInput={(e) => setEmail(e.currentTarget.value)} autoComplete="off" />
        </Field>
        <Field label="Initial password" id="u-password" error={fe.password}>
          <input {...describedBy('u-password', fe.password)} type="password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} autoComplete="new-password" />
        </Field>
        <Field label="Role" id="u-role" error={fe.role}>
          <select id="u-role" value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
            {ROLES.map(([r, l]) => (
              <option value={r}>{l}</option>
            ))}
          </select>
        </Field>
        <Button type="submit" variant="primary" busy={busy}>
          Add user
        </Button>
      </div>
    </form>
  );
}
