import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, type User } from './api';
import { errorText, toast } from './components/ui';
import { navigate, useLocation } from './router';

function Brand({ href }: { href: string }) {
  return (
    <a class="brand" href={href}>
      <svg viewBox="0 0 32 32" width="22" height="22" aria-hidden="true">
        <rect width="32" height="32" rx="7" fill="var(--accent)" />
        <path d="M5 17h6l3-7 4 13 3-6h6" fill="none" stroke="#fff" stroke-width="2.6" stroke-linecap="round" stroke-linejoin="round" />
      </svg>
      <span>Sentinel</span>
    </a>
  );
}

export function Layout({ user, children }: { user: User; children: ComponentChildren }) {
  const loc = useLocation();
  const [busy, setBusy] = useState(false);
  const ecs = useEcsVisible(user);
  const links: [string, string][] = [['/monitors', 'Monitors']];
  if (ecs) links.push(['/ecs', 'ECS']);
  links.push(['/channels', 'Alert channels'], ['/api-keys', 'API keys']);
  if (user.role === 'admin') links.push(['/admin/users', 'Users']);
  const current = (href: string) =>
    loc.path === href ||
    (href === '/monitors' && (loc.path === '/' || loc.path.startsWith('/monitors/'))) ||
    (href === '/ecs' && loc.path.startsWith('/ecs/'));

  const signOut = async () => {
    setBusy(true);
    try {
      await api.logout();
      navigate('/sign-in');
    } catch (e) {
      toast(errorText(e), 'error');
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="app">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <Brand href="/monitors" />
        <nav aria-label="Main" class="mainnav">
          {links.map(([href, label]) => (
            <a href={href} aria-current={current(href) ? 'page' : undefined}>
              {label}
            </a>
          ))}
          <a href="/status" data-native target="_blank" rel="noopener">
            Status page
          </a>
        </nav>
        <div class="usermenu">
          <a href="/profile" class="who" aria-current={loc.path === '/profile' ? 'page' : undefined} title="Profile">
            <span class="email">{user.email}</span>
            <span class={`role role-${user.role}`}>{user.role}</span>
          </a>
          <button type="button" class="btn btn-ghost btn-small" onClick={signOut} disabled={busy}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}

/**
 * Admins and the monitor role always see ECS; a `user` only when an admin shared it, which
 * only the API knows: a 403 from `GET /api/ecs/clusters` hides the entry.
 */
function useEcsVisible(user: User): boolean {
  const [visible, setVisible] = useState(user.role !== 'user');
  useEffect(() => {
    if (user.role !== 'user') {
      setVisible(true);
      return;
    }
    let live = true;
    setVisible(false);
    api.ecsClusters().then(
      () => live && setVisible(true),
      (e) => live && setVisible(!(e instanceof ApiError && e.status === 403)),
    );
    return () => {
      live = false;
    };
  }, [user.id, user.role]);
  return visible;
}

export function PublicLayout({ children }: { children: ComponentChildren }) {
  return (
    <div class="app public">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <Brand href="/status" />
        <span class="topbar-note">Status</span>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
      <footer class="public-footer">
        Powered by Sentinel · <a href="/sign-in">Sign in</a>
      </footer>
    </div>
  );
}

/** Centered card for sign-in, registration and password pages. */
export function AuthCard({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <div class="auth">
      <main id="main" class="auth-card">
        <Brand href="/sign-in" />
        <h1>{title}</h1>
        {children}
      </main>
    </div>
  );
}
