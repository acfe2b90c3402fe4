/**
 * Progressive discovery through the real governed runtime: the meta-tools over HTTP and stdio, in
 * the 2025-11-25 (initialize) and 2026-07-28 (per-request _meta) eras. A call made through
 * call_tool is governed exactly as a direct one: a tool the caller may not use stays refused (and
 * is neither found nor described), the customer binding holds, and usage and audit name the real
 * tool. The server instructions name the customer from the identity's verified selection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import type { FastifyInstance } from 'fastify';
import { apiKeysRepo, openStore, settingsRepo, tenantsRepo, type Store } from '../runtime/store/index.ts';
import { createPolicyEngine } from '../runtime/policy/decide.ts';
import { startHttp, startRuntime } from '../runtime/start.ts';
import type { DiscoveryOptions } from '../runtime/discovery/mode.ts';
import { startRecorder, type Recorder } from './fixtures/call/harness.ts';
import { buildCatalog } from '../runtime/catalog.ts';
import { buildServer } from '../runtime/server.ts';
import { echoCallTool } from './fixtures/runtime/call-tool.ts';
import { fixtureConnectors } from './fixtures/runtime/connectors.ts';
import { generateInto, root, tempDir } from './helpers/e2e.ts';
import { callRecords, HELPDESK_SPEC } from './helpers/governed.ts';

type Era = 'legacy' | 'modern';
const ERAS: Era[] = ['legacy', 'modern'];
const META = ['call_tool', 'describe_tool', 'search_tools'];
const bin = path.join(root, 'bin', 'specgate.js');

interface Result { isError?: boolean; content: Array<{ type: string; text: string }>; structuredContent?: Record<string, unknown> }

const dir = tempDir('discovery-e2e');
const storeUrl = `sqlite:${path.join(dir, 'store.db')}`;
let upstream: Recorder;
const keys: Record<string, string> = {};

beforeAll(async () => {
  const specFile = path.join(dir, 'helpdesk.yaml');
  fs.writeFileSync(specFile, HELPDESK_SPEC);
  await generateInto([specFile], path.join(dir, 'generated'));
  const store = await openStore(storeUrl);
  const tenants = tenantsRepo(store);
  await tenants.createTenant({ id: 'msp-a', name: 'MSP A' });
  await tenants.createTenant({ id: 'msp-b', name: 'MSP B' });
  await tenants.createCustomer({ id: 'contoso', tenantId: 'msp-a', name: 'Contoso Ltd' });
  await tenants.createCustomer({ id: 'fabrikam', tenantId: 'msp-b', name: 'Fabrikam' });
  await tenants.setVendorId('contoso', 'helpdesk', '4242');
  await tenants.setVendorId('fabrikam', 'helpdesk', '9999');
  // alice may list tickets only: helpdesk_get_ticket and helpdesk_get_article are not hers.
  await settingsRepo(store).grant('msp-a', 'helpdesk', 'helpdesk_list_*');
  await settingsRepo(store).grant('msp-b', 'helpdesk', '*');
  keys.a = (await apiKeysRepo(store).create({ tenantId: 'msp-a', subject: 'alice', roles: ['technician'] })).key;
  keys.b = (await apiKeysRepo(store).create({ tenantId: 'msp-b', subject: 'bob', roles: ['technician'] })).key;
  await store.close();
  upstream = await startRecorder((u) => ({ body: u.pathname.endsWith('/tickets') ? { tickets: [{ id: 1, summary: 'printer', note: null }] } : { id: 1, summary: 'one' } }), '/api');
});
afterAll(async () => {
  await upstream?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function serveHttp(store: Store, discovery: DiscoveryOptions): Promise<{ app: FastifyInstance; url: string }> {
  const logger = pino({ level: 'silent' });
  const runtime = await startRuntime({
    generatedDir: path.join(dir, 'generated'), mock: false, logger, upstreams: { helpdesk: { baseUrl: upstream.url } },
    governance: { store, policy: createPolicyEngine({ dir: path.join(root, 'policies') }) },
  });
  const app = await startHttp(runtime, { port: 0, host: '127.0.0.1', logger, discovery, listTtlMs: 60_000 });
  const address = app.server.address();
  return { app, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/mcp` };
}

async function httpClient(url: string, era: Era, headers: Record<string, string>): Promise<Client> {
  const client = new Client({ name: 'discovery', version: '1.0.0' }, { versionNegotiation: { mode: era === 'modern' ? 'auto' : 'legacy' } });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  expect(client.getProtocolEra()).toBe(era);
  return client;
}

async function stdioClient(era: Era, extraEnv: Record<string, string> = {}, extraArgs: string[] = []): Promise<Client> {
  const client = new Client({ name: 'discovery-stdio', version: '1.0.0' }, { versionNegotiation: { mode: era === 'modern' ? { pin: '2026-07-28' } : 'legacy' } });
  await client.connect(new StdioClientTransport({
    command: process.execPath,
    args: [bin, 'stdio', '--generated', path.join(dir, 'generated'), '--store', storeUrl, '--discovery', 'on', ...extraArgs],
    cwd: root,
    env: { ...process.env as Record<string, string>, SPECGATE_UPSTREAM_HELPDESK: upstream.url, SPECGATE_KEY_PEPPER: '', SPECGATE_API_KEY: keys.a, SPECGATE_CUSTOMER: 'contoso', ...extraEnv },
    stderr: 'pipe',
  }));
  expect(client.getProtocolEra()).toBe(era);
  return client;
}

const call = async (client: Client, name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })) as Result;

/** The whole discovery contract, asked of one client (HTTP or stdio, either era) acting as alice for contoso. */
async function discoveryContract(client: Client, readRecords: () => Promise<Awaited<ReturnType<typeof callRecords>>>): Promise<void> {
  expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(META);
  const instructions = client.getInstructions() ?? '';
  expect(instructions).toContain('Contoso Ltd');
  expect(instructions).toContain('search_tools');
  expect(instructions).toMatch(/helpdesk \(.*1 tools\)/);

  // Search shows only what alice may call, however the question is put.
  const found = await call(client, 'search_tools', { query: 'ticket' });
  expect(found.isError).toBeFalsy();
  expect((found.structuredContent!.tools as Array<{ name: string }>).map((t) => t.name)).toEqual(['helpdesk_list_tickets']);
  const article = await call(client, 'search_tools', { query: 'knowledge base article' });
  expect(article.content[0].text).not.toContain('helpdesk_get_article');

  // Describe: the full schema of a visible tool; a refused tool reads like one that does not exist.
  const described = await call(client, 'describe_tool', { name: 'helpdesk_list_tickets' });
  expect(described.structuredContent).toMatchObject({ name: 'helpdesk_list_tickets', inputSchema: { type: 'object' } });
  const hidden = await call(client, 'describe_tool', { name: 'helpdesk_get_ticket' });
  const missing = await call(client, 'describe_tool', { name: 'helpdesk_no_such_tool' });
  expect(hidden.isError).toBe(true);
  expect(hidden.content[0].text).toBe(missing.content[0].text.replace('helpdesk_no_such_tool', 'helpdesk_get_ticket'));

  // call_tool: the binding holds (client_id forced to contoso's 4242 whatever the model says) ...
  const before = upstream.requests.length;
  const ok = await call(client, 'call_tool', { name: 'helpdesk_list_tickets', arguments: { client_id: 1 } });
  const sent = upstream.requests.slice(before);
  if (!ok.isError) for (const r of sent) expect(new URL(r.url, 'http://x').searchParams.get('client_id')).toBe('4242');
  const plain = await call(client, 'call_tool', { name: 'helpdesk_list_tickets' });
  expect(plain.isError).toBeFalsy();
  expect(new URL(upstream.requests.at(-1)!.url, 'http://x').searchParams.get('client_id')).toBe('4242');
  // ... and a tool alice may not call stays refused, without reaching the vendor.
  const upstreamBefore = upstream.requests.length;
  const refused = await call(client, 'call_tool', { name: 'helpdesk_get_ticket', arguments: { id: 1 } });
  expect(refused.isError).toBe(true);
  expect(refused.content[0].text).toMatch(/^Refused/);
  expect(upstream.requests.length).toBe(upstreamBefore);
  // The meta-tools themselves are not reachable through call_tool.
  expect((await call(client, 'call_tool', { name: 'call_tool', arguments: {} })).isError).toBe(true);
  // Bad arguments name the argument.
  expect((await call(client, 'call_tool', { name: 'helpdesk_list_tickets', arguments: 'x' })).content[0].text).toContain("'arguments' must be an object");

  // Usage and audit name the real tools, never a meta-tool.
  const records = await readRecords();
  const tail = records.audit.slice(-2);
  expect(tail.map((a) => [a.tool, a.outcome])).toEqual([['helpdesk_list_tickets', 'ok'], ['helpdesk_get_ticket', 'refused']]);
  expect(records.audit.every((a) => !META.includes(a.tool))).toBe(true);
  expect(records.usage.every((u) => !META.includes(u.tool))).toBe(true);
  const ours = records.usage.filter((u) => u.tool === 'helpdesk_list_tickets');
  expect(ours.length).toBeGreaterThan(0);
  for (const u of ours) expect(u.customerId).toBe('contoso');
}

