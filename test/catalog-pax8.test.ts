/**
 * specs/pax8.yaml against a recording upstream: the customer's companyId reaches Pax8 in the
 * path or the query whatever the arguments say, pages are 0-based, and the catalog tools are
 * tenant-wide.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveVendorDocs, vendorDocsMissing } from './helpers/e2e.ts';
import { connectorUnderTest, structured, type ConnectorUnderTest } from './fixtures/catalog-vendors/harness.ts';

const CUSTOMER = 'a4dfc6bf-f02e-4a79-9844-66ba6c02ec3a';
const OTHER = '9ba32659-d339-4539-be21-1f461dc1a415';

const subscription = (n: number) => ({
  id: `sub-${n}`, companyId: CUSTOMER, productId: 'p-1', productName: 'Microsoft 365 Business Premium', quantity: 10 + n,
  status: 'Active', billingTerm: 'Monthly', price: 22, partnerCost: 19.5, currencyCode: 'USD', startDate: '2024-01-01',
  provisioningDetails: [{ key: 'msDomain', values: ['happyfrog.onmicrosoft.com'] }],
});

describe.skipIf(!haveVendorDocs)(`the pax8 connector${haveVendorDocs ? '' : ` (${vendorDocsMissing})`}`, () => {
  let c: ConnectorUnderTest;
  beforeAll(async () => {
    c = await connectorUnderTest('pax8', (url) => {
      if (url.pathname === '/subscriptions') {
        const size = Number(url.searchParams.get('size'));
        const page = Number(url.searchParams.get('page'));
        const n = page === 0 ? size : 1;
        return { body: { content: Array.from({ length: n }, (_, i) => subscription(page * 100 + i)), page: { size, number: page, totalElements: size + 1, totalPages: 2 } } };
      }
      if (url.pathname.startsWith('/companies/')) return { body: { id: CUSTOMER, name: 'VFC Network, Inc', status: 'Active', address: { city: 'Denver' }, contacts: [{ id: 'x' }] } };
      if (url.pathname === '/products') return { body: { content: [{ id: 'p-1', name: 'Microsoft 365 Business Premium', vendorName: 'Microsoft', sku: 'MST-365-BP', shortDescription: 'long text' }], page: { size: 25, number: 0 } } };
      return { status: 404, body: { message: 'not found' } };
    });
  }, 60_000);
  afterAll(async () => c?.close());

  it('names every operation (the overlay supplies the missing operationIds) and binds companyId', () => {
    expect(c.catalog.tools.filter((t) => t.operation.derivedOperationId).map((t) => t.name)).toEqual([]);
    expect(c.tool('pax8_get_company').operation.operationId).toBe('findCompanyById');
    const unbound = c.catalog.tools.filter((t) => !t.customerParameters.length).map((t) => t.name).sort();
    expect(unbound).toEqual(['pax8_get_product', 'pax8_get_product_dependencies', 'pax8_get_product_provision_details', 'pax8_list_companies', 'pax8_list_products']);
    const auth = c.catalog.connectors[0].model.auth.schemes;
    expect(auth).toEqual([expect.objectContaining({ type: 'oauth2', tokenUrl: 'https://token-manager.pax8.com/oauth/token' })]);
  });

  it('sends the customer\'s companyId as a query filter and pages from 0', async () => {
    const first = structured(await c.call('pax8_list_subscriptions', { status: 'Active', limit: 2 }, CUSTOMER));
    expect(c.last().query).toEqual({ companyId: CUSTOMER, status: 'Active', page: '0', size: '2' });
    expect(first.result).toEqual([
      { id: 'sub-0', productId: 'p-1', productName: 'Microsoft 365 Business Premium', quantity: 10, status: 'Active', billingTerm: 'Monthly', price: 22, partnerCost: 19.5, currencyCode: 'USD', startDate: '2024-01-01' },
      expect.objectContaining({ id: 'sub-1', quantity: 11 }),
    ]);
    const second = structured(await c.call('pax8_list_subscriptions', { limit: 2, cursor: first.nextCursor }, CUSTOMER));
    expect(c.last().query).toMatchObject({ page: '1', size: '2', companyId: CUSTOMER });
    expect(second.result).toHaveLength(1);
    expect(second.nextCursor).toBeUndefined();
  });

  it('reads the customer\'s company by path and refuses another company', async () => {
    const out = structured(await c.call('pax8_get_company', {}, CUSTOMER));
    expect(c.last().path).toBe(`/companies/${CUSTOMER}`);
    expect(out.result).toMatchObject({ id: CUSTOMER, name: 'VFC Network, Inc', address: { city: 'Denver' } });
    expect(out.result).not.toHaveProperty('contacts');
    const before = c.recorder.requests.length;
    const forged = await c.call('pax8_list_orders', { companyId: OTHER }, CUSTOMER);
    expect(forged.isError).toBe(true);
    expect(forged.content[0].text).toContain('companyId');
    const none = await c.call('pax8_list_invoices', {});
    expect(none.isError).toBe(true);
    expect(c.recorder.requests.length).toBe(before);
  });

  it('searches the product catalog without a customer', async () => {
    const out = structured(await c.call('pax8_list_products', { search: 'Business Premium' }));
    expect(c.last().query).toMatchObject({ search: 'Business Premium', page: '0', size: '25' });
    expect(out.result).toEqual([{ id: 'p-1', name: 'Microsoft 365 Business Premium', vendorName: 'Microsoft', sku: 'MST-365-BP' }]);
  });
});
