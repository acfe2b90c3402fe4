import { describe, expect, it } from 'vitest';
import { isWithinTokenLimit } from 'gpt-tokenizer';
import { parseBody, shapeResult } from '../runtime/execution/shape.ts';
import { decodeCursor, encodeCursor, nextCursor, parseLinkHeader } from '../runtime/upstream/cursor.ts';
import { parseRetryAfter, scrubSecrets } from '../runtime/upstream/errors.ts';
import { checkRequest, compileAllowList, compileTemplate } from '../runtime/upstream/allow-list.ts';
import type { Shape } from '../runtime/model.ts';
import { makeTool } from './fixtures/call/harness.ts';

const toolWith = (shape: Shape) => makeTool({ name: 't', operation: { method: 'GET', path: '/x', operationId: 'x' }, shape });
const textOf = (r: { content: Array<{ text: string }> }) => r.content.map((c) => c.text).join('\n');

describe('shapeResult', () => {
  it('redacts keys at any depth, case-insensitively, before projecting', () => {
    const raw = { user: { Password: 'p', name: 'n', tokens: [{ API_KEY: 'k', id: 1 }] }, api_key: 'k2' };
    const { result } = shapeResult(toolWith({ redact: ['password', 'api_key'] }), raw);
    expect(result.structuredContent).toEqual({ result: { user: { name: 'n', tokens: [{ id: 1 }] } } });
    expect(raw.user.Password).toBe('p'); // the input is not mutated
  });

  it('caps the array an explicit itemsPath selects, keeping the rest of the result', () => {
    const raw = { data: { rows: [1, 2, 3, 4], page: 1 }, other: [9, 9, 9, 9] };
    const { result, counts } = shapeResult(toolWith({ itemsPath: 'data.rows', maxItems: 2 }), raw);
    expect(result.structuredContent).toEqual({
      result: { data: { rows: [1, 2], page: 1 }, other: [9, 9, 9, 9] },
      truncated: { reason: 'maxItems', returned: 2, available: 4 },
    });
    expect(counts).toEqual({ available: 4, returned: 2 });
  });

  it('without itemsPath caps the root array, else the first array-valued property', () => {
    expect(shapeResult(toolWith({ maxItems: 1 }), [1, 2]).result.structuredContent!.result).toEqual([1]);
    expect(shapeResult(toolWith({ maxItems: 1 }), { total: 2, list: [1, 2], more: [3, 4] }).result.structuredContent!.result)
      .toEqual({ total: 2, list: [1], more: [3, 4] });
    const scalar = shapeResult(toolWith({ maxItems: 1 }), { id: 5 });
    expect(scalar.result.structuredContent).toEqual({ result: { id: 5 } });
    expect(scalar.counts).toBeUndefined();
  });

  it('keeps non-object results inside `result`', () => {
    expect(shapeResult(toolWith({}), 'hello').result.structuredContent).toEqual({ result: 'hello' });
    expect(shapeResult(toolWith({ project: 'missing' }), { a: 1 }).result.structuredContent).toEqual({ result: null });
  });

  it('keeps the largest number of items that fits the token budget', () => {
    const items = Array.from({ length: 200 }, (_, i) => ({ id: i, text: `item ${i} with some words in it` }));
    const budget = 400;
    const tool = toolWith({ tokenBudget: budget });
    const { result } = shapeResult(tool, items, () => 'CURSOR');
    const n = (result.structuredContent!.truncated as { returned: number }).returned;
    expect(isWithinTokenLimit(textOf(result), budget)).not.toBe(false);
    // One more item would not fit: the binary search found the maximum.
    const bigger = shapeResult(toolWith({ tokenBudget: budget, maxItems: n + 1 }), items, () => 'CURSOR');
    expect(isWithinTokenLimit(textOf({ content: [{ text: JSON.stringify({ result: items.slice(0, n + 1), truncated: { reason: 'tokenBudget', returned: n + 1, available: 200 }, nextCursor: 'CURSOR' }) }, result.content[1]!] }), budget)).toBe(false);
    expect((bigger.result.structuredContent!.truncated as { returned: number }).returned).toBe(n);
    expect(bigger.result.structuredContent!.nextCursor).toBe('CURSOR');
    expect(result.content[1]!.text).toBe(`[truncated: showing ${n} of 200 items (size budget); ask for the next page with cursor "CURSOR"]`);
  });

  it('a result under budget is untouched', () => {
    const { result } = shapeResult(toolWith({ tokenBudget: 1000 }), [1, 2, 3]);
    expect(result.structuredContent).toEqual({ result: [1, 2, 3] });
    expect(result.content).toHaveLength(1);
  });
});

