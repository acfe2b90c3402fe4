/**
 * specs/itglue.yaml (the community document + our itglue-extra.yaml + the overlay) against a
 * recording upstream: organization-scoped routes and filter[organization_id] carry the
 * customer's organization, JSON:API bodies are flattened, password values never reach the model.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveVendorDocs, vendorDocsMissing } from './helpers/e2e.ts';
import { connectorUnderTest, structured, type ConnectorUnderTest } from './fixtures/catalog-vendors/harness.ts';

const SECRET = 'correct-horse-battery-staple';

const configuration = (id: number) => ({
  id: String(id),
  type: 'configurations',
  attributes: { name: `HF-PC${id}`, 'configuration-type-name': 'Workstation', 'primary-ip': `10.0.0.${id}`, 'serial-number': `SN${id}`, 'operating-system-notes': 'Windows 11', 'organization-id': 2301, notes: 'long notes '.repeat(20) },
});

describe.skipIf(!haveVendorDocs)(`the itglue connector${haveVendorDocs ? '' : ` (${vendorDocsMissing})`}`, () => {
  let c: ConnectorUnderTest;
  beforeAll(async () => {
    c = await connectorUnderTest('itglue', (url) => {
      const p = decodeURIComponent(url.pathname);
      if (p.endsWith('/relationships/configurations')) {
        const size = Number(url.searchParams.get('page[size]'));
        return { body: { data: Array.from({ length: size }, (_, i) => configuration(i + 1)), meta: { 'current-page': 1, 'next-page': 2 }, links: {} } };
      }
      if (p.includes('/relationships/passwords/')) {
        return { body: { data: { id: '77', type: 'passwords', attributes: { name: 'Domain admin', username: 'HF\\admin', password: SECRET, 'otp-secret': 'OTPSEED', notes: 'rotate yearly' } } } };
      }
      if (p === '/flexible_assets') return { body: { data: [{ id: '5', type: 'flexible-assets', attributes: { name: 'Office Wi-Fi', 'flexible-asset-type-name': 'Wireless', traits: { ssid: 'HappyFrog', password: SECRET } } }] } };
      return { body: { data: [{ id: '2301', type: 'organizations', attributes: { name: 'Happy Frog', 'organization-type-name': 'Customer', 'organization-status-name': 'Active' } }] } };
    });
  }, 60_000);
  afterAll(async () => c?.close());

  it('merges our own document: 15 tools, organizations from the vendor document, the rest ours', () => {
    expect(c.catalog.tools).toHaveLength(15);
    expect(c.tool('itglue_list_organizations').operation.operationId).toBe('indexOrganizations');
    expect(c.tool('itglue_list_flexible_assets').customerParameters).toEqual(['filter[organization_id]']);
    expect(c.tool('itglue_get_configuration').customerParameters).toEqual(['organization_id']);
    expect(c.catalog.connectors[0].model.servers).toEqual(['https://api.itglue.com', 'https://api.eu.itglue.com', 'https://api.au.itglue.com']);
  });

  it('lists configurations under the customer\'s organization with JSON:API paging and filters', async () => {
    const out = structured(await c.call('itglue_list_configurations', { name: 'HF-PC1', limit: 3 }, '2301'));
    const sent = c.last();
    expect(sent.path).toBe('/organizations/2301/relationships/configurations');
    expect(sent.query).toMatchObject({ 'filter[name]': 'HF-PC1', 'filter[archived]': 'false', 'page[number]': '1', 'page[size]': '3' });
    expect(out.result[0]).toEqual({
      // Null and empty fields are dropped (compact results).
      id: '1', name: 'HF-PC1', type: 'Workstation', primary_ip: '10.0.0.1', os: 'Windows 11', serial_number: 'SN1',
    });
    expect(out.nextCursor).toBeTypeOf('string');
    await c.call('itglue_list_configurations', { limit: 3, cursor: out.nextCursor }, '2301');
    expect(c.last().query).toMatchObject({ 'page[number]': '2', 'page[size]': '3' });
  });

  it('asks IT Glue not to show the password and redacts it anyway', async () => {
    const result = await c.call('itglue_get_password_metadata', { password_id: 77 }, '2301');
    const out = structured(result);
    expect(c.last().path).toBe('/organizations/2301/relationships/passwords/77');
    expect(c.last().query).toEqual({ show_password: 'false' });
    expect(out.result).toMatchObject({ id: '77', name: 'Domain admin', username: 'HF\\admin', notes: 'rotate yearly' });
    expect(JSON.stringify(result)).not.toContain(SECRET);
    expect(JSON.stringify(result)).not.toContain('OTPSEED');
  });

  it('scopes flexible assets by filter[organization_id] and redacts password traits', async () => {
    const result = await c.call('itglue_list_flexible_assets', { flexible_asset_type_id: 310 }, '2301');
    const out = structured(result);
    expect(c.last().query).toMatchObject({ 'filter[organization_id]': '2301', 'filter[flexible_asset_type_id]': '310' });
    expect(out.result[0].fields).toEqual({ ssid: 'HappyFrog' });
    expect(JSON.stringify(result)).not.toContain(SECRET);
  });

  it('refuses an organization argument and a call without a customer', async () => {
    const before = c.recorder.requests.length;
    const forged = await c.call('itglue_list_flexible_assets', { flexible_asset_type_id: 310, 'filter[organization_id]': 1 }, '2301');
    expect(forged.isError).toBe(true);
    expect(forged.content[0].text).toContain('filter[organization_id]');
    const none = await c.call('itglue_get_organization', {});
    expect(none.isError).toBe(true);
    expect(none.content[0].text).toMatch(/customer/i);
    expect(c.recorder.requests.length).toBe(before);
  });

  it('lists organizations tenant-wide with the overlay\'s filter[name] and page[number]', async () => {
    const out = structured(await c.call('itglue_list_organizations', { name: 'Happy Frog' }));
    expect(c.last().path).toBe('/organizations');
    expect(c.last().query).toMatchObject({ 'filter[name]': 'Happy Frog', 'page[number]': '1', 'page[size]': '25' });
    expect(out.result).toEqual([{ id: '2301', name: 'Happy Frog', type: 'Customer', status: 'Active' }]);
  });
});
