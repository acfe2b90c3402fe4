/**
 * The governance chain against an attacker: arguments nested or sized past the bounds, replayed
 * Idempotency-Keys from another credential, tool or customer, invalid arguments and quota, billing
 * of calls that never reached the vendor, internal failures, self-approval, and refusals in the
 * metrics. Real store (SQLite and PostgreSQL), real policies, a real HTTP upstream.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCatalog, type Catalog } from '../runtime/catalog.ts';
import { createToolCaller } from '../runtime/call.ts';
import { createPolicyEngine } from '../runtime/policy/decide.ts';
import { createGovernance, type Governance, type GovernanceRequest } from '../runtime/governance/setup.ts';
import { ARGUMENT_LIMITS } from '../runtime/governance/limits.ts';
import { runToolCall } from '../runtime/mcp/tools.ts';
import type { CallTool } from '../runtime/mcp/types.ts';
import { createMetrics } from '../runtime/ops/metrics.ts';
import { operations } from '../runtime/admin/operations.ts';
import { OperatorError } from '../runtime/admin/rules.ts';
import { apiKeysRepo, approvalsRepo, auditRepo, openStore, quotaRepo, settingsRepo, tenantsRepo, SelfApprovalError, type Store } from '../runtime/store/index.ts';
import { findPostgres, startPostgres } from './helpers/postgres.ts';
import { makeConnector, makeTool, startRecorder, type Recorder } from './fixtures/call/harness.ts';
import type { ToolModel } from '../runtime/model.ts';

const NOW = new Date('2026-03-18T15:00:00Z');
const get = (name: string, p: string, over: Partial<ToolModel> = {}) => makeTool({ name, operation: { method: 'GET', path: p, operationId: name }, ...over });

const tools = [
  get('acme_list_tickets', '/tickets', {
    inputSchema: { type: 'object', properties: { q: {}, status: { type: 'string', enum: ['open', 'closed'] } }, additionalProperties: false },
    parameters: [{ name: 'status', in: 'query', argument: 'status', required: false }],
  }),
  get('acme_list_assets', '/assets', {
    parameters: [{ name: 'company_id', in: 'query', argument: null, required: true, customer: true }],
    customerParameters: ['company_id'],
  }),
  get('acme_list_items', '/items', {
    inputSchema: { type: 'object', properties: { limit: { type: 'integer' }, cursor: { type: 'string' } }, additionalProperties: false },
    parameters: [{ name: 'page', in: 'query', argument: null, required: false, pagination: 'page' }],
    pagination: { style: 'page', pageParam: 'page', firstPage: 1, defaultLimit: 10, maxLimit: 50 },
  }),
  get('acme_broken', '/broken'),
];

const pgAvail = findPostgres();
const backends: Array<[string, boolean, () => Promise<{ url: string; stop(): Promise<void> }>]> = [
  ['sqlite', true, async () => ({ url: 'sqlite::memory:', stop: async () => undefined })],
  [pgAvail.ok ? 'postgres' : `postgres (skipped: ${pgAvail.reason})`, pgAvail.ok, async () => {
    if (!pgAvail.ok) throw new Error(pgAvail.reason);
    const cluster = await startPostgres(pgAvail);
    return { url: await cluster.createDatabase(), stop: () => cluster.stop() };
  }],
];

/** `depth` objects inside one another, a string at the bottom. */
function nested(depth: number): Record<string, unknown> {
  let v: unknown = 'bottom';
  for (let i = 0; i < depth; i++) v = { a: v };
  return v as Record<string, unknown>;
}

