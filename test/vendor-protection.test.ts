/**
 * Protecting the vendor, through the real governed runtime over MCP: the opt-in response cache
 * (hits served without a vendor request, metered and audited as `cached`, never across customers
 * or tenants, errors never kept, refusals still refused) and per-vendor-instance request budgets
 * (refused with when to retry, before the vendor is asked; one tenant's spend is not another's).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { apiKeysRepo, openStore, settingsRepo, tenantsRepo, type Store } from '../runtime/store/index.ts';
import { createPolicyEngine } from '../runtime/policy/decide.ts';
import { startHttp, startRuntime, type RuntimeOptions } from '../runtime/start.ts';
import { createResponseCache } from '../runtime/governance/response-cache.ts';
import { parseCache, parseVendorBudgets } from '../cli/commands/serve.ts';
import { startRecorder, type Recorder } from './fixtures/call/harness.ts';
import { generateInto, root, tempDir } from './helpers/e2e.ts';
import { callRecords, governedClient, HELPDESK_SPEC, type ToolResult } from './helpers/governed.ts';

const dir = tempDir('vendor-protection');
let upstream: Recorder;
let failNext = false;
const keys: Record<string, string> = {};

async function seed(store: Store): Promise<void> {
  const tenants = tenantsRepo(store);
  await tenants.createTenant({ id: 'msp-a', name: 'MSP A' });
  await tenants.createTenant({ id: 'msp-b', name: 'MSP B' });
  await tenants.createCustomer({ id: 'contoso', tenantId: 'msp-a', name: 'Contoso' });
  await tenants.createCustomer({ id: 'northwind', tenantId: 'msp-a', name: 'Northwind' });
  await tenants.createCustomer({ id: 'fabrikam', tenantId: 'msp-b', name: 'Fabrikam' });
  await tenants.setVendorId('contoso', 'helpdesk', '4242');
  await tenants.setVendorId('northwind', 'helpdesk', '4343');
  await tenants.setVendorId('fabrikam', 'helpdesk', '9999');
  await settingsRepo(store).grant('msp-a', 'helpdesk', '*');
  await settingsRepo(store).grant('msp-b', 'helpdesk', 'helpdesk_list_*');
  keys.a = (await apiKeysRepo(store).create({ tenantId: 'msp-a', subject: 'alice', roles: ['technician'] })).key;
  keys.b = (await apiKeysRepo(store).create({ tenantId: 'msp-b', subject: 'bob', roles: ['technician'] })).key;
}

async function serve(name: string, governance: Pick<NonNullable<RuntimeOptions['governance']>, 'responseCache' | 'vendorBudgets'>) {
  const store = await openStore(`sqlite:${path.join(dir, `${name}.db`)}`);
  await seed(store);
  const logger = pino({ level: 'silent' });
  const runtime = await startRuntime({
    generatedDir: path.join(dir, 'generated'), mock: false, logger, upstreams: { helpdesk: { baseUrl: upstream.url } },
    governance: { store, policy: createPolicyEngine({ dir: path.join(root, 'policies') }), ...governance },
  });
  const app: FastifyInstance = await startHttp(runtime, { port: 0, host: '127.0.0.1', logger });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/mcp`;
  const clients: Array<{ close(): Promise<void> }> = [];
  const as = async (key: string, customer: string) => {
    const client = await governedClient(url, { authorization: `Bearer ${key}`, 'specgate-customer': customer });
    clients.push(client);
    return (tool: string, args: Record<string, unknown>) => client.callTool({ name: tool, arguments: args }) as Promise<ToolResult>;
  };
  return {
    store, as,
    async close() {
      for (const c of clients) await c.close();
      await app.close();
      await store.close();
    },
  };
}

beforeAll(async () => {
  const specFile = path.join(dir, 'helpdesk.yaml');
  fs.writeFileSync(specFile, HELPDESK_SPEC);
  await generateInto([specFile], path.join(dir, 'generated'));
  upstream = await startRecorder((u) => {
    if (failNext) {
      failNext = false;
      return { status: 404, body: { error: 'no such ticket' } };
    }
    return { body: u.pathname.endsWith('/tickets') ? { tickets: [{ id: Number(u.searchParams.get('client_id')), summary: 'printer' }] } : { id: 1, summary: 'one' } };
  }, '/api');
});
afterAll(async () => {
  await upstream?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('response cache', () => {
  it('serves a repeat from the cache, metered and audited as cached, and never across customers or tenants', async () => {
    const s = await serve('cache', { responseCache: { tools: { helpdesk_list_tickets: 60_000 } } });
    try {
      const contoso = await s.as(keys.a, 'contoso');
      const northwind = await s.as(keys.a, 'northwind');
      const fabrikam = await s.as(keys.b, 'fabrikam');
      const n0 = upstream.requests.length;
      const first = await contoso('helpdesk_list_tickets', { 'filter.status': 'open' });
      const again = await contoso('helpdesk_list_tickets', { 'filter.status': 'open' });
      expect(first.isError).toBeFalsy();
      expect(again.structuredContent).toEqual(first.structuredContent);
      expect(upstream.requests.length - n0).toBe(1);
      // Other arguments, another customer of the same tenant, another tenant: all misses.
      await contoso('helpdesk_list_tickets', { 'filter.status': 'closed' });
      const other = await northwind('helpdesk_list_tickets', { 'filter.status': 'open' });
      const tenantB = await fabrikam('helpdesk_list_tickets', { 'filter.status': 'open' });
      expect(upstream.requests.length - n0).toBe(4);
      expect((other.structuredContent!.result as { tickets: Array<{ id: number }> }).tickets[0].id).toBe(4343);
      expect((tenantB.structuredContent!.result as { tickets: Array<{ id: number }> }).tickets[0].id).toBe(9999);
      // A tool without a cache rule always asks the vendor.
      await contoso('helpdesk_get_ticket', { id: 1 });
      await contoso('helpdesk_get_ticket', { id: 1 });
      expect(upstream.requests.length - n0).toBe(6);

      const a = await callRecords(s.store, 'msp-a');
      expect(a.usage.filter((u) => u.tool === 'helpdesk_list_tickets').map((u) => [u.customerId, u.outcome]).sort()).toEqual([
        ['contoso', 'cached'], ['contoso', 'ok'], ['contoso', 'ok'], ['northwind', 'ok'],
      ]);
      expect(a.audit.filter((r) => r.outcome === 'cached').map((r) => r.tool)).toEqual(['helpdesk_list_tickets']);
      expect((await callRecords(s.store, 'msp-b')).usage.map((u) => u.outcome)).toEqual(['ok']);
    } finally {
      await s.close();
    }
  });

  it('keeps no error, and a cached answer does not bypass a refusal', async () => {
    const s = await serve('cache-errors', { responseCache: { tools: { 'helpdesk_*': 60_000 } } });
    try {
      const contoso = await s.as(keys.a, 'contoso');
      const fabrikam = await s.as(keys.b, 'fabrikam');
      const n0 = upstream.requests.length;
      failNext = true;
      expect((await contoso('helpdesk_get_ticket', { id: 7 })).isError).toBe(true);
      expect((await contoso('helpdesk_get_ticket', { id: 7 })).isError).toBeFalsy();
      expect(upstream.requests.length - n0).toBe(2);
      // msp-b may not call helpdesk_get_ticket: refused before any cache lookup, whatever is cached.
      const refused = await fabrikam('helpdesk_get_ticket', { id: 7 });
      expect(refused.isError).toBe(true);
      expect(refused.content[0].text).toMatch(/^Refused/);
      expect(upstream.requests.length - n0).toBe(2);
    } finally {
      await s.close();
    }
  });

  it("refuses a TTL outside 0 to 10 minutes, naming the rule; the operator's rule wins over the spec; copies entries each way", () => {
    expect(() => createResponseCache({ tools: { x: -1 } })).toThrow(/TTL of 'x'/);
    expect(() => createResponseCache({ tools: { x: 3_600_000 } })).toThrow(/TTL of 'x'/);
    const cache = createResponseCache({ tools: { 'a_*': 1000, 'off_*': 0 } });
    expect(cache.ttlOf({ name: 'a_b', shape: {} })).toBe(1000);
    expect(cache.ttlOf({ name: 'a_b', shape: { cacheMs: 60_000 } })).toBe(1000);
    expect(cache.ttlOf({ name: 'b', shape: {} })).toBeUndefined();
    expect(cache.ttlOf({ name: 'b', shape: { cacheMs: 30_000 } })).toBe(30_000);
    expect(cache.ttlOf({ name: 'off_x', shape: { cacheMs: 30_000 } })).toBeUndefined();
    // A model carrying more than the bound (hand-edited) is capped, never trusted.
    expect(cache.ttlOf({ name: 'b', shape: { cacheMs: 86_400_000 } })).toBe(600_000);
    // The policy's obligations are part of the key: a result redacted for one caller is not another's.
    expect(cache.key('t', 'c1', 'a_b', { x: 1 }, { redact: ['email'] })).not.toBe(cache.key('t', 'c1', 'a_b', { x: 1 }, {}));
    expect(cache.key('t', 'c1', 'a_b', { x: 1, y: 2 })).toBe(cache.key('t', 'c1', 'a_b', { y: 2, x: 1 }));
    expect(cache.key('t', 'c1', 'a_b', { x: 1 })).not.toBe(cache.key('t', 'c2', 'a_b', { x: 1 }));
    const result = { content: [{ type: 'text' as const, text: 'v' }] };
    cache.set('k', result, 1000);
    cache.get('k')!.content[0].text = 'tampered';
    expect(cache.get('k')!.content[0].text).toBe('v');
  });
});

describe('vendor budgets', () => {
  it('refuses past the budget with when to retry, before the vendor is asked, per tenant; cache hits spend none', async () => {
    const s = await serve('budget', { vendorBudgets: { helpdesk: { requests: 3, perSeconds: 3600 } }, responseCache: { tools: { helpdesk_get_ticket: 60_000 } } });
    try {
      const contoso = await s.as(keys.a, 'contoso');
      const northwind = await s.as(keys.a, 'northwind');
      const fabrikam = await s.as(keys.b, 'fabrikam');
      const n0 = upstream.requests.length;
      expect((await contoso('helpdesk_get_ticket', { id: 1 })).isError).toBeFalsy();
      expect((await contoso('helpdesk_list_tickets', {})).isError).toBeFalsy();
      expect((await northwind('helpdesk_list_tickets', {})).isError).toBeFalsy();
      // The instance's budget is the tenant's, whichever customer spent it.
      const over = await contoso('helpdesk_list_tickets', { 'filter.status': 'x' });
      expect(over.isError).toBe(true);
      expect(over.content[0].text).toMatch(/request budget for helpdesk \(3 requests per 3600 s.*retry in \d+ s/);
      expect(upstream.requests.length - n0).toBe(3);
      // A cached answer costs the vendor nothing, so it is served past the budget.
      expect((await contoso('helpdesk_get_ticket', { id: 1 })).isError).toBeFalsy();
      // Another tenant's instance has its own budget.
      expect((await fabrikam('helpdesk_list_tickets', {})).isError).toBeFalsy();
      expect(upstream.requests.length - n0).toBe(4);
      const audit = (await callRecords(s.store, 'msp-a')).audit;
      expect(audit.map((r) => r.outcome)).toEqual(['ok', 'ok', 'ok', 'refused', 'cached']);
      expect(audit[3]).toMatchObject({ tool: 'helpdesk_list_tickets', code: 'vendor-budget' });
    } finally {
      await s.close();
    }
  });

  it('reads --cache and --vendor-budget, naming a malformed entry', () => {
    expect(parseCache(['halopsa_list_statuses=30000'])).toEqual({ halopsa_list_statuses: 30000 });
    expect(parseVendorBudgets(['autotask=9000/3600'])).toEqual({ autotask: { requests: 9000, perSeconds: 3600 } });
    expect(() => parseVendorBudgets(['autotask=9000'])).toThrow(/--vendor-budget: expected connector=requests\/seconds.*'autotask=9000'/);
    expect(() => parseCache(['x=soon'])).toThrow(/--cache: expected tool=milliseconds, got 'x=soon'/);
  });
});
