/**
 * The path of one tools/call, every step in order: reading this file is reading the flow. The
 * numbers are those of docs/architecture.md (runtime flow); each step is a module in
 * runtime/governance/ or runtime/execution/.
 *
 * Before the handler, at the edge:
 *   1. runtime/mcp/http.ts, before the body is read: the Origin check and, governed, the edge
 *      authentication: steps 6.2 to 6.5 once per HTTP request (`identify` and `principal` below);
 *      a refusal is answered 401/403 and audited (runtime/mcp/edge-audit.ts).
 *   2. runtime/mcp/http.ts, after the body: the JSON-RPC checks, the request's span and the one
 *      request context (runtime/request-context.ts), handed to the SDK as the request's `authInfo`.
 *      The SDK's classification picks the era: a 2025-era POST goes to a JSON exchange
 *      (runtime/mcp/json-exchange.ts: the SDK transport's HTTP checks, then one message in and one
 *      JSON answer out); a 2026-07-28 request, and GET/DELETE, to the SDK's createMcpHandler.
 *   3. runtime/mcp/factory.ts: the SDK's server, connected to that exchange (or the SDK's own
 *      per-request transport), validates and dispatches the message; its tools/call handler reads
 *      the context back from `authInfo`.
 *   4. runtime/mcp/tools.ts (`runToolCall`): an unknown tool is a protocol error; the outcome is
 *      observed for metrics; an exception becomes an isError result.
 *
 * Here:
 *   5. `createCallTool`: governed with a store (6), else straight to execution (7).
 *   6. Governed (`createGovernedPath`); every outcome, refusals, replays, cached answers, errors,
 *      cancellations and internal errors included, ends in 6.15 (only a failing audit write
 *      itself fails the call, since nothing may be answered that is not on the record):
 *      6.1 argument bounds (limits.ts), before anything else reads the arguments
 *      6.2 authenticate (authenticate.ts), the edge's identity when it has one
 *      6.3 tenant (tenant.ts), from the identity only
 *      6.4 customer (customer.ts), the selected customer and its vendor ids
 *      6.5 entitlement (entitlement.ts)
 *      6.6 idempotency (idempotency.ts): a replay is decided by 6.3 to 6.7 again, then 6.15
 *      6.7 policy (policy.ts), with the tool's obligations
 *      6.8 rate limit (rate-limit.ts)
 *      6.9 validate the arguments (execution/validate.ts)
 *      6.10 approval (approval.ts), for require_approval
 *      6.11 quota (quota.ts)
 *      6.12 response cache (response-cache.ts), opt-in per tool
 *      6.13 vendor budget (vendor-budget.ts)
 *      6.14 execute (7) on the tenant's executor (`tenantExecutor`)
 *      6.15 meter and audit (meter.ts, audit.ts, record.ts): one transaction of the group commit
 *   7. Execution (`executeTool`, after runtime/call.ts picked the connector's runtime); every
 *      failure becomes an isError result the model can read, nothing throws:
 *      7.1 validate the arguments (execution/validate.ts), unless 6.9 did
 *      7.2 open the caller's cursor (runtime/upstream/cursor.ts), sealed for tool, tenant, customer
 *      7.3 build the upstream request (runtime/upstream/request.ts), customer binding last
 *      7.4 the parent record's owner (execution/parent-owner.ts), for records under a parent
 *      7.5 send (execution/send.ts): resilience, the generated client with the call's own scoped
 *          fetch (runtime/upstream/guard.ts: allow-list, credentials, undici transport)
 *      7.6 the answer's owner (execution/ownership.ts), before shaping can hide it
 *      7.7 shape (execution/shape.ts): projection, redaction, item cap, token budget
 *      7.8 the next cursor (execution/next-cursor.ts), sealed
 *      7.9 conform to the output schema (execution/conform.ts)
 *      7.10 a failure as a message, scrubbed of the request's secrets (runtime/upstream/errors.ts)
 *      7.11 report the bytes for metering and the upstream event for metrics (execution/report.ts)
 *
 * And back: the result of 7.9 (or 7.10) is metered and audited in 6.15, observed by
 * runtime/mcp/tools.ts, projected for the request's protocol era and encoded by the SDK's server
 * (runtime/mcp/factory.ts), handed to the exchange, and written to the socket by
 * runtime/mcp/http.ts as one JSON body.
 *
 * Listing (`visibleTools`) takes the same decision path as calling (`authorize`: 6.3 to 6.7), so a
 * tool is listed exactly when a call of it would get past those steps.
 *
 * The store-bound parts of the governed steps (repositories, group commit, limiters, the JWT
 * verifier) are built once per runtime by runtime/governance/setup.ts and handed in, so that an
 * ungoverned runtime loads neither the store nor the identity and policy engines.
 */
