/**
 * Authoring ergonomics for parameters: hiding every optional parameter but a few with `"*"`, and
 * binding a vendor parameter that is only called `{id}` to the customer from the tool entry,
 * without an overlay renaming it.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { buildConnector } from '../generator/pipeline.ts';
import type { Diagnostic } from '../generator/spec/types.ts';
import type { ToolModel } from '../runtime/model.ts';
import { createToolCaller } from '../runtime/call.ts';
import { ctx, makeConnector, startRecorder } from './fixtures/call/harness.ts';

const root = path.resolve(import.meta.dirname, '..');
const fixture = path.join(root, 'test/fixtures/generator/helpdesk.yaml');
const tmp = fs.mkdtempSync(path.join(root, 'test/.tmp-params-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

let n = 0;
async function build(body: string) {
  const file = path.join(tmp, `spec${++n}.yaml`);
  const text = `specgate: 1\nconnector: helpdesk\ndocument:\n  source: ${fixture}\n${body}`;
  fs.writeFileSync(file, text);
  return { ...(await buildConnector(file)), text };
}
const errors = (d: Diagnostic[]) => d.filter((x) => x.severity === 'error');
const tool = (tools: ToolModel[] | undefined, name: string) => tools!.find((t) => t.name === name)!;
const args = (t: ToolModel) => Object.keys((t.inputSchema as { properties: object }).properties).sort();

describe('"*": hide every optional parameter but the named ones', () => {
  it('keeps the named and the required parameters; explicit entries win', async () => {
    const all = await build('tools:\n  - operationId: listTickets\n');
    expect(args(tool(all.build?.model.tools, 'helpdesk_list_tickets'))).toEqual(['client_id', 'filter.status', 'includeDeleted', 'page', 'pageSize']);

    const r = await build(`tools:
  - operationId: listTickets
    parameters:
      "*": { hide: true }
      "filter[status]": { rename: status }
      includeDeleted: { hide: false }
  - operationId: getTicket
    parameters:
      "*": { hide: true }
`);
    expect(errors(r.diagnostics)).toEqual([]);
    const list = tool(r.build?.model.tools, 'helpdesk_list_tickets');
    expect(args(list)).toEqual(['includeDeleted', 'status']);
    // Hidden and unset parameters are never sent: they have no binding the model could reach.
    expect(list.parameters.map((b) => b.name).sort()).toEqual(['filter[status]', 'includeDeleted']);
    // A required path parameter stays an argument, and so does the query parameter of the same name.
    expect(args(tool(r.build?.model.tools, 'helpdesk_get_ticket'))).toEqual(['id', 'query_id']);
  });

  it('does not touch pagination or customer parameters', async () => {
    const r = await build(`customer:\n  parameters: [client_id]\ntools:
  - operationId: listTickets
    pagination: { style: page, page: page, size: pageSize }
    parameters:
      "*": { hide: true }
`);
    expect(errors(r.diagnostics)).toEqual([]);
    const t = tool(r.build?.model.tools, 'helpdesk_list_tickets');
    expect(args(t)).toEqual(['cursor', 'limit']);
    expect(t.parameters.map((b) => [b.name, b.customer ?? b.pagination])).toEqual([['client_id', true], ['page', 'page'], ['pageSize', 'size']]);
  });

  it('refuses anything but hide under "*", at its line', async () => {
    const r = await build('tools:\n  - operationId: listTickets\n    parameters:\n      "*": { hide: true, default: 1 }\n');
    const [e] = errors(r.diagnostics);
    expect(e!.code).toBe('tool/wildcard-override');
    expect(e!.message).toBe('"*" can only set `hide`, not `default`');
    expect(e!.line).toBe(r.text.split('\n').findIndex((l) => l.includes('"*"')) + 1);
  });

  it('still names an unknown parameter', async () => {
    const r = await build('tools:\n  - operationId: listTickets\n    parameters:\n      "*": { hide: true }\n      stauts: { hide: false }\n');
    const [e] = errors(r.diagnostics);
    expect(e!.code).toBe('tool/unknown-parameter');
    expect(e!.message).toBe('GET /tickets has no parameter "stauts"');
  });
});

describe('binding a parameter called {id} from the tool entry', () => {
  it('binds it for that tool only: the model never sees it, the runtime fills the customer in', async () => {
    // Datto RMM's shape: the site is the customer, and one operation calls its uid just {id}.
    const doc = path.join(tmp, 'sites.json');
    const idParam = [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }];
    const ok = { 200: { description: 'ok', content: { 'application/json': { schema: { type: 'object' } } } } };
    fs.writeFileSync(doc, JSON.stringify({
      openapi: '3.0.3', info: { title: 'sites', version: '1' },
      paths: { '/site/{id}': { get: { operationId: 'getSite', parameters: idParam, responses: ok } }, '/device/{id}': { get: { operationId: 'getDevice', parameters: idParam, responses: ok } } },
    }));
    const file = path.join(tmp, 'sites.yaml');
    fs.writeFileSync(file, `specgate: 1\nconnector: helpdesk\ndocument:\n  source: ${doc}\ntools:
  - operationId: getSite
    name: helpdesk_my_client
    parameters:
      id: { customer: true }
  - operationId: getDevice
    name: helpdesk_get_ticket
    owner: { field: siteUid }
`);
    const r = await buildConnector(file);
    expect(errors(r.diagnostics)).toEqual([]);
    const mine = tool(r.build?.model.tools, 'helpdesk_my_client');
    expect(args(mine)).toEqual([]);
    expect(mine.parameters).toEqual([{ name: 'id', in: 'path', argument: null, required: true, customer: true }]);
    expect(mine.scope).toMatchObject({ kind: 'customer', bound: ['id'] });
    // Another tool's {id} stays the model's argument.
    expect(args(tool(r.build?.model.tools, 'helpdesk_get_ticket'))).toEqual(['id']);

    const up = await startRecorder(() => ({ body: { id: 7 } }));
    cleanup.push(up.close);
    const c = createToolCaller({ connectors: [makeConnector([mine], { name: 'helpdesk' })], upstreams: { helpdesk: { baseUrl: up.url } } });
    cleanup.push(() => c.close());
    expect((await c.callTool(mine, {}, ctx({ helpdesk: '7' }))).isError).toBeUndefined();
    // An id the model slips in is refused by the input schema, never sent.
    const forged = await c.callTool(mine, { id: '8' }, ctx({ helpdesk: '7' }));
    expect(forged.isError).toBe(true);
    expect(up.requests.map((q) => q.url)).toEqual(['/api/site/7']);
  });
});
