/**
 * A tenant's setup: customers and their vendor ids, API keys (a new key is shown once), vendor
 * credentials (write-only: never shown back), grants, quotas and rate limits. Every change goes
 * through the admin API, which audits it.
 */
import { useState } from 'preact/hooks';
import { enc, get, send } from '../api.ts';
import { Status, Table, html, shortTime, useLoad } from '../ui.ts';

interface Customer { id: string; name: string }
interface Key { id: string; subject: string; roles: string[]; prefix: string; status: string; expiresAt: string | null; createdAt: string }
interface Credential { connector: string; kind: string; keyId: string; updatedAt: string }
interface Grant { connector: string; toolGlob: string }
interface Quota { scope: string; period: string; limit: number }
interface RateLimit { scope: string; perSecond: number }

/** A small form: fields in, one action, the error under it; cleared after success. */
function ActionForm({ label, fields, submit, onDone }: {
  label: string; fields: Array<{ name: string; label: string; placeholder?: string; type?: string; required?: boolean }>;
  submit: (values: Record<string, string>) => Promise<unknown>; onDone: (result: unknown) => void;
}) {
  const [values, setValues] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const onSubmit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onDone(await submit(values));
      setValues({});
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="inline" onSubmit=${onSubmit} aria-label=${label}>
    ${fields.map((f) => html`<label>${f.label}
      <input name=${f.name} type=${f.type ?? 'text'} placeholder=${f.placeholder ?? ''} required=${f.required ?? true} autocomplete="off"
        value=${values[f.name] ?? ''} onInput=${(e: Event) => setValues({ ...values, [f.name]: (e.target as HTMLInputElement).value })} /></label>`)}
    <button type="submit" disabled=${busy}>${label}</button>
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </form>`;
}

export function SetupPage({ tenant }: { tenant: string }) {
  const t = `/tenants/${enc(tenant)}`;
  const customers = useLoad(() => get<{ items: Customer[] }>(`${t}/customers`, { limit: 500 }), [tenant]);
  const keys = useLoad(() => get<{ items: Key[] }>(`${t}/keys`, { limit: 500 }), [tenant]);
  const credentials = useLoad(() => get<{ items: Credential[] }>(`${t}/credentials`, { limit: 500 }), [tenant]);
  const grants = useLoad(() => get<{ items: Grant[] }>(`${t}/grants`, { limit: 500 }), [tenant]);
  const quotas = useLoad(() => get<{ items: Quota[] }>(`${t}/quotas`, { limit: 500 }), [tenant]);
  const limits = useLoad(() => get<{ items: RateLimit[] }>(`${t}/rate-limits`, { limit: 500 }), [tenant]);
  const [newKey, setNewKey] = useState<{ key: string; notice: string } | null>(null);
  const [rowError, setRowError] = useState<string | null>(null);
  const act = async (fn: () => Promise<unknown>, reload: () => void) => {
    setRowError(null);
    try {
      await fn();
      reload();
    } catch (e) {
      setRowError((e as Error).message);
    }
  };

  return html`<section aria-labelledby="setup-h">
    <h2 id="setup-h">Setup of ${tenant}</h2>
    ${rowError && html`<p class="error" role="alert">${rowError}</p>`}

    <h3>Customers</h3>
    <${Status} loaded=${customers} />
    <${Table} caption="Customers" rows=${customers.data?.items ?? []} columns=${[
      { label: 'Id', cell: (c: Customer) => c.id }, { label: 'Name', cell: (c: Customer) => c.name },
    ]} />
    <${ActionForm} label="Add customer" fields=${[{ name: 'id', label: 'Id', placeholder: 'acme' }, { name: 'name', label: 'Name' }]}
      submit=${(v: Record<string, string>) => send('POST', `${t}/customers`, { id: v.id, name: v.name })} onDone=${customers.reload} />
    <${ActionForm} label="Set vendor id" fields=${[{ name: 'customer', label: 'Customer' }, { name: 'connector', label: 'Connector', placeholder: 'halopsa' }, { name: 'vendorId', label: 'Vendor id' }]}
      submit=${(v: Record<string, string>) => send('PUT', `${t}/customers/${enc(v.customer)}/vendor-ids/${enc(v.connector)}`, { vendorId: v.vendorId })} onDone=${customers.reload} />

    <h3>API keys</h3>
    <${Status} loaded=${keys} />
    <${Table} caption="API keys" rows=${keys.data?.items ?? []} columns=${[
      { label: 'Prefix', cell: (k: Key) => html`<code>${k.prefix}</code>` }, { label: 'Subject', cell: (k: Key) => k.subject },
      { label: 'Roles', cell: (k: Key) => k.roles.join(', ') }, { label: 'Status', cell: (k: Key) => k.status },
      { label: 'Created', cell: (k: Key) => shortTime(k.createdAt) },
      { label: '', cell: (k: Key) => k.status === 'active' && html`<button type="button" class="danger" aria-label=${`Revoke key ${k.prefix}`}
          onClick=${() => act(() => send('DELETE', `${t}/keys/${enc(k.id)}`), keys.reload)}>Revoke</button>` },
    ]} />
    <${ActionForm} label="Create key" fields=${[{ name: 'subject', label: 'Subject', placeholder: 'alice@msp.example' }, { name: 'roles', label: 'Roles (comma-separated)', placeholder: 'technician', required: false }]}
      submit=${(v: Record<string, string>) => send('POST', `${t}/keys`, { subject: v.subject, roles: (v.roles ?? '').split(',').map((r) => r.trim()).filter(Boolean) })}
      onDone=${(r: unknown) => { setNewKey(r as { key: string; notice: string }); keys.reload(); }} />
    ${newKey && html`<div class="secret" role="alert">
      <p><strong>${newKey.notice}</strong></p>
      <p><code data-new-key>${newKey.key}</code></p>
      <button type="button" onClick=${() => setNewKey(null)}>I have stored it</button>
    </div>`}

    <h3>Vendor credentials</h3>
    <p class="muted">Write-only: a stored credential is never shown back.</p>
    <${Status} loaded=${credentials} />
    <${Table} caption="Vendor credentials" rows=${credentials.data?.items ?? []} empty="No stored credentials." columns=${[
      { label: 'Connector', cell: (c: Credential) => c.connector }, { label: 'Kind', cell: (c: Credential) => c.kind },
      { label: 'Sealed with', cell: (c: Credential) => c.keyId }, { label: 'Updated', cell: (c: Credential) => shortTime(c.updatedAt) },
    ]} />
    <${ActionForm} label="Store credential" fields=${[{ name: 'connector', label: 'Connector' }, { name: 'body', label: 'Credential (JSON)', type: 'password', placeholder: '{"kind":"apiKey","key":"..."}' }]}
      submit=${(v: Record<string, string>) => {
        let body: unknown;
        try { body = JSON.parse(v.body ?? ''); } catch { throw new Error('Credential (JSON): not valid JSON'); }
        return send('PUT', `${t}/credentials/${enc(v.connector)}`, body);
      }} onDone=${credentials.reload} />

    <h3>Grants</h3>
    <${Status} loaded=${grants} />
    <${Table} caption="Grants" rows=${grants.data?.items ?? []} empty="No grants: this tenant may call nothing." columns=${[
      { label: 'Connector', cell: (g: Grant) => g.connector }, { label: 'Tools', cell: (g: Grant) => g.toolGlob },
      { label: '', cell: (g: Grant) => html`<button type="button" class="danger" aria-label=${`Remove grant ${g.connector} ${g.toolGlob}`}
          onClick=${() => act(() => send('DELETE', `${t}/grants?connector=${enc(g.connector)}&toolGlob=${enc(g.toolGlob)}`), grants.reload)}>Remove</button>` },
    ]} />
    <${ActionForm} label="Add grant" fields=${[{ name: 'connector', label: 'Connector' }, { name: 'toolGlob', label: 'Tool glob', placeholder: '*', required: false }]}
      submit=${(v: Record<string, string>) => send('POST', `${t}/grants`, { connector: v.connector, ...(v.toolGlob && { toolGlob: v.toolGlob }) })} onDone=${grants.reload} />

    <h3>Quotas</h3>
    <${Status} loaded=${quotas} />
    <${Table} caption="Quotas" rows=${quotas.data?.items ?? []} empty="No quotas." columns=${[
      { label: 'Scope', cell: (q: Quota) => q.scope }, { label: 'Period', cell: (q: Quota) => q.period }, { label: 'Limit', cell: (q: Quota) => q.limit, numeric: true },
    ]} />
    <${ActionForm} label="Set quota" fields=${[{ name: 'scope', label: 'Scope', placeholder: '*' }, { name: 'period', label: 'Period', placeholder: 'month' }, { name: 'limit', label: 'Limit', type: 'number' }]}
      submit=${(v: Record<string, string>) => send('PUT', `${t}/quotas`, { scope: v.scope, period: v.period, limit: Number(v.limit) })} onDone=${quotas.reload} />

    <h3>Rate limits</h3>
    <${Status} loaded=${limits} />
    <${Table} caption="Rate limits" rows=${limits.data?.items ?? []} empty="No rate limits." columns=${[
      { label: 'Scope', cell: (r: RateLimit) => r.scope }, { label: 'Calls per second', cell: (r: RateLimit) => r.perSecond, numeric: true },
    ]} />
    <${ActionForm} label="Set rate limit" fields=${[{ name: 'scope', label: 'Scope', placeholder: 'tenant' }, { name: 'perSecond', label: 'Calls per second', type: 'number' }]}
      submit=${(v: Record<string, string>) => send('PUT', `${t}/rate-limits`, { scope: v.scope, perSecond: Number(v.perSecond) })} onDone=${limits.reload} />
  </section>`;
}
