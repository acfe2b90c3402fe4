/**
 * The governance chain through the real server: API keys over HTTP, the 401 challenge of the MCP
 * authorization spec, per-caller tools/list, the customer forced from the tenant's own mapping,
 * a forged customer refused, and the usage and audit records of each call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { openStore, tenantsRepo, apiKeysRepo, settingsRepo, usageRepo, auditRepo, type Store } from '../runtime/store/index.ts';
import type { FastifyInstance } from 'fastify';
import { startRecorder, type Recorder } from './fixtures/call/harness.ts';
import { generateInto, listAll, tempDir } from './helpers/e2e.ts';
import { HELPDESK_SPEC, serveGoverned } from './helpers/governed.ts';


describe('governed runtime over MCP', () => {
  const dir = tempDir('governance-e2e');
  let store: Store;
  let upstream: Recorder;
  let upstreamB: Recorder;
  let app: FastifyInstance;
  let url: string;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    const specFile = path.join(dir, 'helpdesk.yaml');
    fs.writeFileSync(specFile, HELPDESK_SPEC);
    await generateInto([specFile], path.join(dir, 'generated'));
    store = await openStore(`sqlite:${path.join(dir, 'store.db')}`);
    const tenants = tenantsRepo(store);
    await tenants.createTenant({ id: 'msp-a', name: 'MSP A' });
    await tenants.createTenant({ id: 'msp-b', name: 'MSP B' });
    await tenants.createCustomer({ id: 'contoso', tenantId: 'msp-a', name: 'Contoso' });
    await tenants.createCustomer({ id: 'fabrikam', tenantId: 'msp-b', name: 'Fabrikam' });
    await tenants.setVendorId('contoso', 'helpdesk', '4242');
    await tenants.setVendorId('fabrikam', 'helpdesk', '9999');
    const apiKeys = apiKeysRepo(store);
    keys.a = (await apiKeys.create({ tenantId: 'msp-a', subject: 'alice', roles: ['technician'] })).key;
    keys.b = (await apiKeys.create({ tenantId: 'msp-b', subject: 'bob', roles: ['technician'] })).key;
    const settings = settingsRepo(store);
    await settings.grant('msp-a', 'helpdesk', '*');
    await settings.grant('msp-b', 'helpdesk', 'helpdesk_get_*');

    upstream = await startRecorder((u) => ({ body: u.pathname.endsWith('/tickets') ? { tickets: [{ id: 1, summary: 'printer' }] } : { id: 1, summary: 'one' } }), '/api');
    // MSP B runs its own helpdesk instance: its calls must go there, with its own configuration.
    upstreamB = await startRecorder(() => ({ body: { id: 2, summary: 'from B' } }), '/api');
    ({ app, url } = await serveGoverned(store, {
      tenantUpstreamConfig: { 'msp-b': { helpdesk: { baseUrl: upstreamB.url } } },
      generatedDir: path.join(dir, 'generated'),
      upstreams: { helpdesk: { baseUrl: upstream.url } },
    }));
  });
  afterAll(async () => {
    await app?.close();
    await upstream?.close();
    await upstreamB?.close();
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const connect = async (key: string, customer?: string) => {
    const client = new Client({ name: 'governed', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    const headers: Record<string, string> = { authorization: `Bearer ${key}` };
    if (customer) headers['specgate-customer'] = customer;
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
    return client;
  };

  it('answers a request without a key with 401 and the protected-resource metadata', async () => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    expect(response.status).toBe(401);
    const challenge = response.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Bearer resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource"$/);
    // Refused from its headers before the body is read: the JSON-RPC id is unknown, so null (JSON-RPC 2.0 5.1).
    expect(((await response.json()) as { id: unknown }).id).toBeNull();
    const metadata = (await (await fetch(challenge.match(/"(.+)"/)![1])).json()) as { resource: string };
    expect(metadata.resource).toBe(url);
  });

  it('shows each caller only what it may call, and the same path decides the call', async () => {
    const a = await connect(keys.a, 'contoso');
    const b = await connect(keys.b);
    try {
      expect((await listAll(a)).map((t) => t.name)).toEqual(['helpdesk_get_article', 'helpdesk_get_ticket', 'helpdesk_list_tickets']);
      expect((await listAll(b)).map((t) => t.name)).toEqual(['helpdesk_get_article', 'helpdesk_get_ticket']);
      const refused = (await b.callTool({ name: 'helpdesk_list_tickets', arguments: {} })) as { isError?: boolean; content: Array<{ text: string }> };
      expect(refused.isError).toBe(true);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("forces the customer's id from the tenant's mapping and meters and audits the call", async () => {
    const a = await connect(keys.a, 'contoso');
    try {
      const before = upstream.requests.length;
      const r = (await a.callTool({ name: 'helpdesk_list_tickets', arguments: {} })) as { isError?: boolean; content: Array<{ text: string }> };
      expect(r.isError, r.content[0]?.text).toBeFalsy();
      expect(new URL(upstream.requests[before].url, 'http://x').searchParams.get('client_id')).toBe('4242');
      // The client's own key never travels upstream.
      expect(upstream.requests[before].headers.authorization).toBeUndefined();
    } finally {
      await a.close();
    }
    const report = await usageRepo(store).report('msp-a', new Date(Date.now() - 3_600_000).toISOString(), new Date(Date.now() + 3_600_000).toISOString());
    expect(JSON.stringify(report)).toContain('helpdesk_list_tickets');
    const audit = await auditRepo(store).search({ tenant: 'msp-a' });
    expect(audit.length).toBeGreaterThan(0);
    expect(await auditRepo(store).verify('msp-a')).toMatchObject({ ok: true });
  });

  it("sends each tenant's calls to that tenant's own upstream", async () => {
    const b = await connect(keys.b);
    const a = await connect(keys.a, 'contoso');
    try {
      const beforeA = upstream.requests.length;
      const beforeB = upstreamB.requests.length;
      const rb = (await b.callTool({ name: 'helpdesk_get_ticket', arguments: { id: 2 } })) as { structuredContent?: any };
      expect(rb.structuredContent.result.summary).toBe('from B');
      const ra = (await a.callTool({ name: 'helpdesk_get_ticket', arguments: { id: 1 } })) as { structuredContent?: any };
      expect(ra.structuredContent.result.summary).toBe('one');
      expect(upstreamB.requests.length).toBe(beforeB + 1);
      expect(upstream.requests.length).toBe(beforeA + 1);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("refuses a customer of another tenant before a byte leaves", async () => {
    const before = upstream.requests.length;
    await expect(connect(keys.a, 'fabrikam')).rejects.toThrow(/403/);
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25',
        authorization: `Bearer ${keys.a}`, 'specgate-customer': 'fabrikam',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'helpdesk_list_tickets', arguments: {} } }),
    });
    expect(response.status).toBe(403);
    const body = (await response.json()) as { id: unknown; error: { message: string } };
    // Refused from its headers before the body is read: the JSON-RPC id is unknown, so null.
    expect(body.id).toBeNull();
    expect(body.error.message).toMatch(/customer/i);
    expect(upstream.requests.length).toBe(before);
  });
});
