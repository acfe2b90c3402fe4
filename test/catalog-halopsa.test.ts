/**
 * HaloPSA connector specifics: the spec generated from the vendor's real document, called through
 * the runtime's tool caller against a recording upstream. Shows the customer binding (client_id,
 * also as the re-keyed /Client/{client_id} path) cannot be set by the model, the fixed paging
 * switches reach the wire, and the projection turns HaloPSA's envelope into the documented shape.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { loadCatalog, type Catalog } from '../runtime/catalog.ts';
import { createToolCaller, type ToolCallContext, type ToolCaller } from '../runtime/call.ts';
import type { ToolModel } from '../runtime/model.ts';
import { startRecorder, type Recorder } from './fixtures/call/harness.ts';
import { generateInto, haveVendorDocs, root, tempDir, vendorDocsMissing } from './helpers/e2e.ts';

const spec = path.join(root, 'specs', 'halopsa.yaml');

const ticketsBody = {
  page_no: 1, page_size: 25, record_count: 1,
  tickets: [{ id: 1001, summary: 'Printer offline', status_name: 'New', client_id: 42, client_name: 'Contoso', agent_name: 'Ann', fixbydate: '2024-05-01T10:00:00Z', slaresponsestate: 'I', details: 'long text not in the list projection', customfields: [{ id: 1 }] }],
};

describe.skipIf(!haveVendorDocs)(`halopsa connector${haveVendorDocs ? '' : ` (${vendorDocsMissing})`}`, () => {
  const dir = tempDir('catalog-halopsa');
  let catalog: Catalog;
  let recorder: Recorder;
  let caller: ToolCaller;
  const tool = (name: string): ToolModel => {
    const t = catalog.tools.find((x) => x.name === name);
    if (!t) throw new Error(`no tool ${name}`);
    return t;
  };
  const ctx = (customer?: string): ToolCallContext => ({ requestId: 't', signal: new AbortController().signal, customerIds: customer ? { halopsa: customer } : {} });

  beforeAll(async () => {
    const result = await generateInto([spec], path.join(dir, 'generated'));
    expect(result.diagnostics.filter((d) => d.severity === 'warning')).toEqual([]);
    catalog = await loadCatalog(path.join(dir, 'generated'));
    recorder = await startRecorder((url) => ({ status: 200, body: url.pathname === '/api/Tickets' ? ticketsBody : {} }), '/api');
    caller = createToolCaller({ connectors: catalog.connectors, upstreams: { halopsa: { baseUrl: recorder.url } }, retries: 0 });
  }, 120_000);
  afterAll(async () => {
    await caller?.close();
    await recorder?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('declares the fixed server, OAuth2 client credentials and 10-30 tools', () => {
    const model = catalog.connectors[0].model;
    expect(model.servers).toEqual(['https://{tenant}.halopsa.com/api']);
    expect(model.auth.schemes).toEqual([expect.objectContaining({ name: 'halo_oauth', type: 'oauth2', tokenUrl: 'https://{tenant}.halopsa.com/auth/token' })]);
    expect(model.tools.length).toBeGreaterThanOrEqual(10);
    expect(model.tools.length).toBeLessThanOrEqual(30);
    expect(tool('halopsa_list_tickets').operation).toMatchObject({ method: 'GET', path: '/Tickets', derivedOperationId: true });
  });

  it('forces client_id on list_tickets, sends the fixed paging switches and projects the envelope', async () => {
    const t = tool('halopsa_list_tickets');
    expect(t.customerParameters).toEqual(['client_id']);
    expect(Object.keys((t.inputSchema as { properties: object }).properties)).not.toContain('client_id');
    const before = recorder.requests.length;
    const r = await caller.callTool(t, { search: 'printer', status_id: 2 }, ctx('42'));
    expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
    const sent = new URL(recorder.requests[before].url, 'http://x');
    expect(sent.pathname).toBe('/api/Tickets');
    expect(Object.fromEntries(sent.searchParams)).toMatchObject({ client_id: '42', search: 'printer', status_id: '2', pageinate: 'true', page_no: '1', page_size: '25', open_only: 'true' });
    const result = (r.structuredContent as { result: { tickets: Array<Record<string, unknown>> } }).result;
    expect(result.tickets[0]).toMatchObject({ id: 1001, summary: 'Printer offline', status: 'New', client: 'Contoso', agent: 'Ann', fix_by: '2024-05-01T10:00:00Z', sla_response_state: 'I' });
    expect(result.tickets[0]).not.toHaveProperty('details');
    expect(result.tickets[0]).not.toHaveProperty('customfields');
  });

  it('refuses a model-supplied client_id and a call without a customer, before reaching HaloPSA', async () => {
    const t = tool('halopsa_list_tickets');
    const before = recorder.requests.length;
    const forged = await caller.callTool(t, { client_id: 7 }, ctx('42'));
    expect(forged.isError).toBe(true);
    expect(forged.content[0]).toMatchObject({ text: expect.stringContaining('client_id') });
    const none = await caller.callTool(t, {}, ctx());
    expect(none.isError).toBe(true);
    expect(recorder.requests.length).toBe(before);
  });

  it('puts the customer id into the re-keyed /Client/{client_id} path', async () => {
    const t = tool('halopsa_get_client');
    expect(t.operation.path).toBe('/Client/{client_id}');
    expect((t.inputSchema as { properties: object }).properties).toEqual({});
    const before = recorder.requests.length;
    const r = await caller.callTool(t, {}, ctx('42'));
    expect(r.isError).toBeFalsy();
    expect(new URL(recorder.requests[before].url, 'http://x').pathname).toBe('/api/Client/42');
  });

  it('keeps routes HaloPSA cannot filter by client tenant-wide and medium risk, and the reference lists low', () => {
    for (const name of ['halopsa_get_ticket', 'halopsa_list_ticket_actions', 'halopsa_get_asset']) {
      expect(tool(name).customerParameters, name).toEqual([]);
      expect(tool(name).riskTier, name).toBe('medium');
    }
    for (const name of ['halopsa_list_sites', 'halopsa_list_contacts', 'halopsa_list_assets', 'halopsa_list_contracts', 'halopsa_list_invoices']) {
      expect(tool(name).customerParameters, name).toEqual(['client_id']);
    }
    expect(tool('halopsa_list_statuses').riskTier).toBe('low');
  });
});
