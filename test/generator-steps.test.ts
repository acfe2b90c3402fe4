/**
 * The model steps of generator/model/, one by one, on small OpenAPI fragments: each is a pure
 * function of its inputs that returns its part and its issues (the composition is covered by
 * generator-model.test.ts and generate-real.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { OpenApiDocument, OperationInfo } from '../generator/openapi/types.ts';
import type { ConnectorSpec, ToolSpec } from '../generator/spec/types.ts';
import { listOperations } from '../generator/openapi/operations.ts';
import { SchemaConverter } from '../generator/schema/json-schema.ts';
import { argumentName, toolNames } from '../generator/model/naming.ts';
import { authModel, credentialHeaders } from '../generator/auth.ts';
import { isOwnedParameter } from '../generator/model/auth.ts';
import { toolParameters } from '../generator/model/parameters.ts';
import { customerBinding } from '../generator/model/customer.ts';
import { paginationOf, pagingRoles } from '../generator/model/pagination.ts';
import { toolArguments } from '../generator/model/arguments.ts';
import { requestBody } from '../generator/model/body.ts';
import { inputSchema } from '../generator/model/input-schema.ts';
import { responseShape } from '../generator/model/shape.ts';
import { outputSchema, reachableDefs } from '../generator/model/output-schema.ts';
import { operationLint } from '../generator/model/lint.ts';
import { tokenCost } from '../generator/model/token-cost.ts';
import { toolScope } from '../generator/model/tool-scope.ts';
import { clean, toolText } from '../generator/model/text.ts';

const document: OpenApiDocument = {
  openapi: '3.1.0',
  info: { title: 'Desk', version: '1' },
  paths: {
    '/clients/{client_id}/tickets': {
      parameters: [{ name: 'client_id', in: 'path', required: true, schema: { type: 'integer' } }],
      get: {
        operationId: 'listClientTickets',
        summary: 'List <b>tickets</b>   of a client',
        parameters: [
          { name: 'page', in: 'query', schema: { type: 'integer' } },
          { name: 'page_size', in: 'query', schema: { type: 'integer', maximum: 50 } },
          { name: 'filter[status]', in: 'query', schema: { type: 'string' } },
          { name: 'X-Api-Key', in: 'header', schema: { type: 'string' } },
          { name: 'Accept', in: 'header', schema: { type: 'string' } },
          { name: 'verbose', in: 'query', required: true, schema: { type: 'boolean' } },
        ],
        responses: { 200: { description: 'ok', content: { 'application/json': { schema: { type: 'array', items: { $ref: '#/components/schemas/Ticket' } } } } } },
      },
    },
    '/tickets/search': {
      post: {
        operationId: 'searchTickets',
        requestBody: { required: true, description: 'The query', content: { 'application/json': { schema: { $ref: '#/components/schemas/Query' } } } },
        responses: { 200: { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/Ticket' } } } } },
      },
    },
    '/tickets/{id}/close': {
      get: { operationId: 'closeTicket', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { 204: { description: 'closed' } } },
    },
  },
  components: {
    securitySchemes: { key: { type: 'apiKey', in: 'header', name: 'X-Api-Key' }, basic: { type: 'http', scheme: 'Basic' } },
    schemas: {
      Ticket: { type: 'object', properties: { id: { type: 'integer' }, client_id: { type: 'integer' }, owner: { $ref: '#/components/schemas/Person' } } },
      Person: { type: 'object', properties: { name: { type: 'string' } } },
      Query: { type: 'object', properties: { text: { type: 'string' }, client_id: { type: 'integer' } } },
    },
  },
};
const ops = listOperations(document);
const op = (id: string): OperationInfo => ops.find((o) => o.operationId === id)!;
const loaded = { document, operations: ops } as never;
const spec = (extra: Partial<ConnectorSpec> = {}): ConnectorSpec => ({ specgate: 1, connector: 'desk', document: { source: 'desk.json' }, ...extra });
const at = ['tools', 0];
const keys = credentialHeaders(authModel(loaded));
const params = (t?: ToolSpec) => toolParameters(op('listClientTickets'), t, keys, at).params;

describe('naming', () => {
  it('numbers clashes in selection order and never lets a bulk pick take an explicit name', () => {
    const s = spec({ tools: [{ operation: 'GET /tickets/{id}/close', name: 'desk_close_ticket' }] });
    const bulk = { op: op('closeTicket'), tool: undefined };
    const explicit = { op: op('closeTicket'), tool: s.tools![0] };
    // The explicit name is the explicit tool's even when a bulk pick of the same operation comes first.
    expect(toolNames(s, [bulk, explicit, bulk])).toEqual(['desk_list_tickets_close_2', 'desk_close_ticket', 'desk_list_tickets_close_2_2']);
    expect(toolNames(s, [explicit, bulk])).toEqual(['desk_close_ticket', 'desk_list_tickets_close']);
    expect(toolNames(spec(), [bulk, bulk])).toEqual(['desk_list_tickets_close_2', 'desk_list_tickets_close_2_2']);
    const long = { operation: 'x', name: 'n'.repeat(64) } as ToolSpec;
    expect(toolNames(spec({ tools: [long] }), [{ op: op('closeTicket'), tool: long }, { op: op('closeTicket'), tool: long }])[1]).toHaveLength(64);
  });
  it('maps vendor parameter names to client-safe argument names', () => {
    expect(argumentName('filter[status]')).toBe('filter.status');
    expect(argumentName('$$$')).toBe('param');
    expect(argumentName('x'.repeat(80)).length).toBe(64);
  });
});

describe('auth and parameters', () => {
  it('leaves the apiKey header and the reserved headers out, whatever their case', () => {
    expect(authModel(loaded).schemes).toEqual([{ name: 'basic', type: 'http', scheme: 'basic' }, { name: 'key', type: 'apiKey', in: 'header', paramName: 'X-Api-Key' }]);
    expect(isOwnedParameter(keys, { in: 'header', name: 'x-api-KEY' })).toBe(true);
    expect(isOwnedParameter(keys, { in: 'query', name: 'X-Api-Key' })).toBe(false);
    expect(params().map((p) => p.name)).toEqual(['client_id', 'page', 'page_size', 'filter[status]', 'verbose']);
  });
  it('refuses an override of a parameter the operation does not have, with a suggestion', () => {
    const { issues } = toolParameters(op('listClientTickets'), { operation: 'x', parameters: { verbos: { hide: true } } } as ToolSpec, keys, at);
    expect(issues).toEqual([expect.objectContaining({ severity: 'error', code: 'tool/unknown-parameter', path: [...at, 'parameters', 'verbos'] })]);
    expect(issues[0].hint).toContain('verbose');
    // The credential header is the broker's: overriding it is as unknown as a misspelling.
    expect(toolParameters(op('listClientTickets'), { operation: 'x', parameters: { 'X-Api-Key': { hide: true } } } as ToolSpec, keys, at).issues[0].code).toBe('tool/unknown-parameter');
  });
});

describe('"*" overrides', () => {
  it('hides every optional parameter the spec does not name, and can set nothing else', () => {
    const t = { operation: 'x', parameters: { '*': { hide: true }, page: { rename: 'p' } } } as unknown as ToolSpec;
    const r = toolParameters(op('listClientTickets'), t, keys, at);
    expect(r.issues).toEqual([]);
    expect([...r.overrides]).toEqual([['page', { rename: 'p' }], ['page_size', { hide: true }], ['filter[status]', { hide: true }]]);
    const bad = toolParameters(op('listClientTickets'), { operation: 'x', parameters: { '*': { hide: true, fixed: 1 } } } as unknown as ToolSpec, keys, at);
    expect(bad.issues).toEqual([expect.objectContaining({ code: 'tool/wildcard-override', path: [...at, 'parameters', '*', 'fixed'] })]);
  });
});

describe('customer binding', () => {
  const s = spec({ customer: { parameters: ['client_id'] } });
  it('binds the connector\'s customer parameters', () => {
    const r = customerBinding(s, undefined, op('listClientTickets'), params(), at);
    expect(r.bound.map((p) => p.name)).toEqual(['client_id']);
    expect(r.issues).toEqual([]);
  });
  it('refuses overriding a bound parameter, a template on a path parameter, and customer: true without one', () => {
    const t = { operation: 'x', parameters: { client_id: { fixed: 3, customer: { template: 'c-{id}' } } } } as unknown as ToolSpec;
    const codes = customerBinding(s, t, op('listClientTickets'), params(), at).issues.map((i) => i.code);
    expect(codes).toEqual(['customer/override', 'customer/template']);
    const none = customerBinding(spec(), { operation: 'x', customer: true } as ToolSpec, op('closeTicket'), [], at);
    expect(none.issues.map((i) => [i.code, i.hint])).toEqual([['customer/missing-parameter', expect.stringContaining('customer: { parameters')]]);
  });
  it('a tenant-wide tool binds nothing, and saying both is a conflict', () => {
    const t = { operation: 'x', customer: true, scope: { tenant: 'reference data' } } as ToolSpec;
    const r = customerBinding(s, t, op('listClientTickets'), params(), at);
    expect(r.bound).toEqual([]);
    expect(r.issues.map((i) => i.code)).toContain('scope/conflict');
  });
});

describe('pagination', () => {
  const page = { style: 'page', page: 'page', size: 'page_size' } as const;
  it('takes the size limit from the parameter schema and assigns the paging roles', () => {
    const { pagination, issues } = paginationOf(spec(), { operation: 'x', pagination: page } as ToolSpec, op('listClientTickets'), params(), at);
    expect(issues).toEqual([]);
    expect(pagination).toEqual({ style: 'page', defaultLimit: 25, maxLimit: 50, pageParam: 'page', sizeParam: 'page_size', firstPage: 1 });
    expect([...pagingRoles(pagination)]).toEqual([['page', 'page'], ['page_size', 'size']]);
  });
  it('a default that does not fit is skipped; an explicit one that does not fit is an error at its role', () => {
    const wrong = { style: 'page', page: 'p' } as const;
    expect(paginationOf(spec({ defaults: { pagination: wrong } }), undefined, op('listClientTickets'), params(), at)).toEqual({ issues: [] });
    const r = paginationOf(spec(), { operation: 'x', pagination: wrong } as ToolSpec, op('listClientTickets'), params(), at);
    expect(r.pagination).toBeUndefined();
    expect(r.issues).toEqual([expect.objectContaining({ code: 'pagination/unknown-parameter', path: [...at, 'pagination', 'page'] })]);
    // A path parameter never pages.
    expect(paginationOf(spec(), { operation: 'x', pagination: { style: 'offset', offset: 'client_id' } } as ToolSpec, op('listClientTickets'), params(), at).issues[0].code).toBe('pagination/unknown-parameter');
  });
  it('next-url pagination needs a JMESPath that compiles, reported where it was written', () => {
    const ok = paginationOf(spec(), { operation: 'x', pagination: { style: 'next-url', nextUrl: '"@odata.nextLink"' } } as ToolSpec, op('listClientTickets'), params(), at);
    expect(ok.pagination).toMatchObject({ style: 'next-url', nextUrlPath: '"@odata.nextLink"' });
    const bad = paginationOf(spec({ defaults: { pagination: { style: 'next-url', nextUrl: '@odata.nextLink' } } }), undefined, op('listClientTickets'), params(), at);
    expect(bad.pagination).toBeUndefined();
    expect(bad.issues).toEqual([expect.objectContaining({ code: 'pagination/jmespath', path: ['defaults', 'pagination', 'nextUrl'] })]);
  });
  it('a cursor style without nextCursor is incomplete', () => {
    const r = paginationOf(spec(), { operation: 'x', pagination: { style: 'cursor', cursor: 'page' } } as ToolSpec, op('listClientTickets'), params(), at);
    expect(r.issues.map((i) => [i.code, i.message])).toEqual([['pagination/incomplete', 'pagination style "cursor" needs `nextCursor`']]);
  });
});

describe('arguments, body and input schema', () => {
  const s = spec({ customer: { parameters: ['client_id'] } });
  const build = (t: ToolSpec | undefined, id = 'listClientTickets') => {
    const { params: ps, overrides } = toolParameters(op(id), t, keys, at);
    const { customerOf } = customerBinding(s, t, op(id), ps, at);
    const { pagination } = paginationOf(s, t, op(id), ps, at);
    const converter = new SchemaConverter(document, { mode: 'input' });
    const args = toolArguments({ params: ps, overrides, customerOf, roles: pagingRoles(pagination), paginated: !!pagination, converter, at });
    const body = requestBody(s, t, op(id), converter, args.taken, at);
    return { args, body, pagination, input: inputSchema(args, body.argument, undefined, pagination, converter.defs()) };
  };
  it('binds, pages, fixes and renames; only the rest become arguments, mapped back to vendor names', () => {
    const t = { operation: 'x', pagination: { style: 'page', page: 'page', size: 'page_size' }, parameters: { verbose: { fixed: false } } } as unknown as ToolSpec;
    const { args, input } = build(t);
    expect(args.bindings.map((b) => [b.name, b.argument, b.customer ?? b.pagination ?? b.fixed ?? null])).toEqual([
      ['client_id', null, true], ['page', null, 'page'], ['page_size', null, 'size'], ['filter[status]', 'filter.status', null], ['verbose', null, false],
    ]);
    expect(args.keyMapping).toEqual({ 'filter.status': 'filter[status]' });
    expect(args.issues.map((i) => i.code)).toEqual(['lint/property-key']);
    expect(Object.keys(input.properties as object)).toEqual(['filter.status', 'limit', 'cursor']);
    expect(input.additionalProperties).toBe(false);
    expect(input.required).toBeUndefined();
  });
  it('refuses hiding a required parameter without a value', () => {
    const { args } = build({ operation: 'x', parameters: { verbose: { hide: true } } } as unknown as ToolSpec);
    expect(args.issues.filter((i) => i.severity === 'error')).toEqual([expect.objectContaining({ severity: 'error', code: 'tool/hide-required', path: [...at, 'parameters', 'verbose', 'hide'] })]);
  });
  it('a renamed argument that would clash with a paging argument gets the parameter location in its name', () => {
    const t = { operation: 'x', pagination: { style: 'page', page: 'page' }, parameters: { verbose: { rename: 'limit' } } } as unknown as ToolSpec;
    const { args } = build(t);
    expect(args.bindings.find((b) => b.name === 'verbose')?.argument).toBe('query_verbose');
  });
  it('a POST read takes its body as one required argument with the input $defs', () => {
    const { body, input } = build(undefined, 'searchTickets');
    expect(body.argument?.body).toEqual({ argument: 'body', contentType: 'application/json', required: true });
    expect(input.required).toEqual(['body']);
    expect((input.properties as Record<string, { description?: string }>).body.description).toBe('The query');
    expect(Object.keys(input.$defs as object)).toEqual(['Query']);
  });
});

describe('shape and output schema', () => {
  it('the tool\'s response settings override the defaults; redactions add up, sorted', () => {
    const s = spec({ defaults: { response: { maxItems: 10, redact: ['secret'], items: '@' } } });
    const { shape, issues } = responseShape(s, { operation: 'x', response: { maxItems: 5, redact: ['password', 'secret'] } } as ToolSpec, at);
    expect(issues).toEqual([]);
    expect(shape).toEqual({ itemsPath: '@', maxItems: 5, redact: ['password', 'secret'] });
  });
  it('a cache lifetime comes from the defaults unless the tool sets its own; 0 turns it off', () => {
    const s = spec({ defaults: { response: { cacheMs: 60000 } } });
    expect(responseShape(s, undefined, at).shape).toEqual({ cacheMs: 60000 });
    expect(responseShape(s, { operation: 'x', response: { cacheMs: 0 } } as ToolSpec, at).shape).toEqual({});
  });
  it('a bad JMESPath is an error where it was written: the tool or the defaults', () => {
    const tool = responseShape(spec(), { operation: 'x', response: { project: '[[' } } as ToolSpec, at);
    expect(tool.issues).toEqual([expect.objectContaining({ code: 'shape/jmespath', path: [...at, 'response', 'project'] })]);
    const defaults = responseShape(spec({ defaults: { response: { items: 'a[' } } }), undefined, at);
    expect(defaults.issues[0].path).toEqual(['defaults', 'response', 'items']);
  });
  it('wraps the response in the envelope and keeps only the $defs the projection still reaches', () => {
    const full = outputSchema({ document }, op('listClientTickets'), {}, true);
    expect(Object.keys(full.$defs as object)).toEqual(['Person', 'Ticket']);
    expect(Object.keys(full.properties as object)).toEqual(['result', 'truncated', 'nextCursor']);
    const projected = outputSchema({ document }, op('listClientTickets'), { project: '[].{id: id}' }, false);
    expect(projected.$defs).toBeUndefined();
    expect(outputSchema({ document }, op('closeTicket'), {}, false).properties).toMatchObject({ result: {} });
  });
  it('reachableDefs follows references transitively and survives cycles', () => {
    const defs = { A: { $ref: '#/$defs/B' }, B: { properties: { a: { $ref: '#/$defs/A' } } }, C: {} };
    expect(Object.keys(reachableDefs({ $ref: '#/$defs/A' }, defs))).toEqual(['A', 'B']);
  });
});

describe('lint, text, token cost and scope', () => {
  it('warns about a long name, at the name when the spec gave one, and about a read that looks like a write', () => {
    const long = 'x'.repeat(70);
    expect(operationLint(long, { operation: 'x', name: long } as ToolSpec, op('listClientTickets'), at)).toEqual([
      expect.objectContaining({ code: 'lint/tool-name', path: [...at, 'name'], message: `tool name "${long}" is 70 characters (clients allow 64)` }),
    ]);
    expect(operationLint('desk_close_ticket', undefined, op('closeTicket'), at).map((i) => i.code)).toEqual(['lint/get-looks-like-write']);
  });
  it('cleans vendor prose and falls back to method and path', () => {
    expect(toolText(undefined, op('listClientTickets'))).toEqual({ title: 'List tickets of a client', description: 'List tickets of a client' });
    expect(toolText(undefined, op('searchTickets'))).toEqual({ title: undefined, description: 'POST /tickets/search' });
    expect(clean('a'.repeat(20), 10)).toBe(`${'a'.repeat(9)}…`);
  });
  it('warns above the spec\'s token limit and not at or below it', () => {
    const def = { name: 'desk_t', description: 'd', inputSchema: { type: 'object' } };
    const { tokens } = tokenCost(spec(), def, at);
    expect(tokenCost(spec({ lint: { maxDefinitionTokens: tokens } }), def, at).issues).toEqual([]);
    expect(tokenCost(spec({ lint: { maxDefinitionTokens: tokens - 1 } }), def, at).issues.map((i) => i.code)).toEqual(['lint/token-cost']);
  });
  it('an undeclared tool of a connector with customers is treated as returning customer records', () => {
    const r = toolScope({ spec: spec({ customer: { parameters: ['client_id'] } }), t: undefined, name: 'desk_t', boundNames: [], ownership: undefined, ownerParent: undefined, customerToken: false, output: {}, at });
    expect(r.scope).toEqual({ kind: 'tenant', reason: 'undeclared', customerRecords: true });
    expect(r.issues.map((i) => i.code)).toEqual(['scope/undeclared']);
    const none = toolScope({ spec: spec(), t: undefined, name: 'desk_t', boundNames: [], ownership: undefined, ownerParent: undefined, customerToken: false, output: {}, at });
    expect(none).toEqual({ scope: { kind: 'tenant', reason: 'the connector declares no customer binding' }, issues: [] });
  });
  it('a connector whose every call carries the customer\'s own token has no tenant-wide tool', () => {
    const r = toolScope({ spec: spec(), t: { operation: 'x', scope: { tenant: 'reference' } } as ToolSpec, name: 'desk_t', boundNames: [], ownership: undefined, ownerParent: undefined, customerToken: true, output: {}, at });
    expect(r.issues).toEqual([expect.objectContaining({ severity: 'error', code: 'scope/conflict', path: [...at, 'scope'] })]);
    const plain = toolScope({ spec: spec(), t: undefined, name: 'desk_t', boundNames: [], ownership: undefined, ownerParent: undefined, customerToken: true, output: {}, at });
    expect(plain.scope).toMatchObject({ kind: 'customer', credential: true });
  });
  it('a tenant-wide tool returning customer-looking fields is warned about at its scope', () => {
    const output = outputSchema({ document }, op('listClientTickets'), {}, false);
    const r = toolScope({ spec: spec(), t: { operation: 'x', scope: { tenant: 'all tickets' } } as ToolSpec, name: 'desk_t', boundNames: [], ownership: undefined, ownerParent: undefined, customerToken: false, output, at });
    expect(r.issues).toEqual([expect.objectContaining({ code: 'scope/tenant-customer-reference', path: [...at, 'scope'] })]);
  });
});
