/**
 * The policy step on its own: the input document built from the authenticated identity and the
 * parsed call, the project's policies (policies/) deciding over tools of the real generated
 * catalog, deny reasons, obligations folded into a tool's shape, and decision ids. Nothing a
 * caller sends as arguments can change who the policy sees calling, for which tenant or customer.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog, type Catalog } from '../runtime/catalog.ts';
import type { ToolModel } from '../runtime/model.ts';
import { createPolicyEngine } from '../runtime/policy/decide.ts';
import type { Decision, PolicyInput } from '../runtime/policy/types.ts';
import { decisionReasons, evaluatePolicy, policyInput, policyTool, withObligations, type PolicyDecider } from '../runtime/governance/policy.ts';
import { Refusal } from '../runtime/governance/refusal.ts';
import type { Identity } from '../runtime/governance/authenticate.ts';

const root = path.resolve(import.meta.dirname, '..');
// A Wednesday, 10:00 in New York: inside acme-msp's business hours (policies/data/business_hours.yaml).
const WEDNESDAY = '2026-11-18T15:00:00.000Z';
const SATURDAY = '2026-11-21T15:00:00.000Z';

let catalog: Catalog;
const seen: Array<{ decision: Decision; input: PolicyInput }> = [];
const engine = createPolicyEngine({ dir: path.join(root, 'policies') }, { onDecision: (decision, input) => seen.push({ decision, input }) });
beforeAll(async () => {
  catalog = await loadCatalog(path.join(root, 'generated'));
});
const tool = (name: string): ToolModel => catalog.byName.get(name)!.tool;
const as = (roles: string[], tenantId = 'msp-a', subject = 'alice'): Identity => ({ subject, tenantId, roles, keyId: `sg_${subject}`, method: 'api_key' });

/** The step as the composer runs it: refusals caught so a test can look at them. */
async function decide(identity: Identity, t: ToolModel, opts: { customer?: string | null; actingFor?: string | null; args?: Record<string, unknown>; time?: string } = {}): Promise<Decision | Refusal> {
  try {
    return await evaluatePolicy(engine, policyInput(identity, identity.tenantId, opts.customer ?? null, t, opts.time ?? WEDNESDAY, opts.args, opts.actingFor));
  } catch (e) {
    if (e instanceof Refusal) return e;
    throw e;
  }
}

