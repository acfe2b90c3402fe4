/**
 * A vendor page larger than what one result shows (maxItems, or a vendor that ignores the page
 * size) is resumed within: the cursor comes back to the same vendor page and goes on after the
 * last item shown, so no item is skipped, whatever the pagination style.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createToolCaller } from '../runtime/call.ts';
import type { Pagination, ToolModel } from '../runtime/model.ts';
import { ctx, makeConnector, makeTool, startRecorder, type Recorder } from './fixtures/call/harness.ts';
import { createCursorSigner, decodeCursor } from '../runtime/upstream/cursor.ts';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

const all = Array.from({ length: 25 }, (_, i) => ({ id: i + 1 }));
const VENDOR_PAGE = 10;

/** Pages of 10 whatever size is asked for; the next page named in the body, a header or by number. */
async function upstream(): Promise<Recorder> {
  const r = await startRecorder((url) => {
    const page = Number(url.searchParams.get('page') ?? url.searchParams.get('after') ?? '1');
    const items = all.slice((page - 1) * VENDOR_PAGE, page * VENDOR_PAGE);
    const more = page * VENDOR_PAGE < all.length;
    const headers: Record<string, string> = more ? { link: `</api/items?page=${page + 1}>; rel="next"` } : {};
    return { body: { items, next: more ? String(page + 1) : null, nextUrl: more ? `/api/items?page=${page + 1}` : null }, headers };
  });
  cleanup.push(r.close);
  return r;
}

function tool(pagination: Pagination): ToolModel {
  return makeTool({
    name: `acme_list_${pagination.style.replace('-', '_')}`,
    operation: { method: 'GET', path: '/items', operationId: 'listItems' },
    inputSchema: { type: 'object', properties: { limit: { type: 'integer', minimum: 1 }, cursor: { type: 'string' } }, additionalProperties: false },
    parameters: [
      { name: 'page', in: 'query', argument: null, required: false, pagination: 'page' },
      { name: 'size', in: 'query', argument: null, required: false, pagination: 'size' },
      { name: 'after', in: 'query', argument: null, required: false, pagination: 'cursor' },
    ],
    pagination,
    shape: { project: 'items', itemsPath: '@', maxItems: 4 },
  });
}

const styles: Pagination[] = [
  { style: 'page', pageParam: 'page', sizeParam: 'size', firstPage: 1, defaultLimit: 10, maxLimit: 50 },
  { style: 'cursor', cursorParam: 'after', sizeParam: 'size', nextCursorPath: 'next', defaultLimit: 10, maxLimit: 50 },
  { style: 'link', sizeParam: 'size', defaultLimit: 10, maxLimit: 50 },
  { style: 'next-url', nextUrlPath: 'nextUrl', sizeParam: 'size', defaultLimit: 10, maxLimit: 50 },
];

