import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { createToolCaller, type CallerOptions } from '../runtime/call.ts';
import type { UpstreamEvent } from '../runtime/tool-call.ts';
import { ctx, makeConnector, makeTool, startRecorder, type Recorder, type Reply } from './fixtures/call/harness.ts';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

const SECRET = 'sk_live_abcdefghijklmnopqrstuvwxyz0123';

const tool = makeTool({
  name: 'acme_get_ticket',
  operation: { method: 'GET', path: '/tickets/{id}', operationId: 'getTicket' },
  inputSchema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'], additionalProperties: false },
  parameters: [{ name: 'id', in: 'path', argument: 'id', required: true }],
});

async function setup(handler: (url: URL, n: number) => Reply, options: Partial<CallerOptions> = {}) {
  const up = await startRecorder((url, _req, n) => handler(url, n));
  cleanup.push(up.close);
  const events: UpstreamEvent[] = [];
  const c = createToolCaller({
    connectors: [makeConnector([tool])],
    upstreams: { acme: { baseUrl: up.url, authenticate: (req) => req.headers.set('x-api-key', SECRET) } },
    retries: 0,
    onUpstream: (e) => events.push(e),
    ...options,
  });
  cleanup.push(() => c.close());
  const call = async () => {
    const r = await c.callTool(tool, { id: '1' }, ctx());
    expect(JSON.stringify(r)).not.toContain(SECRET);
    return r;
  };
  return { up, call, events };
}

