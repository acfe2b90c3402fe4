import { randomUUID } from 'node:crypto';
import type { Store } from '../db.ts';

export interface Tenant { id: string; name: string; createdAt: string }
export interface Customer { id: string; tenantId: string; name: string; createdAt: string }

export function tenantsRepo(store: Store, now: () => Date = () => new Date()) {
  const { db } = store;
  return {
    async createTenant(input: { name: string; id?: string }): Promise<Tenant> {
      const row = { id: input.id ?? randomUUID(), name: requireText(input.name, 'tenant name'), created_at: now().toISOString() };
      await db.insertInto('tenants').values(row).execute();
      return { id: row.id, name: row.name, createdAt: row.created_at };
    },
    async listTenants(): Promise<Tenant[]> {
      const rows = await db.selectFrom('tenants').selectAll().orderBy('id').execute();
      return rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at }));
    },
    async getTenant(id: string): Promise<Tenant | undefined> {
      const r = await db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
      return r && { id: r.id, name: r.name, createdAt: r.created_at };
    },
    /** By id alone (customer ids are unique across tenants); callers check `tenantId` themselves. */
    async getCustomer(id: string): Promise<Customer | undefined> {
      const r = await db.selectFrom('customers').selectAll().where('id', '=', id).executeTakeFirst();
      return r && { id: r.id, tenantId: r.tenant_id, name: r.name, createdAt: r.created_at };
    },
    /**
     * Every vendor id recorded for one of the tenant's customers, by connector (and name, for a
     * vendor where the customer has several); scoped to the tenant so ids never cross tenants.
     */
    async listVendorIds(tenantId: string, customerId: string): Promise<Array<{ connector: string; vendorId: string; name?: string }>> {
      const rows = await db.selectFrom('customer_vendor_ids as v')
        .innerJoin('customers as c', 'c.id', 'v.customer_id')
        .select(['v.connector', 'v.name', 'v.vendor_id'])
        .where('c.tenant_id', '=', tenantId).where('v.customer_id', '=', customerId)
        .orderBy('v.connector').orderBy('v.name').execute();
      return rows.map((r) => ({ connector: r.connector, vendorId: r.vendor_id, ...(r.name && { name: r.name }) }));
    },
    async createCustomer(input: { tenantId: string; name: string; id?: string }): Promise<Customer> {
      const row = { id: input.id ?? randomUUID(), tenant_id: input.tenantId, name: requireText(input.name, 'customer name'), created_at: now().toISOString() };
      await db.insertInto('customers').values(row).execute();
      return { id: row.id, tenantId: row.tenant_id, name: row.name, createdAt: row.created_at };
    },
    async listCustomers(tenantId: string): Promise<Customer[]> {
      const rows = await db.selectFrom('customers').selectAll().where('tenant_id', '=', tenantId).orderBy('id').execute();
      return rows.map((r) => ({ id: r.id, tenantId: r.tenant_id, name: r.name, createdAt: r.created_at }));
    },
    /** Records (or replaces) which id the customer has in a vendor's system; `name` picks one of several (default: the unnamed id). */
    async setVendorId(customerId: string, connector: string, vendorId: string, name = ''): Promise<void> {
      if (name !== '' && !VENDOR_ID_NAME.test(name)) throw new Error(`vendor id name "${name}" must match ${VENDOR_ID_NAME.source}`);
      await db.insertInto('customer_vendor_ids')
        .values({ customer_id: customerId, connector, name, vendor_id: requireText(vendorId, 'vendor id') })
        .onConflict((oc) => oc.columns(['customer_id', 'connector', 'name']).doUpdateSet({ vendor_id: vendorId }))
        .execute();
    },
    /** Reverse lookup: which of this tenant's customers owns a vendor-side id. */
    async customerByVendorId(tenantId: string, connector: string, vendorId: string): Promise<string | undefined> {
      const row = await db.selectFrom('customer_vendor_ids as v')
        .innerJoin('customers as c', 'c.id', 'v.customer_id')
        .select('c.id')
        .where('c.tenant_id', '=', tenantId).where('v.connector', '=', connector).where('v.vendor_id', '=', vendorId).where('v.name', '=', '')
        .orderBy('c.id')
        .executeTakeFirst();
      return row?.id;
    },
  };
}

/** The names a spec may declare under customer.ids. */
export const VENDOR_ID_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

export function requireText(value: string, what: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new Error(`${what} must be a non-empty string`);
  return value;
}
