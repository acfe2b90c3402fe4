import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { buildCatalog, type Catalog } from '../runtime/catalog.ts';
import { createLogger } from '../runtime/ops/logging.ts';
import { buildServer, type BuildServerOptions } from '../runtime/server.ts';
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

/** Waits until the slow call has reached the server (the client may list tools first). */
async function untilInFlight(app: { inflight: { count(): number } }): Promise<void> {
  for (let i = 0; i < 200 && app.inflight.count() === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

async function start(overrides: Partial<BuildServerOptions> = {}) {
  const app = await buildServer({
    catalog,
    callTool: echoCallTool,
    logger: createLogger({ level: 'silent' }),
    shutdown: { signals: [] },
    defaultMetrics: false,
    ...overrides,
  });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const client = new Client({ name: 'ops-test', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', base)));
  return { app, base, client };
}

describe('metrics', () => {
  it('counts tool calls by outcome and exposes upstream latency recorded by the executor', async () => {
    const { app, base, client } = await start();
    try {
      await client.callTool({ name: 'halopsa_get_ticket', arguments: { id: 9 } });
      await client.callTool({ name: 'halopsa_get_ticket', arguments: { id: 0 } });
      await client.callTool({ name: 'hudu_get_article', arguments: { id: 1 } });
      app.metrics.recordUpstream({ connector: 'halopsa', status: 200, seconds: 0.12 });
      const response = await fetch(new URL('/metrics', base));
      expect(response.headers.get('content-type')).toContain('text/plain');
      const text = await response.text();
      expect(text).toContain('mcp_tool_calls_total{connector="halopsa",tool="halopsa_get_ticket",outcome="ok"} 1');
      expect(text).toContain('mcp_tool_calls_total{connector="halopsa",tool="halopsa_get_ticket",outcome="error"} 1');
      expect(text).toContain('mcp_tool_calls_total{connector="hudu",tool="hudu_get_article",outcome="exception"} 1');
      expect(text).toContain('mcp_tool_call_duration_seconds_count{connector="halopsa",tool="halopsa_get_ticket"} 2');
      expect(text).toContain('upstream_request_duration_seconds_count{connector="halopsa",status="200"} 1');
    } finally {
      await client.close();
      await app.close();
    }
  });

  it('keeps one registry per server instance', async () => {
    const one = await start();
    const two = await start();
    try {
      await one.client.callTool({ name: 'hudu_list_companies', arguments: {} });
      const text = await (await fetch(new URL('/metrics', two.base))).text();
      expect(text).not.toContain('tool="hudu_list_companies"');
    } finally {
      await Promise.all([one.client.close(), two.client.close()]);
      await Promise.all([one.app.close(), two.app.close()]);
    }
  });
});

describe('health', () => {
  it('is live and ready with a catalog, not ready without one', async () => {
    let current: Catalog | undefined;
    const { app, base, client } = await start({ catalog: () => current as Catalog });
    try {
      expect((await fetch(new URL('/healthz', base))).status).toBe(200);
      const notReady = await fetch(new URL('/readyz', base));
      expect(notReady.status).toBe(503);
      expect((await readJson(notReady)).reasons).toEqual(['catalog not loaded']);
      current = catalog;
      expect((await fetch(new URL('/readyz', base))).status).toBe(200);
    } finally {
      await client.close();
      await app.close();
    }
  });
});

describe('graceful shutdown', () => {
  it('finishes an in-flight call while readyz turns 503 and new MCP requests are refused', async () => {
    const { app, base, client } = await start({ shutdown: { signals: ['SIGUSR2'], graceMs: 5_000 } });
    const slow = client.callTool({ name: 'halopsa_list_tickets', arguments: { slowMs: 300 } });
    await untilInFlight(app);
    expect(app.inflight.count()).toBe(1);
    process.emit('SIGUSR2', 'SIGUSR2');
    const closed = app.shutdown(); // joins the shutdown the signal started
    const ready = await fetch(new URL('/readyz', base));
    expect(ready.status).toBe(503);
    expect((await readJson(ready)).reasons).toContain('shutting down');
    const refused = await fetch(new URL('/mcp', base), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    expect(refused.status).toBe(503);
    const result = await slow;
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ args: { slowMs: 300 } });
    expect(await closed).toEqual({ drained: true });
    await expect(fetch(new URL('/healthz', base))).rejects.toThrow();
    await client.close();
  });

  it('closes after the grace period even when a call is still running', async () => {
    const { app, client } = await start({ shutdown: { signals: [], graceMs: 100 } });
    const slow = client.callTool({ name: 'halopsa_list_tickets', arguments: { slowMs: 3_000 } }).catch((e: unknown) => e);
    await untilInFlight(app);
    const started = Date.now();
    expect(await app.shutdown()).toEqual({ drained: false });
    expect(Date.now() - started).toBeLessThan(2_000);
    await slow;
    await client.close();
  });
});

describe('logging', () => {
  it('redacts credentials by header path and secret-looking keys anywhere', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const logger = createLogger({ level: 'info', destination: sink });
    logger.info({ headers: { authorization: 'Bearer abc123', 'x-api-key': 'k-999', accept: 'json' } }, 'upstream');
    logger.info({ tenant: { name: 'acme', apiToken: 't-1', nested: [{ clientSecret: 's-2', dbPassword: 'p-3' }] } }, 'cfg');
    const out = lines.join('');
    for (const secret of ['abc123', 'k-999', 't-1', 's-2', 'p-3']) expect(out).not.toContain(secret);
    expect(out).toContain('[REDACTED]');
    expect(out).toContain('"accept":"json"');
    expect(out).toContain('"name":"acme"');
  });
});
