import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { Button, describedBy, errorText, Field, Notice, toast, useTitle } from '../components/ui';
import { AuthCard } from '../layout';
import { navigate } from '../router';

function nextPath(): string {
  const next = new URLSearchParams(location.search).get('next');
  // Only local paths: never bounce to another site.
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/monitors';
}

function fieldErrors(e: unknown): Record<string, string> {
  return e instanceof ApiError ? e.byField() : {};
}

export function SignIn() {
  useTitle('Sign in');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = async (ev: Event) => {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.login(email, password);
      navigate(nextPath(), { replace: true });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const fe = fieldErrors(error);
  return (
    <AuthCard title="Sign in">
      <form onSubmit={submit} noValidate>
        {error && !fe.email && !fe.password ? <Notice>{errorText(error)}</Notice> : null}
        <Field label="Email" id="email" error={fe.email}>
          <input {...describedBy('email', fe.email)} type="email" autoComplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} autoFocus />
        </Field>
        <Field label="Password" id="password" error={fe.password}>
          <input {...describedBy('password', fe.password)} type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </Field>
        <Button type="submit" variant="primary" busy={busy} class="btn-block">
          Sign in
        </Button>
      </form>
      <p class="auth-links">
        <a href="/forgot-password">Forgot your password?</a>
        <a href="/register">Create an account</a>
      </p>
    </AuthCard>
  );
}

export function Register() {
  useTitle('Create an account');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [mismatch, setMismatch] = useState(false);
  const submit = async (ev: Event) => {
    ev.preventDefault();
    setError(null);
    if (password !== confirm) {
      setMismatch(true);
      return;
    }
    setMismatch(false);
    setBusy(true);
    try {
      await api.register(email, password);
      toast('Account created. Welcome to Sentinel.');
      navigate('/monitors', { replace: true });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const fe = fieldErrors(error);
  const closed = error instanceof ApiError && error.code === 'registration_closed';
  return (
    <AuthCard title="Create an account">
      <p class="muted">The first account on a new server becomes its admin.</p>
      <form onSubmit={submit} noValidate>
        {error && !fe.email && !fe.password ? (
          <Notice>{closed ? 'Registration is closed on this server: ask an admin to create your account.' : errorText(error)}</Notice>
        ) : null}
        <Field label="Email" id="email" error={fe.email}>
          <input {...describedBy('email', fe.email)} type="email" autoComplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} autoFocus />
        </Field>
        <Field label="Password" id="password" error={fe.password} hint="At least 10 characters, and not your email.">
          <input {...describedBy('password', fe.password, true)} type="password" autoComplete="new-password" required minLength={10} value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </Field>
        <Field label="Repeat password" id="confirm" error={mismatch ? 'The two passwords differ.' : undefined}>
          <input {...describedBy('confirm', mismatch ? 'x' : undefined)} type="password" autoComplete="new-password" required value={confirm} onInput={(e) => setConfirm(e.currentTarget.value)} />
        </Field>
        <Button type="submit" variant="primary" busy={busy} class="btn-block">
          Create account
        </Button>
      </form>
      <p class="auth-links">
        <a href="/sign-in">I have an account</a>
      </p>
    </AuthCard>
  );
}

export function ForgotPassword() {
  useTitle('Reset your password');
  const [email, setEmail] = useState('');
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = async (ev: Event) => {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.forgotPassword(email);
      setSent(true);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const fe = fieldErrors(error);
  return (
    <AuthCard title="Reset your password">
      {sent ? (
        <Notice kind="ok">
          If an account exists for <strong>{email}</strong>, a link to choose a new password is on its way. It works once,
          for a limited time.
        </Notice>
      ) : (
        <form onSubmit={submit} noValidate>
          <p class="muted">We will email you a link to choose a new password.</p>
          {error && !fe.email ? <Notice>{errorText(error)}</Notice> : null}
          <Field label="Email" id="email" error={fe.email}>
            <input {...describedBy('email', fe.email)} type="email" autoComplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} autoFocus />
          </Field>
          <Button type="submit" variant="primary" busy={busy} class="btn-block">
            Send the link
          </Button>
        </form>
      )}
      <p class="auth-links">
        <a href="/sign-in">Back to sign in</a>
      </p>
    </AuthCard>
  );
}

export function ResetPassword() {
  useTitle('Choose a new password');
  const token = new URLSearchParams(location.search).get('token') ?? '';
  const [valid, setValid] = useState<boolean | null>(null);
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const [mismatch, setMismatch] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (!token) {
      setValid(false);
      return;
    }
    api.verifyResetToken(token).then(
      (r) => setValid(r.valid),
      () => setValid(false),
    );
  }, [token]);
  const submit = async (ev: Event) => {
    ev.preventDefault();
    setError(null);
    if (password !== confirm) {
      setMismatch(true);
      return;
    }
    setMismatch(false);
    setBusy(true);
    try {
      await api.resetPassword(token, password);
      setDone(true);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const fe = fieldErrors(error);
  const pwError = fe.newPassword ?? fe.password;
  return (
    <AuthCard title="Choose a new password">
      {done ? (
        <Notice kind="ok">
          Your password is changed and every session was signed out. <a href="/sign-in">Sign in</a> with the new one.
        </Notice>
      ) : valid === false ? (
        <Notice>
          This link is invalid, expired or already used. <a href="/forgot-password">Ask for a new one</a>.
        </Notice>
      ) : (
        <form onSubmit={submit} noValidate>
          {error && !pwError ? <Notice>{errorText(error)}</Notice> : null}
          <Field label="New password" id="new-password" error={pwError} hint="At least 10 characters.">
            <input {...describedBy('new-password', pwError, true)} type="password" autoComplete="new-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} autoFocus />
          </Field>
          <Field label="Repeat new password" id="confirm" error={mismatch ? 'The two passwords differ.' : undefined}>
            <input {...describedBy('confirm', mismatch ? 'x' : undefined)} type="password" autoComplete="new-password" required value={confirm} onInput={(e) => setConfirm(e.currentTarget.value)} />
          </Field>
          <Button type="submit" variant="primary" busy={busy} disabled={valid === null} class="btn-block">
            Set the new password
          </Button>
        </form>
      )}
    </AuthCard>
  );
}
