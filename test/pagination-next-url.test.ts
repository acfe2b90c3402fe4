/**
 * Body-driven pagination (style next-url) against a real HTTP upstream: the vendor's next-page
 * URL travels inside the signed cursor, and is followed only on the connector's origin and the
 * tool's own operation, with the runtime's customer binding and fixed values intact.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createToolCaller } from '../runtime/call.ts';
import type { ParameterBinding, Pagination, ToolModel } from '../runtime/model.ts';
import { ctx, makeConnector, makeTool, startRecorder, type Recorder } from './fixtures/call/harness.ts';
import { createCursorSigner } from '../runtime/upstream/cursor.ts';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function recorder(...a: Parameters<typeof startRecorder>): Promise<Recorder> {
  const r = await startRecorder(...a);
  cleanup.push(r.close);
  return r;
}

const KEY = Buffer.alloc(32, 9);
function caller(tool: ToolModel, up: Recorder) {
  const c = createToolCaller({ connectors: [makeConnector([tool])], upstreams: { acme: { baseUrl: up.url } }, cursorKeys: [KEY] });
  cleanup.push(() => c.close());
  return c;
}

const NEXT_URL: Pagination = { style: 'next-url', nextUrlPath: 'pageDetails.nextPageUrl', limitParam: 'max', defaultLimit: 3, maxLimit: 50 };

/** Datto RMM's shape: /sites/{siteUid}/devices, the site bound to the customer, a fixed query value. */
function devicesTool(pagination: Pagination = NEXT_URL, extra: Partial<ToolModel> = {}): ToolModel {
  const parameters: ParameterBinding[] = [
    { name: 'siteUid', in: 'path', argument: null, required: true, customer: true },
    { name: 'max', in: 'query', argument: null, required: false, pagination: 'limit' },
    { name: 'status', in: 'query', argument: 'status', required: false },
    { name: 'format', in: 'query', argument: null, required: false, fixed: 'json' },
  ];
  return makeTool({
    name: 'acme_list_site_devices',
    operation: { method: 'GET', path: '/sites/{siteUid}/devices', operationId: 'listSiteDevices' },
    inputSchema: { type: 'object', properties: { status: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 50 }, cursor: { type: 'string' } }, additionalProperties: false },
    parameters,
    customerParameters: ['siteUid'],
    pagination,
    shape: { project: 'devices', itemsPath: '@' },
    ...extra,
  });
}

const customer = () => ctx({ acme: 'site-a' });
const all = Array.from({ length: 8 }, (_, i) => i + 1);

/** Serves `all` in pages of 3, with the next page's URL written by `nextUrl` (page number -> URL). */
function pagedUpstream(nextUrl: (origin: string, page: number) => string) {
  let origin = '';
  const up = recorder((url) => {
    const page = Number(url.searchParams.get('page') ?? '1');
    const more = page * 3 < all.length;
    return { body: { devices: all.slice((page - 1) * 3, page * 3), pageDetails: { count: 3, nextPageUrl: more ? nextUrl(origin, page + 1) : null } } };
  });
  return up.then((r) => {
    origin = r.origin;
    return r;
  });
}

