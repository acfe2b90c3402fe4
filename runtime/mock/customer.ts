/**
 * The customer id mock mode acts for: a value that fits the vendor's own schema for the bound
 * parameter (Pax8 wants a UUID, HaloPSA an integer), so the mock accepts it.
 */
import type { ConnectorModel, OpenApiDocument } from '../model.ts';

export function mockCustomerId(model: ConnectorModel, doc: OpenApiDocument): string {
  const bound = new Set(model.tools.flatMap((t) => t.customerParameters));
  for (const item of Object.values(doc.paths ?? {})) {
    for (const op of [item, ...Object.values(item)]) {
      const params = (op as { parameters?: unknown[] })?.parameters;
      if (!Array.isArray(params)) continue;
      for (const p of params as Array<{ name?: string; schema?: { type?: string; format?: string } }>) {
        if (!p?.name || !bound.has(p.name)) continue;
        // One operation typing it as a UUID is enough: a UUID also passes as a plain string.
        if (p.schema?.format === 'uuid') return '00000000-0000-4000-8000-000000000001';
      }
    }
  }
  return '1';
}
