/**
 * The governance chain, steps numbered as in docs/architecture.md (runtime flow, step 6):
 * 1 argument bounds, 2 authenticate, 3 tenant, 4 customer, 5 entitlement, 6 idempotency,
 * 7 policy, 8 rate limit, 9 validate, 10 approval and quota, 11 response cache, 12 vendor budget
 * and the executor, 13 meter and audit. Every outcome (refusal, replay, error) ends in step 13.
 * Listing and calling share `prepare` and `authorize`, so a tool is listed exactly when those
 * steps would let a call through (quota aside, which is about how often, not what).
 */
import type { Catalog } from './catalog.ts';
import type { ToolModel } from './model.ts';
import type { ToolCaller } from './call.ts';
import type { CallToolResult } from './tool-call.ts';
import { apiKeysRepo, approvalsRepo, consumeQuotaIn, createGroupCommit, createSettingsCache, usageRepo, type Store, type ApiKeysOptions, type UsageRecord } from './store/index.ts';
import { uuidv7 } from './ids.ts';
import type { Decision } from './policy/types.ts';
import { Refusal, refusedResult, type GovernanceRequest } from './governance/refusal.ts';
import { authenticate, type Identity } from './governance/authenticate.ts';
import { createJwtVerifier } from './identity/jwt.ts';
import type { IdentityConfig } from './identity/providers.ts';
import { resolveTenant, tenantClaims } from './governance/tenant.ts';
import { checkCustomerClaims, isCustomerBound, requireCustomerFor, scopeCustomer } from './governance/customer.ts';
import { loadEntitlements, requireEntitled } from './governance/entitlement.ts';
import type { Principal } from './request-context.ts';
import { evaluatePolicy, policyInput, withObligations, type PolicyDecider } from './governance/policy.ts';
import { checkQuota } from './governance/quota.ts';
import { createRateLimiter } from './governance/rate-limit.ts';
import { requireApproval } from './governance/approval.ts';
import { usageRecord } from './governance/meter.ts';
import { createCallRecorder } from './governance/record.ts';
import { createIdempotency, idempotencyKey, keyOwner } from './governance/idempotency.ts';
import { argumentLimitViolation } from './governance/limits.ts';
import { validateArguments } from './execution/validate.ts';
import type { CallAudit } from './governance/audit.ts';
import { errorResult } from './tool-call.ts';
import { ownershipAudit, type OwnershipReport } from './execution/ownership.ts';
import { createResponseCache, type ResponseCacheOptions } from './governance/response-cache.ts';
import { createVendorBudgets, type VendorBudget } from './governance/vendor-budget.ts';
import { contextOf, endSpan, inSpan, startSpan } from './ops/tracing.ts';

export { Refusal, type GovernanceRequest } from './governance/refusal.ts';
export type { Identity } from './governance/authenticate.ts';

export interface GovernanceOptions {
  store: Store;
  policy: PolicyDecider;
  caller: Pick<ToolCaller, 'callTool'>;
  /** The API key pepper the keys were created with. */
  apiKeys?: ApiKeysOptions;
  /** Trusted OAuth/OIDC providers: their JWT access tokens are accepted beside API keys. */
  identity?: IdentityConfig;
  /** How long an approval request waits and an approval stays usable; default 24 h. */
  approvalTtlMs?: number;
  now?: () => Date;
  /** Told about an unexpected failure inside the chain (it is audited as an internal error); for the log. */
  onInternalError?: (error: unknown, requestId: string) => void;
  /** Opt-in reuse of read results per tool (tenant, customer, tool and arguments in the key). */
  responseCache?: ResponseCacheOptions;
  /** Request budgets per connector, counted per tenant's vendor instance. */
  vendorBudgets?: Record<string, VendorBudget>;
}

/** A request as the chain takes it: with the edge's decisions when the edge made them. */
export type ChainRequest = GovernanceRequest & { principal?: Principal };

export interface Governance {
  /** Step 2 alone: who the credential is; throws Refusal. */
  identify(req: GovernanceRequest): Promise<Identity>;
  /**
   * Steps 2-5 for a request; throws Refusal. The HTTP edge runs it once per request (to answer
   * 401/403 before the body is read) with the identity it verified, and the request context
   * carries the outcome to the call.
   */
  principal(req: GovernanceRequest, connectors: string[], known?: Identity): Promise<Principal>;
  /** The catalog's tools this caller may call, in catalog order. Throws Refusal when the request itself is refused. */
  visibleTools(req: ChainRequest, catalog: Catalog): Promise<ToolModel[]>;
  /** One governed tools/call; refusals come back as isError results, and every call is audited. */
  call(req: ChainRequest, tool: ToolModel, args: Record<string, unknown>, callId: string): Promise<CallToolResult>;
}

