import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Client, ProtocolError, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as LegacyHttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { buildCatalog } from '../runtime/catalog.ts';
import { createLogger } from '../runtime/ops/logging.ts';
import { buildServer } from '../runtime/server.ts';
import { echoCallTool } from './fixtures/runtime/call-tool.ts';
import { fixtureConnectors } from './fixtures/runtime/connectors.ts';

/** The JSON bodies these tests read: JSON-RPC errors and readiness reports. */
type JsonBody = {
  jsonrpc?: string;
  id?: unknown;
  error: { code: number; message: string; data: { supported: string[] } };
  reasons: string[];
};
const readJson = async (response: Response): Promise<JsonBody> => (await response.json()) as JsonBody;

const catalog = buildCatalog(fixtureConnectors);
const allNames = catalog.tools.map((t) => t.name);
let app: FastifyInstance;
let url: URL;

beforeAll(async () => {
  app = await buildServer({
    catalog,
    callTool: echoCallTool,
    pageSize: 2,
    allowedOrigins: ['https://console.msp.example', 'localhost'],
    logger: createLogger({ level: 'silent' }),
    shutdown: { signals: [] },
    defaultMetrics: false,
  });
  url = new URL('/mcp', await app.listen({ host: '127.0.0.1', port: 0 }));
});
afterAll(async () => app.close());

async function modernClient(): Promise<Client> {
  const client = new Client({ name: 'modern-test', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await client.connect(new StreamableHTTPClientTransport(url));
  return client;
}

async function legacyClient(): Promise<LegacyClient> {
  const client = new LegacyClient({ name: 'legacy-test', version: '1.0.0' });
  await client.connect(new LegacyHttpTransport(url));
  return client;
}

describe('2026-07-28 era (2.x client, server/discover)', () => {
  let client: Client;
  beforeAll(async () => {
    client = await modernClient();
  });
  afterAll(async () => client.close());

  it('negotiates the modern era through server/discover', () => {
    expect(client.getProtocolEra()).toBe('modern');
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    expect(client.getDiscoverResult()?.supportedVersions).toContain('2026-07-28');
  });

  it('pages tools/list by cursor in name order, the same on every walk', async () => {
    const walk = async () => {
      const pages: string[][] = [];
      let cursor: string | undefined;
      do {
        // listTools() without a cursor aggregates every page; the raw request shows the single page.
        const page = await client.request({ method: 'tools/list', params: cursor === undefined ? {} : { cursor } });
        pages.push(page.tools.map((t) => t.name));
        cursor = page.nextCursor;
      } while (cursor !== undefined && pages.length < 10);
      return pages;
    };
    const first = await walk();
    expect(first.map((p) => p.length)).toEqual([2, 2, 2]);
    expect(first.flat()).toEqual([...allNames].sort());
    expect(await walk()).toEqual(first);
    // The client's own aggregate walk ends at the same list.
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(first.flat());
  });

  it('rejects a cursor it did not issue', async () => {
    await expect(client.listTools({ cursor: 'not-a-cursor' })).rejects.toMatchObject({ code: -32602 });
  });

  it('lists tools with schemas and annotations from the model', async () => {
    const { tools } = await client.listTools();
    const ticket = tools.find((t) => t.name === 'halopsa_get_ticket');
    expect(ticket?.title).toBe('Get ticket');
    expect(ticket?.inputSchema.required).toEqual(['id']);
    expect(ticket?.annotations?.readOnlyHint).toBe(true);
    // JSON Schema `true` cannot be said in MCP: the output schema is left out.
    expect(tools.find((t) => t.name === 'hudu_search_assets')?.outputSchema).toBeUndefined();
  });

  it('calls a tool through the injected executor', async () => {
    const result = await client.callTool({ name: 'halopsa_list_tickets', arguments: { search: 'printer', limit: 5 } });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ tool: 'halopsa_list_tickets', args: { search: 'printer', limit: 5 } });
    expect((result.structuredContent as { requestId: string }).requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers an unknown tool with -32602', async () => {
    const error = await client.callTool({ name: 'nope_tool', arguments: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe(-32602);
    expect((error as ProtocolError).message).toContain('Unknown tool: nope_tool');
  });

  it('turns an executor exception into an isError result without a stack', async () => {
    const result = await client.callTool({ name: 'hudu_get_article', arguments: { id: 3 } });
    expect(result.isError).toBe(true);
    const text = (result.content as Array<{ text: string }>)[0].text;
    expect(text).toBe('Tool hudu_get_article failed: upstream unavailable for hudu');
    expect(text).not.toContain(' at ');
  });

  it('passes an isError result through', async () => {
    const result = await client.callTool({ name: 'halopsa_get_ticket', arguments: { id: 0 } });
    expect(result.isError).toBe(true);
  });
});

describe('2025 era (1.x client, initialize handshake)', () => {
  let client: LegacyClient;
  beforeAll(async () => {
    client = await legacyClient();
  });
  afterAll(async () => client.close());

  it('completes the initialize handshake at 2025-11-25', () => {
    expect(client.getServerVersion()).toEqual({ name: 'specgate', version: '0.1.0' });
    expect(client.getServerCapabilities()?.tools).toBeDefined();
  });

  it('pages tools/list deterministically', async () => {
    const names: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await client.listTools(cursor === undefined ? {} : { cursor });
      names.push(...page.tools.map((t) => t.name));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== undefined && pages < 10);
    expect(pages).toBe(3);
    expect(names).toEqual([...allNames].sort());
  });

  it('calls a tool, rejects an unknown one, reports failures as isError', async () => {
    const ok = await client.callTool({ name: 'hudu_list_companies', arguments: { name: 'Acme' } });
    expect(ok.structuredContent).toMatchObject({ tool: 'hudu_list_companies', args: { name: 'Acme' } });
    await expect(client.callTool({ name: 'nope_tool', arguments: {} })).rejects.toMatchObject({ code: -32602 });
    const failed = await client.callTool({ name: 'hudu_get_article', arguments: { id: 1 } });
    expect(failed.isError).toBe(true);
  });
});

describe('2025-06-18 over raw HTTP', () => {
  it('serves initialize and tools/list at 2025-06-18', async () => {
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const init = await fetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
      }),
    });
    expect(init.status).toBe(200);
    expect(await init.text()).toContain('"protocolVersion":"2025-06-18"');
    const list = await fetch(url, {
      method: 'POST',
      headers: { ...headers, 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} }),
    });
    expect(list.status).toBe(200);
    const text = await list.text();
    expect(text).toContain('"halopsa_get_ticket"');
    expect(text).toContain('"nextCursor"');
  });
});