describe('vendor errors become readable isError results', () => {
  it.each([
    [401, /^The vendor rejected the credentials \(HTTP 401\); check the acme credentials/],
    [403, /^The vendor rejected the credentials \(HTTP 403\); the account may lack permission/],
    [404, /^Not found: acme has nothing at GET \/tickets\/\{id\} for these arguments \(HTTP 404\)/],
    [400, /^The vendor refused the request \(HTTP 400\)/],
  ])('HTTP %i', async (status, text) => {
    const { call, up, events } = await setup(() => ({ status, body: { message: 'nope' } }));
    const r = await call();
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(text);
    expect(r.content[0]!.text).toContain('Vendor said: {"message":"nope"}');
    expect(up.requests).toHaveLength(1);
    expect(events).toEqual([{ connector: 'acme', tool: 'acme_get_ticket', status, durationMs: expect.any(Number), bytes: Buffer.byteLength('{"message":"nope"}') }]);
  });

  it('a bug on our side is reported as unexpected, not retried, and never blamed on the network', async () => {
    let attempts = 0;
    const { call, up } = await setup(() => ({ body: {} }), {
      retries: 2,
      upstreams: { acme: { baseUrl: 'http://127.0.0.1:9', authenticate: () => { attempts++; throw new TypeError('cannot read x of undefined'); } } },
    });
    const r = await call();
    expect(r.content[0]!.text).toBe('The call to acme failed unexpectedly');
    expect(attempts).toBe(1);
    expect(up.requests).toHaveLength(0);
  });

  it('never echoes the credential, even when the vendor quotes it back', async () => {
    const { call } = await setup(() => ({ status: 401, body: { error: `invalid key ${SECRET}` } }));
    const r = await call();
    expect(r.content[0]!.text).toContain('invalid key [redacted]');
  });

  it('429 with a long Retry-After: not retried, tells the wait', async () => {
    const { call, up } = await setup(() => ({ status: 429, headers: { 'retry-after': '120' } }), { retries: 2 });
    const r = await call();
    expect(r.content[0]!.text).toBe('Rate limited by the vendor; retry after 120 seconds (HTTP 429)');
    expect(up.requests).toHaveLength(1);
  });

  it('429 with an HTTP-date Retry-After is read as seconds', async () => {
    const at = new Date(Date.now() + 60_000).toUTCString();
    const { call } = await setup(() => ({ status: 429, headers: { 'retry-after': at } }));
    expect((await call()).content[0]!.text).toMatch(/^Rate limited by the vendor; retry after (59|60) seconds/);
  });

  it('429 with a short Retry-After is waited out and retried', async () => {
    const { call, up } = await setup((_u, n) => (n === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { body: { id: '1' } }), { retries: 2 });
    const started = Date.now();
    const r = await call();
    expect(r.structuredContent).toEqual({ result: { id: '1' } });
    expect(up.requests).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('a burst of 500s on a read is retried until it succeeds', async () => {
    const { call, up, events } = await setup((_u, n) => (n <= 2 ? { status: 500, body: 'boom' } : { body: { id: '1' } }), { retries: 2 });
    const r = await call();
    expect(r.isError).toBeUndefined();
    expect(up.requests).toHaveLength(3);
    expect(events).toHaveLength(1);
    expect(events[0]!.status).toBe(200);
  });

  it('retries give up: the last 503 is reported', async () => {
    const { call, up } = await setup(() => ({ status: 503, body: { error: 'maintenance' } }), { retries: 1 });
    const r = await call();
    expect(r.content[0]!.text).toBe('The vendor\'s service failed (HTTP 503). Vendor said: {"error":"maintenance"}');
    expect(up.requests).toHaveLength(2);
  });

  it('503s open the circuit breaker; then nothing is sent until it half-opens', async () => {
    const { call, up } = await setup(() => ({ status: 503 }), { breaker: { threshold: 3, halfOpenAfterMs: 20_000 } });
    for (let i = 0; i < 3; i++) expect((await call()).content[0]!.text).toBe('The vendor\'s service failed (HTTP 503)');
    const r = await call();
    expect(r.content[0]!.text).toMatch(/^The acme upstream is failing; circuit open, retry after (19|20)s$/);
    expect(up.requests).toHaveLength(3);
  });

  it('half-open after the wait: a success closes the circuit again', async () => {
    let fail = true;
    const { call, up } = await setup(() => (fail ? { status: 502 } : { body: {} }), { breaker: { threshold: 2, halfOpenAfterMs: 200 } });
    await call();
    await call();
    expect((await call()).content[0]!.text).toContain('circuit open');
    fail = false;
    await new Promise((r) => setTimeout(r, 250));
    expect((await call()).isError).toBeUndefined();
    expect((await call()).isError).toBeUndefined();
    expect(up.requests).toHaveLength(4);
  });

  it('timeout: no answer within timeoutMs', async () => {
    const { call, events } = await setup(() => 'hang', { timeoutMs: 200 });
    const r = await call();
    expect(r.content[0]!.text).toBe('No answer from acme within 200 ms');
    expect(events[0]!.status).toBe('error');
  });

  it('a dropped connection is a network error, retried for reads', async () => {
    const { call, up } = await setup((_u, n) => (n === 1 ? 'destroy' : { body: { ok: 1 } }), { retries: 1 });
    expect((await call()).structuredContent).toEqual({ result: { ok: 1 } });
    expect(up.requests).toHaveLength(2);
  });

  it('an unreachable upstream is named without a stack trace', async () => {
    const up = await startRecorder(() => ({}));
    await up.close(); // the port is now closed
    const c = createToolCaller({ connectors: [makeConnector([tool])], upstreams: { acme: { baseUrl: up.url } }, retries: 0 });
    const r = await c.callTool(tool, { id: '1' }, ctx());
    expect(r.content[0]!.text).toBe('Could not reach the acme upstream (ECONNREFUSED)');
  });

  it('a compressed answer is decoded, and capped after decoding too', async () => {
    const body = JSON.stringify({ blob: 'x'.repeat(5000) });
    const { call, up } = await setup(() => ({ body: zlib.gzipSync(body), headers: { 'content-encoding': 'gzip' } }), { maxResponseBytes: 20_000 });
    expect((await call()).structuredContent).toEqual({ result: { blob: 'x'.repeat(5000) } });
    expect(up.requests[0]!.headers['accept-encoding']).toContain('gzip');

    const bomb = await startRecorder(() => ({ body: zlib.brotliCompressSync(body), headers: { 'content-encoding': 'br' } }));
    cleanup.push(bomb.close);
    const c = createToolCaller({ connectors: [makeConnector([tool])], upstreams: { acme: { baseUrl: bomb.url } }, maxResponseBytes: 1000 });
    cleanup.push(() => c.close());
    expect((await c.callTool(tool, { id: '1' }, ctx())).content[0]!.text).toContain('larger than 1000 bytes');

    const broken = await startRecorder(() => ({ body: 'not gzip at all', headers: { 'content-encoding': 'gzip' } }));
    cleanup.push(broken.close);
    const d = createToolCaller({ connectors: [makeConnector([tool])], upstreams: { acme: { baseUrl: broken.url } } });
    cleanup.push(() => d.close());
    expect((await d.callTool(tool, { id: '1' }, ctx())).content[0]!.text).toBe('The acme response claims gzip encoding but does not decode');
  });

  it('invalid JSON in a success body', async () => {
    const { call } = await setup(() => ({ body: '{"id": 1,' }));
    expect((await call()).content[0]!.text).toBe('The vendor returned a response that is not valid JSON');
  });

  it('an oversize body is cut off, with or without Content-Length', async () => {
    const big = JSON.stringify({ blob: 'x'.repeat(5000) });
    const { call } = await setup(() => ({ body: big }), { maxResponseBytes: 1000 });
    expect((await call()).content[0]!.text).toBe('The acme response is larger than 1000 bytes; narrow the request (filters, a smaller limit)');

    const chunked = await startRecorder(() => ({ body: big, headers: { 'transfer-encoding': 'chunked' } }));
    cleanup.push(chunked.close);
    const c = createToolCaller({ connectors: [makeConnector([tool])], upstreams: { acme: { baseUrl: chunked.url } }, maxResponseBytes: 1000 });
    cleanup.push(() => c.close());
    expect((await c.callTool(tool, { id: '1' }, ctx())).content[0]!.text).toContain('larger than 1000 bytes');
  });

  it('a redirect to another host is not followed and nothing reaches that host', async () => {
    const elsewhere = await startRecorder(() => ({ body: { stolen: true } }));
    cleanup.push(elsewhere.close);
    const { call, up } = await setup(() => ({ status: 302, headers: { location: `${elsewhere.url}/steal` } }));
    const r = await call();
    expect(r.content[0]!.text).toBe('The acme upstream answered with a redirect (HTTP 302); redirects are not followed');
    expect(up.requests).toHaveLength(1);
    expect(elsewhere.requests).toHaveLength(0);
  });

  it('a cancelled call stops waiting and says so', async () => {
    const { up } = await setup(() => 'hang');
    const c = createToolCaller({ connectors: [makeConnector([tool])], upstreams: { acme: { baseUrl: up.url } }, retries: 2, timeoutMs: 5000 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const r = await c.callTool(tool, { id: '1' }, ctx(undefined, ac.signal));
    expect(r.content[0]!.text).toBe('The call was cancelled by the client');
    expect(up.requests).toHaveLength(1);
    await c.close();
  });

  it('a call cancelled while queued behind the bulkhead never reaches the upstream', async () => {
    const { up } = await setup(() => 'hang');
    const c = createToolCaller({ connectors: [makeConnector([tool])], upstreams: { acme: { baseUrl: up.url } }, concurrency: 1, timeoutMs: 300, retries: 0 });
    const first = c.callTool(tool, { id: '1' }, ctx());
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const second = await c.callTool(tool, { id: '2' }, ctx(undefined, ac.signal));
    expect(second.content[0]!.text).toBe('The call was cancelled by the client');
    expect((await first).content[0]!.text).toBe('No answer from acme within 300 ms');
    expect(up.requests.map((r) => r.url)).toEqual(['/api/tickets/1']);
    await c.close();
  });

  it('the bulkhead caps concurrent calls per upstream', async () => {
    let inFlight = 0;
    let peak = 0;
    const up = await startRecorder(() => ({ body: {} }));
    cleanup.push(up.close);
    const slow = { ...tool };
    const connector = makeConnector([slow]);
    const tracked = {
      ...connector,
      createClient: (o: { baseUrl: string; fetch: (r: Request) => Promise<Response> }) => {
        const ops = connector.createClient(o);
        // Each call's own fetch (its scope bound in) is wrapped; the delay after it keeps each
        // call inside the bulkhead long enough to overlap.
        return Object.fromEntries(Object.entries(ops).map(([id, op]) => [id, (req: Parameters<typeof op>[0]) => op({
          ...req,
          fetch: async (r: Request) => {
            peak = Math.max(peak, ++inFlight);
            try {
              const response = await req.fetch!(r);
              await new Promise((res) => setTimeout(res, 50));
              return response;
            } finally {
              inFlight--;
            }
          },
        })]));
      },
    };
    const c = createToolCaller({ connectors: [tracked], upstreams: { acme: { baseUrl: up.url } }, concurrency: 2 });
    cleanup.push(() => c.close());
    const results = await Promise.all(Array.from({ length: 8 }, () => c.callTool(slow, { id: '1' }, ctx())));
    expect(results.filter((r) => r.isError)).toHaveLength(0);
    expect(peak).toBe(2);
    expect(up.requests).toHaveLength(8);
  });
});
