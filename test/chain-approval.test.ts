/**
 * The approval step on its own: a `require_approval` decision of the project's policies, the real
 * store's approvals (SQLite), tools of the real generated catalog. One approval lets exactly one
 * call through, and only the call it was given for: this tenant, subject, customer, tool and
 * these arguments, before it expires.
 *
 * No catalog tool is high-risk (the catalog is read-only), so the tools here are catalog models
 * with `riskTier: high`, as a spec that declares it would generate them; the project's rule
 * `high-risk-needs-approval` then asks for an approval.
 */
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadCatalog, type Catalog } from '../runtime/catalog.ts';
import type { ToolModel } from '../runtime/model.ts';
import { createPolicyEngine } from '../runtime/policy/decide.ts';
import type { Decision } from '../runtime/policy/types.ts';
import { requireApproval, type ApprovalSubject } from '../runtime/governance/approval.ts';
import { evaluatePolicy, policyInput } from '../runtime/governance/policy.ts';
import { Refusal } from '../runtime/governance/refusal.ts';
import { REDACTED } from '../runtime/governance/audit.ts';
import type { Identity } from '../runtime/governance/authenticate.ts';
import { approvalsRepo, openStore, tenantsRepo, type Store } from '../runtime/store/index.ts';

const root = path.resolve(import.meta.dirname, '..');
const HOUR = 3600_000;
const TTL = 24 * HOUR;
const START = new Date('2026-11-18T15:00:00Z');

let catalog: Catalog;
let store: Store;
let clock: Date;
const now = () => clock;
const engine = createPolicyEngine({ dir: path.join(root, 'policies') }, { now });

beforeAll(async () => {
  catalog = await loadCatalog(path.join(root, 'generated'));
  store = await openStore('sqlite::memory:');
  for (const id of ['msp-a', 'msp-b']) await tenantsRepo(store).createTenant({ id, name: id });
  for (const [id, tenantId] of [['contoso', 'msp-a'], ['fabrikam', 'msp-a']]) await tenantsRepo(store).createCustomer({ id, tenantId, name: id });
});
afterAll(async () => store?.close());
beforeEach(() => {
  clock = new Date(START);
});

const approvals = () => approvalsRepo(store, { now, ttlMs: TTL });
/** A catalog tool as a spec declaring `riskTier: high` generates it. */
const highRisk = (name: string): ToolModel => ({ ...catalog.byName.get(name)!.tool, riskTier: 'high' });
const admin = (subject: string, tenantId = 'msp-a'): Identity => ({ subject, tenantId, roles: ['security-admin'], keyId: `sg_${subject}`, method: 'api_key' });
const who = (subject: string, customerId: string | null = 'contoso', tenantId = 'msp-a'): ApprovalSubject => ({ tenantId, subject, customerId });

let calls = 0;
const callId = () => `call-${++calls}`;

/** The project's policies' decision for this call. */
async function decisionFor(identity: Identity, tool: ToolModel, customer: string | null, args: Record<string, unknown>): Promise<Decision> {
  return evaluatePolicy(engine, policyInput(identity, identity.tenantId, customer, tool, clock.toISOString(), args, customer));
}

/** Runs the step; the approval id it ran on, or the refusal it threw. */
async function attempt(s: ApprovalSubject, tool: ToolModel, args: Record<string, unknown>, id = callId()): Promise<string | Refusal> {
  const decision = await decisionFor(admin(s.subject, s.tenantId), tool, s.customerId, args);
  try {
    return await requireApproval(approvals(), decision, s, tool, args, id);
  } catch (e) {
    if (e instanceof Refusal) return e;
    throw e;
  }
}

/** The pending request a refusal names. */
function pendingId(r: string | Refusal): string {
  expect(r).toBeInstanceOf(Refusal);
  const id = /Request ([0-9a-f-]{36}) is pending/.exec((r as Refusal).message)?.[1];
  expect(id).toBeDefined();
  return id!;
}

/** Holds the call, approves its request as `by`, and hands back the approval id. */
async function approved(s: ApprovalSubject, tool: ToolModel, args: Record<string, unknown>, by = 'second-person'): Promise<string> {
  const id = pendingId(await attempt(s, tool, args));
  await approvals().decide(id, { approve: true, by });
  return id;
}

