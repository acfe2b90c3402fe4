import { afterEach, describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { isWithinTokenLimit } from 'gpt-tokenizer';
import { createToolCaller, type CallerOptions } from '../runtime/call.ts';
import type { Pagination, ToolModel } from '../runtime/model.ts';
import { ctx, makeConnector, makeTool, startRecorder, type Recorder } from './fixtures/call/harness.ts';
import { createCursorSigner, cursorKeysFrom } from '../runtime/upstream/cursor.ts';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function recorder(...a: Parameters<typeof startRecorder>): Promise<Recorder> {
  const r = await startRecorder(...a);
  cleanup.push(r.close);
  return r;
}

function caller(tools: ToolModel[], up: Recorder, extra: Partial<CallerOptions> & { connector?: Parameters<typeof makeConnector>[1] } = {}) {
  const { connector, ...rest } = extra;
  const c = createToolCaller({ connectors: [makeConnector(tools, connector)], upstreams: { acme: { baseUrl: up.url } }, ...rest });
  cleanup.push(() => c.close());
  return c;
}

const tickets = Array.from({ length: 5 }, (_, i) => ({
  id: i + 1,
  summary: `Ticket ${i + 1}`,
  owner: { name: 'Ann', Password: 'hunter2' },
  internal: 'x',
}));

const listTool = makeTool({
  name: 'acme_list_tickets',
  operation: { method: 'GET', path: '/tickets', operationId: 'listTickets' },
  inputSchema: {
    type: 'object',
    properties: { status: { type: 'string', enum: ['open', 'closed'] }, page_size: { type: 'integer', maximum: 100 } },
    required: ['status'],
    additionalProperties: false,
  },
  outputSchema: {
    type: 'object',
    properties: {
      result: { type: 'array', items: { type: 'object', properties: { id: { type: 'integer' }, summary: { type: 'string' }, owner: { type: 'object', properties: { name: { type: 'string' } }, additionalProperties: false } }, required: ['id', 'summary'], additionalProperties: false } },
      truncated: { type: 'object', properties: { reason: { type: 'string' }, returned: { type: 'integer' }, available: { type: 'integer' } } },
    },
    required: ['result'],
    additionalProperties: false,
  },
  parameters: [
    { name: 'status', in: 'query', argument: 'status', required: true },
    { name: 'page-size', in: 'query', argument: 'page_size', required: false, default: 50 },
    { name: 'format', in: 'query', argument: null, required: false, fixed: 'json' },
  ],
  keyMapping: { page_size: 'page-size' },
  shape: { project: 'tickets[].{id: id, summary: summary, owner: owner}', itemsPath: '@', maxItems: 3, redact: ['password'] },
});

describe('happy path and shaping', () => {
  it('maps arguments to wire names, applies fixed values and defaults, redacts, projects and caps items', async () => {
    const up = await recorder(() => ({ body: { tickets, total: 5 } }));
    const r = await caller([listTool], up).callTool(listTool, { status: 'open' }, ctx());
    expect(r.isError).toBeUndefined();
    const sent = new URL(up.requests[0]!.url, up.origin);
    expect(sent.pathname).toBe('/api/tickets');
    expect(Object.fromEntries(sent.searchParams)).toEqual({ status: 'open', 'page-size': '50', format: 'json' });
    expect(r.structuredContent).toEqual({
      result: tickets.slice(0, 3).map((t) => ({ id: t.id, summary: t.summary, owner: { name: 'Ann' } })),
      truncated: { reason: 'maxItems', returned: 3, available: 5 },
    });
    // Lists are rendered compactly: what surrounds the list as JSON, then a header and a line per item.
    expect(r.content[0]!.text).toBe('{"truncated":{"reason":"maxItems","returned":3,"available":5}}\nitems (3):\nid | summary | owner\n1 | Ticket 1 | {"name":"Ann"}\n2 | Ticket 2 | {"name":"Ann"}\n3 | Ticket 3 | {"name":"Ann"}');
    expect(r.content[1]!.text).toMatch(/^\[truncated: showing 3 of 5 items \(item limit\); narrow the request/);
    expect(JSON.stringify(r)).not.toContain('hunter2');
    const validate = new Ajv2020({ strict: false }).compile(listTool.outputSchema as object);
    expect(validate(r.structuredContent), JSON.stringify(validate.errors)).toBe(true);
  });

  it('drops items from the end until the text fits the token budget, and says so', async () => {
    const many = Array.from({ length: 60 }, (_, i) => ({ id: i, summary: `A fairly long ticket summary number ${i} about printers and email` }));
    const up = await recorder(() => ({ body: { tickets: many } }));
    const tool = { ...listTool, name: 'acme_budget', shape: { project: 'tickets', tokenBudget: 300 } };
    const r = await caller([tool], up).callTool(tool, { status: 'open' }, ctx());
    const sc = r.structuredContent as { result: unknown[]; truncated: { reason: string; returned: number; available: number } };
    expect(sc.truncated.reason).toBe('tokenBudget');
    expect(sc.truncated.available).toBe(60);
    expect(sc.truncated.returned).toBeGreaterThan(0);
    expect(sc.result).toHaveLength(sc.truncated.returned);
    expect(sc.result).toEqual(many.slice(0, sc.truncated.returned));
    const text = r.content.map((c) => c.text).join('\n');
    expect(isWithinTokenLimit(text, 300)).not.toBe(false);
    expect(r.content[1]!.text).toContain(`showing ${sc.truncated.returned} of 60 items (size budget)`);
  });
});

describe('pagination: every style yields a cursor that fetches the next page', () => {
  const all = Array.from({ length: 7 }, (_, i) => i + 1);
  const pagedTool = (pagination: Pagination, project = 'items') =>
    makeTool({
      name: `acme_list_${pagination.style}`,
      operation: { method: 'GET', path: '/items', operationId: 'listItems' },
      inputSchema: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: pagination.maxLimit }, cursor: { type: 'string' } }, additionalProperties: false },
      parameters: ['page', 'per_page', 'offset', 'count', 'after']
        .map((name) => ({ name, in: 'query' as const, argument: null, required: false, pagination: ({ page: 'page', per_page: 'size', offset: 'offset', count: 'limit', after: 'cursor' } as const)[name as 'page'] })),
      pagination,
      shape: { project },
    });

  async function collect(tool: ToolModel, up: Recorder): Promise<number[]> {
    const c = caller([tool], up);
    const seen: number[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 10; i++) {
      const r = await c.callTool(tool, { limit: 3, ...(cursor ? { cursor } : {}) }, ctx());
      expect(r.isError, r.content[0]!.text).toBeUndefined();
      seen.push(...((r.structuredContent!.result as number[]) ?? []));
      cursor = r.structuredContent!.nextCursor as string | undefined;
      if (!cursor) break;
      expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    }
    return seen;
  }

  it('page/size', async () => {
    const up = await recorder((url) => {
      const page = Number(url.searchParams.get('page'));
      const size = Number(url.searchParams.get('per_page'));
      return { body: { items: all.slice((page - 1) * size, page * size) } };
    });
    expect(await collect(pagedTool({ style: 'page', pageParam: 'page', sizeParam: 'per_page', firstPage: 1, defaultLimit: 2, maxLimit: 50 }), up)).toEqual(all);
    expect(up.requests.map((r) => new URL(r.url, up.origin).search)).toEqual(['?page=1&per_page=3', '?page=2&per_page=3', '?page=3&per_page=3']);
  });

  it('offset/limit', async () => {
    const up = await recorder((url) => {
      const offset = Number(url.searchParams.get('offset'));
      return { body: { items: all.slice(offset, offset + Number(url.searchParams.get('count'))) } };
    });
    expect(await collect(pagedTool({ style: 'offset', offsetParam: 'offset', limitParam: 'count', defaultLimit: 2, maxLimit: 50 }), up)).toEqual(all);
    expect(up.requests.map((r) => new URL(r.url, up.origin).searchParams.get('offset'))).toEqual(['0', '3', '6']);
  });

  it('cursor token from the body', async () => {
    const up = await recorder((url) => {
      const start = url.searchParams.has('after') ? Number(url.searchParams.get('after')) : 0;
      const items = all.slice(start, start + 3);
      return { body: { items, meta: { next: start + 3 < all.length ? String(start + 3) : null } } };
    });
    const tool = pagedTool({ style: 'cursor', cursorParam: 'after', limitParam: 'count', nextCursorPath: 'meta.next', defaultLimit: 2, maxLimit: 50 });
    expect(await collect(tool, up)).toEqual(all);
    expect(up.requests.map((r) => new URL(r.url, up.origin).searchParams.get('after'))).toEqual([null, '3', '6']);
  });

  it('Link header rel="next" (relative and absolute URLs)', async () => {
    const up = await recorder((url) => {
      const page = Number(url.searchParams.get('page') ?? '1');
      const items = all.slice((page - 1) * 3, page * 3);
      const headers: Record<string, string> = {};
      if (page * 3 < all.length) {
        const next = `/api/items?page=${page + 1}&per_page=3`;
        headers.link = `<${page === 1 ? next : `http://127.0.0.1:1${next}`}>; rel="next", </api/items?page=1>; rel="first"`;
      }
      return { body: items, headers };
    });
    const tool = pagedTool({ style: 'link', sizeParam: 'per_page', defaultLimit: 2, maxLimit: 50 }, '@');
    expect(await collect(tool, up)).toEqual(all);
    // The link's host is never used: only its query goes to the tool's own upstream.
    expect(up.requests.map((r) => r.url)).toEqual(['/api/items?per_page=3', '/api/items?per_page=3&page=2', '/api/items?per_page=3&page=3']);
  });

  it('refuses a malformed, unsigned, forged or tampered cursor, or one from another tool or caller, sending nothing', async () => {
    const up = await recorder(() => ({ body: { items: [] } }));
    const tool = pagedTool({ style: 'page', pageParam: 'page', sizeParam: 'per_page', firstPage: 1, defaultLimit: 2, maxLimit: 50 });
    const key = Buffer.alloc(32, 7);
    const c = caller([tool], up, { cursorKeys: [key] });
    const text = async (cursor: string, customerIds?: Record<string, string>) => (await c.callTool(tool, { cursor }, { ...ctx(customerIds), tenantId: 't1' })).content[0]!.text;
    const bad = await c.callTool(tool, { cursor: 'not a cursor!' }, ctx());
    expect(bad).toMatchObject({ isError: true });
    expect(bad.content[0]!.text).toBe('Invalid arguments: "cursor" is not a cursor this tool returned (not base64url); omit it to start from the first page');
    const payload = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    // An unsigned cursor, as the gateway used to issue them: refused, short or long.
    expect(await text(payload({ p: 5 }))).toBe('Invalid arguments: "cursor" is not a cursor this tool returned (it is not signed); omit it to start from the first page');
    expect(await text(payload({ u: 'https://vendor.example/api/items?page=2&admin=true' }))).toBe('Invalid arguments: "cursor" is not a cursor this tool returned (its signature does not match: it was altered, or issued for another tool, tenant or customer); omit it to start from the first page');
    // Sealed with another key (a forgery), for another tool, tenant or customer, or altered after sealing: refused.
    const mine = { tool: tool.name, tenantId: 't1' };
    const forged = createCursorSigner([Buffer.alloc(32, 9)]).seal(mine, payload({ p: 2 }));
    const signer = createCursorSigner([key]);
    const genuine = signer.seal(mine, payload({ p: 2 }));
    const bytes = Buffer.from(genuine, 'base64url');
    bytes[2] ^= 1;
    for (const cursor of [forged, signer.seal({ ...mine, tool: 'acme_list_other' }, payload({ p: 2 })), signer.seal({ ...mine, tenantId: 't2' }, payload({ p: 2 })), bytes.toString('base64url')]) {
      expect(await text(cursor)).toMatch(/its signature does not match/);
    }
    expect(await text(genuine, { acme: 'C-1' })).toMatch(/its signature does not match/);
    // Behind a genuine seal, the payload is still checked.
    expect(await text(signer.seal(mine, payload({ o: 5 })))).toContain('"cursor" was returned by another tool');
    expect(await text(signer.seal(mine, payload({ p: -1 })))).toContain('not a non-negative integer');
    expect(up.requests).toHaveLength(0);
    expect((await c.callTool(tool, { cursor: genuine }, { ...ctx(), tenantId: 't1' })).isError).toBeUndefined();
    expect(up.requests.map((r) => new URL(r.url, up.origin).searchParams.get('page'))).toEqual(['2']);
  });

  it('cursor keys come from configuration: instances sharing it accept each other\'s cursors, across a master key rotation', () => {
    const k1 = Buffer.alloc(32, 1).toString('base64');
    const k2 = Buffer.alloc(32, 2).toString('base64');
    const binding = { tool: 'acme_list_page', tenantId: 't1', customer: 'C-1' };
    const payload = Buffer.from('{"p":2}').toString('base64url');
    // Two instances with the same master keys derive the same cursor keys.
    const a = createCursorSigner(cursorKeysFrom({ SPECGATE_MASTER_KEYS: `k1:${k1}` }));
    const b = createCursorSigner(cursorKeysFrom({ SPECGATE_MASTER_KEYS: `k1:${k1}` }));
    const issued = a.seal(binding, payload);
    expect(b.open(binding, issued)).toBe(payload);
    // After rotation (k2 current, k1 kept) old cursors still open, new ones are sealed with k2.
    const rotated = createCursorSigner(cursorKeysFrom({ SPECGATE_MASTER_KEYS: `k2:${k2},k1:${k1}` }));
    expect(rotated.open(binding, issued)).toBe(payload);
    expect(() => a.open(binding, rotated.seal(binding, payload))).toThrow(/signature does not match/);
    // An explicit cursor key wins; a short one is refused by name.
    const explicit = createCursorSigner(cursorKeysFrom({ SPECGATE_CURSOR_KEY: k2, SPECGATE_MASTER_KEYS: `k1:${k1}` }));
    expect(() => explicit.open(binding, issued)).toThrow(/signature does not match/);
    expect(() => cursorKeysFrom({ SPECGATE_CURSOR_KEY: 'c2hvcnQ=' })).toThrow('SPECGATE_CURSOR_KEY must be at least 32 bytes in base64 (it decodes to 5 bytes)');
    // Without configuration, one random key per process: stable within it.
    expect(cursorKeysFrom({})).toEqual(cursorKeysFrom({}));
  });

  it('a Link cursor cannot be made to carry query parameters the vendor did not send', async () => {
    const up = await recorder((url) => ({ body: [], headers: url.searchParams.has('page') ? {} : { link: '</api/items?page=2>; rel="next"' } as Record<string, string> }));
    const tool = pagedTool({ style: 'link', sizeParam: 'per_page', defaultLimit: 2, maxLimit: 50 }, '@');
    const c = caller([tool], up, { cursorKeys: [Buffer.alloc(32, 7)] });
    const first = await c.callTool(tool, {}, ctx());
    const cursor = first.structuredContent!.nextCursor as string;
    const bytes = Buffer.from(cursor, 'base64url');
    const json = bytes.subarray(0, bytes.length - 16).toString();
    expect(JSON.parse(json)).toEqual({ u: `${up.origin}/api/items?page=2` });
    const widened = Buffer.concat([Buffer.from(json.replace('page=2', 'page=2&admin=true')), bytes.subarray(bytes.length - 16)]).toString('base64url');
    expect((await c.callTool(tool, { cursor: widened }, ctx())).content[0]!.text).toMatch(/its signature does not match/);
    expect((await c.callTool(tool, { cursor }, ctx())).isError).toBeUndefined();
    expect(up.requests.map((r) => r.url)).toEqual(['/api/items?per_page=2', '/api/items?per_page=2&page=2']);
  });
});

