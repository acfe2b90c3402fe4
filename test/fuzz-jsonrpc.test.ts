/**
 * Fuzzing the MCP endpoint: random and malformed JSON-RPC bodies with random headers, POSTed raw
 * to the governed runtime. Every answer is a well-formed JSON-RPC message or an HTTP 4xx, never
 * a 5xx and never a hang; nothing ends as an unhandled rejection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { apiKeysRepo, settingsRepo, tenantsRepo } from '../runtime/store/index.ts';
import { startFaultyUpstream, type FaultyUpstream } from './helpers/faulty-upstream.ts';
import { helpdeskAnswer, startGoverned, type Governed } from './helpers/governed.ts';
import { fuzzParameters, watchUnhandledRejections } from './helpers/fuzz.ts';

const MODERN = '2026-07-28';
const TOOLS = ['helpdesk_list_tickets', 'helpdesk_get_ticket', 'helpdesk_get_article'];
/** Bounds a hang, so a stuck request fails the property instead of the whole run. */
const REQUEST_LIMIT_MS = 20_000;

describe('raw JSON-RPC fuzzing of POST /mcp', () => {
  let up: FaultyUpstream;
  let rt: Governed;
  let key: string;
  const rejections = watchUnhandledRejections();

  beforeAll(async () => {
    up = await startFaultyUpstream({ answer: helpdeskAnswer });
    rt = await startGoverned({
      prefix: 'fuzz-jsonrpc',
      upstreams: { helpdesk: { baseUrl: up.url } },
      caller: { timeoutMs: 2000, retries: 0 },
      async seed(store) {
        await tenantsRepo(store).createTenant({ id: 'msp-a', name: 'MSP A' });
        await tenantsRepo(store).createCustomer({ id: 'contoso', tenantId: 'msp-a', name: 'Contoso' });
        await tenantsRepo(store).setVendorId('contoso', 'helpdesk', '4242');
        await settingsRepo(store).grant('msp-a', 'helpdesk', '*');
      },
    });
    key = (await apiKeysRepo(rt.store).create({ tenantId: 'msp-a', subject: 'alice', roles: ['technician'] })).key;
  });
  afterAll(async () => {
    rejections.stop();
    await rt?.close();
    await up?.close();
  });

  /** Printable ASCII: what an HTTP header value can carry at all (fetch refuses the rest). */
  const headerText = fc.string({ unit: 'grapheme-ascii', maxLength: 40 }).map((s) => s.trim());
  /** Mostly what a real client sends, sometimes something else: so requests get past each check. */
  const mostly = <T>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: good }, { weight: 1, arbitrary: bad });
  const anything = fc.anything({ maxDepth: 3, withNullPrototype: false });
  const id = mostly(fc.integer(), fc.oneof(fc.string({ maxLength: 20 }), fc.constant(null), fc.double(), fc.constant(undefined), anything));
  const method = mostly(
    fc.constantFrom('initialize', 'tools/list', 'tools/call', 'server/discover', 'ping', 'notifications/initialized', 'resources/list', 'subscriptions/listen'),
    fc.string({ maxLength: 30 }),
  );
  const meta = fc.oneof(
    fc.constant(undefined),
    fc.record({ 'io.modelcontextprotocol/protocolVersion': fc.oneof(fc.constant(MODERN), fc.string({ maxLength: 12 })) }, { requiredKeys: [] }),
    fc.dictionary(fc.string({ maxLength: 12 }), anything, { maxKeys: 3 }),
  );
  const params = mostly(
    fc.record(
      {
        name: fc.oneof(fc.constantFrom(...TOOLS), fc.string({ maxLength: 30 })),
        arguments: fc.oneof(anything, fc.dictionary(fc.constantFrom('id', 'slug', 'X-Trace', 'page', 'pageSize', 'filter.status', 'client_id'), anything)),
        cursor: fc.oneof(fc.string({ maxLength: 40 }), anything),
        _meta: meta,
        protocolVersion: fc.oneof(fc.constant('2025-11-25'), fc.string({ maxLength: 12 })),
        capabilities: anything,
        clientInfo: anything,
      },
      { requiredKeys: [] },
    ),
    fc.oneof(fc.constant(undefined), anything),
  );
  const message = fc.record(
    { jsonrpc: mostly(fc.constant('2.0'), fc.oneof(fc.constant('1.0'), anything)), id, method, params },
    { requiredKeys: ['jsonrpc', 'method'] },
  );
  const body = fc.oneof(
    { weight: 5, arbitrary: message.map((m) => JSON.stringify(m) ?? '') },
    { weight: 1, arbitrary: fc.array(message, { maxLength: 3 }).map((m) => JSON.stringify(m)) },
    { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    // Valid JSON cut short, or with a stray byte: the classic parser edge cases.
    { weight: 2, arbitrary: fc.tuple(message, fc.nat()).map(([m, n]) => { const t = JSON.stringify(m); return t.slice(0, n % (t.length + 1)); }) },
  );
  const headers = fc.record(
    {
      'content-type': mostly(fc.constantFrom('application/json', 'application/json; charset=utf-8'), fc.oneof(fc.constantFrom('text/plain', 'application/x-www-form-urlencoded'), headerText)),
      accept: mostly(fc.constant('application/json, text/event-stream'), fc.oneof(fc.constantFrom('application/json', 'text/event-stream', '*/*'), headerText)),
      'mcp-protocol-version': mostly(fc.constantFrom('2025-11-25', '2025-06-18', MODERN), headerText),
      authorization: mostly(fc.constant('valid'), fc.oneof(fc.constant('Bearer sg_nope'), headerText)),
      'specgate-customer': mostly(fc.constant('contoso'), fc.oneof(fc.constant('fabrikam'), headerText)),
      'specgate-tenant': mostly(fc.constant('msp-a'), fc.oneof(fc.constant('msp-b'), headerText)),
      origin: mostly(fc.constant('http://localhost'), fc.constantFrom('http://evil.example.com', 'null')),
    },
    { requiredKeys: ['content-type', 'accept', 'mcp-protocol-version', 'authorization'] },
  );

  /** A JSON-RPC response (result or error) as the spec shapes it. */
  function expectJsonRpc(value: unknown, status: number) {
    expect(value, `status ${status}: ${JSON.stringify(value)}`).toMatchObject({ jsonrpc: '2.0' });
    const m = value as { id?: unknown; result?: unknown; error?: { code: unknown; message: unknown } };
    expect('result' in m || 'error' in m).toBe(true);
    if (m.error) {
      expect(Number.isInteger(m.error.code)).toBe(true);
      expect(typeof m.error.message === 'string' && m.error.message.length > 0).toBe(true);
    }
  }

  async function post(text: string, h: Record<string, string>) {
    const sent: Record<string, string> = { ...h };
    if (sent.authorization === 'valid') sent.authorization = `Bearer ${key}`;
    const response = await fetch(rt.url, { method: 'POST', headers: sent, body: text, signal: AbortSignal.timeout(REQUEST_LIMIT_MS) });
    return { status: response.status, type: response.headers.get('content-type') ?? '', text: await response.text() };
  }

  it('answers every malformed request with a JSON-RPC message or a 4xx, never a 5xx', async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(body, headers, async (text, h) => {
        const r = await post(text, h);
        seen.set(r.status, (seen.get(r.status) ?? 0) + 1);
        expect(r.status, `${r.status} ${r.text.slice(0, 300)}`).toBeLessThan(500);
        expect([200, 202].includes(r.status) || (r.status >= 400 && r.status < 500), `unexpected status ${r.status}`).toBe(true);
        if (r.type.includes('text/event-stream')) {
          for (const line of r.text.split('\n')) if (line.startsWith('data: ')) expectJsonRpc(JSON.parse(line.slice(6)), r.status);
        } else if (r.type.includes('application/json') && r.text) {
          const parsed = JSON.parse(r.text) as unknown;
          // Fastify's own 4xx answers (415, 413) are plain JSON errors; everything else is JSON-RPC.
          if (r.status === 200 || (parsed as { jsonrpc?: unknown }).jsonrpc !== undefined) expectJsonRpc(parsed, r.status);
        } else if (r.status === 200) {
          throw new Error(`a 200 without a JSON-RPC body: ${r.type} ${r.text.slice(0, 200)}`);
        }
      }),
      fuzzParameters(200),
    );
    console.info(`fuzz-jsonrpc statuses: ${JSON.stringify(Object.fromEntries(seen))}`);
    // The generator must reach both the refusals and the served paths, or the property says little.
    expect([...seen.keys()].some((s) => s === 200)).toBe(true);
    expect([...seen.keys()].some((s) => s >= 400)).toBe(true);
    expect(rejections.seen).toEqual([]);
  });

  it('a body over the size limit is a 413, and the runtime then serves the next request', async () => {
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: TOOLS[0], arguments: { x: 'y'.repeat(5 * 1024 * 1024) } } });
    const r = await post(big, { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25', authorization: 'valid' });
    expect(r.status).toBe(413);
    const ok = await post(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} }), {
      'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25', authorization: 'valid',
    });
    expect(ok.status).toBe(200);
    expect(rejections.seen).toEqual([]);
  });
});
