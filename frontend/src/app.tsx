import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from './api';
import { Loading, Toasts } from './components/ui';
import { match, navigate, useLocation } from './router';
import { useUser } from './session';
import { ForgotPassword, ResetPassword, SignIn, Register } from './pages/auth';
import { MonitorsPage } from './pages/monitors';
import { MonitorDetail } from './pages/monitor-detail';
import { MonitorEdit } from './pages/monitor-edit';
import { ChannelsPage } from './pages/channels';
import { ApiKeysPage } from './pages/api-keys';
import { ProfilePage } from './pages/profile';
import { UsersPage } from './pages/users';
import { EcsPage } from './pages/ecs';
import { EcsServicePage } from './pages/ecs-service';
import { PublicStatusPage, PublicMonitorPage } from './pages/status';
import { Layout, PublicLayout } from './layout';

const PUBLIC_AUTH = ['/sign-in', '/register', '/forgot-password', '/reset-password'];

export function App() {
  const loc = useLocation();
  const user = useUser();
  const [booted, setBooted] = useState(false);

  // Start-up: the access token is not stored, so try the refresh cookie once.
  useEffect(() => {
    api.refresh().finally(() => setBooted(true));
  }, []);

  const path = loc.path;

  // Public status pages: no session needed or used.
  if (path === '/status' || path === '/status/') return shell(<PublicLayout><PublicStatusPage /></PublicLayout>);
  const pub = match('/status/:id', path);
  if (pub) return shell(<PublicLayout><PublicMonitorPage id={pub.id} /></PublicLayout>);

  if (!booted) return shell(<div class="boot"><Loading /></div>);

  if (PUBLIC_AUTH.includes(path)) {
    if (user && path !== '/reset-password') {
      return <Redirect to={loc.query.get('next') || '/monitors'} />;
    }
    const page =
      path === '/sign-in' ? <SignIn /> : path === '/register' ? <Register /> : path === '/forgot-password' ? <ForgotPassword /> : <ResetPassword />;
    return shell(page);
  }

  if (!user) {
    const next = path === '/' ? '' : `?next=${encodeURIComponent(path + location.search)}`;
    return <Redirect to={`/sign-in${next}`} />;
  }

  return shell(<Layout user={user}>{route(path, user.role)}</Layout>);
}

function shell(children: ComponentChildren) {
  return (
    <>
      {children}
      <Toasts />
    </>
  );
}

function route(path: string, role: string) {
  if (path === '/' || path === '/monitors') return <MonitorsPage />;
  if (path === '/monitors/new') return <MonitorEdit />;
  let m = match('/monitors/:id/edit', path);
  if (m) return <MonitorEdit id={m.id} />;
  m = match('/monitors/:id', path);
  if (m) return <MonitorDetail id={m.id} />;
  if (path === '/channels') return <ChannelsPage />;
  if (path === '/api-keys') return <ApiKeysPage />;
  if (path === '/profile') return <ProfilePage />;
  // Users may be refused (403) unless an admin shared ECS with them: the pages say so.
  if (path === '/ecs' || path === '/ecs/') return <EcsPage />;
  if (path === '/ecs/service') return <EcsServicePage />;
  if (path === '/admin/users' && role === 'admin') return <UsersPage />;
  return (
    <section class="page narrow">
      <h1>Page not found</h1>
      <p>
        Nothing lives at <code>{path}</code>. <a href="/monitors">Go to monitors</a>.
      </p>
    </section>
  );
}

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}