describe('argument validation', () => {
  it('names the argument and the rule, and sends nothing', async () => {
    const up = await recorder(() => ({ body: { tickets: [] } }));
    const c = caller([listTool], up);
    const text = async (args: Record<string, unknown>) => {
      const r = await c.callTool(listTool, args, ctx());
      expect(r.isError).toBe(true);
      return r.content[0]!.text;
    };
    expect(await text({ status: 'open', page_size: 500 })).toBe('Invalid arguments: "page_size" must be <= 100 (maximum)');
    expect(await text({})).toBe('Invalid arguments: missing required argument "status"');
    expect(await text({ status: 'open', page_size: 'ten' })).toBe('Invalid arguments: "page_size" must be integer (type)');
    expect(await text({ status: 'open', foo: 1 })).toBe('Invalid arguments: unknown argument "foo"');
    expect(await text({ status: 'pending' })).toBe('Invalid arguments: "status" must be one of "open", "closed" (enum)');
    expect(await text({ page_size: 500 })).toBe('Invalid arguments: missing required argument "status"; "page_size" must be <= 100 (maximum)');
    expect(up.requests).toHaveLength(0);
  });
});

describe('customer binding', () => {
  const tool = makeTool({
    name: 'acme_client_tickets',
    operation: { method: 'GET', path: '/clients/{client_id}/tickets', operationId: 'clientTickets' },
    // No additionalProperties: false, so only the runtime's own rule stops an override.
    inputSchema: { type: 'object', properties: { q: { type: 'string' } } },
    parameters: [
      { name: 'client_id', in: 'path', argument: null, required: true, customer: true },
      { name: 'site', in: 'header', argument: null, required: false, customer: true },
      { name: 'q', in: 'query', argument: 'q', required: false },
    ],
    customerParameters: ['client_id', 'site'],
  });

  it('forces the caller\'s customer id and refuses an argument that tries to set it', async () => {
    const up = await recorder(() => ({ body: [] }));
    const c = caller([tool], up);
    const ok = await c.callTool(tool, { q: 'x' }, ctx({ acme: 'C-42' }));
    expect(ok.isError).toBeUndefined();
    expect(up.requests[0]!.url).toBe('/api/clients/C-42/tickets?q=x');
    expect(up.requests[0]!.headers.site).toBe('C-42');

    const r = await c.callTool(tool, { q: 'x', client_id: 'C-1' }, ctx({ acme: 'C-42' }));
    expect(r).toMatchObject({ isError: true });
    expect(r.content[0]!.text).toBe('Invalid arguments: "client_id" is bound to the caller\'s customer and cannot be set');
    expect(up.requests).toHaveLength(1);
  });

  it('refuses a customer tool when the session has no customer id in this vendor', async () => {
    const up = await recorder(() => ({ body: [] }));
    const r = await caller([tool], up).callTool(tool, {}, ctx({ other: 'C-9' }));
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/^This tool needs a customer: acme_client_tickets/);
    expect(up.requests).toHaveLength(0);
  });
});