describe('transport rules (raw HTTP)', () => {
  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      body,
    });
  const listBody = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list', params: {} });

  it('rejects a foreign Origin with 403 and admits allowed ones', async () => {
    const bad = await post(listBody, { origin: 'https://evil.example' });
    expect(bad.status).toBe(403);
    expect((await readJson(bad)).error.message).toContain('evil.example');
    expect((await post(listBody, { origin: 'https://console.msp.example' })).status).toBe(200);
    expect((await post(listBody, { origin: 'http://localhost:5173' })).status).toBe(200);
  });

  it('rejects an unsupported MCP-Protocol-Version with 400', async () => {
    const response = await post(listBody, { 'mcp-protocol-version': '1999-01-01' });
    expect(response.status).toBe(400);
    const body = await readJson(response);
    expect(body.error.code).toBe(-32022);
    expect(body.error.message).toContain('1999-01-01');
    expect(body.error.data.supported).toContain('2026-07-28');
    expect(body.error.data.supported).toContain('2025-06-18');
    expect(body.id).toBe(7); // error responses echo the request id
  });

  it('tells a 2026-era request with an unsupported version what server/discover announces', async () => {
    const discover = JSON.stringify({
      jsonrpc: '2.0', id: 301, method: 'server/discover',
      params: { _meta: { 'io.modelcontextprotocol/protocolVersion': 'v999.0.0' } },
    });
    const response = await post(discover, { 'mcp-protocol-version': 'v999.0.0' });
    expect(response.status).toBe(400);
    const body = await readJson(response);
    expect(body.id).toBe(301);
    expect(body.error.code).toBe(-32022);
    expect(body.error.data.supported).toEqual(['2026-07-28']);
  });

  it('rejects JSON-RPC batches', async () => {
    const response = await post(`[${listBody},${listBody}]`);
    expect(response.status).toBe(400);
    const body = await readJson(response);
    expect(body.error.code).toBe(-32600);
    expect(body.error.message).toContain('batches are not supported');
  });

  it('answers malformed JSON with -32700 and 400', async () => {
    const response = await post('{"jsonrpc": "2.0", "id": 1, "method": ');
    expect(response.status).toBe(400);
    const body = await readJson(response);
    expect(body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
  });

  it('answers a non-JSON content type with 415', async () => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: listBody });
    expect(response.status).toBe(415);
  });

  it('answers GET and DELETE with 405 (stateless: no SSE stream, no session)', async () => {
    for (const method of ['GET', 'DELETE']) {
      const response = await fetch(url, { method, headers: { accept: 'text/event-stream' } });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
    }
  });

  it('applies the SDK Accept rule on the 2025 path (406 without text/event-stream)', async () => {
    const response = await post(listBody, { accept: 'application/json' });
    expect(response.status).toBe(406);
  });

  it('rejects a modern header without the _meta envelope', async () => {
    const response = await post(listBody, { 'mcp-protocol-version': '2026-07-28' });
    expect(response.status).toBe(400);
    expect((await readJson(response)).error.code).toBe(-32602);
  });
});
