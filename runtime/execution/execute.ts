/**
 * One tool call, end to end: validate the arguments, build the upstream request, send it through
 * the connector's resilience policy and guarded client, and shape what comes back. Every failure
 * becomes an isError result the model can read; nothing here throws to the caller.
 */
import type { OperationCall, ToolModel, UpstreamResult } from '../model.ts';
import { errorResult, type CallToolResult, type ToolCallContext, type UpstreamEvent } from '../tool-call.ts';
import type { CallScope, UpstreamGuard } from '../upstream/guard.ts';
import { buildUpstreamRequest, customerVendorId } from '../upstream/request.ts';
import { nextCursor, type CursorBinding, type CursorSigner } from '../upstream/cursor.ts';
import { CallCancelled, ToolCallError, describeFailure, describeHttpError, scrubSecrets } from '../upstream/errors.ts';
import type { UpstreamPolicy } from '../upstream/resilience.ts';
import { validateArguments } from './validate.ts';
import { parseBody, shapeResult } from './shape.ts';
import { conformResult } from './conform.ts';
import { checkOwnership, vendorCounts } from './ownership.ts';

/** What the caller prepared once per connector at startup. */
export interface ConnectorRuntime {
  name: string;
  baseUrl: string;
  /** Hands each call its own scoped fetch. */
  guard: Pick<UpstreamGuard, 'fetchFor'>;
  client: Record<string, OperationCall>;
  policy: UpstreamPolicy;
  /** Seals the cursors results hand out and opens the ones callers hand back. */
  cursors: CursorSigner;
  /** The connector's tools by name: a tool's owner parent is one of them. */
  tools?: Map<string, ToolModel>;
  onUpstream?: (e: UpstreamEvent) => void;
}

/** The tenant and the customer's vendor id for the tool's connector: a per-customer token is chosen by them. */
function whose(tool: ToolModel, ctx: ToolCallContext): Pick<CallScope, 'tenant' | 'customer'> {
  const customer = ctx.customerIds?.[tool.connector];
  return { ...(ctx.tenantId && { tenant: ctx.tenantId }), ...(customer && { customer }) };
}

/**
 * Reads the parent record of the tool's records with the parent tool and checks its owner; the
 * refusal when it is another customer's (or cannot be read), else undefined. The parent's answer
 * itself is never shown: it only decides whether the call goes on.
 */
async function checkParentOwner(rt: ConnectorRuntime, tool: ToolModel, given: Record<string, unknown>, ctx: ToolCallContext, outer: CallScope): Promise<CallToolResult | undefined> {
  const { tool: parentName, arguments: mapping } = tool.ownerParent!;
  const parent = rt.tools?.get(parentName);
  const operation = parent && rt.client[parent.operation.operationId];
  if (!parent?.ownership || !operation) return errorResult(`The ${rt.name} connector has no tool "${parentName}" to check whose record this is; regenerate the connector`);
  const args: Record<string, unknown> = {};
  for (const [parentArg, own] of Object.entries(mapping)) {
    if (given[own] === undefined || given[own] === null) {
      return errorResult(`Invalid arguments: "${own}" is required: ${tool.name} first checks that the record it belongs to is this customer's`);
    }
    args[parentArg] = given[own];
  }
  const { request } = buildUpstreamRequest(parent, args, ctx);
  const scope: CallScope = { ...whose(parent, ctx), expected: { method: parent.operation.method, path: parent.operation.path }, bytes: 0, secrets: outer.secrets, ...(ctx.trace && { trace: ctx.trace }) };
  let outcome: UpstreamResult;
  try {
    outcome = await rt.policy.run(parent.operation.method, () => operation({ ...request, fetch: rt.guard.fetchFor(scope) }), ctx.signal);
  } finally {
    outer.bytes += scope.bytes;
  }
  if (!outcome.response.ok) {
    return errorResult(scrubSecrets(describeHttpError(rt.name, parent.operation, outcome.response, outcome.error), scope.secrets));
  }
  const raw = typeof outcome.data === 'string' || outcome.data === undefined ? parseBody(outcome.data, outcome.response.headers.get('content-type')) : outcome.data;
  const owned = checkOwnership(parent, raw, customerVendorId(parent, ctx, parent.ownership.customerId), ctx.customer ?? 'unknown', tool.name);
  if (owned.ok) return undefined;
  if (ctx.ownership) Object.assign(ctx.ownership, owned.report);
  return errorResult(owned.report.refused!.message);
}