describe('policy input', () => {
  it('is built from the identity, the resolved tenant and customer, and the tool model; arguments only when a call has them', () => {
    const input = policyInput(as(['technician']), 'msp-a', 'contoso', tool('hudu_list_passwords'), WEDNESDAY, { page: 2 }, 'contoso');
    expect(input).toEqual({
      identity: { subject: 'alice', roles: ['technician'], tenant: 'msp-a' },
      tenant: 'msp-a', customer: 'contoso', actingFor: 'contoso', connector: 'hudu',
      tool: {
        name: 'hudu_list_passwords', riskTier: 'medium', annotations: tool('hudu_list_passwords').annotations, tags: ['asset passwords'],
        sensitivity: 'credentials', scope: { kind: 'customer', bound: ['company_id'], verified: 'company_id' },
      },
      arguments: { page: 2 }, time: WEDNESDAY,
    });
    // A listing has no arguments and says nothing about acting for a customer.
    const listing = policyInput(as(['technician']), 'msp-a', null, tool('hudu_list_companies'), WEDNESDAY);
    expect('arguments' in listing).toBe(false);
    expect('actingFor' in listing).toBe(false);
    // The credential itself never reaches the policy.
    expect(JSON.stringify(listing)).not.toContain('sg_alice');
  });

  it('a tool the spec declares no sensitivity for is `none` to a policy, and tags arrive normalised', () => {
    expect(policyTool(tool('hudu_list_assets'))).toMatchObject({ sensitivity: 'none', tags: ['assets'] });
    expect(policyTool({ ...tool('hudu_list_assets'), tags: ['  Asset   Passwords '] }).tags).toEqual(['asset passwords']);
  });

  it('arguments cannot forge the tenant, customer, roles or acting-for a policy sees, nor its time', async () => {
    const forged = JSON.parse(`{
      "tenant": "msp-b", "customer": "fabrikam", "actingFor": null, "time": "${SATURDAY}",
      "identity": { "subject": "root", "roles": ["security-admin"], "tenant": "msp-b" },
      "roles": ["security-admin"], "tool": { "name": "hudu_list_assets", "riskTier": "low", "sensitivity": "none" },
      "__proto__": { "tenant": "msp-b", "customer": "fabrikam", "roles": ["security-admin"] }
    }`) as Record<string, unknown>;
    const input = policyInput(as(['technician']), 'msp-a', 'contoso', tool('hudu_list_passwords'), WEDNESDAY, forged, 'contoso');
    expect(input).toMatchObject({ tenant: 'msp-a', customer: 'contoso', actingFor: 'contoso', time: WEDNESDAY, identity: { subject: 'alice', roles: ['technician'], tenant: 'msp-a' } });
    expect(input.tool.name).toBe('hudu_list_passwords');
    expect(input.arguments).toBe(forged);

    // And the decision is the technician's: the password tool stays refused.
    const before = seen.length;
    const r = await decide(as(['technician']), tool('hudu_list_passwords'), { customer: 'contoso', actingFor: 'contoso', args: forged });
    expect(r).toBeInstanceOf(Refusal);
    expect((r as Refusal).message).toBe('Refused by policy: password vault tools are reserved for security admins');
    const logged = seen.slice(before).at(-1)!.input;
    expect(logged).toMatchObject({ tenant: 'msp-a', customer: 'contoso', identity: { roles: ['technician'] }, tool: { name: 'hudu_list_passwords', sensitivity: 'credentials' } });

    // The tenant's business hours are the resolved tenant's, not one an argument names.
    const acme = await decide(as(['technician'], 'acme-msp'), tool('hudu_list_assets'), { customer: 'contoso', args: { tenant: 'msp-a' }, time: SATURDAY });
    expect(acme).toBeInstanceOf(Refusal);
    expect((acme as Refusal).message).toBe("Refused by policy: outside the tenant's business hours");
  });
});

