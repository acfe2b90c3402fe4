/**
 * The governance chain: authenticate, resolve tenant, scope customer, check entitlement, evaluate
 * policy, check quota, then the caller's validate / execute / shape, then meter and audit.
 * Listing and calling share `prepare` and `authorize`, so a tool is listed exactly when those
 * steps would let a call through (quota aside, which is about how often, not what).
 */
import type { Catalog } from './catalog.ts';
import type { ToolModel } from './model.ts';
import type { ToolCaller, CallToolResult } from './call.ts';
import { apiKeysRepo, auditRepo, quotaRepo, settingsRepo, tenantsRepo, usageRepo, type Store, type ApiKeysOptions } from './store/index.ts';
import { uuidv7 } from './policy/decide.ts';
import type { Decision } from './policy/types.ts';
import { Refusal, type GovernanceRequest } from './chain/refusal.ts';
import { authenticate, type Identity } from './chain/authenticate.ts';
import { resolveTenant, tenantClaims } from './chain/tenant.ts';
import { isCustomerBound, requireCustomerFor, scopeCustomer, type CustomerScope } from './chain/customer.ts';
import { loadEntitlements, requireEntitled, type Entitled } from './chain/entitlement.ts';
import { evaluatePolicy, policyInput, withObligations, type PolicyDecider } from './chain/policy.ts';
import { checkQuota } from './chain/quota.ts';
import { meterCall } from './chain/meter.ts';
import { auditCall } from './chain/audit.ts';
import { errorResult } from './chain/execute.ts';

export { Refusal, type GovernanceRequest } from './chain/refusal.ts';
export type { Identity } from './chain/authenticate.ts';

export interface GovernanceOptions {
  store: Store;
  policy: PolicyDecider;
  caller: Pick<ToolCaller, 'callTool'>;
  /** The API key pepper the keys were created with. */
  apiKeys?: ApiKeysOptions;
  now?: () => Date;
}

/** Who is calling, for whom: the outcome of the request-wide steps. */
export interface Principal {
  identity: Identity;
  tenantId: string;
  customer: CustomerScope;
  entitled: Entitled;
}

export interface Governance {
  /** Steps 1-3 for a request; throws Refusal. The HTTP layer may call it first to answer 401. */
  principal(req: GovernanceRequest, connectors: string[]): Promise<Principal>;
  /** The catalog's tools this caller may call, in catalog order. Throws Refusal when the request itself is refused. */
  visibleTools(req: GovernanceRequest, catalog: Catalog): Promise<ToolModel[]>;
  /** One governed tools/call; refusals come back as isError results, and every call is audited. */
  call(req: GovernanceRequest, tool: ToolModel, args: Record<string, unknown>, callId: string): Promise<CallToolResult>;
}

export function createGovernance(options: GovernanceOptions): Governance {
  const { store, policy, caller } = options;
  const now = options.now ?? (() => new Date());
  const keys = apiKeysRepo(store, { ...options.apiKeys, now });
  const tenants = tenantsRepo(store, now);
  const settings = settingsRepo(store, now);
  const quotas = quotaRepo(store);
  const usage = usageRepo(store, now);
  const audit = auditRepo(store, now);

  async function principal(req: GovernanceRequest, connectors: string[]): Promise<Principal> {
    const identity = await authenticate(keys, req.headers);
    const tenantId = resolveTenant(identity, tenantClaims(req));
    const customer = await scopeCustomer(tenants, tenantId, req, connectors);
    const entitled = await loadEntitlements(settings, tenantId);
    return { identity, tenantId, customer, entitled };
  }

  /** Steps 2 (argument claims) to 5 for one tool; the one decision path for listing and calling. */
  async function authorize(p: Principal, req: GovernanceRequest, tool: ToolModel, time: string, args?: Record<string, unknown>): Promise<Decision> {
    if (args) resolveTenant(p.identity, tenantClaims(req, tool, args));
    requireCustomerFor(tool, p.customer);
    requireEntitled(p.entitled, tool);
    const customer = isCustomerBound(tool) ? p.customer.customerId : null;
    return evaluatePolicy(policy, policyInput(p.identity, p.tenantId, customer, tool, time, args));
  }

  return {
    principal,

    async visibleTools(req, catalog) {
      const p = await principal(req, catalog.connectors.map((c) => c.model.name));
      const time = now().toISOString();
      const visible: ToolModel[] = [];
      for (const tool of catalog.tools) {
        try {
          await authorize(p, req, tool, time);
          visible.push(tool);
        } catch (e) {
          if (!(e instanceof Refusal)) throw e;
        }
      }
      return visible;
    },

    async call(req, tool, args, callId) {
      let p: Principal | undefined;
      let decision: Decision | undefined;
      const base = { callId, requestId: req.requestId, connector: tool.connector, tool: tool.name, arguments: args };
      const who = () => ({
        tenantId: p?.tenantId ?? null,
        subject: p?.identity.subject ?? null,
        keyId: p?.identity.keyId ?? null,
        customer: p?.customer.customerId ?? null,
      });
      try {
        p = await principal(req, [tool.connector]);
        const at = now();
        decision = await authorize(p, req, tool, at.toISOString(), args);
        await checkQuota(quotas, p.tenantId, tool, at);
      } catch (e) {
        if (!(e instanceof Refusal)) throw e;
        await auditCall(audit, { ...base, ...who(), decisionId: e.decisionId ?? uuidv7(), outcome: 'refused', step: e.step, code: e.code, reason: e.message });
        return errorResult(e.message);
      }

      const started = performance.now();
      const result = await caller.callTool(withObligations(tool, decision.obligations), args, {
        requestId: req.requestId,
        signal: req.signal ?? new AbortController().signal,
        customerIds: p.customer.vendorIds,
        tenantId: p.tenantId,
      });
      const outcome = result.isError ? 'error' : 'ok';
      await meterCall(usage, {
        callId, tenantId: p.tenantId, customerId: p.customer.customerId, subject: p.identity.subject,
        connector: tool.connector, tool: tool.name, outcome,
        latencyMs: Math.round(performance.now() - started), upstreamBytes: 0, units: 1,
      });
      await auditCall(audit, { ...base, ...who(), decisionId: decision.id, outcome });
      return result;
    },
  };
}
