/**
 * Configured upstreams for the executor: each connector's base URL resolved for its tenant and,
 * when a credential is configured, its authenticator. Connectors in the file that the catalog
 * does not have are ignored by the caller's choice (a catalog may be generated without them).
 */
import type { UpstreamConfig } from '../call.ts';
import type { ConnectorModel } from '../model.ts';
import { createAuthenticator } from './authenticate.ts';
import { resolveBaseUrl } from './base-url.ts';
import type { UpstreamEntry } from './config.ts';

export function configureUpstreams(
  models: ConnectorModel[],
  entries: Record<string, UpstreamEntry>,
  options: { fetch?: typeof fetch; now?: () => number } = {},
): Record<string, UpstreamConfig> {
  const out: Record<string, UpstreamConfig> = {};
  for (const model of [...models].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const entry = entries[model.name];
    if (!entry) continue;
    const baseUrl = resolveBaseUrl(model, entry);
    out[model.name] = entry.credential
      ? { baseUrl, authenticate: createAuthenticator(model, entry.credential, { baseUrl, ...(entry.variables && { variables: entry.variables }), ...options }) }
      : { baseUrl };
  }
  return out;
}
