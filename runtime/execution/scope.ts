/**
 * The scope of one upstream request of a call, bound into the fetch handed to the generated client
 * with that request: which operation it must be, whose it is (the credential broker picks a
 * per-customer token by it), and what it observed (bytes, status, the secrets to scrub). Also what
 * the call's pagination cursors are bound to.
 */
import type { ToolModel } from '../model.ts';
import type { ToolCallContext } from '../tool-call.ts';
import type { CallScope } from '../upstream/guard.ts';
import type { CursorBinding } from '../upstream/cursor.ts';

/** `secrets`: shared with the call's other requests (a parent check), so that one scrub covers all. */
export function callScope(tool: ToolModel, ctx: ToolCallContext, secrets: Set<string> = new Set()): CallScope {
  const customer = ctx.customerIds?.[tool.connector];
  return {
    ...(ctx.tenantId && { tenant: ctx.tenantId }),
    ...(customer && { customer }),
    expected: { method: tool.operation.method, path: tool.operation.path },
    bytes: 0,
    secrets,
    ...(ctx.trace && { trace: ctx.trace }),
  };
}

/** A cursor is good only for this tool, called for this tenant and customer. */
export function cursorBinding(tool: ToolModel, ctx: ToolCallContext): CursorBinding {
  const customer = ctx.customerIds?.[tool.connector];
  return { tool: tool.name, ...(ctx.tenantId && { tenantId: ctx.tenantId }), ...(customer && { customer }) };
}
