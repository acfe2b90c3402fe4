/** The catalog as operators see it: what the serving runtime hands the admin API. */
import { describeScope } from '../scope.ts';
export interface CatalogReport {
  version: string;
  connectors: Array<{
    name: string; title?: string; tools: number;
    document: { source?: string; version: string; sha256: string };
    upstream: { url: string | null; mock: boolean; breaker: string; lastError: { at: string; status: string } | null; calls: number; failures: number };
  }>;
  tools: Array<{ name: string; connector: string; title?: string; riskTier?: string; scope: string; definitionTokens: number }>;
}


/** What the reporter reads of the serving runtime. */
export interface ReportedRuntime {
  catalog(): import('../catalog.ts').Catalog;
  upstreams(): Record<string, { url: string; mock: boolean }>;
  breakers(): Record<string, string>;
  on(event: 'upstream', listener: (e: { connector: string; status: number | 'error' }) => void): void;
}

/**
 * Builds the catalog report on demand, counting each connector's upstream calls and remembering
 * its last failure as they happen (a failure: no answer, or a 5xx or 429 from the vendor).
 */
export function catalogReporter(runtime: ReportedRuntime, now: () => Date = () => new Date()): () => CatalogReport {
  const health = new Map<string, { calls: number; failures: number; lastError: { at: string; status: string } | null }>();
  runtime.on('upstream', (e) => {
    const h = health.get(e.connector) ?? { calls: 0, failures: 0, lastError: null };
    h.calls++;
    if (e.status === 'error' || e.status >= 500 || e.status === 429) {
      h.failures++;
      h.lastError = { at: now().toISOString(), status: String(e.status) };
    }
    health.set(e.connector, h);
  });
  return () => {
    const catalog = runtime.catalog();
    const upstreams = runtime.upstreams();
    const breakers = runtime.breakers();
    const counts = new Map<string, number>();
    for (const t of catalog.tools) counts.set(t.connector, (counts.get(t.connector) ?? 0) + 1);
    return {
      version: catalog.version,
      connectors: catalog.connectors.map(({ model }) => {
        const h = health.get(model.name) ?? { calls: 0, failures: 0, lastError: null };
        const u = upstreams[model.name];
        return {
          name: model.name,
          ...(model.title !== undefined && { title: model.title }),
          tools: counts.get(model.name) ?? 0,
          document: { version: model.document.version, sha256: model.document.sha256, ...(model.document.source !== undefined && { source: model.document.source }) },
          upstream: { url: u?.url ?? null, mock: u?.mock ?? false, breaker: breakers[model.name] ?? 'none', ...h },
        };
      }),
      tools: catalog.tools.map((t) => ({
        name: t.name, connector: t.connector, ...(t.title !== undefined && { title: t.title }), ...(t.riskTier !== undefined && { riskTier: t.riskTier }),
        // The catalog page's wording, without its Markdown code marks.
        scope: describeScope(t).replace(/`/g, ''),
        definitionTokens: t.definitionTokens,
      })),
    };
  };
}
