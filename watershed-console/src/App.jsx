import { Component, lazy, Suspense, useEffect, useState } from 'react';
import { api, clearToken, getToken, onUnauthorized, setToken } from './api.js';
import { useRoute } from './hooks.js';
import { Loading } from './ui.jsx';

// Each page, with ECharts and CodeMirror, is fetched when first opened: the sign-in page loads only the shell.
const Overview = lazy(() => import('./Overview.jsx'));
const Lineage = lazy(() => import('./Lineage.jsx'));
const Tables = lazy(() => import('./Tables.jsx'));
const Sql = lazy(() => import('./Sql.jsx'));
const Logs = lazy(() => import('./Logs.jsx'));
const Dashboards = lazy(() => import('./Dashboards.jsx'));
const Runs = lazy(() => import('./Runs.jsx'));

/** A page whose code cannot be fetched (the network, or a platform upgraded since the tab opened) says so. */
class PageBoundary extends Component {
  constructor(props) {
    super(props);
    this.state = { error: null };
  }

  static getDerivedStateFromError(error) {
    return { error };
  }

  render() {
    if (!this.state.error) return this.props.children;
    return (
      <div className="page">
        <div className="error-box" role="alert" data-testid="page-error">
          This page could not be loaded ({String(this.state.error.message || this.state.error)}). The platform may have been
          upgraded since this tab opened. <button type="button" className="btn small" onClick={() => location.reload()}>Reload</button>
        </div>
      </div>
    );
  }
}

const PAGES = [
  { id: 'overview', label: 'Overview', icon: 'M3 13h8V3H3v10zm0 8h8v-6H3v6zm10 0h8V11h-8v10zm0-18v6h8V3h-8z' },
  { id: 'lineage', label: 'Lineage', icon: 'M6 3a3 3 0 0 0-1 5.83v6.34A3 3 0 1 0 7 15.2V13h6a4 4 0 0 0 4-4V8.83A3 3 0 1 0 15 8.8V9a2 2 0 0 1-2 2H7V8.83A3 3 0 0 0 6 3z' },
  { id: 'tables', label: 'Tables', icon: 'M3 4h18v16H3V4zm2 4v4h6V8H5zm8 0v4h6V8h-6zm-8 6v4h6v-4H5zm8 0v4h6v-4h-6z' },
  { id: 'sql', label: 'SQL', icon: 'M4 5h16v2H4V5zm0 4h10v2H4V9zm0 4h16v2H4v-2zm0 4h10v2H4v-2z' },
  { id: 'logs', label: 'Logs', icon: 'M10 3a7 7 0 0 1 5.6 11.2l5.1 5.1-1.4 1.4-5.1-5.1A7 7 0 1 1 10 3zm0 2a5 5 0 1 0 0 10 5 5 0 0 0 0-10zM7 9h6v2H7V9z' },
  { id: 'dashboards', label: 'Dashboards', icon: 'M4 20V10h3v10H4zm6 0V4h3v16h-3zm6 0v-7h3v7h-3z' },
  { id: 'runs', label: 'Runs', icon: 'M4 4h4v4H4V4zm6 0h4v4h-4V4zm6 0h4v4h-4V4zM4 10h4v4H4v-4zm6 0h4v4h-4v-4zm6 0h4v4h-4v-4zM4 16h4v4H4v-4zm6 0h4v4h-4v-4z' },
];

function Icon({ d }) {
  return (
    <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true" className="icon">
      <path d={d} fill="currentColor" />
    </svg>
  );
}

export function Logo({ size = 22 }) {
  return (
    <svg viewBox="0 0 32 32" width={size} height={size} aria-hidden="true" className="logo">
      <rect width="32" height="32" rx="7" fill="#1d4ed8" />
      <path d="M5 12c3.5-3 7-3 11 0s7.5 3 11 0" stroke="#93c5fd" strokeWidth="2.6" fill="none" strokeLinecap="round" />
      <path d="M5 19c3.5-3 7-3 11 0s7.5 3 11 0" stroke="#fff" strokeWidth="2.6" fill="none" strokeLinecap="round" />
    </svg>
  );
}