import type { ToolModel } from './model.ts';
import type { Catalog } from './catalog.ts';
import type { Decision } from './policy/types.ts';
import type { CallTool } from './mcp/types.ts';
import type { Principal } from './request-context.ts';
import type { UsageRecord } from './store/index.ts';
import { errorResult, type CallToolResult, type OwnershipReport, type ToolCallContext, type ToolCaller } from './tool-call.ts';
import { uuidv7 } from './ids.ts';
import { contextOf, endSpan, inSpan, startSpan } from './ops/tracing.ts';
import { Refusal, refusedResult, type GovernanceRequest } from './governance/refusal.ts';
import { argumentLimitViolation } from './governance/limits.ts';
import type { Identity } from './governance/authenticate.ts';
import { resolveTenant, tenantClaims } from './governance/tenant.ts';
import { checkCustomerClaims, isCustomerBound, requireCustomerFor, scopeCustomer } from './governance/customer.ts';
import { loadEntitlements, requireEntitled } from './governance/entitlement.ts';
import { idempotencyKey, keyOwner, type Idempotency } from './governance/idempotency.ts';
import { evaluatePolicy, policyInput, withObligations, type PolicyDecider } from './governance/policy.ts';
import type { RateLimiter } from './governance/rate-limit.ts';
import { requireApproval } from './governance/approval.ts';
import { checkQuota } from './governance/quota.ts';
import type { ResponseCache } from './governance/response-cache.ts';
import type { VendorBudgets } from './governance/vendor-budget.ts';
import { usageRecord } from './governance/meter.ts';
import type { CallAudit } from './governance/audit.ts';
import type { CallRecorder } from './governance/record.ts';
import type { ConnectorRuntime } from './execution/connector-runtime.ts';
import { validateArguments } from './execution/validate.ts';
import { buildUpstreamRequest, customerVendorId } from './upstream/request.ts';
import { CallCancelled, ToolCallError, describeFailure, scrubSecrets } from './upstream/errors.ts';
import { callScope, cursorBinding } from './execution/scope.ts';
import { checkParentOwner } from './execution/parent-owner.ts';
import { send } from './execution/send.ts';
import { checkOwnership, ownershipAudit } from './execution/ownership.ts';
import { shapeResult } from './execution/shape.ts';
import { sealedNextCursor } from './execution/next-cursor.ts';
import { conformResult } from './execution/conform.ts';
import { reportCall } from './execution/report.ts';

// ---------------------------------------------------------------------------------------------
// 5. Governed or not
// ---------------------------------------------------------------------------------------------

/** The executors of the current catalog version: the shared one, and one per tenant with upstreams of its own. */
export interface Executors {
  shared: Pick<ToolCaller, 'callTool'>;
  tenants: ReadonlyMap<string, Pick<ToolCaller, 'callTool'>>;
}

/** The ids an ungoverned runtime binds customer-bound tools to: configuration, never a request's payload. */
export interface ConfiguredCustomers {
  /** By connector. */
  ids: Record<string, string>;
  /** By connector and the spec's id name. */
  namedIds: Record<string, Record<string, string>>;
}

