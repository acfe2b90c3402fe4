/**
 * The 2025-era JSON exchange (runtime/mcp/json-exchange.ts): the SDK's protocol layer behind a
 * transport of one exchange. Unit tests of the HTTP checks and the transport, then raw HTTP
 * against the real endpoint for what the exchange decides: notifications, malformed messages,
 * answers that echo their id, and a client that hangs up mid-call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Server, type JSONRPCMessage } from '@modelcontextprotocol/server';
import type { FastifyInstance } from 'fastify';
import { buildCatalog } from '../runtime/catalog.ts';
import { createLogger } from '../runtime/ops/logging.ts';
import { buildServer } from '../runtime/server.ts';
import { checkLegacyPost, expectsAnswer, JsonExchange } from '../runtime/mcp/json-exchange.ts';
import type { CallTool } from '../runtime/mcp/types.ts';
import { echoCallTool } from './fixtures/runtime/call-tool.ts';
import { fixtureConnectors } from './fixtures/runtime/connectors.ts';

const json = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const call = { jsonrpc: '2.0', id: 'c-1', method: 'tools/call', params: { name: 'x', arguments: {} } };

describe('checkLegacyPost', () => {
  it('refuses what the SDK transport refused, with its statuses', () => {
    expect(checkLegacyPost({ ...json, accept: 'application/json' }, call)).toMatchObject({ refusal: { status: 406 } });
    expect(checkLegacyPost({ ...json, accept: undefined }, call)).toMatchObject({ refusal: { status: 406 } });
    expect(checkLegacyPost({ ...json, 'content-type': 'text/plain' }, call)).toMatchObject({ refusal: { status: 415 } });
    // Shapes an attacker might post: no method, a wrong version, a method that is not a string.
    for (const body of [{ jsonrpc: '2.0', id: 1 }, { jsonrpc: '1.0', id: 1, method: 'tools/list' }, { jsonrpc: '2.0', id: 1, method: 42 }, 'text', null]) {
      expect(checkLegacyPost(json, body)).toMatchObject({ refusal: { status: 400, body: { error: { code: -32700 } } } });
    }
    const refused = checkLegacyPost({ ...json, 'mcp-protocol-version': '1999-01-01' }, call);
    expect(refused).toMatchObject({ refusal: { status: 400 } });
    expect(JSON.stringify(refused)).toContain('1999-01-01');
  });

  it('lets initialize name any version (it negotiates) and passes a valid request through', () => {
    const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'c', version: '1' } } };
    expect(checkLegacyPost({ ...json, 'mcp-protocol-version': '1999-01-01' }, init)).toHaveProperty('message');
    const passed = checkLegacyPost({ ...json, 'mcp-protocol-version': '2025-11-25' }, call);
    expect('message' in passed && expectsAnswer(passed.message)).toBe(true);
    const note = checkLegacyPost(json, { jsonrpc: '2.0', method: 'notifications/initialized' });
    expect('message' in note && expectsAnswer(note.message)).toBe(false);
  });
});

describe('JsonExchange', () => {
  it('settles with the answer to its request and drops what else the server sends', async () => {
    const server = new Server({ name: 't', version: '1' }, { capabilities: { tools: {} } });
    server.setRequestHandler('tools/list', async () => ({ tools: [] }));
    const exchange = new JsonExchange();
    await server.connect(exchange);
    await exchange.send({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'x' } });
    exchange.deliver({ jsonrpc: '2.0', id: 9, method: 'tools/list', params: {} } as JSONRPCMessage, undefined);
    expect(await exchange.answered).toEqual({ jsonrpc: '2.0', id: 9, result: { tools: [] } });
  });

  it('settles as null when closed first, and aborts the handler', async () => {
    const server = new Server({ name: 't', version: '1' }, { capabilities: { tools: {} } });
    let aborted = false;
    server.setRequestHandler('tools/list', (_request, ctx) => new Promise((resolve) => {
      ctx.mcpReq.signal.addEventListener('abort', () => {
        aborted = true;
        resolve({ tools: [] });
      });
    }));
    const exchange = new JsonExchange();
    await server.connect(exchange);
    exchange.deliver({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} } as JSONRPCMessage, undefined);
    await new Promise((resolve) => setTimeout(resolve, 10));
    await exchange.close();
    await exchange.close();
    expect(await exchange.answered).toBeNull();
    expect(aborted).toBe(true);
  });
});

describe('the 2025-era endpoint over raw HTTP', () => {
  let app: FastifyInstance;
  let url: URL;
  const aborted: string[] = [];
  const callTool: CallTool = async (tool, args, ctx) => {
    ctx.signal.addEventListener('abort', () => aborted.push(String(args.tag)));
    return echoCallTool(tool, args, ctx);
  };
  beforeAll(async () => {
    app = await buildServer({
      catalog: buildCatalog(fixtureConnectors), callTool,
      logger: createLogger({ level: 'silent' }), shutdown: { signals: [] }, defaultMetrics: false,
    });
    url = new URL('/mcp', await app.listen({ host: '127.0.0.1', port: 0 }));
  });
  afterAll(async () => app.close());
  const post = (body: unknown, signal?: AbortSignal) =>
    fetch(url, { method: 'POST', headers: { ...json, 'mcp-protocol-version': '2025-11-25' }, body: JSON.stringify(body), ...(signal && { signal }) });

  it('answers a tools/call with one JSON body that echoes the id', async () => {
    const response = await post({ ...call, params: { name: 'halopsa_list_tickets', arguments: {} } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    const body = await response.json() as { id: unknown; result: { structuredContent: { tool: string } } };
    expect(body.id).toBe('c-1');
    expect(body.result.structuredContent.tool).toBe('halopsa_list_tickets');
  });

  it('accepts a notification with 202 and no body', async () => {
    const response = await post({ jsonrpc: '2.0', method: 'notifications/initialized' });
    expect(response.status).toBe(202);
    expect(await response.text()).toBe('');
  });

  it('answers an unknown method with -32601 and an unknown tool with -32602', async () => {
    const unknown = await (await post({ jsonrpc: '2.0', id: 5, method: 'tools/nope', params: {} })).json() as { id: number; error: { code: number } };
    expect(unknown).toMatchObject({ id: 5, error: { code: -32601 } });
    const tool = await (await post({ ...call, id: 6, params: { name: 'no_such_tool', arguments: {} } })).json() as { id: number; error: { code: number; message: string } };
    expect(tool).toMatchObject({ id: 6, error: { code: -32602 } });
    expect(tool.error.message).toContain('no_such_tool');
  });

  it('aborts the call of a client that hangs up, and keeps serving', async () => {
    const hangUp = new AbortController();
    const pending = post({ ...call, id: 7, params: { name: 'halopsa_list_tickets', arguments: { slowMs: 5_000, tag: 'gone' } } }, hangUp.signal);
    await new Promise((resolve) => setTimeout(resolve, 200));
    hangUp.abort();
    await expect(pending).rejects.toThrow();
    for (let i = 0; i < 100 && !aborted.includes('gone'); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(aborted).toContain('gone');
    expect((await post({ ...call, id: 8, params: { name: 'halopsa_list_tickets', arguments: {} } })).status).toBe(200);
  });
});