describe('allow-list: refused requests never leave', () => {
  const byId = makeTool({
    name: 'acme_get_ticket',
    operation: { method: 'GET', path: '/tickets/{id}', operationId: 'getTicket' },
    inputSchema: { type: 'object', properties: { id: { type: 'string' }, trace: { type: 'string' } }, required: ['id'] },
    parameters: [
      { name: 'id', in: 'path', argument: 'id', required: true },
      { name: 'X-Trace', in: 'header', argument: 'trace', required: false },
    ],
  });
  const notes = makeTool({
    name: 'acme_ticket_notes',
    operation: { method: 'GET', path: '/tickets/{id}/notes', operationId: 'getNotes' },
    inputSchema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
    parameters: [{ name: 'id', in: 'path', argument: 'id', required: true }],
  });

  async function setup(connector?: Parameters<typeof makeConnector>[1]) {
    const up = await recorder(() => ({ body: { ok: true } }));
    let authCalls = 0;
    const c = createToolCaller({
      connectors: [makeConnector([byId, notes], connector)],
      upstreams: { acme: { baseUrl: up.url, authenticate: (req) => { authCalls++; req.headers.set('authorization', 'Bearer s3cr3t-token-value'); } } },
    });
    cleanup.push(() => c.close());
    return { up, c, auth: () => authCalls };
  }

  it('sends a valid request with credentials added after the check', async () => {
    const { up, c, auth } = await setup();
    const r = await c.callTool(byId, { id: 'T-1' }, ctx());
    expect(r.structuredContent).toEqual({ result: { ok: true } });
    expect(up.requests[0]!.url).toBe('/api/tickets/T-1');
    expect(up.requests[0]!.headers.authorization).toBe('Bearer s3cr3t-token-value');
    expect(auth()).toBe(1);
  });

  it.each([
    ['../admin', /encoded slash/],
    ['a/b', /encoded slash/],
    ['a\\b', /encoded slash or backslash/],
  ])('refuses path value %j', async (id, why) => {
    const { up, c, auth } = await setup();
    const r = await c.callTool(byId, { id }, ctx());
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/^Request refused by the allow-list: GET \/api\/tickets\//);
    expect(r.content[0]!.text).toMatch(why);
    expect(up.requests).toHaveLength(0);
    expect(auth()).toBe(0);
  });

  it('refuses dot segments and line breaks before building a request', async () => {
    const { up, c, auth } = await setup();
    expect((await c.callTool(byId, { id: '..' }, ctx())).content[0]!.text).toBe('Invalid arguments: "id" cannot be ".." (it is a path segment)');
    expect((await c.callTool(byId, { id: 'T-1', trace: 'a\r\nX-Injected: 1' }, ctx())).content[0]!.text)
      .toBe('Invalid arguments: "trace" contains a line break or NUL character, which a header value cannot carry');
    expect(up.requests).toHaveLength(0);
    expect(auth()).toBe(0);
  });

  it('refuses a client that targets a path outside the allow-list', async () => {
    const { up, c } = await setup({ routes: { getTicket: { method: 'GET', path: '/admin/users' } } });
    const r = await c.callTool(byId, { id: '1' }, ctx());
    expect(r.content[0]!.text).toBe('Request refused by the allow-list: GET /api/admin/users matches no permitted request');
    expect(up.requests).toHaveLength(0);
  });

  it('refuses one tool\'s call reaching another allowed request', async () => {
    const { up, c } = await setup({ routes: { getTicket: { method: 'GET', path: '/tickets/{id}/notes' } } });
    const r = await c.callTool(byId, { id: '1' }, ctx());
    expect(r.content[0]!.text).toContain('is not the request of this tool (GET /tickets/{id})');
    expect(up.requests).toHaveLength(0);
  });

  it('refuses another host and a path outside the base path', async () => {
    const other = await recorder(() => ({ body: {} }));
    const up = await recorder(() => ({ body: {} }));
    const connector = makeConnector([byId]);
    const hijacked = { ...connector, createClient: ({ fetch }: { baseUrl: string; fetch: (r: Request) => Promise<Response> }) => connector.createClient({ baseUrl: other.url, fetch }) };
    const c = createToolCaller({ connectors: [hijacked], upstreams: { acme: { baseUrl: up.url } } });
    cleanup.push(() => c.close());
    const r = await c.callTool(byId, { id: '1' }, ctx());
    expect(r.content[0]!.text).toMatch(/^Request refused by the allow-list: GET \/api\/tickets\/1 goes to http:\/\/127\.0\.0\.1:\d+, not the configured upstream$/);

    const outside = { ...connector, createClient: ({ fetch }: { baseUrl: string; fetch: (r: Request) => Promise<Response> }) => connector.createClient({ baseUrl: up.origin, fetch }) };
    const c2 = createToolCaller({ connectors: [outside], upstreams: { acme: { baseUrl: up.url } } });
    cleanup.push(() => c2.close());
    expect((await c2.callTool(byId, { id: '1' }, ctx())).content[0]!.text).toContain('outside the upstream\'s base path /api');
    expect(other.requests).toHaveLength(0);
    expect(up.requests).toHaveLength(0);
  });
});
