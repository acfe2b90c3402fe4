/**
 * The customer binding forms beyond one whole parameter, generated from a spec and called through
 * the tool caller against a recording upstream over HTTP: a template into a filter expression
 * (NinjaOne's `df=org = {id}`), several named ids per customer (Datto RMM's siteUid and siteId),
 * and a field of the request body of an `effect: read` POST search. Each refusal is checked with
 * its exact message, and the spec mistakes each form can make are reported where they are written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { loadCatalog, type Catalog } from '../runtime/catalog.ts';
import { createToolCaller, type ToolCaller } from '../runtime/call.ts';
import { generateInto, tempDir } from './helpers/e2e.ts';
import { generate } from '../generator/generate.ts';
import { startRecorder, type Recorder } from './fixtures/call/harness.ts';

const DOCUMENT = {
  openapi: '3.0.3',
  info: { title: 'RMM', version: '1' },
  paths: {
    '/devices': {
      get: {
        operationId: 'listDevices',
        parameters: [
          { name: 'df', in: 'query', schema: { type: 'string' }, description: 'Device filter expression' },
          { name: 'search', in: 'query', schema: { type: 'string' } },
        ],
        responses: { 200: { description: 'ok', content: { 'application/json': { schema: { type: 'array', items: { type: 'object', properties: { id: { type: 'integer' }, organizationId: { type: 'integer' } } } } } } } },
      },
    },
    '/site/{siteUid}/devices': {
      get: {
        operationId: 'listSiteDevices',
        parameters: [{ name: 'siteUid', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { 200: { description: 'ok', content: { 'application/json': { schema: { type: 'object', properties: { devices: { type: 'array', items: { type: 'object', properties: { uid: { type: 'string' }, siteId: { type: 'integer' } } } } } } } } } },
      },
    },
    '/alerts': {
      get: {
        operationId: 'listAlerts',
        parameters: [{ name: 'siteId', in: 'query', schema: { type: 'integer' } }],
        responses: { 200: { description: 'ok', content: { 'application/json': { schema: { type: 'array', items: { type: 'object', properties: { id: { type: 'integer' }, siteId: { type: 'integer' } } } } } } } },
      },
    },
    '/search': {
      post: {
        operationId: 'searchTickets',
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', properties: { text: { type: 'string' }, filter: { type: 'object', properties: { companyId: { type: 'string' }, status: { type: 'string' } } } } } } } },
        responses: { 200: { description: 'ok', content: { 'application/json': { schema: { type: 'object', properties: { results: { type: 'array', items: { type: 'object', properties: { id: { type: 'integer' }, companyId: { type: 'string' } } } } } } } } } },
      },
    },
  },
};

const SPEC = `specgate: 1
connector: rmm
document:
  source: ./rmm.json
customer:
  ids: [siteUid, siteId]
tools:
  - operationId: listDevices
    name: rmm_list_devices
    parameters:
      df: { customer: { template: "org = {id}" } }
  - operationId: listSiteDevices
    name: rmm_list_site_devices
    parameters:
      siteUid: { customer: { id: siteUid } }
    owner: { field: siteId, items: devices, id: siteId }
  - operationId: listAlerts
    name: rmm_list_alerts
    parameters:
      siteId: { customer: { id: siteId } }
  - operationId: searchTickets
    name: rmm_search_tickets
    effect: read
    reason: A search; it changes nothing.
    body:
      customer: { field: filter.companyId }
`;

describe('customer binding forms', () => {
  const dir = tempDir('customer-bindings');
  let catalog: Catalog;
  let recorder: Recorder;
  let caller: ToolCaller;
  /** The body of the latest request, once it has been read in full. */
  let body: Promise<string> = Promise.resolve('');

  beforeAll(async () => {
    fs.writeFileSync(path.join(dir, 'rmm.json'), JSON.stringify(DOCUMENT));
    fs.writeFileSync(path.join(dir, 'rmm.yaml'), SPEC);
    const { diagnostics } = await generateInto([path.join(dir, 'rmm.yaml')], path.join(dir, 'generated'));
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    catalog = await loadCatalog(path.join(dir, 'generated'));
    recorder = await startRecorder((url, req) => {
      body = new Promise((resolve) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      });
      if (url.pathname.startsWith('/site/')) return { body: { devices: [{ uid: 'd1', siteId: 9001 }, { uid: 'd2', siteId: 9002 }] } };
      return { body: url.pathname === '/search' ? { results: [] } : [] };
    }, '');
    caller = createToolCaller({ connectors: catalog.connectors, upstreams: { rmm: { baseUrl: recorder.url } }, retries: 0 });
  }, 60_000);
  afterAll(async () => {
    await caller?.close();
    await recorder?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const tool = (name: string) => catalog.tools.find((t) => t.name === name)!;
  const ctx = (ids: Record<string, string>, named: Record<string, string> = {}) => ({
    requestId: 'r', signal: new AbortController().signal, customerIds: ids, customerNamedIds: { rmm: named }, customer: 'contoso',
  });
  const last = () => new URL(recorder.requests.at(-1)!.url, 'http://x');

  it('fills a filter template with the customer id, and the model has no way into that parameter', async () => {
    const t = tool('rmm_list_devices');
    expect(t.parameters.find((p) => p.name === 'df')).toMatchObject({ argument: null, customer: true, customerTemplate: 'org = {id}' });
    expect(Object.keys((t.inputSchema as { properties: object }).properties)).toEqual(['search']);
    const ok = await caller.callTool(t, { search: 'srv' }, ctx({ rmm: '42' }));
    expect(ok.isError).toBeFalsy();
    expect(last().searchParams.get('df')).toBe('org = 42');
    expect(last().searchParams.get('search')).toBe('srv');

    // The model's own filter cannot widen the customer's: df is no argument at all.
    const before = recorder.requests.length;
    const widened = await caller.callTool(t, { df: 'org = 42) OR (org > 0' }, ctx({ rmm: '42' }));
    expect(widened).toMatchObject({ isError: true, content: [{ text: expect.stringContaining('"df"') }] });
    expect(recorder.requests.length).toBe(before);
  });

  it('refuses to put a vendor id that is not an id into a filter template', async () => {
    const before = recorder.requests.length;
    const r = await caller.callTool(tool('rmm_list_devices'), {}, ctx({ rmm: '42) OR (1=1' }));
    expect(r.content[0]?.text).toBe('This tool cannot be scoped to the customer: its df filter takes the customer\'s vendor id, which must be letters, digits, "_", ".", ":" or "-" (fix the mapping with customer vendor-id)');
    expect(recorder.requests.length).toBe(before);
  });

  it('binds the named ids each tool asks for, and checks ownership against a named id', async () => {
    const named = { siteUid: 'uid-7', siteId: '9001' };
    const site = await caller.callTool(tool('rmm_list_site_devices'), {}, ctx({ rmm: 'unnamed' }, named));
    expect(last().pathname).toBe('/site/uid-7/devices');
    // d2 belongs to site 9002: withheld, though the path named the right site.
    expect(site.structuredContent).toMatchObject({ result: { devices: [{ uid: 'd1', siteId: 9001 }] }, truncated: { withheld: 1 } });
    await caller.callTool(tool('rmm_list_alerts'), {}, ctx({ rmm: 'unnamed' }, named));
    expect(last().searchParams.get('siteId')).toBe('9001');

    const before = recorder.requests.length;
    const missing = await caller.callTool(tool('rmm_list_alerts'), {}, ctx({ rmm: 'unnamed' }, { siteUid: 'uid-7' }));
    expect(missing.content[0]?.text).toBe('This tool needs a customer: rmm_list_alerts returns customer data, and this session has no rmm customer id named siteId; select a customer first');
    expect(recorder.requests.length).toBe(before);
  });

  it('forces a body field of a read-only POST search, and refuses a body that sets it', async () => {
    const t = tool('rmm_search_tickets');
    expect(t.body?.customerFields).toEqual([{ path: ['filter', 'companyId'] }]);
    const ok = await caller.callTool(t, { body: { text: 'vpn', filter: { status: 'open' } } }, ctx({ rmm: 'C-42' }));
    expect(ok.isError).toBeFalsy();
    expect(JSON.parse(await body)).toEqual({ text: 'vpn', filter: { status: 'open', companyId: 'C-42' } });

    const before = recorder.requests.length;
    const forged = await caller.callTool(t, { body: { text: 'vpn', filter: { companyId: 'C-99' } } }, ctx({ rmm: 'C-42' }));
    expect(forged.content[0]?.text).toBe('Invalid arguments: body.filter.companyId is set by specgate to the conversation\'s customer; leave it out');
    expect(recorder.requests.length).toBe(before);
  });

  it('reports each binding mistake where it is written', async () => {
    const bad = `specgate: 1
connector: rmm
document:
  source: ./rmm.json
customer:
  parameters: [ client_idd ]
  ids: [siteUid]
tools:
  - operationId: listDevices
    name: rmm_list_devices
    parameters:
      df: { customer: { template: "org = {id} or org = {id}" } }
  - operationId: listAlerts
    name: rmm_list_alerts
    parameters:
      siteId: { customer: { id: siteNumber } }
    body:
      customer: { field: companyId }
  - operationId: listSiteDevices
    name: rmm_list_site_devices
    scope: { tenant: "Reference data" }
    owner: { field: siteId }
`;
    fs.writeFileSync(path.join(dir, 'bad.yaml'), bad);
    const { diagnostics } = await generate([path.join(dir, 'bad.yaml')], { outDir: path.join(dir, 'bad-out'), check: true });
    const errors = diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line} ${d.code} ${d.message}`);
    expect(errors).toEqual(expect.arrayContaining([
      '12 customer/template customer template "org = {id} or org = {id}" must contain {id} exactly once',
      '16 customer/unknown-id customer id name "siteNumber" is not declared in customer.ids (siteUid)',
      expect.stringMatching(/^18 customer\/no-body body.customer binds a request body field, but this operation has no request body/),
      '22 scope/conflict a tool declared `scope: { tenant }` cannot also verify an owner; choose one',
      '6 customer/unused customer parameter "client_idd" is on no selected tool',
    ]));
  });
});