describe('parseBody', () => {
  it('parses JSON, maps empty to null, keeps text/plain, rejects other non-JSON', () => {
    expect(parseBody('{"a":1}', 'application/json')).toEqual({ a: 1 });
    expect(parseBody('', 'application/json')).toBeNull();
    expect(parseBody(undefined, null)).toBeNull();
    expect(parseBody('pong', 'text/plain; charset=utf-8')).toBe('pong');
    expect(() => parseBody('<html>', 'text/html')).toThrow('The vendor returned a response that is not valid JSON');
  });
});

describe('cursor', () => {
  it('round-trips each kind and rejects anything else with a clear message', () => {
    for (const c of [{ p: 3 }, { o: 20 }, { c: 'tok==' }, { u: 'https://v.example/api/x?page=2' }] as const) {
      expect(decodeCursor(encodeCursor(c))).toEqual(c);
    }
    const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    expect(() => decodeCursor(enc({ p: 1, o: 2 }))).toThrow('unexpected fields');
    expect(() => decodeCursor(enc({ u: 'file:///etc/passwd' }))).toThrow('not a URL');
    expect(() => decodeCursor(enc([1]))).toThrow('not an object');
    expect(() => decodeCursor(Buffer.from('{').toString('base64url'))).toThrow('not JSON');
    expect(() => decodeCursor('x'.repeat(5000))).toThrow('too long');
  });

  it('offset style continues right after the last item the model saw', () => {
    const p = { style: 'offset' as const, offsetParam: 'o', limitParam: 'l', defaultLimit: 10, maxLimit: 10 };
    const res = new Response(null);
    expect(decodeCursor(nextCursor(p, { style: 'offset', size: 10, offset: 20 }, [], res, { available: 10, returned: 4 })!)).toEqual({ o: 24 });
    expect(decodeCursor(nextCursor(p, { style: 'offset', size: 10, offset: 20 }, [], res, { available: 10, returned: 10 })!)).toEqual({ o: 30 });
    expect(nextCursor(p, { style: 'offset', size: 10, offset: 20 }, [], res, { available: 3, returned: 3 })).toBeUndefined();
  });

  it('parses Link headers', () => {
    expect(parseLinkHeader('<https://a/x?page=2>; rel="next", <https://a/x?page=9>; rel=last')).toEqual({ next: 'https://a/x?page=2', last: 'https://a/x?page=9' });
    expect(parseLinkHeader('<https://a/x?page=1>; title="a"; rel="prev first"')).toEqual({ prev: 'https://a/x?page=1', first: 'https://a/x?page=1' });
    expect(parseLinkHeader(null)).toEqual({});
    expect(parseLinkHeader('garbage')).toEqual({});
  });
});

describe('allow-list check', () => {
  const base = new URL('https://v.example/api/v2');
  const compiled = compileAllowList([{ method: 'GET', path: '/tickets/{id}' }, { method: 'GET', path: '/t.json' }]);
  it('matches one segment per path parameter and escapes literal characters', () => {
    expect(compileTemplate('/tickets/{id}').test('/tickets/a/b')).toBe(false);
    expect(checkRequest('GET', 'https://v.example/api/v2/tickets/7', base, compiled)).toBeUndefined();
    expect(checkRequest('GET', 'https://v.example/api/v2/tXjson', base, compiled)).toContain('matches no permitted request');
    expect(checkRequest('POST', 'https://v.example/api/v2/tickets/7', base, compiled)).toContain('matches no permitted request');
    expect(checkRequest('GET', 'https://v.example:8443/api/v2/tickets/7', base, compiled)).toContain('not the configured upstream');
    expect(checkRequest('GET', 'http://v.example/api/v2/tickets/7', base, compiled)).toContain('not the configured upstream');
    expect(checkRequest('GET', 'https://v.example/api/v2/tickets/a%2fb', base, compiled)).toContain('encoded slash');
    expect(checkRequest('GET', 'https://v.example/api/v2/tickets/a%5Cb', base, compiled)).toContain('encoded slash');
    expect(checkRequest('GET', 'https://v.example/api/v2x/tickets/7', base, compiled)).toContain('outside the upstream\'s base path');
    expect(checkRequest('GET', 'https://u:p@v.example/api/v2/tickets/7', base, compiled)).toContain('user info');
  });
});

describe('errors', () => {
  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('30')).toBe(30);
    expect(parseRetryAfter(new Date(1_000_000 + 45_000).toUTCString(), 1_000_000)).toBe(45);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
  it('scrubs known secrets and token-like strings', () => {
    expect(scrubSecrets('key abc123456 and Bearer eyJhbGciOiJIUzI1NiJ9.payload', ['abc123456'])).toBe('key [redacted] and [redacted]');
  });
});
