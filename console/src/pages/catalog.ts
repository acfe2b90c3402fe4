/** The catalog: connectors with their document and upstream health, and every tool with its scope and token cost. */
import { useState } from 'preact/hooks';
import { get } from '../api.ts';
import { Status, Table, fmt, html, shortTime, useLoad } from '../ui.ts';

interface Connector {
  name: string; title?: string; tools: number; document: { version: string; sha256: string; source?: string };
  upstream: { url: string | null; mock: boolean; breaker: string; lastError: { at: string; status: string } | null; calls: number; failures: number };
}
interface Tool { name: string; connector: string; title?: string; riskTier?: string; scope: string; definitionTokens: number }

export function CatalogPage() {
  const catalog = useLoad(() => get<{ version: string | null; connectors: Connector[]; tools: Tool[] }>('/catalog'), []);
  const [filter, setFilter] = useState('');
  const tools = (catalog.data?.tools ?? []).filter((t) => !filter || `${t.name} ${t.connector} ${t.title ?? ''} ${t.scope}`.toLowerCase().includes(filter.toLowerCase()));
  const tokens = (catalog.data?.tools ?? []).reduce((s, t) => s + t.definitionTokens, 0);
  return html`<section aria-labelledby="catalog-h">
    <h2 id="catalog-h">Catalog</h2>
    <${Status} loaded=${catalog} />
    ${catalog.data && html`<p>${catalog.data.connectors.length} connectors, ${catalog.data.tools.length} tools, ${fmt(tokens)} tokens of tool definitions. Version <code>${(catalog.data.version ?? '–').slice(0, 12)}</code>.</p>`}
    <${Table} caption="Connectors and upstream health" rows=${catalog.data?.connectors ?? []} empty="No catalog is attached to this admin listener." columns=${[
      { label: 'Connector', cell: (c: Connector) => c.title ? `${c.title} (${c.name})` : c.name },
      { label: 'Tools', cell: (c: Connector) => c.tools, numeric: true },
      { label: 'Document', cell: (c: Connector) => html`${c.document.version} <code title=${c.document.sha256}>${c.document.sha256.slice(0, 12)}</code>` },
      { label: 'Upstream', cell: (c: Connector) => (c.upstream.mock ? 'mock' : c.upstream.url ?? '(per tenant)') },
      { label: 'Breaker', cell: (c: Connector) => html`<span class=${`badge breaker-${c.upstream.breaker}`}>${c.upstream.breaker}</span>` },
      { label: 'Calls / failures', cell: (c: Connector) => `${fmt(c.upstream.calls)} / ${fmt(c.upstream.failures)}`, numeric: true },
      { label: 'Last error', cell: (c: Connector) => (c.upstream.lastError ? `${c.upstream.lastError.status} at ${shortTime(c.upstream.lastError.at)}` : '–') },
    ]} />
    <label class="search">Filter tools <input type="search" value=${filter} onInput=${(e: Event) => setFilter((e.target as HTMLInputElement).value)} /></label>
    <${Table} caption="Tools" rows=${tools} columns=${[
      { label: 'Tool', cell: (t: Tool) => html`<code>${t.name}</code>` },
      { label: 'Title', cell: (t: Tool) => t.title ?? '' },
      { label: 'Scope', cell: (t: Tool) => t.scope },
      { label: 'Risk', cell: (t: Tool) => t.riskTier ?? '' },
      { label: 'Tokens', cell: (t: Tool) => fmt(t.definitionTokens), numeric: true },
    ]} />
  </section>`;
}