export interface CallPathOptions {
  /** With a store: every call takes the governed path (6). */
  governance?: Governance;
  /** Read at each call, so that a hot reload's executors serve the next call. */
  executors: () => Executors;
  /** Without a store: the configured customer. */
  customers: () => ConfiguredCustomers;
}

/** 5. The runtime's one tools/call entry. */
export function createCallTool(options: CallPathOptions): CallTool {
  const governance = options.governance;
  // 6.
  if (governance) return (tool, args, ctx) => governance.call(ctx, tool, args, ctx.requestId);
  // 7., with no tenant: the shared executor and the configured customer. Only these fields reach
  // execution: nothing else a request context might carry can stand in for a step's decision.
  return (tool, args, ctx) => {
    const customers = options.customers();
    return options.executors().shared.callTool(tool, args, {
      requestId: ctx.requestId, signal: ctx.signal, ...(ctx.trace && { trace: ctx.trace }),
      customerIds: customers.ids, customerNamedIds: customers.namedIds,
    });
  };
}

/** 6.14: a tenant with upstreams of its own calls them; every other tenant the shared ones. */
export function tenantExecutor(executors: () => Executors): Pick<ToolCaller, 'callTool'> {
  return {
    callTool(tool, args, ctx) {
      const current = executors();
      return ((ctx.tenantId && current.tenants.get(ctx.tenantId)) || current.shared).callTool(tool, args, ctx);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// 6. The governed path
// ---------------------------------------------------------------------------------------------

/** The governed steps' store-bound parts, built once per runtime (runtime/governance/setup.ts). */
export interface GovernedParts {
  now: () => Date;
  /** 6.2: who the credential is (an API key, or a JWT through runtime/identity/jwt.ts); throws Refusal. */
  identify(req: GovernanceRequest): Promise<Identity>;
  /** 6.4 */
  tenants: Parameters<typeof scopeCustomer>[0];
  /** 6.5 */
  settings: Parameters<typeof loadEntitlements>[0];
  /** 6.6 */
  idempotency: Idempotency;
  /** 6.7 */
  policy: PolicyDecider;
  /** 6.8 */
  rateLimiter: RateLimiter;
  /** 6.10 */
  approvals: Parameters<typeof requireApproval>[0];
  /** 6.11 */
  quotas: Parameters<typeof checkQuota>[0];
  /** 6.12 */
  responseCache: ResponseCache;
  /** 6.13 */
  vendorBudgets: VendorBudgets;
  /** 6.14: runs 7 for the call's tenant. */
  executor: Pick<ToolCaller, 'callTool'>;
  /** 6.15 */
  recorder: CallRecorder;
  /** Told about an unexpected failure inside the path (it is audited as an internal error); for the log. */
  onInternalError?: (error: unknown, requestId: string) => void;
}

/** A request as the governed path takes it: with the edge's decisions when the edge made them. */
export type ChainRequest = GovernanceRequest & { principal?: Principal };

export interface Governance {
  /** 6.2 alone: who the credential is; throws Refusal. */
  identify(req: GovernanceRequest): Promise<Identity>;
  /**
   * 6.2 to 6.5 for a request; throws Refusal. The HTTP edge runs it once per request (to answer
   * 401/403 before the body is read) with the identity it verified, and the request context
   * carries the outcome to the call.
   */
  principal(req: GovernanceRequest, connectors: string[], known?: Identity): Promise<Principal>;
  /** The catalog's tools this caller may call, in catalog order. Throws Refusal when the request itself is refused. */
  visibleTools(req: ChainRequest, catalog: Catalog): Promise<ToolModel[]>;
  /** One governed tools/call; refusals come back as isError results, and every call is audited. */
  call(req: ChainRequest, tool: ToolModel, args: Record<string, unknown>, callId: string): Promise<CallToolResult>;
}

export function createGovernedPath(g: GovernedParts): Governance {
  const { now } = g;

  /** 6.2 to 6.5. `known`: the identity the caller already verified for this request (no second look-up). */
  async function principal(req: GovernanceRequest, connectors: string[], known?: Identity): Promise<Principal> {
    const identity = known ?? await step(req, 'authenticate', () => g.identify(req));
    const tenantId = await step(req, 'tenant', () => resolveTenant(identity, tenantClaims(req)));
    const customer = await step(req, 'customer', () => scopeCustomer(g.tenants, tenantId, req, connectors));
    const entitled = await step(req, 'entitlement', () => loadEntitlements(g.settings, tenantId));
    return { identity, tenantId, customer, entitled };
  }

  /**
   * The principal of this message: the edge's, once what the message adds (tenant and customer
   * claims in its `_meta`) is checked against it; else 6.2 to 6.5 decided here (stdio).
   */
  async function principalOf(req: ChainRequest, connectors: string[], known?: Identity): Promise<Principal> {
    const edge = req.principal;
    if (!edge) return principal(req, connectors, known);
    // Each step still shows in the trace, in order: 6.2 and 6.5 reuse the edge's answer.
    await step(req, 'authenticate', () => edge.identity);
    await step(req, 'tenant', () => resolveTenant(edge.identity, tenantClaims(req)));
    await step(req, 'customer', () => checkCustomerClaims(req));
    await step(req, 'entitlement', () => edge.entitled);
    return edge;
  }

  /** 6.3 (argument claims), 6.4, 6.5 and 6.7 for one tool: the one decision path for listing and calling. */
  async function authorize(p: Principal, req: GovernanceRequest, tool: ToolModel, time: string, args?: Record<string, unknown>): Promise<Decision> {
    if (args) resolveTenant(p.identity, tenantClaims(req, tool, args));
    requireCustomerFor(tool, p.customer);
    requireEntitled(p.entitled, tool);
    const customer = isCustomerBound(tool) ? p.customer.customerId : null;
    return evaluatePolicy(g.policy, policyInput(p.identity, p.tenantId, customer, tool, time, args, p.customer.customerId));
  }

  return {
    identify: g.identify,
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
      // Everything from 6.1 to 6.15 is inside this try: whatever goes wrong becomes an audited
      // refusal or an audited internal error (6.15). Only a failing audit write itself escapes.
      try {
        return await decide(c);
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

  /** 6.1 to 6.6; a replay ends here, in 6.15, a first delivery goes on to 6.7. */
  async function decide(c: CallSubject): Promise<CallToolResult> {
    const { req, tool, args } = c;
    // 6.1. First, before any other step reads the arguments: later walkers rely on these bounds.
    const outOfBounds = argumentLimitViolation(args);
    if (outOfBounds) c.args = { [OMITTED]: outOfBounds };
    // 6.2 to 6.5. Known first, so that a refusal by a later step is recorded in the caller's own tenant chain.
    c.identity = req.principal?.identity ?? await step(req, 'authenticate', () => g.identify(req));
    const p = c.p = await principalOf(req, [tool.connector], c.identity);
    if (outOfBounds) throw new Refusal('arguments', 'limits', `Refused: ${outOfBounds}; send a smaller call`, 400);
    // 6.6. A re-delivered call runs once.
    const key = idempotencyKey(req);
    if (key === undefined) return governed(c);
    // A replay is decided like a fresh call (6.3 to 6.7): a result is only ever returned to a caller who may make this call now.
    const decision = await authorize(p, req, tool, now().toISOString(), args);
    const callId = g.idempotency.callId(p.tenantId, keyOwner(p.identity), key);
    const { result, replayed } = await g.idempotency.once(callId, { tool: tool.name, customer: p.customer.customerId, arguments: args },
      () => governed({ ...c, callId }, decision));
    if (!replayed) return result;
    // 6.15.
    await meterAndAudit({ ...audited(c), decisionId: decision.id, outcome: 'replayed', replayOf: callId });
    return result;
  }

  /** 6.7 to 6.15 for one execution of a call whose principal is known. */
  async function governed(c: CallSubject, decided?: Decision): Promise<CallToolResult> {
    const { req, tool, args } = c;
    const p = c.p!;
    let decision: Decision;
    let approvalId: string | undefined;
    const at = now();
    try {
      // 6.7.
      decision = decided ?? await step(req, 'policy', () => authorize(p, req, tool, at.toISOString(), args));
      // 6.8.
      await step(req, 'rate-limit', () => g.rateLimiter.check(p.identity, p.tenantId, at));
      // 6.9. Before approval and quota: a call that could never run asks no one and spends nothing.
      const valid = await step(req, 'validate', () => validateArguments(tool, args));
      if (!valid.ok) throw new Refusal('arguments', 'invalid', valid.message, 400);
      // 6.10. Before the quota: a call held for approval has not used any of it.
      const held = decision;
      if (held.effect === 'require_approval') {
        const customerId = isCustomerBound(tool) ? p.customer.customerId : null;
        approvalId = await step(req, 'approval', () => requireApproval(g.approvals, held, { tenantId: p.tenantId, subject: p.identity.subject, customerId }, tool, args, c.callId));
      }
      // 6.11.
      await step(req, 'quota', () => checkQuota(g.quotas, p.tenantId, tool, at));
    } catch (e) {
      // 6.15.
      return failed(e, c);
    }

    const started = performance.now();
    // 6.12. After every check: a cached answer is still a governed, metered and audited call.
    const ttl = g.responseCache.ttlOf(tool);
    const cacheKey = ttl !== undefined ? g.responseCache.key(p.tenantId, p.customer.customerId, tool.name, args, decision.obligations) : undefined;
    const hit = cacheKey !== undefined ? g.responseCache.get(cacheKey) : undefined;
    if (hit) {
      // 6.15.
      await meterAndAudit(
        { ...audited(c), decisionId: decision.id, outcome: 'cached', ...(approvalId && { approvalId }) },
        usageRecord({
          callId: c.callId, tenantId: p.tenantId, customerId: p.customer.customerId, subject: p.identity.subject,
          connector: tool.connector, tool: tool.name, outcome: 'cached', latencyMs: performance.now() - started, upstreamBytes: 0,
        }),
      );
      return hit;
    }
    // 6.13.
    try {
      await g.vendorBudgets.take(tool.connector, p.tenantId);
    } catch (e) {
      // 6.15.
      return failed(e, c);
    }
    // 6.14. Execution (7) fills in the bytes received and what the ownership checks did.
    const usage: { upstreamBytes: number; reachedVendor?: boolean } = { upstreamBytes: 0 };
    const ownership: OwnershipReport = { withheld: 0 };
    const execution = req.trace && startSpan('specgate.execute', req.trace, { 'gen_ai.tool.name': tool.name, 'specgate.connector': tool.connector });
    const result = await g.executor.callTool(withObligations(tool, decision.obligations), args, {
      requestId: req.requestId,
      ...(execution && { trace: contextOf(execution, req.trace) }),
      signal: req.signal ?? new AbortController().signal,
      customerIds: p.customer.vendorIds,
      customerNamedIds: p.customer.namedIds,
      ...(p.customer.customerId !== null && { customer: p.customer.customerId }),
      tenantId: p.tenantId,
      usage,
      ownership,
      validated: true,
    });
    // A caller that hung up did not meet a failure of ours or the vendor's: say so apart.
    const outcome = ownership.refused ? 'refused' : !result.isError ? 'ok' : req.signal?.aborted ? 'cancelled' : 'error';
    if (execution) endSpan(execution, outcome === 'error' ? new Error('tool error') : undefined, { 'specgate.outcome': outcome });
    if (cacheKey !== undefined && outcome === 'ok') g.responseCache.set(cacheKey, result, ttl!);
    // 6.15.
    await step(req, 'meter-audit', () => meterAndAudit(
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

  /** 6.15 for a refusal or an internal error; the caller gets the refusal's message or a plain one. */
  async function failed(e: unknown, c: CallSubject): Promise<CallToolResult> {
    if (e instanceof Refusal) {
      await meterAndAudit({ ...audited(c), decisionId: e.decisionId ?? uuidv7(), outcome: 'refused', step: e.step, code: e.code, reason: e.message });
      return refusedResult(e);
    }
    // The message may carry anything (a driver's text); the caller and the audit get a plain one.
    g.onInternalError?.(e, c.req.requestId);
    const reason = `Internal error: the gateway could not complete this call (request ${c.req.requestId}); it is on the record`;
    await meterAndAudit({ ...audited(c), decisionId: uuidv7(), outcome: 'error', code: 'internal', reason });
    return errorResult(reason);
  }

  /** 6.15: the audit record and, when the call executed or was answered from the cache, its usage record. */
  async function meterAndAudit(entry: CallAudit, usage?: UsageRecord): Promise<void> {
    try {
      await g.recorder.record(entry, usage);
    } catch (e) {
      throw new AuditWriteFailed(e);
    }
  }
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

/** Runs one governed step as a child span of the request's trace; directly when tracing is off. */
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

// ---------------------------------------------------------------------------------------------
// 7. Execution
// ---------------------------------------------------------------------------------------------

/** 7. One call against the connector's upstream; nothing here throws to the caller. */
export async function executeTool(
  rt: ConnectorRuntime,
  tool: ToolModel,
  args: Record<string, unknown> | undefined,
  ctx: ToolCallContext,
): Promise<CallToolResult> {
  const scope = callScope(tool, ctx);
  let sent = false;
  const started = performance.now();
  try {
    if (ctx.signal.aborted) throw new CallCancelled();
    const given = args ?? {};
    // 7.1.
    if (!ctx.validated) {
      const valid = validateArguments(tool, given);
      if (!valid.ok) return errorResult(valid.message);
    }
    // 7.2 (the cursor is opened while the request is built) and 7.3.
    const binding = cursorBinding(tool, ctx);
    const { request, page } = buildUpstreamRequest(tool, given, ctx, (cursor) => rt.cursors.open(binding, cursor), rt.baseUrl);
    const operation = rt.client[tool.operation.operationId];
    if (!operation) {
      return errorResult(`The ${rt.name} connector has no operation "${tool.operation.operationId}"; regenerate the connector`);
    }
    sent = true;
    // 7.4.
    if (tool.ownerParent) {
      const refused = await checkParentOwner(rt, tool, given, ctx, scope);
      if (refused) return refused;
    }
    // 7.5.
    const answer = await send(rt, tool, operation, request, scope, ctx.signal);
    // 7.6. Before shaping: a projection must not hide the owner, nor a cap count another customer's items.
    let visible = answer.raw;
    let list: { rawCount: number; kept: number[] } | undefined;
    let withheld = 0;
    if (tool.ownership) {
      const owned = checkOwnership(tool, answer.raw, customerVendorId(tool, ctx, tool.ownership.customerId), ctx.customer ?? 'unknown', tool.name);
      if (ctx.ownership) Object.assign(ctx.ownership, owned.report);
      if (!owned.ok) return errorResult(owned.report.refused!.message);
      ({ raw: visible, list } = owned);
      withheld = owned.report.withheld;
    }
    // 7.7, asking 7.8 with the counts it ended with.
    const shaped = shapeResult(tool, visible, (counts) => sealedNextCursor(rt, tool, binding, page, answer, list, counts), withheld, page?.skip);
    // 7.9.
    return conformResult(tool, shaped.result);
  } catch (err) {
    // 7.10.
    const message = err instanceof ToolCallError ? err.message : describeFailure(err, rt.name);
    return errorResult(scrubSecrets(message, scope.secrets));
  } finally {
    // 7.11. Whatever became of the call.
    reportCall(rt, tool, ctx, scope, sent, started);
  }
}