describe('approval step', () => {
  const asset = () => highRisk('hudu_get_asset');

  it('the project\'s policy asks for an approval for a high-risk tool, and the step holds the call naming tool, reason and request', async () => {
    const decision = await decisionFor(admin('alice'), asset(), 'contoso', { asset_id: 7 });
    expect(decision.effect).toBe('require_approval');
    const r = await attempt(who('alice'), asset(), { asset_id: 7 });
    expect(r).toMatchObject({ step: 'policy', code: 'needs-approval', status: 403 });
    expect((r as Refusal).decisionId).toMatch(/^[0-9a-f-]{36}$/);
    expect((r as Refusal).message).toMatch(/^Held for approval: hudu_get_asset needs an operator's approval \(high-risk tool; a second person must approve this call\)\. Request [0-9a-f-]{36} is pending until 2026-11-19T15:00:00\.000Z; once it is approved, call hudu_get_asset again with the same arguments\.$/);
    const pending = await approvals().get(pendingId(r));
    expect(pending).toMatchObject({
      tenantId: 'msp-a', subject: 'alice', customerId: 'contoso', connector: 'hudu', tool: 'hudu_get_asset',
      arguments: { asset_id: 7 }, decisionId: (r as Refusal).decisionId, status: 'pending', reason: 'high-risk tool; a second person must approve this call',
    });
  });

  it('asking again for the same call does not queue a second request', async () => {
    const first = pendingId(await attempt(who('bert'), asset(), { asset_id: 70 }));
    const again = pendingId(await attempt(who('bert'), asset(), { asset_id: 70 }));
    expect(again).toBe(first);
    const mine = (await approvals().list({ tenantId: 'msp-a', status: 'pending' })).filter((a) => a.subject === 'bert');
    expect(mine.map((a) => a.id)).toEqual([first]);
  });

  it('an approval lets exactly one call through and is marked used by it; the next identical call is held again', async () => {
    const id = await approved(who('carla'), asset(), { asset_id: 8 });
    expect(await attempt(who('carla'), asset(), { asset_id: 8 }, 'call-run-once')).toBe(id);
    expect(await approvals().get(id)).toMatchObject({ status: 'used', usedByCall: 'call-run-once' });
    const again = await attempt(who('carla'), asset(), { asset_id: 8 });
    expect(pendingId(again)).not.toBe(id);
  });

  it('the arguments are compared as canonical JSON: key order does not matter, anything else does', async () => {
    const tool = highRisk('halopsa_list_tickets');
    const id = await approved(who('dora'), tool, { search: 'printer', open_only: true, limit: 5 });
    for (const other of [
      { search: 'printer', open_only: true, limit: 6 },
      { search: 'printer', open_only: true },
      { search: 'printer', open_only: true, limit: 5, agent_id: 1 },
      { search: 'Printer', open_only: true, limit: 5 },
      { search: 'printer', open_only: 'true', limit: 5 },
      { search: 'printer', open_only: true, limit: '5' },
    ]) {
      expect(await attempt(who('dora'), tool, other)).toBeInstanceOf(Refusal);
    }
    // None of those used it up: the approved call still runs, arguments in another order.
    expect(await attempt(who('dora'), tool, { limit: 5, open_only: true, search: 'printer' })).toBe(id);
  });

  it('an approval is not used for another tool, another customer, no customer, another subject or another tenant', async () => {
    const args = { asset_id: 9 };
    const id = await approved(who('emil'), asset(), args);
    expect(await attempt(who('emil'), highRisk('hudu_get_company'), { asset_id: 9 })).toBeInstanceOf(Refusal);
    expect(await attempt(who('emil', 'fabrikam'), asset(), args)).toBeInstanceOf(Refusal);
    expect(await attempt(who('emil', null), asset(), args)).toBeInstanceOf(Refusal);
    expect(await attempt(who('Emil'), asset(), args)).toBeInstanceOf(Refusal);
    expect(await attempt(who('emil2'), asset(), args)).toBeInstanceOf(Refusal);
    expect(await attempt(who('emil', 'contoso', 'msp-b'), asset(), args)).toBeInstanceOf(Refusal);
    expect(await approvals().get(id)).toMatchObject({ status: 'approved', usedByCall: null });
    expect(await attempt(who('emil'), asset(), args)).toBe(id);
  });

  it('an expired approval lets nothing through, and an approval given after a request expired is refused', async () => {
    const id = await approved(who('fritz'), asset(), { asset_id: 10 });
    clock = new Date(START.getTime() + TTL);
    const held = await attempt(who('fritz'), asset(), { asset_id: 10 });
    expect(pendingId(held)).not.toBe(id);
    expect(await approvals().get(id)).toMatchObject({ status: 'expired' });

    clock = new Date(START);
    const late = pendingId(await attempt(who('fritz'), asset(), { asset_id: 11 }));
    clock = new Date(START.getTime() + TTL + 1);
    await expect(approvals().decide(late, { approve: true, by: 'second-person' })).rejects.toThrow(/is expired, not pending/);
  });

  it('a denied request lets nothing through, and the caller cannot approve their own', async () => {
    const denied = pendingId(await attempt(who('gina'), asset(), { asset_id: 12 }));
    await approvals().decide(denied, { approve: false, by: 'second-person', note: 'no' });
    const held = await attempt(who('gina'), asset(), { asset_id: 12 });
    const next = pendingId(held);
    expect(next).not.toBe(denied);
    await expect(approvals().decide(next, { approve: true, by: ' GINA ' })).rejects.toThrow(/cannot approve it: a second person must/);
    expect(await attempt(who('gina'), asset(), { asset_id: 12 })).toBeInstanceOf(Refusal);
  });

  it('concurrent identical calls on one approval: exactly one runs on it', async () => {
    const id = await approved(who('hans'), asset(), { asset_id: 13 });
    const outcomes = await Promise.all(Array.from({ length: 12 }, (_, i) => attempt(who('hans'), asset(), { asset_id: 13 }, `race-${i}`)));
    const ran = outcomes.filter((o) => o === id);
    expect(ran).toHaveLength(1);
    expect(outcomes.filter((o) => o instanceof Refusal)).toHaveLength(11);
    const used = await approvals().get(id);
    expect(used?.status).toBe('used');
    expect(used?.usedByCall).toMatch(/^race-\d+$/);
  });

  it('secret-looking arguments reach the approver redacted, and the approval still binds their real value', async () => {
    const tool = highRisk('itglue_get_password_metadata');
    const r = await attempt(who('ines', 'contoso'), tool, { password_id: 4711 });
    const pending = await approvals().get(pendingId(r));
    expect(pending?.arguments).toEqual({ password_id: REDACTED });
    expect(JSON.stringify(pending)).not.toContain('4711');
    await approvals().decide(pending!.id, { approve: true, by: 'second-person' });
    expect(await attempt(who('ines', 'contoso'), tool, { password_id: 4712 })).toBeInstanceOf(Refusal);
    expect(await attempt(who('ines', 'contoso'), tool, { password_id: 4711 })).toBe(pending!.id);
  });
});