for (const [name, available, backend] of backends) describe.skipIf(!available)(`governance under attack on ${name}`, () => {
  let store: Store;
  let db: { url: string; stop(): Promise<void> } | undefined;
  let upstream: Recorder;
  let gov: Governance;
  let catalog: Catalog;
  const key: Record<string, string> = {};
  const internalErrors: unknown[] = [];

  const as = (k: string, extra: Record<string, string> = {}): GovernanceRequest => ({ headers: { authorization: `Bearer ${key[k]}`, ...extra }, requestId: `req-${++seq}` });
  const tool = (n: string) => catalog.byName.get(n)!.tool;
  const text = (r: { content: Array<{ text: string }> }) => r.content.map((c) => c.text).join('');
  let seq = 0;
  const callId = () => `call-${++seq}`;
  const auditOf = async (id: string, tenant = 'tenant-a') => (await auditRepo(store).search({ tenant })).filter((e) => e.record.callId === id).map((e) => e.record);
  const usageOf = (id: string) => store.db.selectFrom('usage').selectAll().where('call_id', '=', id).execute();
  const quotaUsed = async () => (await store.db.selectFrom('quota_counters').select('used').where('tenant_id', '=', 'tenant-a').executeTakeFirst())?.used ?? 0;

  beforeAll(async () => {
    db = await backend();
    store = await openStore(db.url);
    const tenants = tenantsRepo(store);
    await tenants.createTenant({ id: 'tenant-a', name: 'A' });
    await tenants.createTenant({ id: 'tenant-b', name: 'B' });
    for (const [id, vendor] of [['cust-1', 'V-1'], ['cust-2', 'V-2']] as const) {
      await tenants.createCustomer({ id, tenantId: 'tenant-a', name: id });
      await tenants.setVendorId(id, 'acme', vendor);
    }
    const keys = apiKeysRepo(store, { now: () => NOW });
    key.tech = (await keys.create({ tenantId: 'tenant-a', subject: 'alice', roles: ['technician'] })).key;
    // The same subject's second key, with no role any rule allows.
    key.noRole = (await keys.create({ tenantId: 'tenant-a', subject: 'alice', roles: ['billing'] })).key;
    key.tech2 = (await keys.create({ tenantId: 'tenant-a', subject: 'alice', roles: ['technician'] })).key;
    await settingsRepo(store).grant('tenant-a', 'acme', '*');
    await quotaRepo(store).setQuota({ tenantId: 'tenant-a', scope: '*', period: 'month', limit: 1000 });

    upstream = await startRecorder((url) => (url.pathname.endsWith('/broken') ? { status: 500, body: { error: 'boom' } } : { body: { items: [{ id: 1 }] } }));
    const connector = makeConnector(tools);
    catalog = buildCatalog([connector]);
    const caller = createToolCaller({ connectors: [connector], upstreams: { acme: { baseUrl: upstream.url } }, retries: 0 });
    const policy = createPolicyEngine({ dir: path.resolve(import.meta.dirname, '../policies') }, { now: () => NOW });
    gov = createGovernance({ store, policy, caller, now: () => NOW, onInternalError: (e) => internalErrors.push(e) });
  });

  afterAll(async () => {
    await upstream?.close();
    await store?.close();
    await db?.stop();
  });

  describe('arguments past the bounds', () => {
    it('5,000 levels deep: refused naming the limit, audited, no usage, no quota spent, nothing sent', async () => {
      const [quota, sent, id] = [await quotaUsed(), upstream.requests.length, callId()];
      const r = await gov.call(as('tech'), tool('acme_list_tickets'), { q: nested(5000) }, id);
      expect(r.isError).toBe(true);
      expect(text(r)).toBe(`Refused: arguments nest deeper than ${ARGUMENT_LIMITS.maxDepth} levels; send a smaller call`);
      expect(await auditOf(id)).toEqual([expect.objectContaining({
        outcome: 'refused', step: 'arguments', code: 'limits', tool: 'acme_list_tickets', subject: 'alice',
        arguments: { '[omitted]': `arguments nest deeper than ${ARGUMENT_LIMITS.maxDepth} levels` },
      })]);
      expect(await usageOf(id)).toEqual([]);
      expect(await quotaUsed()).toBe(quota);
      expect(upstream.requests.length).toBe(sent);
    });

    it('a deep call with a forged tenant is on the record all the same', async () => {
      const id = callId();
      const r = await gov.call(as('tech', { 'specgate-tenant': 'tenant-b' }), tool('acme_list_tickets'), { tenant_id: 'tenant-b', q: nested(5000) }, id);
      expect(text(r)).toMatch(/header specgate-tenant names a tenant your identity does not belong to/);
      expect(await auditOf(id, 'tenant-a')).toEqual([expect.objectContaining({ outcome: 'refused', step: 'tenant', arguments: { '[omitted]': expect.stringMatching(/deeper than 32/) } })]);
    });

    it('exactly at the depth limit passes the bound; past the size or value limit is refused by name', async () => {
      const atLimit = await gov.call(as('tech'), tool('acme_list_tickets'), { q: nested(ARGUMENT_LIMITS.maxDepth - 1) }, callId());
      expect(text(atLimit)).not.toMatch(/nest deeper/);
      const big = await gov.call(as('tech'), tool('acme_list_tickets'), { q: 'x'.repeat(ARGUMENT_LIMITS.maxJsonChars) }, callId());
      expect(text(big)).toBe(`Refused: arguments are larger than the size limit of ${ARGUMENT_LIMITS.maxJsonChars} characters of JSON; send a smaller call`);
      const many = await gov.call(as('tech'), tool('acme_list_tickets'), { q: new Array(ARGUMENT_LIMITS.maxValues).fill(0) }, callId());
      expect(text(many)).toBe(`Refused: arguments hold more than ${ARGUMENT_LIMITS.maxValues} values (the limit); send a smaller call`);
    });

    it('an unauthenticated deep call goes to the gateway chain, arguments omitted', async () => {
      const id = callId();
      const r = await gov.call({ headers: {}, requestId: 'anon' }, tool('acme_list_tickets'), { q: nested(5000) }, id);
      expect(text(r)).toMatch(/Not authenticated/);
      const [rec] = (await auditRepo(store).search({ tenant: '_gateway' })).filter((e) => e.record.callId === id);
      expect(rec?.record).toMatchObject({ outcome: 'refused', step: 'authenticate', arguments: { '[omitted]': expect.any(String) } });
    });
  });

  describe('an internal failure is audited, never skipped', () => {
    it('a tool caller that throws: audited as an internal error with no usage, the caller told plainly', async () => {
      const throwing = createGovernance({
        store, now: () => NOW, onInternalError: (e) => internalErrors.push(e),
        policy: createPolicyEngine({ dir: path.resolve(import.meta.dirname, '../policies') }, { now: () => NOW }),
        caller: { callTool: async () => { throw new Error('driver exploded: password=hunter2'); } },
      });
      const id = callId();
      const r = await throwing.call(as('tech'), tool('acme_list_tickets'), {}, id);
      expect(r.isError).toBe(true);
      expect(text(r)).toMatch(/^Internal error: the gateway could not complete this call \(request req-\d+\); it is on the record$/);
      const [rec] = await auditOf(id);
      expect(rec).toMatchObject({ outcome: 'error', code: 'internal', tool: 'acme_list_tickets' });
      expect(JSON.stringify(rec)).not.toContain('hunter2');
      expect(await usageOf(id)).toEqual([]);
      expect(internalErrors.some((e) => (e as Error).message.includes('driver exploded'))).toBe(true);
    });

    it('a policy engine that throws: audited as an internal error', async () => {
      const broken = createGovernance({
        store, now: () => NOW, caller: { callTool: async () => ({ content: [{ type: 'text', text: 'never' }] }) },
        policy: { decide: () => { throw new TypeError('engine bug'); } },
      });
      const id = callId();
      const r = await broken.call(as('tech'), tool('acme_list_tickets'), {}, id);
      expect(text(r)).toMatch(/^Internal error/);
      expect(await auditOf(id)).toEqual([expect.objectContaining({ outcome: 'error', code: 'internal' })]);
    });
  });

  describe('replayed Idempotency-Key', () => {
    const idem = (k: string, ik: string, customer?: string) => as(k, { 'idempotency-key': ik, ...(customer && { 'specgate-customer': customer }) });

    it('another key of the same subject with no usable role is refused by policy, not handed the result', async () => {
      const first = await gov.call(idem('tech', 'replay-1', 'cust-1'), tool('acme_list_assets'), {}, callId());
      expect(first.isError).toBeFalsy();
      const id = callId();
      const r = await gov.call(idem('noRole', 'replay-1', 'cust-1'), tool('acme_list_assets'), {}, id);
      expect(text(r)).toMatch(/^Refused by policy/);
      expect(text(r)).not.toContain('items');
      expect(await auditOf(id)).toEqual([expect.objectContaining({ outcome: 'refused', step: 'policy', tool: 'acme_list_assets', customer: 'cust-1' })]);
    });

    it('another key of the same subject gets its own call, not a replay', async () => {
      await gov.call(idem('tech', 'replay-2'), tool('acme_list_tickets'), {}, callId());
      const sent = upstream.requests.length;
      const id = callId();
      const r = await gov.call(idem('tech2', 'replay-2'), tool('acme_list_tickets'), {}, id);
      expect(r.isError).toBeFalsy();
      expect(upstream.requests.length).toBe(sent + 1);
    });

    it('the same key for another tool or customer is refused, and the audit names the real tool and customer', async () => {
      await gov.call(idem('tech', 'replay-3', 'cust-1'), tool('acme_list_assets'), {}, callId());
      const sent = upstream.requests.length;
      const otherTool = callId();
      const a = await gov.call(idem('tech', 'replay-3', 'cust-1'), tool('acme_list_tickets'), {}, otherTool);
      expect(text(a)).toBe('Refused: this Idempotency-Key was already used for a call with another tool; a key names one call (tool, customer and arguments), so use a new key for a new call');
      expect(await auditOf(otherTool)).toEqual([expect.objectContaining({ outcome: 'refused', code: 'idempotency-key-reused', tool: 'acme_list_tickets', customer: 'cust-1' })]);
      const otherCustomer = callId();
      const b = await gov.call(idem('tech', 'replay-3', 'cust-2'), tool('acme_list_assets'), {}, otherCustomer);
      expect(text(b)).toMatch(/already used for a call with another customer/);
      expect(await auditOf(otherCustomer)).toEqual([expect.objectContaining({ outcome: 'refused', tool: 'acme_list_assets', customer: 'cust-2' })]);
      expect(upstream.requests.length).toBe(sent);
    });

    it('the same call replayed after a restart is checked against the stored tool and customer', async () => {
      await gov.call(idem('tech', 'replay-4', 'cust-1'), tool('acme_list_assets'), {}, callId());
      const fresh = createGovernance({
        store, now: () => NOW, policy: createPolicyEngine({ dir: path.resolve(import.meta.dirname, '../policies') }, { now: () => NOW }),
        caller: createToolCaller({ connectors: [makeConnector(tools)], upstreams: { acme: { baseUrl: upstream.url } }, retries: 0 }),
      });
      const other = await fresh.call(idem('tech', 'replay-4', 'cust-2'), tool('acme_list_assets'), {}, callId());
      expect(text(other)).toMatch(/already used for a call with another customer/);
      const id = callId();
      const same = await fresh.call(idem('tech', 'replay-4', 'cust-1'), tool('acme_list_assets'), {}, id);
      expect(text(same)).toMatch(/already ran at/);
      expect(await auditOf(id)).toEqual([expect.objectContaining({ outcome: 'replayed', tool: 'acme_list_assets', customer: 'cust-1' })]);
    });
  });

  describe('validation before quota, billing what reached the vendor', () => {
    it('invalid arguments: refused before the quota, no usage row, nothing sent', async () => {
      const [quota, sent, id] = [await quotaUsed(), upstream.requests.length, callId()];
      const r = await gov.call(as('tech'), tool('acme_list_tickets'), { status: 'pending' }, id);
      expect(text(r)).toBe('Invalid arguments: "status" must be one of "open", "closed" (enum)');
      expect(await auditOf(id)).toEqual([expect.objectContaining({ outcome: 'refused', step: 'arguments', code: 'invalid' })]);
      expect(await usageOf(id)).toEqual([]);
      expect(await quotaUsed()).toBe(quota);
      expect(upstream.requests.length).toBe(sent);
    });

    it('ok and an upstream error are one unit each; a call that never left (a forged cursor) is zero', async () => {
      const ok = callId();
      await gov.call(as('tech'), tool('acme_list_tickets'), {}, ok);
      const failed = callId();
      const r = await gov.call(as('tech'), tool('acme_broken'), {}, failed);
      expect(r.isError).toBe(true);
      const forged = callId();
      const sent = upstream.requests.length;
      const f = await gov.call(as('tech'), tool('acme_list_items'), { cursor: Buffer.from('{"p":2}').toString('base64url') }, forged);
      expect(text(f)).toMatch(/"cursor" is not a cursor this tool returned/);
      expect(upstream.requests.length).toBe(sent);
      expect((await usageOf(ok))[0]).toMatchObject({ outcome: 'ok', units: 1 });
      expect((await usageOf(failed))[0]).toMatchObject({ outcome: 'error', units: 1 });
      expect((await usageOf(forged))[0]).toMatchObject({ outcome: 'error', units: 0 });
      // Both or neither: each usage row has its audit record.
      for (const id of [ok, failed, forged]) expect(await auditOf(id)).toHaveLength(1);
    });
  });

  describe('approvals need a second person', () => {
    it('the requester cannot approve their own call, in the store or through the operator actions; another person can', async () => {
      const approvals = approvalsRepo(store, { now: () => NOW });
      const pending = await approvals.request({
        tenantId: 'tenant-a', subject: 'alice', customerId: null, connector: 'acme', tool: 'acme_export',
        argumentsHash: 'h', arguments: {}, decisionId: 'd', reason: 'high risk',
      });
      await expect(approvals.decide(pending.id, { approve: true, by: 'alice' })).rejects.toThrow(SelfApprovalError);
      const ops = operations(store, () => NOW);
      const err = await ops.decideApproval('tenant-a', pending.id, { approve: true, by: 'ALICE' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OperatorError);
      expect(err).toMatchObject({ kind: 'forbidden', message: `approval ${pending.id} was requested by "alice", who cannot approve it: a second person must` });
      expect((await approvals.get(pending.id))?.status).toBe('pending');
      expect((await ops.decideApproval('tenant-a', pending.id, { approve: true, by: 'carol' })).status).toBe('approved');
    });
  });

  describe('metrics', () => {
    it('counts refusals as refused with their reason, not as errors', async () => {
      const metrics = createMetrics({ defaultMetrics: false });
      const run = (n: string, headers: GovernanceRequest, args: Record<string, unknown> = {}) =>
        runToolCall(catalog, n, args, { requestId: headers.requestId, signal: new AbortController().signal, headers: headers.headers }, {
          callTool: (t, a, ctx) => gov.call(ctx, t, a, ctx.requestId) as ReturnType<CallTool>,
          observe: (o) => metrics.recordToolCall(o),
        });
      await run('acme_list_tickets', as('tech'));
      await run('acme_list_tickets', as('noRole'));
      await run('acme_list_tickets', as('tech'), { status: 'pending' });
      await run('acme_broken', as('tech'));
      const out = await metrics.registry.metrics();
      expect(out).toContain('mcp_tool_calls_total{connector="acme",tool="acme_list_tickets",outcome="ok"} 1');
      expect(out).toContain('mcp_tool_calls_total{connector="acme",tool="acme_list_tickets",outcome="refused",reason="policy/denied"} 1');
      expect(out).toContain('mcp_tool_calls_total{connector="acme",tool="acme_list_tickets",outcome="refused",reason="arguments/invalid"} 1');
      expect(out).toContain('mcp_tool_calls_total{connector="acme",tool="acme_broken",outcome="error"} 1');
      expect(out).not.toMatch(/acme_list_tickets",outcome="error"/);
    });
  });
});
