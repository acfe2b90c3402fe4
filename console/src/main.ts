/** The console's shell: sign-in with an admin key, the tenant picker, and one page per hash route. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { ApiError, get, session, type Who } from './api.ts';
import { html } from './ui.ts';
import { UsagePage } from './pages/usage.ts';
import { AuditPage } from './pages/audit.ts';
import { ApprovalsPage } from './pages/approvals.ts';
import { SetupPage } from './pages/setup.ts';
import { CatalogPage } from './pages/catalog.ts';

const ROUTES = [
  { id: 'usage', label: 'Usage' },
  { id: 'audit', label: 'Audit' },
  { id: 'approvals', label: 'Approvals' },
  { id: 'setup', label: 'Setup' },
  { id: 'catalog', label: 'Catalog' },
] as const;
type Route = (typeof ROUTES)[number]['id'];

const routeOf = (): Route => {
  const id = location.hash.replace(/^#\/?/, '').split('?')[0];
  return (ROUTES.find((r) => r.id === id)?.id ?? 'usage') as Route;
};

function SignIn({ onSignedIn }: { onSignedIn: (who: Who) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    session.set(key.trim());
    try {
      onSignedIn(await get<Who>('/whoami'));
    } catch (err) {
      session.clear();
      setError(err instanceof ApiError && err.status === 401 ? 'That admin key is not valid.' : (err as Error).message);
    }
  };
  return html`<main class="signin">
    <h1>specgate console</h1>
    <form onSubmit=${submit} aria-label="Sign in">
      <label for="admin-key">Admin key</label>
      <input id="admin-key" name="admin-key" type="password" autocomplete="off" required value=${key}
        onInput=${(e: Event) => setKey((e.target as HTMLInputElement).value)} />
      <p class="muted">An admin key from <code>specgate admin-key create</code>, or SPECGATE_ADMIN_TOKEN. It stays in this tab only.</p>
      <button type="submit">Sign in</button>
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </form>
  </main>`;
}

function App() {
  const [who, setWho] = useState<Who | null>(null);
  const [checking, setChecking] = useState(session.key() !== null);
  const [route, setRoute] = useState<Route>(routeOf());
  const [tenant, setTenant] = useState<string>('');
  const [tenants, setTenants] = useState<Array<{ id: string; name: string }>>([]);

  useEffect(() => {
    const on = () => setRoute(routeOf());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  useEffect(() => {
    if (!session.key()) return;
    get<Who>('/whoami').then(setWho, () => session.clear()).finally(() => setChecking(false));
  }, []);
  useEffect(() => {
    if (!who) return;
    get<{ items: Array<{ id: string; name: string }> }>('/tenants', { limit: 500 }).then((r) => {
      setTenants(r.items);
      setTenant(who.tenantId ?? r.items[0]?.id ?? '');
    }, () => setTenants([]));
  }, [who]);

  if (checking) return html`<p class="boot">Checking your session…</p>`;
  if (!who) return html`<${SignIn} onSignedIn=${setWho} />`;
  const signOut = () => {
    session.clear();
    setWho(null);
  };
  // Usage can span every tenant for a global operator; the other pages are about one tenant.
  const allowAll = route === 'usage' && who.tenantId === null;
  const page = route === 'catalog' ? html`<${CatalogPage} />`
    : !tenant && !allowAll ? html`<p class="muted">No tenant yet: create one with <code>specgate tenant create</code>.</p>`
    : route === 'usage' ? html`<${UsagePage} tenant=${tenant} />`
    : route === 'audit' ? html`<${AuditPage} tenant=${tenant} />`
    : route === 'approvals' ? html`<${ApprovalsPage} tenant=${tenant} />`
    : html`<${SetupPage} tenant=${tenant} />`;
  return html`<div class="shell">
    <a class="skip" href="#content">Skip to content</a>
    <header>
      <h1>specgate</h1>
      <nav aria-label="Console">
        <ul>${ROUTES.map((r) => html`<li><a href=${`#/${r.id}`} aria-current=${r.id === route ? 'page' : undefined}>${r.label}</a></li>`)}</ul>
      </nav>
      ${route !== 'catalog' && html`<label class="tenant">Tenant
        <select value=${tenant} disabled=${who.tenantId !== null} onChange=${(e: Event) => setTenant((e.target as HTMLSelectElement).value)}>
          ${allowAll && html`<option value="">All tenants</option>`}
          ${tenants.map((t) => html`<option value=${t.id}>${t.name} (${t.id})</option>`)}
        </select>
      </label>`}
      <p class="who">${who.subject}${who.tenantId ? ` · ${who.tenantId}` : ' · global'} <button type="button" onClick=${signOut}>Sign out</button></p>
    </header>
    <main id="content" tabindex="-1">${page}</main>
  </div>`;
}

const mount = document.getElementById('app')!;
// The boot message is plain HTML: Preact would keep it beside the app rather than replace it.
mount.textContent = '';
render(html`<${App} />`, mount);
