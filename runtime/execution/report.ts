/**
 * What a call tells others as it ends, whatever became of it: metering reads the bytes it received
 * and whether a request reached the vendor (`ctx.usage`), metrics hear of every call that got as
 * far as the upstream stage (`onUpstream`).
 */
import type { ToolModel } from '../model.ts';
import type { ToolCallContext } from '../tool-call.ts';
import type { CallScope } from '../upstream/guard.ts';
import type { ConnectorRuntime } from './connector-runtime.ts';

/** `sent`: the call got past building its request; `started`: performance.now() when it began. */
export function reportCall(rt: Pick<ConnectorRuntime, 'name' | 'onUpstream'>, tool: ToolModel, ctx: ToolCallContext, scope: CallScope, sent: boolean, started: number): void {
  if (ctx.usage) {
    ctx.usage.upstreamBytes = scope.bytes;
    ctx.usage.reachedVendor = scope.dispatched === true;
  }
  if (!sent || !rt.onUpstream) return;
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
