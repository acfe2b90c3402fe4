/**
 * The runtime end to end: a spec generated into real connector code, served over real HTTP, called
 * through the official MCP client, against a real upstream that misbehaves on command. Covers the
 * success path with shaping and pagination, each failure a vendor can produce, each request the
 * allow-list refuses (with the upstream proving nothing arrived), the breaker, and hot reload.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { startRecorder, type Recorder, type Reply } from './fixtures/call/harness.ts';
import { generateInto, legacyClient, listAll, modernClient, root, serve, tempDir, type Served } from './helpers/e2e.ts';

const fixture = path.join(root, 'test/fixtures/generator/helpdesk.yaml');
const spec = (extra = '') => `specgate: 1
connector: helpdesk
document:
  source: ${fixture}
tools:
  - operationId: listTickets
    name: helpdesk_list_tickets
    description: Lists tickets, newest first. Use to find a ticket when you do not know its number.
    parameters:
      includeDeleted: { fixed: false }
    pagination: { style: page, page: page, size: pageSize, firstPage: 1, defaultLimit: 2, maxLimit: 50 }
    response:
      project: "tickets[].{id: id, summary: summary, status: status}"
  - operationId: getTicket
    name: helpdesk_get_ticket
  - operationId: getArticle
    name: helpdesk_get_article
${extra}`;

type Mode = 'ok' | '401' | '403' | '404' | '429' | '500' | 'hang' | 'badjson' | 'redirect';

const tickets = (page: number) => ({
  tickets: [1, 2].map((i) => ({ id: page * 10 + i, summary: `ticket ${page}-${i}`, status: 'open', password: 'never-shown' })),
});

describe('runtime end to end over MCP', () => {
  const dir = tempDir('runtime-e2e');
  const specFile = path.join(dir, 'helpdesk.yaml');
  const outDir = path.join(dir, 'generated');
  let upstream: Recorder;
  let other: Recorder;
  let served: Served;
  let client: Client;
  let mode: Mode = 'ok';

  beforeAll(async () => {
    fs.writeFileSync(specFile, spec());
    await generateInto([specFile], outDir);
    other = await startRecorder(() => ({ body: { stolen: true } }), '');
    upstream = await startRecorder((url): Reply => {
      switch (mode) {
        case '401': return { status: 401, body: { error: 'invalid token' } };
        case '403': return { status: 403, body: { error: 'forbidden' } };
        case '404': return { status: 404, body: { error: 'no such ticket' } };
        case '429': return { status: 429, headers: { 'retry-after': '30' }, body: { error: 'slow down' } };
        case '500': return { status: 500, body: { error: 'boom' } };
        case 'hang': return 'hang';
        case 'badjson': return { status: 200, body: '{"tickets": [' };
        case 'redirect': return { status: 302, headers: { location: `${other.url}/tickets` } };
        default:
          if (url.pathname.endsWith('/tickets')) return { body: tickets(Number(url.searchParams.get('page') ?? '1')) };
          return { body: { id: 1, summary: 'one', slug: url.pathname } };
      }
    }, '/api');
    served = await serve(outDir, {
      upstreams: { helpdesk: { baseUrl: upstream.url } },
      caller: { timeoutMs: 300, retries: 0, breaker: { threshold: 1000, halfOpenAfterMs: 60_000 } },
    });
    client = await modernClient(served.url);
  });
  afterAll(async () => {
    await client?.close();
    await served?.close();
    await upstream?.close();
    await other?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const call = async (name: string, args: Record<string, unknown>) =>
    (await client.callTool({ name, arguments: args })) as { isError?: boolean; content: Array<{ type: string; text: string }>; structuredContent?: any };

  it('lists the generated tools to both eras of client, with the uniform pagination arguments', async () => {
    const tools = await listAll(client);
    expect(tools.map((t) => t.name)).toEqual(['helpdesk_get_article', 'helpdesk_get_ticket', 'helpdesk_list_tickets']);
    const list = tools.find((t) => t.name === 'helpdesk_list_tickets')!;
    expect(Object.keys(list.inputSchema.properties).sort()).toEqual(['client_id', 'cursor', 'filter.status', 'limit']);
    const legacy = await legacyClient(served.url);
    try {
      expect((await listAll(legacy)).map((t) => t.name)).toEqual(tools.map((t) => t.name));
      const r = (await legacy.callTool({ name: 'helpdesk_get_ticket', arguments: { id: 1 } })) as { structuredContent?: any };
      expect(r.structuredContent.result.summary).toBe('one');
    } finally {
      await legacy.close();
    }
  });

  it('shapes the result, sends fixed values, and pages with an opaque cursor', async () => {
    mode = 'ok';
    const before = upstream.requests.length;
    const first = await call('helpdesk_list_tickets', { 'filter.status': 'open' });
    expect(first.isError).toBeFalsy();
    expect(first.structuredContent.result).toEqual([
      { id: 11, summary: 'ticket 1-1', status: 'open' },
      { id: 12, summary: 'ticket 1-2', status: 'open' },
    ]);
    expect(JSON.stringify(first)).not.toContain('never-shown');
    const sent = new URL(upstream.requests[before].url, 'http://x');
    expect(sent.pathname).toBe('/api/tickets');
    expect(Object.fromEntries(sent.searchParams)).toEqual({ 'filter[status]': 'open', includeDeleted: 'false', page: '1', pageSize: '2' });
    expect(typeof first.structuredContent.nextCursor).toBe('string');

    const second = await call('helpdesk_list_tickets', { cursor: first.structuredContent.nextCursor });
    expect(second.structuredContent.result[0].id).toBe(21);
    expect(new URL(upstream.requests[before + 1].url, 'http://x').searchParams.get('page')).toBe('2');
  });

  it('names the argument and the rule when arguments are invalid, without calling the vendor', async () => {
    const before = upstream.requests.length;
    const r = await call('helpdesk_list_tickets', { limit: 500 });
    expect(r.isError).toBe(true);
    expect(r.content[0].text).toMatch(/"limit".*<= 50/);
    const missing = await call('helpdesk_get_ticket', {});
    expect(missing.isError).toBe(true);
    expect(missing.content[0].text).toMatch(/"id"/);
    const wrongType = await call('helpdesk_get_ticket', { id: 'abc' });
    expect(wrongType.content[0].text).toMatch(/"id".*integer/);
    expect(upstream.requests.length).toBe(before);
  });

  it('answers an unknown tool with a JSON-RPC error', async () => {
    await expect(client.callTool({ name: 'helpdesk_delete_everything', arguments: {} })).rejects.toThrow(/Unknown tool/);
  });

  const failures: Array<[Mode, RegExp]> = [
    ['401', /rejected the credentials.*401/i],
    ['403', /rejected the credentials.*403|forbidden/i],
    ['404', /not found/i],
    ['429', /retry after 30 seconds/i],
    ['500', /service failed.*500|HTTP 500/i],
    ['hang', /no answer .*within 300 ms/i],
    ['badjson', /not valid JSON/i],
    ['redirect', /redirect/i],
  ];
  for (const [m, message] of failures) {
    it(`turns upstream ${m} into a model-readable isError result`, async () => {
      mode = m;
      const otherBefore = other.requests.length;
      const r = await call('helpdesk_get_ticket', { id: 7 });
      mode = 'ok';
      expect(r.isError).toBe(true);
      expect(r.content[0].text).toMatch(message);
      expect(r.content[0].text).not.toMatch(/\n\s+at /); // never a stack trace
      expect(other.requests.length).toBe(otherBefore); // a redirect is never followed
    });
  }

  const refused: Array<[string, Record<string, unknown>]> = [
    ['path traversal', { slug: '../tickets' }],
    ['an encoded slash', { slug: 'a/b' }],
    ['a dot segment', { slug: '..' }],
    ['CRLF in a header', { slug: 'ok', 'X-Trace': 'a\r\nX-Injected: 1' }],
  ];
  for (const [what, args] of refused) {
    it(`refuses ${what} before a byte leaves`, async () => {
      const before = upstream.requests.length;
      const r = await call('helpdesk_get_article', args);
      expect(r.isError).toBe(true);
      expect(r.content[0].text).toMatch(/refused|not allowed|invalid/i);
      expect(upstream.requests.length).toBe(before);
    });
  }

  it('serves a plain slug', async () => {
    const r = await call('helpdesk_get_article', { slug: 'printer-setup' });
    expect(r.isError).toBeFalsy();
    expect(upstream.requests.at(-1)!.url).toBe('/api/articles/printer-setup');
  });

  it('picks up a regenerated catalog without a restart', async () => {
    fs.writeFileSync(specFile, spec('  - operation: GET /clients\n    name: helpdesk_list_clients\n'));
    await generateInto([specFile], outDir);
    let names: string[] = [];
    for (let i = 0; i < 100 && !names.includes('helpdesk_list_clients'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      names = (await listAll(client)).map((t) => t.name);
    }
    expect(names).toContain('helpdesk_list_clients');
    mode = 'ok';
    // The upstream answers an object where the document promises a list: the client gets a
    // readable isError result with the data, not a schema violation it would reject.
    const r = await call('helpdesk_list_clients', {});
    expect(r.isError).toBe(true);
    expect(r.content[0].text).toMatch(/does not match the shape .*must be array/);
    expect(r.content[1].text).toContain('"summary":"one"');
  });
});

describe('circuit breaker through the runtime', () => {
  const dir = tempDir('runtime-breaker');
  let upstream: Recorder;
  let served: Served;
  let client: Client;
  beforeAll(async () => {
    const specFile = path.join(dir, 'helpdesk.yaml');
    fs.writeFileSync(specFile, spec());
    await generateInto([specFile], path.join(dir, 'generated'));
    upstream = await startRecorder(() => ({ status: 503, body: { error: 'down' } }), '/api');
    served = await serve(path.join(dir, 'generated'), {
      upstreams: { helpdesk: { baseUrl: upstream.url } },
      caller: { timeoutMs: 1000, retries: 0, breaker: { threshold: 3, halfOpenAfterMs: 60_000 } },
    });
    client = await modernClient(served.url);
  });
  afterAll(async () => {
    await client?.close();
    await served?.close();
    await upstream?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('opens after consecutive failures and stops calling the vendor', async () => {
    for (let i = 0; i < 3; i++) {
      const r = (await client.callTool({ name: 'helpdesk_get_ticket', arguments: { id: 1 } })) as { isError?: boolean };
      expect(r.isError).toBe(true);
    }
    const before = upstream.requests.length;
    const r = (await client.callTool({ name: 'helpdesk_get_ticket', arguments: { id: 1 } })) as { isError?: boolean; content: Array<{ text: string }> };
    expect(r.isError).toBe(true);
    expect(r.content[0].text).toMatch(/circuit open/i);
    expect(upstream.requests.length).toBe(before);
  });
});

describe('a client that hangs up', () => {
  const dir = tempDir('runtime-hangup');
  let served: Served;
  let upstream: http.Server;
  let upstreamUrl: string;
  /** One entry per upstream request: resolves when the runtime closed that request's connection. */
  const arrived: Array<{ closed: Promise<void> }> = [];
  let onArrival: (() => void) | undefined;

  beforeAll(async () => {
    const specFile = path.join(dir, 'helpdesk.yaml');
    fs.writeFileSync(specFile, spec());
    await generateInto([specFile], path.join(dir, 'generated'));
    // Never answers: the only way a request ends is the runtime letting go of it.
    upstream = http.createServer((req) => {
      arrived.push({ closed: new Promise((resolve) => req.socket.once('close', () => resolve())) });
      onArrival?.();
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}/api`;
    // A time limit far beyond the test's: only the client going away can end the call.
    served = await serve(path.join(dir, 'generated'), { upstreams: { helpdesk: { baseUrl: upstreamUrl } }, caller: { timeoutMs: 3_600_000, retries: 0 } });
  });
  afterAll(async () => {
    // Upstream first: a call that was not cancelled would otherwise hold the runtime's shutdown.
    upstream?.closeAllConnections();
    await new Promise((resolve) => upstream?.close(resolve));
    await served?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const nextArrival = () => new Promise<void>((resolve) => { onArrival = resolve; });

  const eras: Array<[string, (url: string) => Promise<Client | Awaited<ReturnType<typeof legacyClient>>>]> = [['2025-era', legacyClient], ['2026-era', modernClient]];
  for (const [era, connect] of eras) {
    it(`cancels the upstream request of a ${era} client that closes its connection mid-call`, async () => {
      const client = await connect(served.url);
      const arrival = nextArrival();
      const pending = client.callTool({ name: 'helpdesk_get_ticket', arguments: { id: 7 } }).catch((e: Error) => e);
      await arrival;
      await client.close();
      await arrived.at(-1)!.closed;
      expect(await pending).toBeInstanceOf(Error);
    });
  }
});
