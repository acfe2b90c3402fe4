/**
 * For a tool whose records hang under a parent record (a ticket's notes under the ticket), the
 * parent's owner is checked before the tool's own request is sent: the parent tool reads the
 * parent record and the ownership check (./ownership.ts) decides whether it is this customer's.
 * The parent's answer itself is never shown: it only decides whether the call goes on.
 */
import type { ToolModel } from '../model.ts';
import { errorResult, type CallToolResult, type ToolCallContext } from '../tool-call.ts';
import type { CallScope } from '../upstream/guard.ts';
import { buildUpstreamRequest, customerVendorId } from '../upstream/request.ts';
import type { ConnectorRuntime } from './connector-runtime.ts';
import { checkOwnership } from './ownership.ts';
import { callScope } from './scope.ts';
import { send } from './send.ts';

/** The refusal when the parent is another customer's (or cannot be read); undefined when it is this customer's. */
export async function checkParentOwner(
  rt: Pick<ConnectorRuntime, 'name' | 'guard' | 'policy' | 'client' | 'tools'>, tool: ToolModel, given: Record<string, unknown>, ctx: ToolCallContext, outer: CallScope,
): Promise<CallToolResult | undefined> {
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
  const scope = callScope(parent, ctx, outer.secrets);
  let raw: unknown;
  try {
    ({ raw } = await send(rt, parent, operation, request, scope, ctx.signal));
  } finally {
    // Metering counts the parent's request with the call's: its bytes, and that it reached the vendor.
    outer.bytes += scope.bytes;
    if (scope.dispatched) outer.dispatched = true;
  }
  const owned = checkOwnership(parent, raw, customerVendorId(parent, ctx, parent.ownership.customerId), ctx.customer ?? 'unknown', tool.name);
  if (owned.ok) return undefined;
  if (ctx.ownership) Object.assign(ctx.ownership, owned.report);
  return errorResult(owned.report.refused!.message);
}