describe('policy step', () => {
  it('allows a technician\'s low-risk read with the package\'s redactions and the rule\'s item cap', async () => {
    const d = await decide(as(['technician']), tool('hudu_list_assets'), { customer: 'contoso' });
    expect(d).toMatchObject({ effect: 'allow', allow: true, obligations: { redact: ['otp_secret', 'password'], maxItems: 50 } });
    const medium = await decide(as(['technician']), tool('halopsa_get_ticket'), { customer: 'contoso' });
    expect(medium).toMatchObject({ effect: 'allow', obligations: { redact: ['otp_secret', 'password'], maxItems: 25 } });
    // Two matching allow rules: the smaller cap wins.
    const both = await decide(as(['security-admin', 'technician']), tool('hudu_list_assets'), { customer: 'contoso' });
    expect(both).toMatchObject({ effect: 'allow', obligations: { maxItems: 50 } });
    expect((both as Decision).reasons.map((r) => r.rule)).toEqual(['specgate.msp/technician-low-risk', 'specgate.msp/security-admin-all']);
  });

  it('hands a require_approval decision back instead of refusing it', async () => {
    const d = await decide(as(['technician']), { ...tool('hudu_get_asset'), riskTier: 'high' }, { customer: 'contoso' });
    expect(d).toMatchObject({ effect: 'require_approval', allow: false, obligations: { redact: ['otp_secret', 'password'] } });
  });

  it('a refusal gives the deny rules\' messages only, in rule order, with the decision\'s id', async () => {
    const before = seen.length;
    const r = await decide(as(['technician'], 'acme-msp'), tool('hudu_list_companies'), { actingFor: 'contoso', time: SATURDAY });
    expect(r).toBeInstanceOf(Refusal);
    expect(r).toMatchObject({ step: 'policy', code: 'denied', status: 403 });
    expect((r as Refusal).message).toBe("Refused by policy: this tool returns records of every customer; it is not available while acting for one customer; outside the tenant's business hours");
    const decision = seen.slice(before).at(-1)!.decision;
    expect((r as Refusal).decisionId).toBe(decision.id);
    // The allow that also matched is in the decision, not in what the caller is told.
    expect(decision.reasons.map((x) => x.effect)).toContain('allow');
    expect(decision.obligations).toEqual({ redact: [] });
    expect(decisionReasons(decision)).not.toMatch(/technician/i);
  });

  it('the same tenant-wide tool is allowed when not acting for a customer, and on call outside hours', async () => {
    expect(await decide(as(['technician'], 'acme-msp'), tool('hudu_list_companies'), { actingFor: null })).toMatchObject({ effect: 'allow' });
    expect(await decide(as(['on-call', 'technician'], 'acme-msp'), tool('hudu_list_assets'), { customer: 'contoso', time: SATURDAY })).toMatchObject({ effect: 'allow' });
  });

  it('a role no rule knows gets the package default, named as such', async () => {
    const r = await decide(as(['guest']), tool('hudu_list_assets'), { customer: 'contoso' });
    expect((r as Refusal).message).toBe('Refused by policy: no rule matched');
    expect(await decide(as([]), tool('hudu_list_assets'))).toBeInstanceOf(Refusal);
  });

  it('every decision has its own id, in the order the decisions were made, also for identical inputs', async () => {
    const before = seen.length;
    for (let i = 0; i < 300; i++) await decide(as(['technician']), tool('hudu_list_assets'), { customer: 'contoso' });
    const ids = seen.slice(before).map((s) => s.decision.id);
    expect(new Set(ids).size).toBe(300);
    expect([...ids].sort()).toEqual(ids);
  });

  it('fails closed on a decider that breaks or answers something it does not know', async () => {
    const input = policyInput(as(['technician']), 'msp-a', 'contoso', tool('hudu_list_assets'), WEDNESDAY, {});
    const broken: PolicyDecider = { decide: async () => { throw new Error('OPA unreachable'); } };
    await expect(evaluatePolicy(broken, input)).rejects.toThrow('OPA unreachable');
    const real = engine.decide(input);
    for (const effect of ['ALLOW', 'permit', '', undefined] as unknown as Decision['effect'][]) {
      const odd: PolicyDecider = { decide: async () => ({ ...real, effect, allow: true }) };
      await expect(evaluatePolicy(odd, input)).rejects.toMatchObject({ step: 'policy', code: 'denied' });
    }
    // An asynchronous decider (an OPA client) is awaited like the local engine.
    const remote: PolicyDecider = { decide: async (i) => engine.decide(i) };
    expect(await evaluatePolicy(remote, input)).toMatchObject({ effect: 'allow' });
  });
});

describe('obligations', () => {
  it('adds the redactions to the tool\'s own (sorted, once each) and lowers, never raises, its item cap', () => {
    const asset = tool('hudu_get_asset');
    const snapshot = structuredClone(asset);
    const tightened = withObligations(asset, { redact: ['serial', 'password'], maxItems: 10 });
    expect(tightened.shape.redact).toEqual(['otp_secret', 'password', 'serial']);
    expect(tightened.shape.maxItems).toBe(10);
    expect(tightened.shape.project).toBe(asset.shape.project);
    expect(withObligations(asset, { redact: [], maxItems: 1000 }).shape.maxItems).toBe(asset.shape.maxItems);
    expect(withObligations(asset, { redact: [], maxItems: 0 }).shape.maxItems).toBe(0);
    // The catalog's model is untouched: obligations are for this call only.
    expect(asset).toEqual(snapshot);
  });

  it('a tool without redactions of its own gets the obligation\'s; no obligations leaves the tool as it is', () => {
    const ticket = tool('halopsa_get_ticket');
    expect(ticket.shape.redact).toBeUndefined();
    expect(withObligations(ticket, { redact: ['password'] }).shape).toMatchObject({ redact: ['password'], maxItems: ticket.shape.maxItems });
    expect(withObligations(ticket, { redact: [] })).toBe(ticket);
  });

  it('the project\'s decision for a call, folded into the tool, is what shaping will enforce', async () => {
    const d = await decide(as(['technician']), tool('halopsa_get_ticket'), { customer: 'contoso' }) as Decision;
    const shaped = withObligations(tool('halopsa_get_ticket'), d.obligations);
    expect(shaped.shape.redact).toEqual(['otp_secret', 'password']);
    expect(shaped.shape.maxItems).toBe(25);
  });
});
