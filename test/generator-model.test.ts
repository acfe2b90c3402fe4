/**
 * Selection (the read-only contract) and the tool model built from it, on a small document that
 * packs the awkward cases: same-named path and query parameters, path-level parameters, allOf,
 * circular schemas, missing operationIds, a read-only POST, writes, and a GET that looks like one.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { buildConnector } from '../generator/pipeline.ts';
import type { Diagnostic } from '../generator/spec/types.ts';
import type { ToolModel } from '../runtime/model.ts';

const root = path.resolve(import.meta.dirname, '..');
const fixture = path.join(root, 'test/fixtures/generator/helpdesk.yaml');
const tmp = fs.mkdtempSync(path.join(root, 'test/.tmp-model-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let n = 0;
async function build(body: string) {
  const file = path.join(tmp, `spec${++n}.yaml`);
  const text = `specgate: 1\nconnector: helpdesk\ndocument:\n  source: ${fixture}\n${body}`;
  fs.writeFileSync(file, text);
  const outcome = await buildConnector(file);
  return { ...outcome, file, text };
}

/** The 1-based line and column where `needle` starts in the text (its first occurrence after `after`). */
function where(text: string, needle: string, after = ''): { line: number; column: number } {
  const start = after ? text.indexOf(after) : 0;
  const at = text.indexOf(needle, start);
  if (at < 0) throw new Error(`needle ${needle} not in text`);
  const before = text.slice(0, at).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

const errors = (d: Diagnostic[]) => d.filter((x) => x.severity === 'error');
const warnings = (d: Diagnostic[], code: string) => d.filter((x) => x.severity === 'warning' && x.code === code);
const tool = (tools: ToolModel[] | undefined, name: string) => {
  const t = tools?.find((x) => x.name === name);
  if (!t) throw new Error(`no tool ${name} in ${tools?.map((x) => x.name).join(', ')}`);
  return t;
};

describe('selection', () => {
  it('picks by operationId, by METHOD /path and in bulk by tag, method and glob, with excludes', async () => {
    const r = await build(`select:
  - tags: [Clients]
  - paths: ["/tickets/**"]
    exclude: [cancelTicket, "GET /tickets/search"]
tools:
  - operationId: listTickets
    name: helpdesk_list_tickets
  - operation: GET /tickets/{id}
    name: helpdesk_get_ticket
`);
    expect(errors(r.diagnostics)).toEqual([]);
    const names = r.build!.model.tools.map((t) => t.name);
    expect(names).toEqual([
      'helpdesk_get_clients',
      'helpdesk_get_clients_by_client_id',
      'helpdesk_get_ticket',
      'helpdesk_head_tickets_by_id',
      'helpdesk_list_tickets',
    ]);
    // The individually listed tool wins over the bulk pick of the same operation.
    expect(names.filter((x) => x.includes('get_ticket'))).toHaveLength(1);
    const skipped = r.build!.skipped.map((s) => `${s.method} ${s.path}: ${s.reason}`);
    expect(skipped).toContain('GET /tickets/{id}/cancel: excluded by select[1].exclude');
    expect(skipped).toContain('PUT /clients: write operation (PUT) left out by select[0]');
    expect(skipped).toContain('DELETE /tickets/{id}: write operation (DELETE) left out by select[1]');
    expect(r.build!.model.allowList).toEqual([
      { method: 'GET', path: '/clients' },
      { method: 'GET', path: '/clients/{clientId}' },
      { method: 'GET', path: '/tickets' },
      { method: 'GET', path: '/tickets/{id}' },
      { method: 'HEAD', path: '/tickets/{id}' },
    ]);
  });

  it('refuses a POST without effect: read, naming the spec line', async () => {
    const r = await build(`tools:\n  - operationId: searchTickets\n`);
    const [e] = errors(r.diagnostics);
    expect(e.code).toBe('select/write-operation');
    expect(e.message).toContain('POST /tickets/search is a POST');
    expect({ line: e.line, column: e.column }).toEqual(where(r.text, 'searchTickets'));
    expect(e.hint).toContain('effect: read');
  });

  it('wants a reason for a read-only POST', async () => {
    const r = await build(`tools:\n  - operationId: searchTickets\n    effect: read\n`);
    const [e] = errors(r.diagnostics);
    expect(e.code).toBe('select/read-post-reason');
    expect({ line: e.line, column: e.column }).toEqual(where(r.text, 'read', 'effect:'));
  });

  it('accepts a read-only POST with a reason and exposes its body', async () => {
    const r = await build(`tools:\n  - operationId: searchTickets\n    effect: read\n    reason: search endpoint without side effects\n`);
    expect(errors(r.diagnostics)).toEqual([]);
    const t = tool(r.build?.model.tools, 'helpdesk_search_tickets');
    expect(t.operation.method).toBe('POST');
    expect(t.effectReason).toBe('search endpoint without side effects');
    expect(t.body).toEqual({ argument: 'body', contentType: 'application/json', required: true });
    expect((t.inputSchema as any).required).toEqual(['body']);
  });

  it('refuses DELETE and PUT with the line of the entry', async () => {
    const r = await build(`tools:\n  - operation: DELETE /tickets/{id}\n  - operationId: replaceClients\n`);
    const es = errors(r.diagnostics);
    expect(es.map((e) => e.code)).toEqual(['select/write-operation', 'select/write-operation']);
    expect({ line: es[0].line, column: es[0].column }).toEqual(where(r.text, 'DELETE /tickets'));
    expect({ line: es[1].line, column: es[1].column }).toEqual(where(r.text, 'replaceClients'));
    expect(es[0].message).toContain('DELETE');
  });

  it('refuses writes in bulk methods', async () => {
    const r = await build(`select:\n  - methods: [GET, POST]\n`);
    const [e] = errors(r.diagnostics);
    expect(e.code).toBe('select/write-operation');
    expect({ line: e.line, column: e.column }).toEqual(where(r.text, 'POST]'));
  });

  it('says which operation is unknown, with a suggestion', async () => {
    const r = await build(`tools:\n  - operationId: listTicket\n  - operation: GET /ticket\n`);
    const es = errors(r.diagnostics);
    expect(es[0].message).toBe('operationId "listTicket" is not in the document');
    expect(es[0].hint).toContain('"listTickets"');
    expect(es[1].hint).toContain('"GET /tickets"');
    expect({ line: es[1].line, column: es[1].column }).toEqual(where(r.text, 'GET /ticket\n'));
  });

  it('lints a GET that looks like a write', async () => {
    const r = await build(`tools:\n  - operationId: cancelTicket\n`);
    expect(errors(r.diagnostics)).toEqual([]);
    const [w] = warnings(r.diagnostics, 'lint/get-looks-like-write');
    expect(w.message).toContain('"cancel"');
    expect({ line: w.line, column: w.column }).toEqual(where(r.text, 'operationId: cancelTicket'));
  });
});

describe('tool model', () => {
  it('hides, renames, fixes and defaults parameters; maps unsafe keys reversibly; drops credential headers', async () => {
    const r = await build(`tools:
  - operationId: listTickets
    parameters:
      includeDeleted: { fixed: false }
      page: { rename: page_number, default: 1 }
      pageSize: { hide: true }
`);
    expect(errors(r.diagnostics)).toEqual([]);
    const t = tool(r.build?.model.tools, 'helpdesk_list_tickets');
    const props = Object.keys((t.inputSchema as any).properties);
    expect(props).toEqual(['client_id', 'page_number', 'filter.status']);
    expect((t.inputSchema as any).properties.page_number.default).toBe(1);
    expect(t.parameters.find((p) => p.name === 'includeDeleted')).toMatchObject({ argument: null, fixed: false });
    expect(t.parameters.find((p) => p.name === 'page')).toMatchObject({ argument: 'page_number', default: 1 });
    expect(t.parameters.find((p) => p.name === 'pageSize')).toBeUndefined();
    expect(t.parameters.find((p) => p.name === 'x-api-key')).toBeUndefined();
    expect(t.keyMapping).toEqual({ 'filter.status': 'filter[status]' });
    expect(warnings(r.diagnostics, 'lint/property-key')[0].message).toContain('"filter[status]" becomes argument "filter.status"');
  });

  it('names an unknown parameter override with its position and a suggestion', async () => {
    const r = await build(`tools:\n  - operationId: listTickets\n    parameters:\n      pagesize: { hide: true }\n`);
    const [e] = errors(r.diagnostics);
    expect(e.code).toBe('tool/unknown-parameter');
    expect(e.hint).toContain('"pageSize"');
    expect({ line: e.line, column: e.column }).toEqual(where(r.text, 'pagesize'));
  });

  it('refuses to hide a required parameter without a value', async () => {
    const r = await build(`tools:\n  - operationId: getTicket\n    parameters:\n      id: { hide: true }\n`);
    expect(errors(r.diagnostics)[0].code).toBe('tool/hide-required');
  });

  it('keeps same-named path and query parameters apart, with path-level parameters merged', async () => {
    const r = await build(`tools:\n  - operationId: getTicket\n`);
    expect(errors(r.diagnostics)).toEqual([]);
    const t = tool(r.build?.model.tools, 'helpdesk_get_ticket');
    expect(t.parameters.map((p) => [p.in, p.name, p.argument])).toEqual([
      ['path', 'id', 'id'],
      ['query', 'id', 'query_id'],
    ]);
    expect((t.inputSchema as any).required).toEqual(['id']);
  });

  it('binds the customer parameter so the model cannot set it', async () => {
    const r = await build(`customer:\n  parameters: [client_id, clientId]\ntools:\n  - operationId: listTickets\n  - operation: GET /clients/{clientId}\n    name: helpdesk_get_client\n`);
    expect(errors(r.diagnostics)).toEqual([]);
    const list = tool(r.build?.model.tools, 'helpdesk_list_tickets');
    expect(list.customerParameters).toEqual(['client_id']);
    expect((list.inputSchema as any).properties.client_id).toBeUndefined();
    expect(list.parameters.find((p) => p.name === 'client_id')).toMatchObject({ customer: true, argument: null });
    const client = tool(r.build?.model.tools, 'helpdesk_get_client');
    expect(client.customerParameters).toEqual(['clientId']);
    expect((client.inputSchema as any).required ?? []).not.toContain('clientId');
  });

  it('refuses customer: true on a tool without the parameter', async () => {
    const r = await build(`customer:\n  parameters: [client_id]\ntools:\n  - operationId: getTicket\n    customer: true\n`);
    const [e] = errors(r.diagnostics);
    expect(e.code).toBe('customer/missing-parameter');
    expect({ line: e.line, column: e.column }).toEqual(where(r.text, 'true', 'customer: '));
  });

  it('normalises pagination to limit and cursor', async () => {
    const r = await build(`tools:\n  - operationId: listTickets\n    pagination: { style: page, page: page, size: pageSize, defaultLimit: 50 }\n`);
    expect(errors(r.diagnostics)).toEqual([]);
    const t = tool(r.build?.model.tools, 'helpdesk_list_tickets');
    expect(t.pagination).toEqual({ style: 'page', pageParam: 'page', sizeParam: 'pageSize', firstPage: 1, defaultLimit: 50, maxLimit: 200 });
    const props = (t.inputSchema as any).properties;
    expect(props.limit).toMatchObject({ type: 'integer', maximum: 200, default: 50 });
    expect(props.cursor.type).toBe('string');
    expect(props.page).toBeUndefined();
    expect((t.outputSchema as any).properties.nextCursor.type).toBe('string');
  });

  it('refuses pagination over a parameter the operation lacks', async () => {
    const r = await build(`tools:\n  - operationId: getTicket\n    pagination: { style: offset, offset: skip }\n`);
    const [e] = errors(r.diagnostics);
    expect(e.code).toBe('pagination/unknown-parameter');
    expect(e.message).toContain('"skip"');
  });

  it('derives the output schema of a projection and validates JMESPath', async () => {
    const ok = await build(`tools:\n  - operationId: listTickets\n    response:\n      project: "tickets[].{id: id, summary: summary}"\n      maxItems: 10\n`);
    expect(errors(ok.diagnostics)).toEqual([]);
    const t = tool(ok.build?.model.tools, 'helpdesk_list_tickets');
    expect(t.shape).toEqual({ project: 'tickets[].{id: id, summary: summary}', maxItems: 10 });
    const result = (t.outputSchema as any).properties.result;
    expect(result.items.properties.id.type).toContain('integer');
    expect(Object.keys(result.items.properties)).toEqual(['id', 'summary']);

    const bad = await build(`tools:\n  - operationId: listTickets\n    response:\n      project: "tickets[.id"\n`);
    const [e] = errors(bad.diagnostics);
    expect(e.code).toBe('shape/jmespath');
    expect({ line: e.line, column: e.column }).toEqual(where(bad.text, '"tickets[.id"'));
  });

  it('terminates on circular schemas and produces schemas ajv compiles', async () => {
    const r = await build(`select:\n  - methods: [GET, HEAD]\n`);
    expect(errors(r.diagnostics)).toEqual([]);
    const ajv = new Ajv2020({ strict: false });
    for (const t of r.build!.model.tools) {
      expect(() => ajv.compile(t.inputSchema as object), t.name).not.toThrow();
      expect(() => ajv.compile(t.outputSchema as object), t.name).not.toThrow();
      expect(t.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false, openWorldHint: true });
      expect(t.definitionTokens).toBeGreaterThan(20);
    }
    const client = tool(r.build?.model.tools, 'helpdesk_get_clients_by_client_id');
    expect(client.operation.derivedOperationId).toBe(true);
    expect(JSON.stringify(client.outputSchema)).toContain('#/$defs/Client');
  });

  it('warns on long tool names and costly definitions', async () => {
    const long = 'helpdesk_' + 'x'.repeat(60);
    const r = await build(`lint:\n  maxDefinitionTokens: 30\ntools:\n  - operationId: listTickets\n    name: ${long}\n`);
    expect(errors(r.diagnostics)).toEqual([]);
    const [name] = warnings(r.diagnostics, 'lint/tool-name');
    expect(name.message).toContain('69 characters');
    expect({ line: name.line, column: name.column }).toEqual(where(r.text, long));
    const [cost] = warnings(r.diagnostics, 'lint/token-cost');
    expect(cost.message).toMatch(/costs \d+ tokens .* \(limit 30\)/);
  });

  it('records the document hash and reports a change', async () => {
    const r = await build(`  sha256: ${'0'.repeat(64)}\ntools:\n  - operationId: listTickets\n`);
    const [e] = errors(r.diagnostics);
    expect(e.code).toBe('document/changed');
    expect({ line: e.line, column: e.column }).toEqual(where(r.text, '0000'));
  });
});