describe('discovery over HTTP', () => {
  let store: Store;
  let app: FastifyInstance;
  let url: string;
  beforeAll(async () => {
    store = await openStore(storeUrl);
    ({ app, url } = await serveHttp(store, { mode: 'on', threshold: 0 }));
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
  });

  for (const era of ERAS) {
    it(`governs search, describe and call_tool like direct calls (${era} era)`, async () => {
      const client = await httpClient(url, era, { authorization: `Bearer ${keys.a}`, 'specgate-customer': 'contoso' });
      try {
        await discoveryContract(client, () => callRecords(store, 'msp-a'));
      } finally {
        await client.close();
      }
    });
  }

  it("refuses another tenant's customer: no instructions naming it, no session", async () => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25', authorization: `Bearer ${keys.a}`, 'specgate-customer': 'fabrikam' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
    });
    expect(response.status).toBe(403);
    const body = await response.text();
    expect(body).toContain('not a customer of your tenant');
    expect(body).not.toContain('Fabrikam');
    await expect(httpClient(url, 'modern', { authorization: `Bearer ${keys.a}`, 'specgate-customer': 'fabrikam' })).rejects.toThrow(/403/);
  });

  it('pins the toolsets a client asks for beside the meta-tools', async () => {
    const client = await httpClient(url, 'modern', { authorization: `Bearer ${keys.b}`, 'specgate-customer': 'fabrikam', 'specgate-toolsets': 'helpdesk' });
    try {
      const listed = await client.listTools();
      const names = listed.tools.map((t) => t.name);
      expect(names).toEqual([...META_ORDER, 'helpdesk_get_article', 'helpdesk_get_ticket', 'helpdesk_list_tickets']);
      // 2026-07-28 cache hints: what bob sees is his own, so only his client may keep it.
      expect(listed).toMatchObject({ ttlMs: 60_000, cacheScope: 'private' });
      expect(client.getDiscoverResult()).toMatchObject({ ttlMs: 60_000, cacheScope: 'private' });
      expect(client.getInstructions()).toContain('Pinned toolsets listed in full: helpdesk');
    } finally {
      await client.close();
    }
  });
});
const META_ORDER = ['search_tools', 'describe_tool', 'call_tool'];

