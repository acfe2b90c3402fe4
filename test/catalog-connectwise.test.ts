/**
 * ConnectWise PSA connector specifics: the spec generated from the vendor's GET subset, called
 * through the runtime's tool caller against a recording upstream. Shows the company id is bound
 * through the re-keyed {company_id} paths, clientId never becomes an argument, `fields` is fixed
 * on the wire, nested references are flattened and member secrets never reach the model.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { loadCatalog, type Catalog } from '../runtime/catalog.ts';
import { createToolCaller, type ToolCallContext, type ToolCaller } from '../runtime/call.ts';
import type { ToolModel } from '../runtime/model.ts';
import { startRecorder, type Recorder } from './fixtures/call/harness.ts';
import { generateInto, haveVendorDocs, root, tempDir, vendorDocsMissing } from './helpers/e2e.ts';

const spec = path.join(root, 'specs', 'connectwise.yaml');
const base = '/v4_6_release/apis/3.0';

const bodies: Record<string, unknown> = {
  [`${base}/service/tickets`]: [{ id: 77, summary: 'VPN down', board: { id: 1, name: 'Help Desk' }, status: { id: 5, name: 'New' }, company: { id: 250, identifier: 'Contoso', name: 'Contoso Ltd' }, owner: { id: 3, identifier: 'jsmith', name: 'J Smith' }, _info: { dateEntered: '2024-04-01T09:00:00Z' } }],
  [`${base}/system/members`]: [{ id: 3, identifier: 'jsmith', firstName: 'J', password: 'hunter2', token: 'abc' }],
};

describe.skipIf(!haveVendorDocs)(`connectwise connector${haveVendorDocs ? '' : ` (${vendorDocsMissing})`}`, () => {
  const dir = tempDir('catalog-connectwise');
  let catalog: Catalog;
  let recorder: Recorder;
  let caller: ToolCaller;
  const tool = (name: string): ToolModel => {
    const t = catalog.tools.find((x) => x.name === name);
    if (!t) throw new Error(`no tool ${name}`);
    return t;
  };
  const ctx = (customer?: string): ToolCallContext => ({ requestId: 't', signal: new AbortController().signal, customerIds: customer ? { connectwise: customer } : {} });
  const lastUrl = () => new URL(recorder.requests[recorder.requests.length - 1].url, 'http://x');

  beforeAll(async () => {
    const result = await generateInto([spec], path.join(dir, 'generated'));
    expect(result.diagnostics.filter((d) => d.severity === 'warning')).toEqual([]);
    catalog = await loadCatalog(path.join(dir, 'generated'));
    recorder = await startRecorder((url) => ({ status: 200, body: bodies[url.pathname] ?? [] }), base);
    caller = createToolCaller({ connectors: catalog.connectors, upstreams: { connectwise: { baseUrl: recorder.url } }, retries: 0 });
  }, 120_000);
  afterAll(async () => {
    await caller?.close();
    await recorder?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('declares basic auth plus the clientId header scheme, and no tool takes clientId as an argument', () => {
    const model = catalog.connectors[0].model;
    expect(model.auth.schemes.map((s) => s.name).sort()).toEqual(['basicAuth', 'clientId']);
    expect(model.auth.schemes.find((s) => s.name === 'clientId')).toMatchObject({ type: 'apiKey', in: 'header', paramName: 'clientId' });
    expect(model.servers).toContain('https://api-eu.myconnectwise.net/v4_6_release/apis/3.0');
    for (const t of model.tools) {
      expect(Object.keys((t.inputSchema as { properties: object }).properties), t.name).not.toContain('clientId');
      expect(t.parameters.some((p) => p.name === 'clientId'), t.name).toBe(false);
    }
  });

  it('binds the company id through the {company_id} paths and nowhere else', async () => {
    const bound = catalog.tools.filter((t) => t.customerParameters.length > 0).map((t) => t.name).sort();
    expect(bound).toEqual(['connectwise_get_company', 'connectwise_list_company_notes', 'connectwise_list_company_sites']);
    const r = await caller.callTool(tool('connectwise_list_company_sites'), {}, ctx('250'));
    expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
    const sent = lastUrl();
    expect(sent.pathname).toBe(`${base}/company/companies/250/sites`);
    expect(sent.searchParams.get('fields')).toBe('id,name,addressLine1,city,zip,phoneNumber,primaryAddressFlag,inactiveFlag,timeZone');
    expect(sent.searchParams.get('orderBy')).toBe('name asc');
    expect(sent.searchParams.get('pageSize')).toBe('25');
  });

  it('refuses a model-supplied company_id and a call without a customer, before reaching ConnectWise', async () => {
    const before = recorder.requests.length;
    const forged = await caller.callTool(tool('connectwise_get_company'), { company_id: 1 }, ctx('250'));
    expect(forged.isError).toBe(true);
    expect(forged.content[0]).toMatchObject({ text: expect.stringContaining('company_id') });
    const none = await caller.callTool(tool('connectwise_get_company'), {}, ctx());
    expect(none.isError).toBe(true);
    expect(recorder.requests.length).toBe(before);
  });

  it('flattens ticket references and passes the model\'s conditions through', async () => {
    const r = await caller.callTool(tool('connectwise_list_tickets'), { conditions: 'company/id=250 and closedFlag=false' }, ctx());
    expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
    expect(lastUrl().searchParams.get('conditions')).toBe('company/id=250 and closedFlag=false');
    const [ticket] = (r.structuredContent as { result: Array<Record<string, unknown>> }).result;
    expect(ticket).toMatchObject({ id: 77, summary: 'VPN down', board: 'Help Desk', status: 'New', company_id: 250, company: 'Contoso Ltd', owner: 'jsmith', entered: '2024-04-01T09:00:00Z' });
  });

  it('never returns a member\'s password or token', async () => {
    const r = await caller.callTool(tool('connectwise_list_members'), {}, ctx());
    expect(r.isError).toBeFalsy();
    const text = JSON.stringify(r);
    expect(text).toContain('jsmith');
    expect(text).not.toContain('hunter2');
    expect(text).not.toMatch(/"token"|"password"/);
    expect(tool('connectwise_list_members').shape.redact).toEqual(expect.arrayContaining(['password', 'token']));
  });
});
