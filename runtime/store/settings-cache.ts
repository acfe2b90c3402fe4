/**
 * The rows a governed call reads before it runs (its API key, the tenant, the selected customer
 * and its vendor ids, the tenant's grants, quotas and rate limits), kept in memory and checked
 * against the store at every request with one statement: the settings version, which a trigger
 * moves on any change to those tables, whoever makes it (migration 007). While it stands still the
 * rows are served from memory; when it moves, everything kept is dropped and read again as
 * needed. So a revoked key, a withdrawn grant or a changed quota is seen by the first request
 * that starts after the change committed, in this process or any other on the same store.
 *
 * Requests that start together share one version read: it is sent only after all of them asked,
 * so none is answered from a read older than itself.
 */
import { LRUCache } from 'lru-cache';
import type { Store } from './db.ts';
import type { ApiKeysTable } from './schema.ts';
import { apiKeysRepo } from './repos/api-keys.ts';
import { tenantsRepo, type Customer, type Tenant } from './repos/tenants.ts';
import { settingsRepo, type Entitlement } from './repos/settings.ts';
import { quotaRepo, type QuotaRule } from './repos/quota.ts';
import { rateLimitsRepo, type RateLimit } from './repos/rate-limits.ts';

/** The settings as of one version of the store. Values are shared between requests and frozen. */
export interface SettingsView {
  /** An API key's stored row by its public prefix (revoked and expired ones too). */
  apiKey(prefix: string): Promise<ApiKeysTable | undefined>;
  getTenant(id: string): Promise<Tenant | undefined>;
  getCustomer(id: string): Promise<Customer | undefined>;
  listVendorIds(tenantId: string, customerId: string): Promise<Array<{ connector: string; vendorId: string; name?: string }>>;
  entitlements(tenantId: string): Promise<Entitlement[]>;
  listQuotas(tenantId: string): Promise<QuotaRule[]>;
  rateLimits(tenantId: string): Promise<RateLimit[]>;
}

export interface SettingsCache {
  /** The settings as of a version read sent after this call: what a request starts with. */
  current(): Promise<SettingsView>;
  /**
   * The same reads from the newest settings any `current()` has confirmed, without reading the
   * version again: for the later steps of a request that already called `current()`.
   */
  latest: SettingsView;
}

export interface SettingsCacheOptions {
  /** Most rows kept per version (default 10,000): each key, customer and tenant read is one. */
  max?: number;
}

export function createSettingsCache(store: Store, options: SettingsCacheOptions = {}): SettingsCache {
  const max = options.max ?? 10_000;
  const keys = apiKeysRepo(store);
  const tenants = tenantsRepo(store);
  const settings = settingsRepo(store);
  const quotas = quotaRepo(store);
  const rateLimits = rateLimitsRepo(store);

  /** The rows read since `version` was read; a version of undefined is never reused. */
  function generation(version: number | undefined) {
    const rows = new LRUCache<string, Promise<unknown>>({ max });
    const kept = <T>(key: string, load: () => Promise<T>): Promise<T> => {
      let row = rows.get(key) as Promise<T> | undefined;
      if (!row) {
        rows.set(key, row = load().then(freeze));
        // A failed read is not kept: the next request tries again.
        row.catch(() => rows.delete(key));
      }
      return row;
    };
    const view: SettingsView = {
      apiKey: (prefix) => kept(`key:${prefix}`, () => keys.byPrefix(prefix)),
      getTenant: (id) => kept(`tenant:${id}`, () => tenants.getTenant(id)),
      getCustomer: (id) => kept(`customer:${id}`, () => tenants.getCustomer(id)),
      listVendorIds: (tenantId, customerId) => kept(`vendor-ids:${tenantId}\n${customerId}`, () => tenants.listVendorIds(tenantId, customerId)),
      entitlements: (tenantId) => kept(`entitlements:${tenantId}`, () => settings.entitlements(tenantId)),
      listQuotas: (tenantId) => kept(`quotas:${tenantId}`, () => quotas.listQuotas(tenantId)),
      rateLimits: (tenantId) => kept(`rate-limits:${tenantId}`, () => rateLimits.list(tenantId)),
    };
    return { version, view };
  }

  let newest: ReturnType<typeof generation> | undefined;
  let next: Promise<SettingsView> | undefined;

  async function confirm(): Promise<SettingsView> {
    const row = await store.db.selectFrom('settings_version').select('version').where('id', '=', 1).executeTakeFirst();
    // Without the row nothing can tell a change: every request reads afresh.
    const version = row === undefined ? undefined : Number(row.version);
    // Versions only grow; a read that returns after a newer one keeps the newer rows (they are fresher still).
    if (version === undefined || newest?.version === undefined || version > newest.version) newest = generation(version);
    return newest.view;
  }

  function current(): Promise<SettingsView> {
    next ??= new Promise<void>((queued) => setImmediate(queued)).then(() => {
      next = undefined;
      return confirm();
    });
    return next;
  }
  const newestView = async () => newest?.view ?? await current();
  const latest: SettingsView = {
    apiKey: async (prefix) => (await newestView()).apiKey(prefix),
    getTenant: async (id) => (await newestView()).getTenant(id),
    getCustomer: async (id) => (await newestView()).getCustomer(id),
    listVendorIds: async (tenantId, customerId) => (await newestView()).listVendorIds(tenantId, customerId),
    entitlements: async (tenantId) => (await newestView()).entitlements(tenantId),
    listQuotas: async (tenantId) => (await newestView()).listQuotas(tenantId),
    rateLimits: async (tenantId) => (await newestView()).rateLimits(tenantId),
  };
  return { current, latest };
}

function freeze<T>(value: T): T {
  if (Array.isArray(value)) {
    for (const item of value) Object.freeze(item);
    Object.freeze(value);
  } else if (value && typeof value === 'object') Object.freeze(value);
  return value;
}