describe('discovery auto mode', () => {
  it('lists the catalog up to the threshold of visible tools and the meta-tools above it', async () => {
    const store = await openStore(storeUrl);
    const { app, url } = await serveHttp(store, { mode: 'auto', threshold: 2 });
    try {
      // alice sees 1 tool (direct), bob 3 (above 2: discovery).
      const a = await httpClient(url, 'modern', { authorization: `Bearer ${keys.a}`, 'specgate-customer': 'contoso' });
      const b = await httpClient(url, 'legacy', { authorization: `Bearer ${keys.b}`, 'specgate-customer': 'fabrikam' });
      try {
        expect((await a.listTools()).tools.map((t) => t.name)).toEqual(['helpdesk_list_tickets']);
        expect(a.getInstructions()).toContain('Every tool you may use is in tools/list');
        expect((await b.listTools()).tools.map((t) => t.name)).toEqual(META_ORDER);
        const r = await call(b, 'call_tool', { name: 'helpdesk_get_ticket', arguments: { id: 1 } });
        expect(r.isError).toBeFalsy();
        expect((await callRecords(store, 'msp-b')).audit.at(-1)).toMatchObject({ tool: 'helpdesk_get_ticket', outcome: 'ok' });
      } finally {
        await a.close();
        await b.close();
      }
    } finally {
      await app.close();
      await store.close();
    }
  });
});

describe('cache hints without governance', () => {
  it('marks tools/list and server/discover public: every caller sees the same', async () => {
    const app = await buildServer({ catalog: buildCatalog(fixtureConnectors), callTool: echoCallTool, discovery: { mode: 'on', threshold: 0 }, listTtlMs: 60_000, logger: pino({ level: 'silent' }), shutdown: { signals: [] }, defaultMetrics: false });
    try {
      const url = new URL('/mcp', await app.listen({ host: '127.0.0.1', port: 0 }));
      const client = new Client({ name: 'public', version: '1' }, { versionNegotiation: { mode: 'auto' } });
      await client.connect(new StreamableHTTPClientTransport(url));
      const listed = await client.listTools();
      expect(listed).toMatchObject({ ttlMs: 60_000, cacheScope: 'public' });
      expect(listed.tools.map((t) => t.name)).toEqual(META_ORDER);
      expect(client.getDiscoverResult()).toMatchObject({ cacheScope: 'public' });
      await client.close();
    } finally {
      await app.close();
    }
  });
});

describe('discovery over stdio', () => {
  for (const era of ERAS) {
    it(`governs search, describe and call_tool like direct calls (${era} era)`, async () => {
      const client = await stdioClient(era);
      try {
        await discoveryContract(client, async () => {
          const store = await openStore(storeUrl);
          try {
            return await callRecords(store, 'msp-a');
          } finally {
            await store.close();
          }
        });
      } finally {
        await client.close();
      }
    });
  }
});
