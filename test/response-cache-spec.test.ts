/**
 * The response cache opted into per tool in the spec (`response.cacheMs`, in `defaults` or on a
 * tool): validated with the spec's position, carried into the tool model, and used by the governed
 * runtime without any operator flag; the operator's `--cache` rule wins (0 turns it off). Hits are
 * metered and audited as `cached`, never served to another customer or tenant, nor to a caller
 * whose policy obligations differ (a security admin's uncapped result is not a technician's).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { generate } from '../generator/generate.ts';
import { apiKeysRepo, openStore, settingsRepo, tenantsRepo } from '../runtime/store/index.ts';
import { createPolicyEngine } from '../runtime/policy/decide.ts';
import { startHttp, startRuntime, type RuntimeOptions } from '../runtime/start.ts';
import { loadCatalog } from '../runtime/catalog.ts';
import { startRecorder, type Recorder } from './fixtures/call/harness.ts';
import { generateInto, root, tempDir } from './helpers/e2e.ts';
import { callRecords, governedClient, HELPDESK_DOCUMENT, type ToolResult } from './helpers/governed.ts';

const dir = tempDir('response-cache-spec');
const generated = path.join(dir, 'generated');

function spec(defaultsCache: string, ticketCache: string, articleCache: string): string {
  return `specgate: 1
connector: helpdesk
document:
  source: ${HELPDESK_DOCUMENT}
customer:
  parameters: [client_id]
defaults:
  response: { cacheMs: ${defaultsCache} }
tools:
  - operationId: listTickets
    name: helpdesk_list_tickets
    parameters:
      includeDeleted: { fixed: false }
  - operationId: getTicket
    name: helpdesk_get_ticket
    customer: false
    response: { cacheMs: ${ticketCache} }
  - operationId: getArticle
    name: helpdesk_get_article
    customer: false
    response: { cacheMs: ${articleCache} }
`;
}

let upstream: Recorder;
beforeAll(async () => {
  const file = path.join(dir, 'helpdesk.yaml');
  fs.writeFileSync(file, spec('60000', '0', '5000'));
  await generateInto([file], generated);
  upstream = await startRecorder((u) => ({ body: u.pathname.endsWith('/tickets') ? { tickets: [{ id: Number(u.searchParams.get('client_id')), summary: 'printer' }] } : { id: 1, summary: 'one' } }), '/api');
});
afterAll(async () => {
  await upstream?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('response.cacheMs in the spec', () => {
  it('is carried into the tool model: the default, a tool of its own, and 0 turning the default off', async () => {
    const catalog = await loadCatalog(generated);
    const ttl = Object.fromEntries(catalog.tools.map((t) => [t.name, t.shape.cacheMs]));
    expect(ttl).toEqual({ helpdesk_list_tickets: 60_000, helpdesk_get_ticket: undefined, helpdesk_get_article: 5000 });
  });

  it.each([
    ['600001', 'must be <= 600000'],
    ['-1', 'must be at least 0'],
    ['"30s"', 'must be a whole number'],
  ])('refuses cacheMs %s at its file:line:column', async (value, message) => {
    const file = path.join(dir, `bad-${value.replace(/\W/g, '')}.yaml`);
    fs.writeFileSync(file, spec('60000', '0', value));
    const result = await generate([file], { outDir: path.join(dir, 'bad-out'), check: true });
    const errors = result.diagnostics.filter((d) => d.severity === 'error');
    expect(errors).toHaveLength(1);
    // The value sits on line 21 of the spec, after "    response: { cacheMs: ".
    expect(errors[0]).toMatchObject({ file, line: 21, column: 26 });
    expect(errors[0].message).toContain('tools[2].response.cacheMs');
    expect(errors[0].message).toContain(message);
  });
});

async function serve(name: string, governance: Pick<NonNullable<RuntimeOptions['governance']>, 'responseCache'> = {}) {
  const store = await openStore(`sqlite:${path.join(dir, `${name}.db`)}`);
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
  await settingsRepo(store).grant('msp-b', 'helpdesk', '*');
  const key = async (tenantId: string, subject: string, roles: string[]) => (await apiKeysRepo(store).create({ tenantId, subject, roles })).key;
  const keys = { alice: await key('msp-a', 'alice', ['technician']), sam: await key('msp-a', 'sam', ['security-admin']), bob: await key('msp-b', 'bob', ['technician']) };
  const logger = pino({ level: 'silent' });
  const runtime = await startRuntime({
    generatedDir: generated, mock: false, logger, upstreams: { helpdesk: { baseUrl: upstream.url } },
    governance: { store, policy: createPolicyEngine({ dir: path.join(root, 'policies') }), ...governance },
  });
  const app: FastifyInstance = await startHttp(runtime, { port: 0, host: '127.0.0.1', logger });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/mcp`;
  const clients: Array<{ close(): Promise<void> }> = [];
  const as = async (who: keyof typeof keys, customer: string) => {
    const client = await governedClient(url, { authorization: `Bearer ${keys[who]}`, 'specgate-customer': customer });
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

describe('the governed runtime caches what the spec opts in', () => {
  it('with no operator flag: hits metered and audited as cached, per customer, tenant and policy obligations', async () => {
    const s = await serve('spec-only');
    try {
      const contoso = await s.as('alice', 'contoso');
      const n0 = upstream.requests.length;
      const first = await contoso('helpdesk_list_tickets', {});
      const again = await contoso('helpdesk_list_tickets', {});
      expect(first.isError).toBeFalsy();
      expect(again.structuredContent).toEqual(first.structuredContent);
      expect(upstream.requests.length - n0).toBe(1);
      // Another customer of the tenant, another tenant: their own vendor requests, their own data.
      const other = await (await s.as('alice', 'northwind'))('helpdesk_list_tickets', {});
      const tenantB = await (await s.as('bob', 'fabrikam'))('helpdesk_list_tickets', {});
      expect((other.structuredContent!.result as { tickets: Array<{ id: number }> }).tickets[0].id).toBe(4343);
      expect((tenantB.structuredContent!.result as { tickets: Array<{ id: number }> }).tickets[0].id).toBe(9999);
      expect(upstream.requests.length - n0).toBe(3);
      // Same tenant, customer and arguments, but a role the policy obliges differently (no item cap): a miss.
      await (await s.as('sam', 'contoso'))('helpdesk_list_tickets', {});
      expect(upstream.requests.length - n0).toBe(4);
      // cacheMs 0 on the tool: every call asks the vendor.
      await contoso('helpdesk_get_ticket', { id: 1 });
      await contoso('helpdesk_get_ticket', { id: 1 });
      expect(upstream.requests.length - n0).toBe(6);

      const a = await callRecords(s.store, 'msp-a');
      expect(a.usage.filter((u) => u.tool === 'helpdesk_list_tickets').map((u) => [u.customerId, u.outcome]).sort()).toEqual([
        ['contoso', 'cached'], ['contoso', 'ok'], ['contoso', 'ok'], ['northwind', 'ok'],
      ]);
      expect(a.audit.filter((r) => r.outcome === 'cached').map((r) => r.tool)).toEqual(['helpdesk_list_tickets']);
    } finally {
      await s.close();
    }
  });

  it("the operator's rule wins: --cache tool=0 turns the spec's cache off", async () => {
    const s = await serve('operator-off', { responseCache: { tools: { helpdesk_list_tickets: 0 } } });
    try {
      const contoso = await s.as('alice', 'contoso');
      const n0 = upstream.requests.length;
      await contoso('helpdesk_list_tickets', {});
      await contoso('helpdesk_list_tickets', {});
      expect(upstream.requests.length - n0).toBe(2);
      // The article keeps its own spec TTL: the rule names one tool only.
      await contoso('helpdesk_get_article', { slug: 'a' });
      await contoso('helpdesk_get_article', { slug: 'a' });
      expect(upstream.requests.length - n0).toBe(3);
      expect((await callRecords(s.store, 'msp-a')).usage.map((u) => u.outcome).sort()).toEqual(['cached', 'ok', 'ok', 'ok']);
    } finally {
      await s.close();
    }
  });
});
