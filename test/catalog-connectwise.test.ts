/**
 * ConnectWise PSA connector specifics: the spec generated from the vendor's GET subset, called
 * through the runtime's tool caller against a recording upstream. Shows the company id is bound
 * through the re-keyed {company_id} paths, clientId never becomes an argument, `fields` is fixed
 * on the wire, nested references are flattened and member secrets never reach the model.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveVendorDocs, vendorDocsMissing } from './helpers/e2e.ts';
import { connectorUnderTest, structured, type ConnectorUnderTest } from './fixtures/catalog-vendors/harness.ts';

const base = '/v4_6_release/apis/3.0';

const bodies: Record<string, unknown> = {
  [`${base}/service/tickets`]: [{ id: 77, summary: 'VPN down', board: { id: 1, name: 'Help Desk' }, status: { id: 5, name: 'New' }, company: { id: 250, identifier: 'Contoso', name: 'Contoso Ltd' }, owner: { id: 3, identifier: 'jsmith', name: 'J Smith' }, _info: { dateEntered: '2024-04-01T09:00:00Z' } }],
  [`${base}/system/members`]: [{ id: 3, identifier: 'jsmith', firstName: 'J', password: 'hunter2', token: 'abc' }],
};

describe.skipIf(!haveVendorDocs)(`connectwise connector${haveVendorDocs ? '' : ` (${vendorDocsMissing})`}`, () => {
  let c: ConnectorUnderTest;
  beforeAll(async () => {
    c = await connectorUnderTest('connectwise', (url) => ({ status: 200, body: bodies[url.pathname] ?? [] }), { basePath: base });
  }, 120_000);
  afterAll(async () => c?.close());

  it('generates without warnings, declares basic auth plus the clientId header scheme, and no tool takes clientId as an argument', () => {
    expect(c.diagnostics.filter((d) => d.severity === 'warning')).toEqual([]);
    const model = c.catalog.connectors[0].model;
    expect(model.auth.schemes.map((s) => s.name).sort()).toEqual(['basicAuth', 'clientId']);
    expect(model.auth.schemes.find((s) => s.name === 'clientId')).toMatchObject({ type: 'apiKey', in: 'header', paramName: 'clientId' });
    expect(model.servers).toContain('https://api-eu.myconnectwise.net/v4_6_release/apis/3.0');
    for (const t of model.tools) {
      expect(Object.keys((t.inputSchema as { properties: object }).properties), t.name).not.toContain('clientId');
      expect(t.parameters.some((p) => p.name === 'clientId'), t.name).toBe(false);
    }
  });

  it('binds the company id through the {company_id} paths and nowhere else', async () => {
    const bound = c.catalog.tools.filter((t) => t.customerParameters.length > 0).map((t) => t.name).sort();
    expect(bound).toEqual(['connectwise_get_company', 'connectwise_list_company_notes', 'connectwise_list_company_sites']);
    structured(await c.call('connectwise_list_company_sites', {}, '250'));
    const sent = c.last();
    expect(sent.path).toBe(`${base}/company/companies/250/sites`);
    expect(sent.query.fields).toBe('id,name,addressLine1,city,zip,phoneNumber,primaryAddressFlag,inactiveFlag,timeZone,company'); // company: the owner the runtime verifies
    expect(sent.query.orderBy).toBe('name asc');
    expect(sent.query.pageSize).toBe('25');
  });

  it('refuses a model-supplied company_id and a call without a customer, before reaching ConnectWise', async () => {
    const r = await c.refusals('connectwise_get_company', {}, { company_id: 1 }, '250');
    expect(r).toMatchObject({ forged: { isError: true, content: [{ text: expect.stringContaining('company_id') }] }, none: { isError: true }, upstreamCalls: 0 });
  });

  it('flattens ticket references and passes the model\'s conditions through', async () => {
    const out = structured(await c.call('connectwise_list_tickets', { conditions: 'company/id=250 and closedFlag=false' }, '250'));
    expect(c.last().query.conditions).toBe('company/id=250 and closedFlag=false');
    expect(out.result[0]).toMatchObject({ id: 77, summary: 'VPN down', board: 'Help Desk', status: 'New', company_id: 250, company: 'Contoso Ltd', owner: 'jsmith', entered: '2024-04-01T09:00:00Z' });
  });

  it('never returns a member\'s password or token', async () => {
    const r = await c.call('connectwise_list_members', {});
    structured(r);
    const text = JSON.stringify(r);
    expect(text).toContain('jsmith');
    expect(text).not.toContain('hunter2');
    expect(text).not.toMatch(/"token"|"password"/);
    expect(c.tool('connectwise_list_members').shape.redact).toEqual(expect.arrayContaining(['password', 'token']));
  });
});
