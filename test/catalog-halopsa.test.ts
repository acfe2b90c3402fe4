/**
 * HaloPSA connector specifics: the spec generated from the vendor's real document, called through
 * the runtime's tool caller against a recording upstream. Shows the customer binding (client_id,
 * also as the re-keyed /Client/{client_id} path) cannot be set by the model, the fixed paging
 * switches reach the wire, and the projection turns HaloPSA's envelope into the documented shape.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveVendorDocs, vendorDocsMissing } from './helpers/e2e.ts';
import { connectorUnderTest, structured, type ConnectorUnderTest } from './fixtures/catalog-vendors/harness.ts';

const ticketsBody = {
  page_no: 1, page_size: 25, record_count: 1,
  tickets: [{ id: 1001, summary: 'Printer offline', status_name: 'New', client_id: 42, client_name: 'Contoso', agent_name: 'Ann', fixbydate: '2024-05-01T10:00:00Z', slaresponsestate: 'I', details: 'long text not in the list projection', customfields: [{ id: 1 }] }],
};

describe.skipIf(!haveVendorDocs)(`halopsa connector${haveVendorDocs ? '' : ` (${vendorDocsMissing})`}`, () => {
  let c: ConnectorUnderTest;
  beforeAll(async () => {
    c = await connectorUnderTest('halopsa', (url) => ({ status: 200, body: url.pathname === '/api/Tickets' ? ticketsBody : {} }), { basePath: '/api' });
  }, 120_000);
  afterAll(async () => c?.close());

  it('generates without warnings and declares the fixed server, OAuth2 client credentials and 10-30 tools', () => {
    expect(c.diagnostics.filter((d) => d.severity === 'warning')).toEqual([]);
    const model = c.catalog.connectors[0].model;
    expect(model.servers).toEqual(['https://{tenant}.halopsa.com/api']);
    expect(model.auth.schemes).toEqual([expect.objectContaining({ name: 'halo_oauth', type: 'oauth2', tokenUrl: 'https://{tenant}.halopsa.com/auth/token' })]);
    expect(model.tools.length).toBeGreaterThanOrEqual(10);
    expect(model.tools.length).toBeLessThanOrEqual(30);
    expect(c.tool('halopsa_list_tickets').operation).toMatchObject({ method: 'GET', path: '/Tickets', derivedOperationId: true });
  });

  it('forces client_id on list_tickets, sends the fixed paging switches and projects the envelope', async () => {
    const t = c.tool('halopsa_list_tickets');
    expect(t.customerParameters).toEqual(['client_id']);
    expect(Object.keys((t.inputSchema as { properties: object }).properties)).not.toContain('client_id');
    const out = structured(await c.call('halopsa_list_tickets', { search: 'printer', status_id: 2 }, '42'));
    const sent = c.last();
    expect(sent.path).toBe('/api/Tickets');
    expect(sent.query).toMatchObject({ client_id: '42', search: 'printer', status_id: '2', pageinate: 'true', page_no: '1', page_size: '25', open_only: 'true' });
    expect(out.result.tickets[0]).toMatchObject({ id: 1001, summary: 'Printer offline', status: 'New', client: 'Contoso', agent: 'Ann', fix_by: '2024-05-01T10:00:00Z', sla_response_state: 'I' });
    expect(out.result.tickets[0]).not.toHaveProperty('details');
    expect(out.result.tickets[0]).not.toHaveProperty('customfields');
  });

  it('refuses a model-supplied client_id and a call without a customer, before reaching HaloPSA', async () => {
    const r = await c.refusals('halopsa_list_tickets', {}, { client_id: 7 }, '42');
    expect(r).toMatchObject({ forged: { isError: true, content: [{ text: expect.stringContaining('client_id') }] }, none: { isError: true }, upstreamCalls: 0 });
  });

  it('puts the customer id into the re-keyed /Client/{client_id} path', async () => {
    const t = c.tool('halopsa_get_client');
    expect(t.operation.path).toBe('/Client/{client_id}');
    expect((t.inputSchema as { properties: object }).properties).toEqual({});
    structured(await c.call('halopsa_get_client', {}, '42'));
    expect(c.last().path).toBe('/api/Client/42');
  });

  it('verifies the owner of routes HaloPSA cannot filter by client (medium risk), and keeps the reference lists low', () => {
    for (const name of ['halopsa_get_ticket', 'halopsa_list_ticket_actions', 'halopsa_get_asset']) {
      expect(c.tool(name).customerParameters, name).toEqual([]);
      expect(c.tool(name).riskTier, name).toBe('medium');
      expect(c.tool(name).scope?.kind, name).toBe('customer');
    }
    expect(c.tool('halopsa_get_ticket').scope).toEqual({ kind: 'customer', verified: 'client_id' });
    expect(c.tool('halopsa_list_ticket_actions').scope).toEqual({ kind: 'customer', parent: 'halopsa_get_ticket' });
    expect(c.tool('halopsa_list_clients').scope).toMatchObject({ kind: 'tenant', customerRecords: true });
    for (const name of ['halopsa_list_sites', 'halopsa_list_contacts', 'halopsa_list_assets', 'halopsa_list_contracts', 'halopsa_list_invoices']) {
      expect(c.tool(name).customerParameters, name).toEqual(['client_id']);
    }
    expect(c.tool('halopsa_list_statuses').riskTier).toBe('low');
  });
});
