import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCatalog, type Catalog } from '../runtime/catalog.ts';
import { createToolCaller } from '../runtime/call.ts';
import { createPolicyEngine } from '../runtime/policy/decide.ts';
import { createGovernance, type Governance, type GovernanceRequest } from '../runtime/governance/setup.ts';
import { redactArguments, GATEWAY_CHAIN } from '../runtime/governance/audit.ts';
import { periodBounds } from '../runtime/governance/quota.ts';
import { apiKeysRepo, approvalsRepo, auditRepo, openStore, quotaRepo, rateLimitsRepo, settingsRepo, tenantsRepo, type Store } from '../runtime/store/index.ts';
import { findPostgres, startPostgres } from './helpers/postgres.ts';
import { makeConnector, makeTool, startRecorder, type Recorder } from './fixtures/call/harness.ts';
import type { ToolModel } from '../runtime/model.ts';

const NOW = new Date('2026-03-15T12:00:00Z');
const get = (name: string, p: string, over: Partial<ToolModel> = {}) => makeTool({ name, operation: { method: 'GET', path: p, operationId: name }, ...over });

const tools = [
  get('acme_list_tickets', '/tickets'),
  get('acme_list_assets', '/assets', {
    parameters: [{ name: 'company_id', in: 'query', argument: null, required: true, customer: true }],
    customerParameters: ['company_id'],
  }),
  get('acme_get_passwords', '/passwords', { tags: ['passwords'], sensitivity: 'credentials' }),
  get('acme_get_status', '/status'),
  get('acme_export', '/export', {
    riskTier: 'high',
    inputSchema: { type: 'object', properties: { since: { type: 'string' } }, additionalProperties: false },
    parameters: [{ name: 'since', in: 'query', argument: 'since', required: false }],
  }),
  get('acme_billing', '/billing'),
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

for (const [name, available, backend] of backends) describe.skipIf(!available)(`governance on ${name}`, () => {
  let store: Store;
  let db: { url: string; stop(): Promise<void> } | undefined;
  let upstream: Recorder;
  let gov: Governance;
  let catalog: Catalog;
  const key: Record<string, string> = {};

  const req = (headers: Record<string, string | undefined> = {}, meta?: Record<string, unknown>): GovernanceRequest => ({ headers, requestId: 'r1', ...(meta && { meta }) });
  const as = (k: string, extra: Record<string, string> = {}) => req({ authorization: `Bearer ${key[k]}`, ...extra });
  const tool = (name: string) => catalog.byName.get(name)!.tool;
  const text = (r: { content: Array<{ text: string }> }) => r.content.map((c) => c.text).join('');
  let seq = 0;
  const callId = () => `call-${++seq}`;

  beforeAll(async () => {
    db = await backend();
    store = await openStore(db.url);
    const tenants = tenantsRepo(store);
    await tenants.createTenant({ id: 'tenant-a', name: 'A' });
    await tenants.createTenant({ id: 'tenant-b', name: 'B' });
    await tenants.createCustomer({ id: 'cust-a', tenantId: 'tenant-a', name: 'Customer A' });
    await tenants.createCustomer({ id: 'cust-b', tenantId: 'tenant-b', name: 'Customer B' });
    await tenants.setVendorId('cust-a', 'acme', 'V-100');
    await tenants.setVendorId('cust-b', 'acme', 'V-200');
    const keys = apiKeysRepo(store, { now: () => NOW });
    key.tech = (await keys.create({ tenantId: 'tenant-a', subject: 'alice', roles: ['technician'] })).key;
    key.techB = (await keys.create({ tenantId: 'tenant-b', subject: 'bob', roles: ['technician'] })).key;
    key.expired = (await keys.create({ tenantId: 'tenant-a', subject: 'old', roles: ['technician'], expiresAt: new Date('2026-03-01T00:00:00Z') })).key;
    const revoked = await keys.create({ tenantId: 'tenant-a', subject: 'gone', roles: ['technician'] });
    key.revoked = revoked.key;
    await keys.revoke('tenant-a', revoked.info.id);
    const settings = settingsRepo(store);
    for (const glob of ['acme_list_*', 'acme_get_*', 'acme_export']) await settings.grant('tenant-a', 'acme', glob);
    await settings.grant('tenant-b', 'acme', '*');
    await quotaRepo(store).setQuota({ tenantId: 'tenant-a', scope: 'acme_get_status', period: 'month', limit: 2 });

    upstream = await startRecorder(() => ({ body: { items: [{ id: 1, name: 'x', password: 'hunter2' }] } }));
    const connector = makeConnector(tools);
    catalog = buildCatalog([connector]);
    const caller = createToolCaller({ connectors: [connector], upstreams: { acme: { baseUrl: upstream.url } }, retries: 0 });
    const policy = createPolicyEngine({ dir: path.resolve(import.meta.dirname, '../policies') }, { now: () => NOW });
    gov = createGovernance({ store, policy, caller, now: () => NOW });
  });

  afterAll(async () => {
    await upstream?.close();
    await store?.close();
    await db?.stop();
  });

  describe('governance chain: refusals', () => {
    const cases: Array<[string, () => GovernanceRequest, string, RegExp]> = [
      ['no key', () => req(), 'acme_list_tickets', /send an API key/],
      ['malformed header', () => req({ authorization: 'Basic abc' }), 'acme_list_tickets', /must be "Bearer sg_\.\.\."/],
      ['unknown key', () => req({ authorization: `Bearer sg_000000000000_${'A'.repeat(43)}` }), 'acme_list_tickets', /API key is not valid/],
      ['revoked key', () => as('revoked'), 'acme_list_tickets', /revoked/],
      ['expired key', () => as('expired'), 'acme_list_tickets', /expired/],
      ['tenant header naming another tenant', () => as('tech', { 'specgate-tenant': 'tenant-b' }), 'acme_list_tickets', /header specgate-tenant names a tenant/],
      ['customer of another tenant', () => as('tech', { 'specgate-customer': 'cust-b' }), 'acme_list_assets', /"cust-b".*not a customer of your tenant/],
      ['customer-bound tool without a customer', () => as('tech'), 'acme_list_assets', /select the customer/],
      ['tool not entitled', () => as('tech'), 'acme_billing', /not entitled to acme_billing/],
      ['policy deny', () => as('tech'), 'acme_get_passwords', /Refused by policy: password vault tools are reserved/],
      ['policy approval', () => as('tech'), 'acme_export', /Held for approval: acme_export needs an operator's approval .*Request [0-9a-f-]{36} is pending/],
    ];
    it.each(cases)('%s is refused, never reaches the upstream, and is audited', async (_label, mkReq, name, message) => {
      const before = upstream.requests.length;
      const id = callId();
      const result = await gov.call(mkReq(), tool(name), {}, id);
      expect(result.isError).toBe(true);
      expect(text(result)).toMatch(message);
      expect(upstream.requests.length).toBe(before);
      const audit = auditRepo(store);
      const chains = [GATEWAY_CHAIN, 'tenant-a'];
      const entries = (await Promise.all(chains.map((t) => audit.search({ tenant: t })))).flat();
      const rec = entries.find((e) => e.record.callId === id);
      expect(rec?.record).toMatchObject({ outcome: 'refused', tool: name, reason: expect.stringMatching(message) });
      expect(typeof rec?.record.decisionId).toBe('string');
    });

    it('an argument naming another tenant is refused', async () => {
      const result = await gov.call(as('tech'), tool('acme_list_tickets'), { tenant_id: 'tenant-b' }, callId());
      expect(text(result)).toMatch(/argument tenant_id names a tenant/);
    });

    it('a policy refusal is audited with the policy decision id', async () => {
      const id = callId();
      await gov.call(as('tech'), tool('acme_get_passwords'), { secretToken: 'abc' }, id);
      const [rec] = (await auditRepo(store).search({ tenant: 'tenant-a' })).filter((e) => e.record.callId === id);
      expect(rec.record.decisionId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
      expect(rec.record).toMatchObject({ step: 'policy', subject: 'alice', arguments: { secretToken: '[redacted]' } });
    });

    it('the quota refuses once exhausted and names when it resets', async () => {
      for (let i = 0; i < 2; i++) expect((await gov.call(as('tech'), tool('acme_get_status'), {}, callId())).isError).toBeFalsy();
      const third = await gov.call(as('tech'), tool('acme_get_status'), {}, callId());
      expect(third.isError).toBe(true);
      expect(text(third)).toMatch(/quota exhausted.*resets at 2026-04-01T00:00:00.000Z/);
    });
  });

  describe('governance chain: approvals', () => {
    const approvals = () => approvalsRepo(store, { now: () => NOW });

    it('holds a call until an operator approves that exact call, then lets it through once', async () => {
      const args = { since: '2026-01-01' };
      const first = await gov.call(as('tech'), tool('acme_export'), args, callId());
      const id = /Request ([0-9a-f-]{36})/.exec(text(first))?.[1];
      expect(id).toBeDefined();
      // Asking again before a decision points at the same request instead of queueing another.
      const again = await gov.call(as('tech'), tool('acme_export'), args, callId());
      expect(text(again)).toContain(id);
      expect((await approvals().list({ tenantId: 'tenant-a', status: 'pending' })).map((a) => a.id)).toContain(id);

      await expect(approvals().decide(id!, { approve: true, by: 'carol', tenantId: 'tenant-b' })).rejects.toThrow(/does not exist/);
      const decided = await approvals().decide(id!, { approve: true, by: 'carol' });
      expect(decided).toMatchObject({ status: 'approved', decidedBy: 'carol', tool: 'acme_export', subject: 'alice' });
      await expect(approvals().decide(id!, { approve: false, by: 'dave' })).rejects.toThrow(/is approved, not pending/);

      // Other arguments are another call: still held.
      const other = await gov.call(as('tech'), tool('acme_export'), { since: '2020-01-01' }, callId());
      expect(text(other)).toMatch(/Held for approval/);
      expect(text(other)).not.toContain(id);

      const before = upstream.requests.length;
      const runId = callId();
      const run = await gov.call(as('tech'), tool('acme_export'), args, runId);
      expect(run.isError).toBeFalsy();
      expect(upstream.requests.length).toBe(before + 1);
      const [rec] = (await auditRepo(store).search({ tenant: 'tenant-a', tool: 'acme_export' })).filter((e) => e.record.callId === runId);
      expect(rec.record).toMatchObject({ outcome: 'ok', approvalId: id });
      expect(await approvals().get(id!)).toMatchObject({ status: 'used', usedByCall: runId });

      // The approval is spent: the same call is held again.
      const after = await gov.call(as('tech'), tool('acme_export'), args, callId());
      expect(text(after)).toMatch(/Held for approval/);
      expect(upstream.requests.length).toBe(before + 1);
    });

    it('a denied request lets nothing through, and another user cannot use someone else\'s approval', async () => {
      const args = { since: '2025-06-01' };
      const held = await gov.call(as('tech'), tool('acme_export'), args, callId());
      const id = /Request ([0-9a-f-]{36})/.exec(text(held))![1];
      await approvals().decide(id, { approve: false, by: 'carol', note: 'not today' });
      const before = upstream.requests.length;
      const retry = await gov.call(as('tech'), tool('acme_export'), args, callId());
      expect(text(retry)).toMatch(/Held for approval/);
      expect(text(retry)).not.toContain(id);
      const next = /Request ([0-9a-f-]{36})/.exec(text(retry))![1];
      await approvals().decide(next, { approve: true, by: 'carol' });
      const keys = apiKeysRepo(store, { now: () => NOW });
      const mallory = (await keys.create({ tenantId: 'tenant-a', subject: 'mallory', roles: ['technician'] })).key;
      const stolen = await gov.call(req({ authorization: `Bearer ${mallory}` }), tool('acme_export'), args, callId());
      expect(text(stolen)).toMatch(/Held for approval/);
      expect(upstream.requests.length).toBe(before);
    });
  });

  describe('governance chain: re-delivered calls (Idempotency-Key)', () => {
    const usageOf = (id: string) => store.db.selectFrom('usage').selectAll().where('call_id', '=', id).execute();

    it('runs a call once however often it is delivered, bills it once, and audits each delivery', async () => {
      const before = upstream.requests.length;
      const headers = () => as('tech', { 'idempotency-key': 'retry-1' });
      const [a, b] = await Promise.all([gov.call(headers(), tool('acme_list_tickets'), {}, callId()), gov.call(headers(), tool('acme_list_tickets'), {}, callId())]);
      const lateId = callId();
      const c = await gov.call(headers(), tool('acme_list_tickets'), {}, lateId);
      expect(upstream.requests.length - before).toBe(1);
      expect(b).toEqual(a);
      expect(c).toEqual(a);
      expect(a.isError).toBeFalsy();
      const entries = (await auditRepo(store).search({ tenant: 'tenant-a', tool: 'acme_list_tickets' }));
      const executed = entries.filter((e) => String(e.record.callId).startsWith('idem-') && e.record.outcome === 'ok');
      expect(executed).toHaveLength(1);
      const replay = entries.find((e) => e.record.callId === lateId);
      expect(replay?.record).toMatchObject({ outcome: 'replayed', replayOf: executed[0].record.callId });
      expect(await usageOf(String(executed[0].record.callId))).toHaveLength(1);
      expect(await usageOf(lateId)).toHaveLength(0);
    });

    it('refuses a reused key with other arguments, and keeps keys of different identities apart', async () => {
      const first = await gov.call(as('tech', { 'idempotency-key': 'k-2' }), tool('acme_export'), { since: 'a' }, callId());
      expect(text(first)).toMatch(/Held for approval/);
      const reuse = await gov.call(as('tech', { 'idempotency-key': 'k-2' }), tool('acme_export'), { since: 'b' }, callId());
      expect(text(reuse)).toMatch(/already used for a call with other arguments/);
      const before = upstream.requests.length;
      await gov.call(as('tech', { 'idempotency-key': 'shared' }), tool('acme_list_tickets'), {}, callId());
      await gov.call(as('techB', { 'idempotency-key': 'shared' }), tool('acme_list_tickets'), {}, callId());
      expect(upstream.requests.length - before).toBe(2);
    });

    it('does not run again a call that another instance (or this one before a restart) already ran', async () => {
      const before = upstream.requests.length;
      await gov.call(as('tech', { 'idempotency-key': 'restart-1' }), tool('acme_list_tickets'), {}, callId());
      const connector = makeConnector(tools);
      const other = createGovernance({
        store, caller: createToolCaller({ connectors: [connector], upstreams: { acme: { baseUrl: upstream.url } }, retries: 0 }),
        policy: createPolicyEngine({ dir: path.resolve(import.meta.dirname, '../policies') }, { now: () => NOW }), now: () => NOW,
      });
      const again = await other.call(as('tech', { 'idempotency-key': 'restart-1' }), tool('acme_list_tickets'), {}, callId());
      expect(text(again)).toMatch(/already ran at 2026-03-15T12:00:00.000Z; its result is no longer held here, so it is not run again/);
      expect(upstream.requests.length - before).toBe(1);
    });

    it('refuses a malformed key, naming the rule', async () => {
      const r = await gov.call(as('tech', { 'idempotency-key': 'has space' }), tool('acme_list_tickets'), {}, callId());
      expect(text(r)).toBe('Refused: an Idempotency-Key must be 1 to 255 visible ASCII characters without spaces');
    });
  });

  describe('governance chain: rate limits', () => {
    it('refuses past the per-identity rate and says when to retry, without touching the upstream', async () => {
      const limits = rateLimitsRepo(store);
      await limits.set({ tenantId: 'tenant-b', scope: 'identity', perSecond: 2 });
      const as_b = () => as('techB', { 'specgate-customer': 'cust-b' });
      const before = upstream.requests.length;
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await gov.call(as_b(), tool('acme_list_tickets'), {}, callId()));
      await limits.remove('tenant-b', 'identity');
      const refused = results.filter((r) => r.isError);
      // Four calls inside one second against a limit of two: at least one is refused (more only if the second rolled over).
      expect(refused.length).toBeGreaterThanOrEqual(1);
      expect(text(refused[0])).toMatch(/rate limit of 2 calls per second for bob in tenant tenant-b reached; retry after \d+ ms/);
      expect(upstream.requests.length - before).toBe(4 - refused.length);
      await expect(limits.set({ tenantId: 'tenant-b', scope: 'tenant', perSecond: 0 })).rejects.toThrow(/positive whole number/);
    });
  });

  describe('governance chain: one decision path', () => {
    it('listing shows exactly the tools a call goes through for', async () => {
      for (const headers of [as('tech'), as('tech', { 'specgate-customer': 'cust-a' }), as('techB', { 'specgate-customer': 'cust-b' })]) {
        const listed = (await gov.visibleTools(headers, catalog)).map((t) => t.name);
        const callable: string[] = [];
        for (const t of catalog.tools) {
          if (t.name === 'acme_get_status') continue; // quota is not a visibility question
          const r = await gov.call(headers, t, {}, callId());
          // A tool held for approval is callable: the call waits for an operator, it is not refused.
          if (!r.isError || text(r).startsWith('Held for approval')) callable.push(t.name);
        }
        expect(listed.filter((n) => n !== 'acme_get_status')).toEqual(callable);
      }
      expect((await gov.visibleTools(as('tech', { 'specgate-customer': 'cust-a' }), catalog)).map((t) => t.name))
        .toEqual(['acme_export', 'acme_get_status', 'acme_list_assets', 'acme_list_tickets']);
    });

    it('listing refuses a request that cannot authenticate', async () => {
      await expect(gov.visibleTools(req(), catalog)).rejects.toMatchObject({ step: 'authenticate', status: 401 });
    });
  });

  describe('governance chain: execution, metering, audit', () => {
    it('forces the customer id from the tenant mapping into the upstream request', async () => {
      const before = upstream.requests.length;
      const result = await gov.call(as('tech', { 'specgate-customer': 'cust-a' }), tool('acme_list_assets'), {}, callId());
      expect(result.isError).toBeFalsy();
      const sent = upstream.requests.slice(before);
      expect(sent).toHaveLength(1);
      expect(new URL(sent[0].url, 'http://x').searchParams.get('company_id')).toBe('V-100');
      // The policy's redact obligation (password) applied to the result.
      expect(text(result)).not.toContain('hunter2');
    });

    it('writes exactly one usage row per call id, even when the call is repeated', async () => {
      const id = callId();
      await gov.call(as('tech'), tool('acme_list_tickets'), {}, id);
      await gov.call(as('tech'), tool('acme_list_tickets'), {}, id);
      const rows = await store.db.selectFrom('usage').selectAll().where('call_id', '=', id).execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ tenant_id: 'tenant-a', subject: 'alice', tool: 'acme_list_tickets', outcome: 'ok', units: 1 });
      // What the vendor sent back is metered beside the call.
      expect(rows[0].upstream_bytes).toBe(Buffer.byteLength(JSON.stringify({ items: [{ id: 1, name: 'x', password: 'hunter2' }] })));
    });

    it('does not meter refused calls', async () => {
      const id = callId();
      await gov.call(as('tech'), tool('acme_billing'), {}, id);
      expect(await store.db.selectFrom('usage').selectAll().where('call_id', '=', id).execute()).toHaveLength(0);
    });

    it('audits successful calls and every chain verifies', async () => {
      const id = callId();
      await gov.call(as('tech', { 'specgate-customer': 'cust-a' }), tool('acme_list_assets'), { apiKey: 'k' } as Record<string, unknown>, id);
      const [rec] = (await auditRepo(store).search({ tenant: 'tenant-a', customer: 'cust-a' })).filter((e) => e.record.callId === id);
      expect(rec.record).toMatchObject({ subject: 'alice', customer: 'cust-a', connector: 'acme', arguments: { apiKey: '[redacted]' } });
      const verified = await auditRepo(store).verify();
      expect(verified).toMatchObject({ ok: true });
      expect((verified as { checked: number }).checked).toBeGreaterThan(20);
    });
  });
});

describe('governance helpers', () => {
  it('redacts secret-looking keys at any depth', () => {
    expect(redactArguments({ q: 'x', nested: [{ Password: 'p', ok: 1 }], access_token: 't', apiKey: 'k' }))
      .toEqual({ q: 'x', nested: [{ Password: '[redacted]', ok: 1 }], access_token: '[redacted]', apiKey: '[redacted]' });
  });
  it('computes UTC periods', () => {
    expect(periodBounds('month', new Date('2026-12-31T23:59:59Z')).next.toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(periodBounds('day', NOW).start.toISOString()).toBe('2026-03-15T00:00:00.000Z');
    expect(() => periodBounds('fortnight', NOW)).toThrow(/unknown quota period "fortnight"/);
  });
});