export function createGovernance(options: GovernanceOptions): Governance {
  const { store, policy, caller } = options;
  const now = options.now ?? (() => new Date());
  const keys = apiKeysRepo(store, { ...options.apiKeys, now });
  // What a call reads before it runs, from memory while the store's settings version stands still:
  // each request confirms it once (identify), its later steps read `latest()`.
  const settings = createSettingsCache(store);
  const group = createGroupCommit(store);
  // Quota counters are taken in the group commit too: one transaction for many concurrent calls.
  // Not durable on their own: the call's usage and audit commit after them and make them durable,
  // and a counter lost with the machine belongs to a call that never answered.
  const quotas = {
    listQuotas: async (tenantId: string) => (await settings.latest()).listQuotas(tenantId),
    consume: (tenantId: string, scope: string, periodStart: string, limit: number) =>
      group.run([], (trx) => consumeQuotaIn(trx, tenantId, scope, periodStart, limit), { durable: false }),
  };
  const rateLimiter = createRateLimiter({ list: async (tenantId) => (await settings.latest()).rateLimits(tenantId) });
  const approvals = approvalsRepo(store, { now, ...(options.approvalTtlMs !== undefined && { ttlMs: options.approvalTtlMs }) });
  const recorder = createCallRecorder(group, now);
  // Always there: tools opt in in their spec; the operator's --cache rules only adjust.
  const responseCache = createResponseCache(options.responseCache ?? {});
  const vendorBudgets = createVendorBudgets(options.vendorBudgets ?? {});
  const idempotency = createIdempotency({
    ranCall: usageRepo(store, now).ranCall,
  });
  const jwt = options.identity?.providers.length
    ? createJwtVerifier(options.identity, { now, knownTenant: async (id) => (await (await settings.latest()).getTenant(id)) !== undefined })
    : undefined;

  /** Step 2, and the start of every request's reads: the settings version is confirmed here. */
  async function identityOf(req: GovernanceRequest): Promise<Identity> {
    const view = await settings.current();
    return authenticate({ keys: { verify: (key) => keys.verify(key, view.apiKey) }, ...(jwt && { jwt }) }, req.headers);
  }

  /** `known`: the identity the caller already verified for this request (no second look-up). */
  async function principal(req: GovernanceRequest, connectors: string[], known?: Identity): Promise<Principal> {
    const identity = known ?? await step(req, 'authenticate', () => identityOf(req));
    const view = await settings.latest();
    const tenantId = await step(req, 'tenant', () => resolveTenant(identity, tenantClaims(req)));
    const customer = await step(req, 'customer', () => scopeCustomer(view, tenantId, req, connectors));
    const entitled = await step(req, 'entitlement', () => loadEntitlements(view, tenantId));
    return { identity, tenantId, customer, entitled };
  }

  /**
   * The principal of this message: the edge's, once what the message adds (tenant and customer
   * claims in its `_meta`) is checked against it; else steps 2-5 decided here (stdio).
   */
  async function principalOf(req: ChainRequest, connectors: string[], known?: Identity): Promise<Principal> {
    const edge = req.principal;
    if (!edge) return principal(req, connectors, known);
    // Each step still shows in the trace, in order: steps 2 and 5 reuse the edge's answer.
    await step(req, 'authenticate', () => edge.identity);
    await step(req, 'tenant', () => resolveTenant(edge.identity, tenantClaims(req)));
    await step(req, 'customer', () => checkCustomerClaims(req));
    await step(req, 'entitlement', () => edge.entitled);
    return edge;
  }

  /** Steps 3 (argument claims), 4, 5 and 7 for one tool; the one decision path for listing and calling. */
  async function authorize(p: Principal, req: GovernanceRequest, tool: ToolModel, time: string, args?: Record<string, unknown>): Promise<Decision> {
    if (args) resolveTenant(p.identity, tenantClaims(req, tool, args));
    requireCustomerFor(tool, p.customer);
    requireEntitled(p.entitled, tool);
    const customer = isCustomerBound(tool) ? p.customer.customerId : null;
    return evaluatePolicy(policy, policyInput(p.identity, p.tenantId, customer, tool, time, args, p.customer.customerId));
  }

  return {
    identify: identityOf,
    principal,

    async visibleTools(req, catalog) {
      const p = await principalOf(req, catalog.connectors.map((c) => c.model.name));
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

    async call(req, tool, args, requestCallId) {
      const c: CallSubject = { callId: requestCallId, req, tool, args };
      // Everything from here to the audit write is inside this try: whatever goes wrong becomes an
      // audited refusal or an audited internal error. Only a failing audit write itself escapes.
      try {
        return await run(c);
      } catch (e) {
        if (e instanceof AuditWriteFailed) throw e.cause;
        try {
          return await failed(e, c);
        } catch (f) {
          throw f instanceof AuditWriteFailed ? f.cause : f;
        }
      }
    },
  };

  async function run(c: CallSubject): Promise<CallToolResult> {
    const { req, tool, args } = c;
    // 1. First, before any other step reads the arguments: later walkers rely on these bounds.
    const outOfBounds = argumentLimitViolation(args);
    if (outOfBounds) c.args = { [OMITTED]: outOfBounds };
    // 2-5. Known first, so that a refusal by a later step is recorded in the caller's own tenant chain.
    c.identity = req.principal?.identity ?? await step(req, 'authenticate', () => identityOf(req));
    const p = c.p = await principalOf(req, [tool.connector], c.identity);
    if (outOfBounds) throw new Refusal('arguments', 'limits', `Refused: ${outOfBounds}; send a smaller call`, 400);
    // 6. A re-delivered call runs once.
    const key = idempotencyKey(req);
    if (key === undefined) return governed(c);
    // A replay is decided like a fresh call: a result is only ever returned to a caller who may make this call now.
    const decision = await authorize(p, req, tool, now().toISOString(), args);
    const callId = idempotency.callId(p.tenantId, keyOwner(p.identity), key);
    const { result, replayed } = await idempotency.once(callId, { tool: tool.name, customer: p.customer.customerId, arguments: args },
      () => governed({ ...c, callId }, decision));
    if (!replayed) return result;
    await record({ ...audited(c), decisionId: decision.id, outcome: 'replayed', replayOf: callId });
    return result;
  }

  /** The audit fields every record of a call carries, whatever its outcome. */
  function audited(c: CallSubject) {
    return {
      callId: c.callId, requestId: c.req.requestId, connector: c.tool.connector, tool: c.tool.name, arguments: c.args,
      tenantId: c.p?.tenantId ?? c.identity?.tenantId ?? null,
      subject: c.identity?.subject ?? null,
      keyId: c.identity?.keyId ?? null,
      customer: c.p?.customer.customerId ?? null,
    };
  }

  async function record(entry: CallAudit, usage?: UsageRecord): Promise<void> {
    try {
      await recorder.record(entry, usage);
    } catch (e) {
      throw new AuditWriteFailed(e);
    }
  }

  /** A refusal, or an internal error, on the record; the caller gets the refusal's message or a plain one. */
  async function failed(e: unknown, c: CallSubject): Promise<CallToolResult> {
    if (e instanceof Refusal) {
      await record({ ...audited(c), decisionId: e.decisionId ?? uuidv7(), outcome: 'refused', step: e.step, code: e.code, reason: e.message });
      return refusedResult(e);
    }
    // The message may carry anything (a driver's text); the caller and the audit get a plain one.
    options.onInternalError?.(e, c.req.requestId);
    const reason = `Internal error: the gateway could not complete this call (request ${c.req.requestId}); it is on the record`;
    await record({ ...audited(c), decisionId: uuidv7(), outcome: 'error', code: 'internal', reason });
    return errorResult(reason);
  }

  /** Steps 7 to 13 for one execution of a call whose principal is known. */
  async function governed(c: CallSubject, decided?: Decision): Promise<CallToolResult> {
    const { req, tool, args } = c;
    const p = c.p!;
    let decision: Decision;
    let approvalId: string | undefined;
    try {
      const at = now();
      // 7-10.
      decision = decided ?? await step(req, 'policy', () => authorize(p, req, tool, at.toISOString(), args));
      await step(req, 'rate-limit', () => rateLimiter.check(p.identity, p.tenantId, at));
      // Before approval and quota: a call that could never run asks no one and spends nothing.
      const valid = await step(req, 'validate', () => validateArguments(tool, args));
      if (!valid.ok) throw new Refusal('arguments', 'invalid', valid.message, 400);
      // Before the quota: a call held for approval has not used any of it.
      const held = decision;
      if (held.effect === 'require_approval') {
        const customerId = isCustomerBound(tool) ? p.customer.customerId : null;
        approvalId = await step(req, 'approval', () => requireApproval(approvals, held, { tenantId: p.tenantId, subject: p.identity.subject, customerId }, tool, args, c.callId));
      }
      await step(req, 'quota', () => checkQuota(quotas, p.tenantId, tool, at));
    } catch (e) {
      return failed(e, c);
    }

    const started = performance.now();
    // 11. After every check: a cached answer is still a governed, metered and audited call.
    const ttl = responseCache.ttlOf(tool);
    const cacheKey = ttl !== undefined ? responseCache.key(p.tenantId, p.customer.customerId, tool.name, args, decision.obligations) : undefined;
    const hit = cacheKey !== undefined ? responseCache.get(cacheKey) : undefined;
    if (hit) {
      await record(
        { ...audited(c), decisionId: decision.id, outcome: 'cached', ...(approvalId && { approvalId }) },
        usageRecord({
          callId: c.callId, tenantId: p.tenantId, customerId: p.customer.customerId, subject: p.identity.subject,
          connector: tool.connector, tool: tool.name, outcome: 'cached', latencyMs: performance.now() - started, upstreamBytes: 0,
        }),
      );
      return hit;
    }
    // 12.
    try {
      await vendorBudgets.take(tool.connector, p.tenantId);
    } catch (e) {
      return failed(e, c);
    }
    const usage: { upstreamBytes: number; reachedVendor?: boolean } = { upstreamBytes: 0 };
    const ownership: OwnershipReport = { withheld: 0 };
    const execution = req.trace && startSpan('specgate.execute', req.trace, { 'gen_ai.tool.name': tool.name, 'specgate.connector': tool.connector });
    const result = await caller.callTool(withObligations(tool, decision.obligations), args, {
      requestId: req.requestId,
      ...(execution && { trace: contextOf(execution, req.trace) }),
      signal: req.signal ?? new AbortController().signal,
      customerIds: p.customer.vendorIds,
      customerNamedIds: p.customer.namedIds,
      ...(p.customer.customerId !== null && { customer: p.customer.customerId }),
      tenantId: p.tenantId,
      usage,
      ownership,
    });
    // A caller that hung up did not meet a failure of ours or the vendor's: say so apart.
    const outcome = ownership.refused ? 'refused' : !result.isError ? 'ok' : req.signal?.aborted ? 'cancelled' : 'error';
    if (execution) endSpan(execution, outcome === 'error' ? new Error('tool error') : undefined, { 'specgate.outcome': outcome });
    if (cacheKey !== undefined && outcome === 'ok') responseCache.set(cacheKey, result, ttl!);
    // 13.
    await step(req, 'meter-audit', () => record(
      {
        ...audited(c), decisionId: decision.id, outcome, ...(approvalId && { approvalId }),
        ...ownershipAudit(ownership),
        // Why it failed, as the caller was told (already scrubbed of secrets): an operator reading
        // the audit should not need the client's transcript.
        ...(result.isError && { reason: errorText(result) }),
      },
      usageRecord({
        callId: c.callId, tenantId: p.tenantId, customerId: p.customer.customerId, subject: p.identity.subject,
        // Metering bills the upstream call the refusal was made after, as a failed one.
        connector: tool.connector, tool: tool.name, outcome: outcome === 'refused' ? 'error' : outcome, latencyMs: performance.now() - started, upstreamBytes: usage.upstreamBytes,
        ...(usage.reachedVendor !== undefined && { reachedVendor: usage.reachedVendor }),
      }),
    ));
    return result;
  }
}

/** Runs one step of the chain as a child span of the request's trace; directly when tracing is off. */
function step<T>(req: GovernanceRequest, name: string, fn: () => Promise<T> | T): Promise<T> | T {
  return req.trace ? inSpan(`specgate.${name}`, req.trace, fn) : fn();
}

/** Longest reason kept in an audit record; upstream error bodies can be long. */
const REASON_MAX = 500;

function errorText(result: CallToolResult): string {
  const text = result.content.map((c) => c.text).join(' ').trim();
  return text.length > REASON_MAX ? `${text.slice(0, REASON_MAX)}…` : text;
}

interface CallSubject {
  callId: string;
  req: ChainRequest;
  tool: ToolModel;
  /** As audited: the caller's arguments, or a note in their place when they were out of bounds. */
  args: Record<string, unknown>;
  /** Who is calling, once authenticated (before the principal's other steps ran). */
  identity?: Identity;
  p?: Principal;
}

/** The audit write itself failed: nothing more can be put on the record, so the call fails. */
class AuditWriteFailed extends Error {
  constructor(override readonly cause: unknown) {
    super('the audit record could not be written');
  }
}

/** The key under which out-of-bounds arguments are replaced by the reason in the audit. */
const OMITTED = '[omitted]';
