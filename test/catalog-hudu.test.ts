/**
 * specs/hudu.yaml against a recording upstream: the customer's company id reaches Hudu whatever
 * the arguments say, password values never reach the model, and page/page_size paging works.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveVendorDocs, vendorDocsMissing } from './helpers/e2e.ts';
import { connectorUnderTest, structured, type ConnectorUnderTest } from './fixtures/catalog-vendors/harness.ts';

const SECRET = 'hunter2-never-shown';
const OTP = 'JBSWY3DPEHPK3PXP';

function password(id: number) {
  return { id, company_id: 42, name: `Admin ${id}`, username: 'administrator', password: SECRET, otp_secret: OTP, password_type: 'Windows', password_folder_name: 'Servers', passwordable_type: 'Asset', passwordable_id: 7, login_url: 'https://dc01', url: `/passwords/${id}`, description: 'domain admin', slug: `admin-${id}` };
}

describe.skipIf(!haveVendorDocs)(`the hudu connector${haveVendorDocs ? '' : ` (${vendorDocsMissing})`}`, () => {
  let c: ConnectorUnderTest;
  beforeAll(async () => {
    c = await connectorUnderTest('hudu', (url) => {
      if (url.pathname === '/asset_passwords') {
        const size = Number(url.searchParams.get('page_size'));
        const page = Number(url.searchParams.get('page'));
        // Two full pages, then a short one.
        const n = page < 3 ? size : 1;
        return { body: { asset_passwords: Array.from({ length: n }, (_, i) => password(page * 100 + i)) } };
      }
      if (url.pathname.startsWith('/companies/') && url.pathname.includes('/assets/')) {
        return { body: { id: 9, name: 'DC01', company_id: 42, fields: [{ label: 'IP', value: '10.0.0.1' }, { label: 'Cores', value: 8 }, { label: 'Managed', value: true }] } };
      }
      if (url.pathname.startsWith('/companies/')) return { body: { company: { id: 42, name: 'Happy Frog', city: 'Springfield', integrations: [{ id: 1 }] } } };
      return { body: { companies: [{ id: 42, name: 'Happy Frog' }, { id: 43, name: 'Other Co' }] } };
    });
  }, 60_000);
  afterAll(async () => c?.close());

  it('binds company_id on every customer-data tool and leaves the directory tools unbound', () => {
    const bound = c.catalog.tools.filter((t) => t.customerParameters.length).map((t) => t.name);
    const unbound = c.catalog.tools.filter((t) => !t.customerParameters.length).map((t) => t.name);
    expect(unbound).toEqual(['hudu_list_asset_layouts', 'hudu_list_companies']);
    expect(bound).toContain('hudu_get_company');
    for (const t of c.catalog.tools.filter((x) => x.customerParameters.length)) {
      expect(t.customerParameters, t.name).toEqual(['company_id']);
      expect(Object.keys((t.inputSchema as { properties: object }).properties), t.name).not.toContain('company_id');
    }
  });

  it('gets the customer\'s own company through the overlay\'s /companies/{company_id}', async () => {
    const out = structured(await c.call('hudu_get_company', {}, '42'));
    expect(c.last().path).toBe('/companies/42');
    expect(out.result).toMatchObject({ id: 42, name: 'Happy Frog', city: 'Springfield' });
    expect(out.result).not.toHaveProperty('integrations');
  });

  it('refuses a company_id argument and a call without a customer, before reaching Hudu', async () => {
    const before = c.recorder.requests.length;
    const forged = await c.call('hudu_get_asset', { asset_id: 9, company_id: 43 }, '42');
    expect(forged.isError).toBe(true);
    expect(forged.content[0].text).toContain('company_id');
    const none = await c.call('hudu_get_asset', { asset_id: 9 });
    expect(none.isError).toBe(true);
    expect(none.content[0].text).toMatch(/customer/i);
    expect(c.recorder.requests.length).toBe(before);
  });

  it('keeps asset custom fields of any type (the overlay untypes field values)', async () => {
    const out = structured(await c.call('hudu_get_asset', { asset_id: 9 }, '42'));
    expect(c.last().path).toBe('/companies/42/assets/9');
    expect(out.result.fields).toEqual([{ label: 'IP', value: '10.0.0.1' }, { label: 'Cores', value: 8 }, { label: 'Managed', value: true }]);
  });

  it('lists password metadata without any password value or OTP secret', async () => {
    const result = await c.call('hudu_list_passwords', { limit: 5 }, '42');
    const out = structured(result);
    expect(c.last().query).toMatchObject({ company_id: '42', page: '1', page_size: '5', archived: 'false' });
    expect(out.result).toHaveLength(5);
    expect(out.result[0]).toMatchObject({ name: 'Admin 100', username: 'administrator', password_folder_name: 'Servers' });
    expect(JSON.stringify(result)).not.toContain(SECRET);
    expect(JSON.stringify(result)).not.toContain(OTP);
  });

  it('pages with page/page_size from 1 and stops after a short page', async () => {
    const first = structured(await c.call('hudu_list_passwords', { limit: 3 }, '42'));
    expect(first.nextCursor).toBeTypeOf('string');
    const second = structured(await c.call('hudu_list_passwords', { limit: 3, cursor: first.nextCursor }, '42'));
    expect(c.last().query).toMatchObject({ page: '2', page_size: '3', company_id: '42' });
    expect(second.result[0].id).toBe(200);
    const third = structured(await c.call('hudu_list_passwords', { limit: 3, cursor: second.nextCursor }, '42'));
    expect(third.result).toHaveLength(1);
    expect(third.nextCursor).toBeUndefined();
  });

  it('lists the MSP\'s companies without a customer', async () => {
    const out = structured(await c.call('hudu_list_companies', { name: 'Happy' }));
    expect(c.last().query).toMatchObject({ name: 'Happy', page: '1' });
    expect(out.result.map((x: { name: string }) => x.name)).toEqual(['Happy Frog', 'Other Co']);
  });
});
