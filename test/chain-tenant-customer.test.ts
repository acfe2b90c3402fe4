/**
 * Steps 2 and 3 on their own: the tenant is the identity's and every other mention of one is only
 * checked; the customer comes from the Specgate-Customer header, must be the tenant's, and gives
 * each connector's vendor ids from the tenant's own mapping. Real store (SQLite), real catalog.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog, type Catalog } from '../runtime/catalog.ts';
import { resolveTenant, tenantClaims } from '../runtime/governance/tenant.ts';
import { checkCustomerClaims, idNamesOf, isCustomerBound, requireCustomerFor, scopeCustomer } from '../runtime/governance/customer.ts';
import { Refusal } from '../runtime/governance/refusal.ts';
import type { Identity } from '../runtime/governance/authenticate.ts';
import { openStore, tenantsRepo, type Store } from '../runtime/store/index.ts';

const root = path.resolve(import.meta.dirname, '..');
const alice: Identity = { subject: 'alice', tenantId: 'msp-a', roles: ['technician'], keyId: 'sg_000000000001', method: 'api_key' };

function refusalOf(fn: () => unknown): Refusal {
  try {
    fn();
  } catch (e) {
    if (e instanceof Refusal) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

let catalog: Catalog;
let store: Store;
beforeAll(async () => {
  catalog = await loadCatalog(path.join(root, 'generated'));
  store = await openStore('sqlite::memory:');
  const tenants = tenantsRepo(store);
  await tenants.createTenant({ id: 'msp-a', name: 'A' });
  await tenants.createTenant({ id: 'msp-b', name: 'B' });
  await tenants.createCustomer({ id: 'contoso', tenantId: 'msp-a', name: 'Contoso' });
  await tenants.createCustomer({ id: 'fabrikam', tenantId: 'msp-b', name: 'Fabrikam' });
  await tenants.setVendorId('contoso', 'hudu', '17');
  await tenants.setVendorId('contoso', 'halopsa', '4');
  await tenants.setVendorId('fabrikam', 'hudu', '99');
});
afterAll(async () => store?.close());

const tool = (name: string) => catalog.byName.get(name)!.tool;

describe('tenant step', () => {
  it('is the identity\'s tenant when nothing else names one, or everything names the same', () => {
    expect(resolveTenant(alice, tenantClaims({ headers: {}, requestId: 'r' }))).toBe('msp-a');
    expect(resolveTenant(alice, tenantClaims({ headers: { 'specgate-tenant': 'msp-a' }, meta: { tenantId: 'msp-a' }, requestId: 'r' }))).toBe('msp-a');
  });

  it('refuses another tenant named in a header, in _meta, or in an argument the tool does not declare', () => {
    const header = refusalOf(() => resolveTenant(alice, tenantClaims({ headers: { 'x-tenant-id': 'msp-b' }, requestId: 'r' })));
    expect(header).toMatchObject({ step: 'tenant', code: 'tenant-mismatch', status: 403 });
    expect(header.message).toMatch(/header x-tenant-id names a tenant/);
    expect(refusalOf(() => resolveTenant(alice, tenantClaims({ headers: {}, meta: { 'specgate/tenant': 'msp-b' }, requestId: 'r' }))).message).toMatch(/_meta\.specgate\/tenant/);
    const arg = refusalOf(() => resolveTenant(alice, tenantClaims({ headers: {}, requestId: 'r' }, tool('hudu_list_companies'), { tenant_id: 'msp-b' })));
    expect(arg.message).toMatch(/argument tenant_id names a tenant/);
  });

  it('takes a declared argument as the tool\'s own, not a tenant claim', () => {
    const companies = tool('hudu_list_companies');
    expect(tenantClaims({ headers: {}, requestId: 'r' }, companies, { name: 'msp-b' })).toEqual([]);
  });
});

describe('customer step', () => {
  it('gives the selected customer\'s vendor ids for the connectors asked for, from the tenant\'s mapping', async () => {
    const scope = await scopeCustomer(tenantsRepo(store), 'msp-a', { headers: { 'specgate-customer': ' contoso ' }, requestId: 'r' }, ['hudu', 'halopsa', 'itglue']);
    expect(scope).toEqual({ customerId: 'contoso', vendorIds: { hudu: '17', halopsa: '4' }, namedIds: {} });
    const one = await scopeCustomer(tenantsRepo(store), 'msp-a', { headers: { 'specgate-customer': 'contoso' }, requestId: 'r' }, ['hudu']);
    expect(one.vendorIds).toEqual({ hudu: '17' });
  });

  it('selects none without the header, and refuses another tenant\'s customer', async () => {
    expect(await scopeCustomer(tenantsRepo(store), 'msp-a', { headers: { 'specgate-customer': '  ' }, requestId: 'r' }, ['hudu'])).toEqual({ customerId: null, vendorIds: {}, namedIds: {} });
    await expect(scopeCustomer(tenantsRepo(store), 'msp-a', { headers: { 'specgate-customer': 'fabrikam' }, requestId: 'r' }, ['hudu']))
      .rejects.toMatchObject({ step: 'customer', code: 'unknown-customer', status: 403 });
  });

  it('refuses a _meta customer claim other than the header\'s, and a claim without a selection', () => {
    expect(() => checkCustomerClaims({ headers: { 'specgate-customer': 'contoso' }, meta: { customer: 'contoso' }, requestId: 'r' })).not.toThrow();
    expect(refusalOf(() => checkCustomerClaims({ headers: { 'specgate-customer': 'contoso' }, meta: { customerId: 'fabrikam' }, requestId: 'r' })))
      .toMatchObject({ step: 'customer', code: 'customer-mismatch' });
    expect(refusalOf(() => checkCustomerClaims({ headers: {}, meta: { 'specgate/customer': 'contoso' }, requestId: 'r' })).message).toMatch(/_meta\.specgate\/customer/);
  });

  it('requires a mapped customer for customer-bound tools only', () => {
    const bound = tool('hudu_list_assets');
    const free = tool('hudu_list_companies');
    expect(isCustomerBound(bound)).toBe(true);
    expect(isCustomerBound(free)).toBe(false);
    expect(idNamesOf(bound)).toEqual(['']);
    expect(() => requireCustomerFor(free, { customerId: null, vendorIds: {}, namedIds: {} })).not.toThrow();
    expect(refusalOf(() => requireCustomerFor(bound, { customerId: null, vendorIds: {}, namedIds: {} }))).toMatchObject({ code: 'no-customer' });
    expect(refusalOf(() => requireCustomerFor(bound, { customerId: 'contoso', vendorIds: { halopsa: '4' }, namedIds: {} })).message)
      .toBe('Refused: customer "contoso" has no id in hudu; map it first');
    expect(() => requireCustomerFor(bound, { customerId: 'contoso', vendorIds: { hudu: '17' }, namedIds: {} })).not.toThrow();
  });
});
