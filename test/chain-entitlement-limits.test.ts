/**
 * Step 4 (entitlements, through the shared glob cache) and step 6 (per-second rate limits and
 * per-vendor request budgets) on their own, against the real generated catalog and a real store.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog, type Catalog } from '../runtime/catalog.ts';
import { glob } from '../runtime/governance/glob.ts';
import { loadEntitlements, requireEntitled } from '../runtime/governance/entitlement.ts';
import { createRateLimiter } from '../runtime/governance/rate-limit.ts';
import { createVendorBudgets } from '../runtime/governance/vendor-budget.ts';
import type { Identity } from '../runtime/governance/authenticate.ts';
import { openStore, rateLimitsRepo, settingsRepo, tenantsRepo, type Store } from '../runtime/store/index.ts';

const root = path.resolve(import.meta.dirname, '..');
const NOW = new Date('2026-03-15T12:00:00Z');
const who = (subject: string): Identity => ({ subject, tenantId: 'msp-a', roles: ['technician'], keyId: `sg_${subject}`, method: 'api_key' });

let catalog: Catalog;
let store: Store;
beforeAll(async () => {
  catalog = await loadCatalog(path.join(root, 'generated'));
  store = await openStore('sqlite::memory:');
  await tenantsRepo(store).createTenant({ id: 'msp-a', name: 'A' });
  await tenantsRepo(store).createTenant({ id: 'msp-b', name: 'B' });
});
afterAll(async () => store?.close());
const tool = (name: string) => catalog.byName.get(name)!.tool;

describe('glob', () => {
  it('matches tool names as picomatch does, and hands back the same compiled matcher', () => {
    expect(glob('hudu_list_*')('hudu_list_assets')).toBe(true);
    expect(glob('hudu_list_*')('hudu_get_asset')).toBe(false);
    expect(glob('*')('halopsa_list_tickets')).toBe(true);
    expect(glob('hudu_list_*')).toBe(glob('hudu_list_*'));
  });
});

describe('entitlement step', () => {
  it('lets through exactly the tools some (connector, tool glob) grant of the tenant matches', async () => {
    await settingsRepo(store).grant('msp-a', 'hudu', 'hudu_list_*');
    await settingsRepo(store).grant('msp-a', 'halo*', 'halopsa_get_*');
    const entitled = await loadEntitlements(settingsRepo(store), 'msp-a');
    const names = catalog.tools.filter((t) => entitled(t)).map((t) => t.name);
    expect(names.length).toBeGreaterThan(0);
    expect(names.every((n) => n.startsWith('hudu_list_') || n.startsWith('halopsa_get_'))).toBe(true);
    expect(names).toContain('hudu_list_assets');
    expect(() => requireEntitled(entitled, tool('hudu_get_asset'))).toThrow(/not entitled to hudu_get_asset \(connector hudu\)/);
  });

  it('gives a tenant without grants nothing', async () => {
    const none = await loadEntitlements(settingsRepo(store), 'msp-b');
    expect(catalog.tools.some((t) => none(t))).toBe(false);
  });
});

describe('rate-limit step', () => {
  it('refuses past the identity\'s per-second rate with a 429 naming the limit, and keeps identities apart', async () => {
    await rateLimitsRepo(store).set({ tenantId: 'msp-a', scope: 'identity', perSecond: 2 });
    const limiter = createRateLimiter(rateLimitsRepo(store));
    await limiter.check(who('alice'), 'msp-a', NOW);
    await limiter.check(who('alice'), 'msp-a', NOW);
    await expect(limiter.check(who('alice'), 'msp-a', NOW)).rejects.toMatchObject({ step: 'quota', code: 'rate-limited', status: 429 });
    await expect(limiter.check(who('alice'), 'msp-a', NOW)).rejects.toThrow(/rate limit of 2 calls per second for alice in tenant msp-a/);
    await expect(limiter.check(who('bob'), 'msp-a', NOW)).resolves.toBeUndefined();
  });

  it('does not limit a tenant without limits', async () => {
    const limiter = createRateLimiter(rateLimitsRepo(store));
    for (let i = 0; i < 50; i++) await limiter.check(who('carol'), 'msp-b', NOW);
  });
});

describe('vendor budget', () => {
  it('counts each tenant\'s instance of a connector apart, and refuses with when to retry', async () => {
    const budgets = createVendorBudgets({ halopsa: { requests: 1, perSeconds: 3600 } });
    await budgets.take('halopsa', 'msp-a');
    await expect(budgets.take('halopsa', 'msp-a')).rejects.toMatchObject({ code: 'vendor-budget', status: 429 });
    await expect(budgets.take('halopsa', 'msp-a')).rejects.toThrow(/1 requests per 3600 s.*retry in \d+ s/);
    await expect(budgets.take('halopsa', 'msp-b')).resolves.toBeUndefined();
    await expect(budgets.take('hudu', 'msp-a')).resolves.toBeUndefined();
  });

  it('refuses a budget that is not a whole number of requests per whole seconds, naming the connector', () => {
    expect(() => createVendorBudgets({ hudu: { requests: 0, perSeconds: 60 } })).toThrow(/vendor budget of 'hudu'/);
    expect(() => createVendorBudgets({ hudu: { requests: 10, perSeconds: 0.5 } })).toThrow(/whole numbers of at least 1/);
  });
});