describe('pagination style next-url', () => {
  it('follows the vendor\'s next-page URL to the end, every item once, keeping the customer and fixed values', async () => {
    // The vendor's URL drops the fixed parameter: the runtime puts it back.
    const up = await pagedUpstream((origin, page) => `${origin}/api/sites/site-a/devices?max=3&page=${page}&status=open`);
    const c = caller(devicesTool(), up);
    const seen: number[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 6; i++) {
      const r = await c.callTool(devicesTool(), { status: 'open', ...(cursor ? { cursor } : {}) }, customer());
      expect(r.isError, r.content[0]!.text).toBeUndefined();
      seen.push(...(r.structuredContent!.result as number[]));
      cursor = r.structuredContent!.nextCursor as string | undefined;
      if (!cursor) break;
      // The model gets the signed cursor, never a URL it could edit.
      expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    }
    expect(seen).toEqual(all);
    expect(up.requests.map((r) => r.url)).toEqual([
      '/api/sites/site-a/devices?status=open&format=json&max=3',
      '/api/sites/site-a/devices?max=3&page=2&status=open&format=json',
      '/api/sites/site-a/devices?max=3&page=3&status=open&format=json',
    ]);
  });

  it('resolves a relative next URL against the connector\'s base URL', async () => {
    const up = await pagedUpstream((_origin, page) => `/api/sites/site-a/devices?page=${page}`);
    const c = caller(devicesTool(), up);
    const first = await c.callTool(devicesTool(), {}, customer());
    const second = await c.callTool(devicesTool(), { cursor: first.structuredContent!.nextCursor as string }, customer());
    expect(second.structuredContent!.result).toEqual([4, 5, 6]);
    expect(up.requests[1]!.url).toBe('/api/sites/site-a/devices?page=2&format=json');
  });

  const refusals: Array<[string, (origin: string, page: number) => string, RegExp]> = [
    ['another host', (origin, page) => `${origin.replace('127.0.0.1', 'localhost')}/api/sites/site-a/devices?page=${page}`, /it points to host localhost:\d+, not the connector's 127\.0\.0\.1:\d+/],
    ['another scheme', (origin, page) => `${origin.replace('http:', 'https:')}/api/sites/site-a/devices?page=${page}`, /its scheme https: is not the connector's http:/],
    ['user info', (origin, page) => origin.replace('http://', 'http://admin:hunter2@') + `/api/sites/site-a/devices?page=${page}`, /it carries user info \(credentials\) before its host/],
    ['another operation\'s path', (origin, page) => `${origin}/api/admin/users?page=${page}`, /its path \/api\/admin\/users is not acme_list_site_devices's operation GET \/sites\/\{siteUid\}\/devices \(\/api\/sites\/site-a\/devices\)/],
    ['another customer\'s path', (origin, page) => `${origin}/api/sites/site-b/devices?page=${page}`, /its path \/api\/sites\/site-b\/devices is not acme_list_site_devices's operation/],
    ['a path outside the base URL', (origin, page) => `${origin}/sites/site-a/devices?page=${page}`, /its path \/sites\/site-a\/devices is not/],
    ['a changed fixed value', (origin, page) => `${origin}/api/sites/site-a/devices?page=${page}&format=csv`, /it changes query parameter "format", which specgate sets \(a fixed value\)/],
  ];
  for (const [what, nextUrl, why] of refusals) {
    it(`refuses a next URL with ${what}, sending nothing`, async () => {
      const up = await pagedUpstream(nextUrl);
      const c = caller(devicesTool(), up);
      const first = await c.callTool(devicesTool(), {}, customer());
      expect(first.isError).toBeUndefined();
      const cursor = first.structuredContent!.nextCursor as string;
      expect(cursor).toBeTruthy();
      const r = await c.callTool(devicesTool(), { cursor }, customer());
      expect(r.isError).toBe(true);
      const text = r.content[0]!.text;
      expect(text).toMatch(/^The vendor's next-page URL was not followed: /);
      expect(text).toMatch(why);
      expect(text).toMatch(/specgate follows a next-page URL only on the connector's own origin and the tool's own operation; omit "cursor" to start from the first page$/);
      expect(text).not.toContain('hunter2');
      expect(up.requests).toHaveLength(1);
    });
  }

  it('refuses a next URL that swaps the customer id in a query binding', async () => {
    const tool = makeTool({
      name: 'acme_list_alerts',
      operation: { method: 'GET', path: '/alerts', operationId: 'listAlerts' },
      inputSchema: { type: 'object', properties: { cursor: { type: 'string' }, limit: { type: 'integer' } }, additionalProperties: false },
      parameters: [{ name: 'siteUid', in: 'query', argument: null, required: true, customer: true }],
      customerParameters: ['siteUid'],
      pagination: NEXT_URL,
      shape: { project: 'devices', itemsPath: '@' },
    });
    const up = await pagedUpstream((origin, page) => `${origin}/api/alerts?page=${page}&siteUid=${page === 2 ? 'site-b' : 'site-a'}`);
    const c = caller(tool, up);
    const first = await c.callTool(tool, {}, customer());
    const r = await c.callTool(tool, { cursor: first.structuredContent!.nextCursor as string }, customer());
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/^The vendor's next-page URL was not followed: it changes query parameter "siteUid", which specgate sets \(the customer binding\)/);
    expect(up.requests).toHaveLength(1);
    expect(up.requests[0]!.url).toBe('/api/alerts?max=3&siteUid=site-a');
  });

  it('a next URL keeping the customer id goes on; one without it gets the customer put back', async () => {
    const tool = devicesTool(NEXT_URL, {
      name: 'acme_list_alerts',
      operation: { method: 'GET', path: '/alerts', operationId: 'listAlerts' },
      parameters: [{ name: 'siteUid', in: 'query', argument: null, required: true, customer: true }],
    });
    const up = await pagedUpstream((origin, page) => `${origin}/api/alerts?page=${page}${page === 2 ? '&siteUid=site-a' : ''}`);
    const c = caller(tool, up);
    let cursor: string | undefined;
    const seen: number[] = [];
    do {
      const r = await c.callTool(tool, cursor ? { cursor } : {}, customer());
      expect(r.isError, r.content[0]!.text).toBeUndefined();
      seen.push(...(r.structuredContent!.result as number[]));
      cursor = r.structuredContent!.nextCursor as string | undefined;
    } while (cursor);
    expect(seen).toEqual(all);
    expect(up.requests.map((r) => new URL(r.url, up.origin).searchParams.get('siteUid'))).toEqual(['site-a', 'site-a', 'site-a']);
  });

  it('a cursor issued for one customer does not open for another, nor can a URL be slipped in', async () => {
    const up = await pagedUpstream((origin, page) => `${origin}/api/sites/site-a/devices?page=${page}`);
    const c = caller(devicesTool(), up);
    const first = await c.callTool(devicesTool(), {}, customer());
    const cursor = first.structuredContent!.nextCursor as string;
    const other = await c.callTool(devicesTool(), { cursor }, ctx({ acme: 'site-b' }));
    expect(other.content[0]!.text).toMatch(/its signature does not match: it was altered, or issued for another tool, tenant or customer/);
    // A cursor the model wrote itself, with a URL of its choosing, is not signed by the gateway.
    const forged = Buffer.from(JSON.stringify({ n: 'http://evil.example/steal' })).toString('base64url');
    expect((await c.callTool(devicesTool(), { cursor: forged }, customer())).content[0]!.text).toMatch(/^Invalid arguments: "cursor" is not a cursor this tool returned/);
    // Signed with another key: refused the same way.
    const foreign = createCursorSigner([Buffer.alloc(32, 1)]).seal({ tool: 'acme_list_site_devices', customer: 'site-a' }, forged);
    expect((await c.callTool(devicesTool(), { cursor: foreign }, customer())).content[0]!.text).toMatch(/its signature does not match/);
    expect(up.requests).toHaveLength(1);
  });

  it('ends where the body has no next URL, or a value that is not one', async () => {
    for (const next of [null, '', 42, 'mailto:x@example.com']) {
      const up = await recorder(() => ({ body: { devices: [1, 2], pageDetails: { nextPageUrl: next } } }));
      const r = await caller(devicesTool(), up).callTool(devicesTool(), {}, customer());
      expect(r.isError).toBeUndefined();
      expect(r.structuredContent!.nextCursor).toBeUndefined();
    }
  });
});
