/**
 * Each tenant's upstream entries: the config file's `tenants:` section with the credentials stored
 * through the broker laid over it. A stored entry that says where the vendor lives (baseUrl,
 * variables or region) is used as it is; one that brings only a credential keeps the location the
 * file gives that connector (the tenant's own entry, else the shared one), since most vendors run
 * one cloud and a tenant only brings its key.
 */
import type { UpstreamEntry } from './config.ts';

type Entries = Record<string, UpstreamEntry>;

const LOCATION = ['baseUrl', 'variables', 'region'] as const;

export function overlayStoredEntries(shared: Entries, fromFile: Record<string, Entries>, stored: Record<string, Entries>): Record<string, Entries> {
  const out: Record<string, Entries> = Object.fromEntries(Object.entries(fromFile).map(([t, e]) => [t, { ...e }]));
  for (const [tenant, entries] of Object.entries(stored)) {
    const mine = (out[tenant] ??= {});
    for (const [connector, entry] of Object.entries(entries)) {
      if (LOCATION.some((k) => entry[k] !== undefined)) {
        mine[connector] = entry;
        continue;
      }
      const base = mine[connector] ?? shared[connector] ?? {};
      mine[connector] = { ...Object.fromEntries(LOCATION.filter((k) => base[k] !== undefined).map((k) => [k, base[k]])), credential: entry.credential };
    }
  }
  return out;
}