function Login({ message, onLogin }) {
  const [token, setTok] = useState('');
  const [error, setError] = useState(message || null);
  const [busy, setBusy] = useState(false);
  useEffect(() => setError(message || null), [message]);

  const submit = async (e) => {
    e.preventDefault();
    const t = token.trim();
    if (!t) {
      setError('Enter an API token (it starts with wst_). An admin creates one with: watershed token create <user>.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const who = await api.whoami(t);
      setToken(t);
      onLogin(who);
    } catch (err) {
      setError(err.message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="login-page">
      <form className="login-card" onSubmit={submit} noValidate>
        <div className="login-brand">
          <Logo size={30} />
          <div>
            <div className="login-title">Watershed</div>
            <div className="login-sub">Data platform console</div>
          </div>
        </div>
        <label htmlFor="token">API token</label>
        <input id="token" data-testid="token" type="password" autoComplete="off" spellCheck="false"
          placeholder="wst_…" value={token} onChange={(e) => setTok(e.target.value)} autoFocus />
        {error && <div className="login-error" role="alert" data-testid="login-error">{error}</div>}
        <button type="submit" className="btn primary wide" data-testid="login" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        <p className="login-hint">The token is kept in this browser tab only (session storage) and sent as a bearer token with each API call.</p>
      </form>
    </div>
  );
}

export default function App() {
  const route = useRoute();
  const [user, setUser] = useState(null);
  const [checking, setChecking] = useState(() => !!getToken());
  const [loginMessage, setLoginMessage] = useState(null);

  useEffect(() => {
    onUnauthorized((message) => {
      setUser(null);
      setLoginMessage(message || 'Your session has expired. Sign in again.');
    });
    return () => onUnauthorized(null);
  }, []);

  useEffect(() => {
    if (!getToken()) return;
    let alive = true;
    api.whoami()
      .then((who) => alive && setUser(who))
      .catch((e) => {
        if (!alive) return;
        if (e.status !== 401) {
          clearToken();
          setLoginMessage(e.message);
        }
      })
      .finally(() => alive && setChecking(false));
    return () => {
      alive = false;
    };
  }, []);

  if (checking && !user) return <Loading text="Connecting…" />;
  if (!user) {
    return <Login message={loginMessage} onLogin={(who) => { setLoginMessage(null); setUser(who); }} />;
  }

  const page = PAGES.some((p) => p.id === route.page) ? route.page : 'overview';
  const signOut = () => {
    clearToken();
    setUser(null);
    setLoginMessage(null);
  };

  let content;
  switch (page) {
    case 'lineage': content = <Lineage route={route} />; break;
    case 'tables': content = <Tables route={route} />; break;
    case 'sql': content = <Sql route={route} />; break;
    case 'logs': content = <Logs route={route} />; break;
    case 'dashboards': content = <Dashboards route={route} />; break;
    case 'runs': content = <Runs route={route} />; break;
    default: content = <Overview />;
  }

  return (
    <div className="app">
      <nav className="sidebar">
        <a className="brand" href="#/overview">
          <Logo />
          <span>Watershed</span>
        </a>
        <ul className="nav">
          {PAGES.map((p) => (
            <li key={p.id}>
              <a href={'#/' + p.id} data-testid={'nav-' + p.id} className={page === p.id ? 'active' : ''}
                aria-current={page === p.id ? 'page' : undefined}>
                <Icon d={p.icon} />
                {p.label}
              </a>
            </li>
          ))}
        </ul>
        <div className="sidebar-foot">
          <div className="who" title={(user.roles || []).join(', ')}>
            <span className="who-name">{user.user}</span>
            {user.admin && <span className="badge badge-info">admin</span>}
          </div>
          <button type="button" className="btn link" onClick={signOut}>Sign out</button>
        </div>
      </nav>
      <main className="main" key={page}><PageBoundary><Suspense fallback={<Loading />}>{content}</Suspense></PageBoundary></main>
    </div>
  );
}
