/**
 * A governance store ready for load: one tenant with one customer (mapped in the connector), a
 * technician's API key, a grant of the connector's tools and a quota too high to run out. Written
 * through the store's own repos, so the bench exercises the rows the admin CLI would create.
 * Every call then runs the whole chain: key lookup, customer scoping, entitlement, the project's
 * policy (policies/: technicians may call low-risk reads), the quota counter, metering and audit.
 */
import { apiKeysRepo, openStore, quotaRepo, settingsRepo, tenantsRepo } from '../runtime/store/index.ts';

export const BENCH_TENANT = 'bench-msp';
export const BENCH_CUSTOMER = 'bench-customer';

export interface Seeded {
  /** What each governed request must carry: the API key and the selected customer. */
  headers: Record<string, string>;
}

export async function seedStore(url: string, connector: string): Promise<Seeded> {
  const store = await openStore(url);
  try {
    const tenants = tenantsRepo(store);
    await tenants.createTenant({ id: BENCH_TENANT, name: 'Bench MSP' });
    await tenants.createCustomer({ id: BENCH_CUSTOMER, tenantId: BENCH_TENANT, name: 'Bench customer' });
    await tenants.setVendorId(BENCH_CUSTOMER, connector, '42');
    // The same pepper `specgate serve` reads, or the key would not verify there.
    const pepper = process.env.SPECGATE_KEY_PEPPER;
    const keys = apiKeysRepo(store, pepper ? { pepper } : {});
    const { key } = await keys.create({ tenantId: BENCH_TENANT, subject: 'bench-technician', roles: ['technician'] });
    await settingsRepo(store).grant(BENCH_TENANT, connector, '*');
    // A quota rule that matches every call, so each one pays for the counter's atomic upsert.
    await quotaRepo(store).setQuota({ tenantId: BENCH_TENANT, scope: '*', period: 'month', limit: 1_000_000_000 });
    return { headers: { authorization: `Bearer ${key}`, 'specgate-customer': BENCH_CUSTOMER } };
  } finally {
    await store.close();
  }
}
