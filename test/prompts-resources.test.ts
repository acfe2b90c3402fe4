/**
 * Prompts and resources declared in specs, through the governed runtime over MCP: listed only to
 * callers who may call the tools behind them, a resource read is a governed call of its backing
 * tool (customer binding, refusal, usage and audit naming the tool), and the generator refuses a
 * prompt or resource naming what does not exist, at its place in the spec. The HaloPSA launch
 * spec's own prompts and resources are checked against the real generated catalog.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { FastifyInstance } from 'fastify';
import { apiKeysRepo, openStore, settingsRepo, tenantsRepo, type Store } from '../runtime/store/index.ts';
import { createPolicyEngine } from '../runtime/policy/decide.ts';
import { startHttp, startRuntime } from '../runtime/start.ts';
import { loadCatalog } from '../runtime/catalog.ts';
import { startRecorder, type Recorder } from './fixtures/call/harness.ts';
import { generateInto, root, tempDir } from './helpers/e2e.ts';
import { callRecords, HELPDESK_SPEC } from './helpers/governed.ts';

const EXTRA = `prompts:
  - name: helpdesk_triage_ticket
    description: Triage one ticket.
    arguments:
      - { name: ticket_id, required: true }
    tools: [helpdesk_get_ticket, helpdesk_list_tickets]
    text: Triage ticket {{ticket_id}} and compare it with the open ones.
  - name: helpdesk_open_issues
    description: Summarise the open tickets.
    tools: [helpdesk_list_tickets]
    text: Summarise this customer's open tickets.
resources:
  - name: helpdesk_tickets
    uri: specgate://helpdesk/tickets
    tool: helpdesk_list_tickets
  - name: helpdesk_ticket
    uriTemplate: specgate://helpdesk/tickets/{id}
    tool: helpdesk_get_ticket
`;

const dir = tempDir('prompts-resources');
let upstream: Recorder;
let store: Store;
let app: FastifyInstance;
let url: string;
const keys: Record<string, string> = {};

beforeAll(async () => {
  const specFile = path.join(dir, 'helpdesk.yaml');
  fs.writeFileSync(specFile, `${HELPDESK_SPEC}${EXTRA}`);
  await generateInto([specFile], path.join(dir, 'generated'));
  store = await openStore(`sqlite:${path.join(dir, 'store.db')}`);
  const tenants = tenantsRepo(store);
  await tenants.createTenant({ id: 'msp-a', name: 'MSP A' });
  await tenants.createTenant({ id: 'msp-b', name: 'MSP B' });
  await tenants.createCustomer({ id: 'contoso', tenantId: 'msp-a', name: 'Contoso' });
  await tenants.createCustomer({ id: 'fabrikam', tenantId: 'msp-b', name: 'Fabrikam' });
  await tenants.setVendorId('contoso', 'helpdesk', '4242');
  await tenants.setVendorId('fabrikam', 'helpdesk', '9999');
  await settingsRepo(store).grant('msp-a', 'helpdesk', 'helpdesk_list_*');
  await settingsRepo(store).grant('msp-b', 'helpdesk', '*');
  keys.a = (await apiKeysRepo(store).create({ tenantId: 'msp-a', subject: 'alice', roles: ['technician'] })).key;
  keys.b = (await apiKeysRepo(store).create({ tenantId: 'msp-b', subject: 'bob', roles: ['technician'] })).key;
  upstream = await startRecorder((u) => ({ body: u.pathname.endsWith('/tickets') ? { tickets: [{ id: 1, summary: 'printer' }] } : { id: 5, summary: 'five' } }), '/api');
  const logger = pino({ level: 'silent' });
  const runtime = await startRuntime({
    generatedDir: path.join(dir, 'generated'), mock: false, logger, upstreams: { helpdesk: { baseUrl: upstream.url } },
    governance: { store, policy: createPolicyEngine({ dir: path.join(root, 'policies') }) },
  });
  app = await startHttp(runtime, { port: 0, host: '127.0.0.1', logger });
  const address = app.server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/mcp`;
});
afterAll(async () => {
  await app?.close();
  await upstream?.close();
  await store?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function client(key: string, customer: string, era: 'legacy' | 'modern'): Promise<Client> {
  const c = new Client({ name: 'prompts', version: '1' }, { versionNegotiation: { mode: era === 'modern' ? 'auto' : 'legacy' } });
  await c.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${key}`, 'specgate-customer': customer } } }));
  return c;
}

for (const era of ['legacy', 'modern'] as const) {
  describe(`prompts and resources (${era} era)`, () => {
    it('lists only what the caller may use, and reading is a governed call of the backing tool', async () => {
      const alice = await client(keys.a, 'contoso', era);
      try {
        // helpdesk_get_ticket is not granted to msp-a: the prompt and the template that need it are not listed.
        const prompts = await alice.listPrompts();
        expect(prompts.prompts.map((p) => p.name)).toEqual(['helpdesk_open_issues']);
        // Listed per caller: a client may keep it, no shared cache may (2026-07-28 cache hints).
        if (era === 'modern') expect(prompts).toMatchObject({ cacheScope: 'private' });
        expect((await alice.listResources()).resources.map((r) => r.uri)).toEqual(['specgate://helpdesk/tickets']);
        expect((await alice.listResourceTemplates()).resourceTemplates).toEqual([]);
        await expect(alice.getPrompt({ name: 'helpdesk_triage_ticket', arguments: { ticket_id: '5' } })).rejects.toThrow(/Unknown prompt: helpdesk_triage_ticket/);
        const prompt = await alice.getPrompt({ name: 'helpdesk_open_issues' });
        expect(prompt.messages[0].content).toMatchObject({ type: 'text', text: expect.stringContaining('Tools for this: helpdesk_list_tickets') });

        const before = upstream.requests.length;
        const read = await alice.readResource({ uri: 'specgate://helpdesk/tickets' });
        expect(JSON.parse((read.contents[0] as { text: string }).text)).toMatchObject({ result: { tickets: [{ id: 1 }] } });
        expect(upstream.requests.length - before).toBe(1);
        expect(new URL(upstream.requests.at(-1)!.url, 'http://x').searchParams.get('client_id')).toBe('4242');
        // Reading a template backed by a refused tool: refused, nothing sent, audited under the tool.
        await expect(alice.readResource({ uri: 'specgate://helpdesk/tickets/5' })).rejects.toThrow(/Refused/);
        expect(upstream.requests.length - before).toBe(1);
        await expect(alice.readResource({ uri: 'specgate://helpdesk/nothing' })).rejects.toThrow(/Unknown resource/);
        const audit = (await callRecords(store, 'msp-a')).audit.slice(-2);
        expect(audit.map((a) => [a.tool, a.outcome])).toEqual([['helpdesk_list_tickets', 'ok'], ['helpdesk_get_ticket', 'refused']]);
      } finally {
        await alice.close();
      }
    });

    it('fills a template from the URI and a prompt from its arguments, naming a missing one', async () => {
      const bob = await client(keys.b, 'fabrikam', era);
      try {
        expect((await bob.listPrompts()).prompts.map((p) => p.name).sort()).toEqual(['helpdesk_open_issues', 'helpdesk_triage_ticket']);
        expect((await bob.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate)).toEqual(['specgate://helpdesk/tickets/{id}']);
        const read = await bob.readResource({ uri: 'specgate://helpdesk/tickets/5' });
        expect(upstream.requests.at(-1)!.url).toBe('/api/tickets/5');
        expect(JSON.parse((read.contents[0] as { text: string }).text)).toMatchObject({ result: { id: 5 } });
        const prompt = await bob.getPrompt({ name: 'helpdesk_triage_ticket', arguments: { ticket_id: '5' } });
        expect((prompt.messages[0].content as { text: string }).text).toMatch(/^Triage ticket 5 and compare/);
        await expect(bob.getPrompt({ name: 'helpdesk_triage_ticket', arguments: {} })).rejects.toThrow(/missing required argument\(s\) ticket_id/);
        expect((await callRecords(store, 'msp-b')).usage.map((u) => u.tool)).toContain('helpdesk_get_ticket');
      } finally {
        await bob.close();
      }
    });
  });
}

describe('prompts and resources in specs', () => {
  it('refuses a prompt or resource naming a tool, placeholder or variable that does not exist, at file:line:column', async () => {
    const bad = `${HELPDESK_SPEC}prompts:
  - name: helpdesk_bad
    description: x
    tools: [helpdesk_nope]
    text: Look at {{ticket}}.
resources:
  - name: r
    uriTemplate: specgate://helpdesk/t/{nope}
    tool: helpdesk_get_ticket
  - name: s
    uri: specgate://helpdesk/s
    tool: helpdesk_missing
`;
    const specFile = path.join(dir, 'bad.yaml');
    fs.writeFileSync(specFile, bad);
    const error = await generateInto([specFile], path.join(dir, 'bad-out')).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toMatch(/bad\.yaml:\d+:\d+ prompt "helpdesk_bad" uses tool "helpdesk_nope"/);
    expect(message).toMatch(/placeholder \{\{ticket\}\}, which is not one of its arguments/);
    expect(message).toMatch(/template variable \{nope\} is not an argument of helpdesk_get_ticket/);
    expect(message).toMatch(/resource "s" is backed by tool "helpdesk_missing"/);
  });

  it('declares the HaloPSA launch prompts and resources against tools the catalog has', async () => {
    const catalog = await loadCatalog(path.join(root, 'generated'));
    const halo = catalog.connectors.find((c) => c.model.name === 'halopsa')!.model;
    expect(halo.prompts!.map((p) => p.name)).toEqual(['halopsa_triage_ticket', 'halopsa_open_issues']);
    expect(halo.resources!.map((r) => r.uri ?? r.uriTemplate)).toEqual(['specgate://halopsa/statuses', 'specgate://halopsa/tickets/{ticket_id}']);
    for (const name of [...halo.prompts!.flatMap((p) => p.tools), ...halo.resources!.map((r) => r.tool)]) expect(catalog.byName.has(name), name).toBe(true);
  });
});
