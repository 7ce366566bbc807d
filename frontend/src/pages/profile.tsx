import { useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { Button, ConfirmButton, describedBy, ErrorNotice, Field, Notice, toast, useTitle } from '../components/ui';
import { navigate } from '../router';
import { dateTime } from '../format';
import { useUser } from '../session';

const ROLE_WORDS: Record<string, string> = {
  admin: 'Admin: manages users and sees every monitor.',
  monitor: 'Monitor: reads everything, changes nothing (wall screens, on-call).',
  user: 'User: creates and manages your own monitors.',
};

export function ProfilePage() {
  useTitle('Profile');
  const user = useUser();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const [mismatch, setMismatch] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const fe = error instanceof ApiError ? error.byField() : {};
  if (!user) return null;
  const submit = async (ev: Event) => {
    ev.preventDefault();
    setDone(false);
    setError(null);
    if (next !== confirm) {
      setMismatch(true);
      return;
    }
    setMismatch(false);
    setBusy(true);
    try {
      await api.changePassword(current, next);
      setDone(true);
      setCurrent('');
      setNext('');
      setConfirm('');
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="page narrow" aria-labelledby="profile-title">
      <h1 id="profile-title">Profile</h1>
      <div class="card">
        <dl class="kv">
          <div>
            <dt>Email</dt>
            <dd>{user.email}</dd>
          </div>
          <div>
            <dt>Role</dt>
            <dd>{ROLE_WORDS[user.role] ?? user.role}</dd>
          </div>
          <div>
            <dt>Member since</dt>
            <dd>{dateTime(user.createdAt)}</dd>
          </div>
        </dl>
      </div>
      <form class="card form-card" onSubmit={submit} noValidate aria-labelledby="pw-title">
        <h2 id="pw-title">Change password</h2>
        <p class="muted small">Changing it signs out every other browser and device; this one stays signed in.</p>
        {done && <Notice kind="ok">Password changed. Other sessions were signed out.</Notice>}
        {error && !fe.currentPassword && !fe.newPassword ? <ErrorNotice error={error} /> : null}
        <Field label="Current password" id="p-current" error={fe.currentPassword}>
          <input {...describedBy('p-current', fe.currentPassword)} type="password" autoComplete="current-password" value={current} onInput={(e) => setCurrent(e.currentTarget.value)} />
        </Field>
        <Field label="New password" id="p-new" error={fe.newPassword} hint="At least 10 characters, and not your email.">
          <input {...describedBy('p-new', fe.newPassword, true)} type="password" autoComplete="new-password" value={next} onInput={(e) => setNext(e.currentTarget.value)} />
        </Field>
        <Field label="Repeat new password" id="p-confirm" error={mismatch ? 'The two passwords differ.' : undefined}>
          <input {...describedBy('p-confirm', mismatch ? 'x' : undefined)} type="password" autoComplete="new-password" value={confirm} onInput={(e) => setConfirm(e.currentTarget.value)} />
        </Field>
        <Button type="submit" variant="primary" busy={busy}>
          Change password
        </Button>
      </form>
      <SignOutEverywhere />
    </section>
  );
}

/** Ends every session of this user: other browsers, phones, forgotten laptops, and this tab. */
function SignOutEverywhere() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      await api.logoutAll();
      toast('Signed out everywhere.');
      navigate('/sign-in');
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return (
    <div class="card" role="group" aria-labelledby="everywhere-title">
      <h2 id="everywhere-title">Sign out everywhere</h2>
      <p class="muted small">
        Ends every session of this account, this one included. Other devices cannot renew their sign-in; a page already open there keeps working for at most 15 minutes,
        until its current access token runs out. API keys are not affected: revoke them under <a href="/api-keys">API keys</a>.
      </p>
      {error ? <ErrorNotice error={error} /> : null}
      <ConfirmButton label="Sign out everywhere" confirmLabel="Sign out all sessions" busy={busy} onConfirm={run} />
    </div>
  );
}