describe('maxItems smaller than the vendor page: every item exactly once', () => {
  for (const pagination of styles) {
    it(`style ${pagination.style}`, async () => {
      const up = await upstream();
      const t = tool(pagination);
      const c = createToolCaller({ connectors: [makeConnector([t])], upstreams: { acme: { baseUrl: up.url } }, cursorKeys: [Buffer.alloc(32, 3)] });
      cleanup.push(() => c.close());
      const seen: number[] = [];
      const skips: Array<number | undefined> = [];
      let cursor: string | undefined;
      for (let i = 0; i < 20; i++) {
        const r = await c.callTool(t, cursor ? { cursor } : {}, ctx());
        expect(r.isError, r.content[0]!.text).toBeUndefined();
        const items = r.structuredContent!.result as Array<{ id: number }>;
        expect(items.length).toBeLessThanOrEqual(4);
        seen.push(...items.map((x) => x.id));
        cursor = r.structuredContent!.nextCursor as string | undefined;
        if (!cursor) break;
        skips.push(decodeCursor(Buffer.from(cursor, 'base64url').subarray(0, -16).toString('base64url')).s);
      }
      expect(seen).toEqual(all.map((x) => x.id));
      // Each vendor page of 10 is read three times (4 + 4 + 2 items), the last one (5 items) twice.
      // Page numbers cannot tell the last page from a full one (it has more items than were asked
      // for), so that style asks once more and gets an empty page.
      const end = pagination.style === 'page' ? [undefined] : [];
      expect(skips).toEqual([4, 8, undefined, 4, 8, undefined, 4, ...end]);
      expect(up.requests).toHaveLength(8 + end.length);
    });
  }

  it('says how many of the page are left while resuming within it', async () => {
    const up = await upstream();
    const t = tool(styles[0]!);
    const c = createToolCaller({ connectors: [makeConnector([t])], upstreams: { acme: { baseUrl: up.url } }, cursorKeys: [Buffer.alloc(32, 3)] });
    cleanup.push(() => c.close());
    const first = await c.callTool(t, {}, ctx());
    expect(first.structuredContent!.truncated).toEqual({ reason: 'maxItems', returned: 4, available: 10 });
    const second = await c.callTool(t, { cursor: first.structuredContent!.nextCursor as string }, ctx());
    expect(second.structuredContent!.result).toEqual([5, 6, 7, 8].map((id) => ({ id })));
    expect(second.structuredContent!.truncated).toEqual({ reason: 'maxItems', returned: 4, available: 6 });
    // The page is asked for again as it was (same page number and size).
    expect(up.requests.map((r) => r.url)).toEqual(['/api/items?page=1&size=4', '/api/items?page=1&size=4']);
  });
});

describe('the item count inside a cursor', () => {
  const payload = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  it('is a positive integer beside at most one position', () => {
    expect(decodeCursor(payload({ p: 2, s: 3 }))).toEqual({ p: 2, s: 3 });
    expect(decodeCursor(payload({ s: 3 }))).toEqual({ s: 3 });
    expect(decodeCursor(payload({ n: 'https://vendor.example/api/items?page=2', s: 1 }))).toEqual({ n: 'https://vendor.example/api/items?page=2', s: 1 });
    const bad = (why: string) => `Invalid arguments: "cursor" is not a cursor this tool returned (${why}); omit it to start from the first page`;
    for (const s of [0, -1, 1.5, '3', 2 ** 60]) expect(() => decodeCursor(payload({ p: 2, s }))).toThrow(bad('not a positive item count'));
    expect(() => decodeCursor(payload({ p: 2, o: 3, s: 1 }))).toThrow(bad('unexpected fields'));
    expect(() => decodeCursor(payload({}))).toThrow(bad('unexpected fields'));
    expect(() => decodeCursor(payload({ n: 'javascript:alert(1)' }))).toThrow(bad('not a URL'));
  });

  it('a position-less cursor is refused by an offset tool, a position of another style by any', async () => {
    const up = await upstream();
    const offsetTool = makeTool({
      name: 'acme_list_offset',
      operation: { method: 'GET', path: '/items', operationId: 'listItems' },
      inputSchema: { type: 'object', properties: { cursor: { type: 'string' } }, additionalProperties: false },
      pagination: { style: 'offset', offsetParam: 'offset', defaultLimit: 10, maxLimit: 50 },
      shape: { project: 'items' },
    });
    const nextUrlTool = tool(styles[3]!);
    const key = Buffer.alloc(32, 5);
    const c = createToolCaller({ connectors: [makeConnector([offsetTool, nextUrlTool])], upstreams: { acme: { baseUrl: up.url } }, cursorKeys: [key] });
    cleanup.push(() => c.close());
    // Sealed by the gateway's own key, so only the kind check stands between them and the vendor.
    const sealed = (t: ToolModel, v: unknown) => createCursorSigner([key]).seal({ tool: t.name }, payload(v));
    const another = 'Invalid arguments: "cursor" was returned by another tool; omit it to start from the first page';
    expect((await c.callTool(offsetTool, { cursor: sealed(offsetTool, { s: 2 }) }, ctx())).content[0]!.text).toBe(another);
    expect((await c.callTool(nextUrlTool, { cursor: sealed(nextUrlTool, { u: `${up.url}/items?page=2` }) }, ctx())).content[0]!.text).toBe(another);
    expect(up.requests).toHaveLength(0);
  });
});