export async function executeTool(
  rt: ConnectorRuntime,
  tool: ToolModel,
  args: Record<string, unknown> | undefined,
  ctx: ToolCallContext,
): Promise<CallToolResult> {
  const scope: CallScope = { ...whose(tool, ctx), expected: { method: tool.operation.method, path: tool.operation.path }, bytes: 0, secrets: new Set(), ...(ctx.trace && { trace: ctx.trace }) };
  let sent = false;
  const started = performance.now();
  try {
    if (ctx.signal.aborted) throw new CallCancelled();
    const given = args ?? {};
    const valid = validateArguments(tool, given);
    if (!valid.ok) return errorResult(valid.message);
    // A cursor is good only for this tool, called for this tenant and customer.
    const binding: CursorBinding = { tool: tool.name, ...(ctx.tenantId && { tenantId: ctx.tenantId }), ...(ctx.customerIds?.[tool.connector] && { customer: ctx.customerIds[tool.connector] }) };
    const { request, page } = buildUpstreamRequest(tool, given, ctx, (cursor) => rt.cursors.open(binding, cursor), rt.baseUrl);
    const operation = rt.client[tool.operation.operationId];
    if (!operation) {
      return errorResult(`The ${rt.name} connector has no operation "${tool.operation.operationId}"; regenerate the connector`);
    }

    sent = true;
    if (tool.ownerParent) {
      const refused = await checkParentOwner(rt, tool, given, ctx, scope);
      if (refused) return refused;
    }
    const fetch = rt.guard.fetchFor(scope);
    const outcome: UpstreamResult = await rt.policy.run(tool.operation.method, () => operation({ ...request, fetch }), ctx.signal);
    const { response } = outcome;
    if (!response.ok) {
      return errorResult(scrubSecrets(describeHttpError(rt.name, tool.operation, response, outcome.error), scope.secrets));
    }
    const raw = typeof outcome.data === 'string' || outcome.data === undefined
      ? parseBody(outcome.data, response.headers.get('content-type'))
      : outcome.data; // a client that parsed already
    // Before shaping: a projection must not hide the owner, nor a cap count another customer's items.
    let visible = raw;
    let list: { rawCount: number; kept: number[] } | undefined;
    let withheld = 0;
    if (tool.ownership) {
      const owned = checkOwnership(tool, raw, customerVendorId(tool, ctx, tool.ownership.customerId), ctx.customer ?? 'unknown', tool.name);
      if (ctx.ownership) Object.assign(ctx.ownership, owned.report);
      if (!owned.ok) return errorResult(owned.report.refused!.message);
      ({ raw: visible, list } = owned);
      withheld = owned.report.withheld;
    }
    const shaped = shapeResult(tool, visible, (counts) => {
      const next = tool.pagination && page ? nextCursor(tool.pagination, page, raw, response, list && counts ? { ...vendorCounts(list, counts), shown: counts } : counts, rt.baseUrl) : undefined;
      return next === undefined ? undefined : rt.cursors.seal(binding, next);
    }, withheld, page?.skip);
    return conformResult(tool, shaped.result);
  } catch (err) {
    const message = err instanceof ToolCallError ? err.message : describeFailure(err, rt.name);
    return errorResult(scrubSecrets(message, scope.secrets));
  } finally {
    // Metering reads the bytes this call received, whatever became of them.
    if (ctx.usage) {
      ctx.usage.upstreamBytes = scope.bytes;
      ctx.usage.reachedVendor = scope.dispatched === true;
    }
    if (sent && rt.onUpstream) {
      try {
        rt.onUpstream({
          connector: rt.name,
          tool: tool.name,
          status: scope.status ?? 'error',
          durationMs: Math.round(performance.now() - started),
          bytes: scope.bytes,
        });
      } catch {
        /* a metrics hook must not turn an answered call into a failure */
      }
    }
  }
}
