/**
 * The seam between the MCP endpoint and the tool-call executor (runtime/call.ts). The endpoint
 * knows nothing about upstreams; it hands the executor the tool, the arguments and this context.
 */
import type { CallToolResult } from '../tool-call.ts';
import type { ToolModel } from '../model.ts';
import type { Catalog } from '../catalog.ts';
import type { Authenticated, RequestContext } from '../request-context.ts';

export type { CallToolResult };

/** The tools this request's caller may see; when set, tools/list shows only these. */
export type ListTools = (ctx: RequestContext) => Promise<ToolModel[]>;

/**
 * Checks a request's credentials from its headers alone, before its body is read, and returns who
 * the caller is with the request-wide decisions (tenant, customer, grants), which the request
 * context then carries to every step. Refuses by throwing an error with `status` (401, 403, 503)
 * and, when known, the `step` and `code` that refused and the `caller` (a verified credential
 * refused for its tenant or customer), so the refusal is audited in the caller's tenant.
 */
export type AuthenticateRequest = (ctx: { headers: Record<string, string | undefined>; requestId: string }) => Promise<Authenticated>;

export type CallTool = (
  tool: ToolModel,
  args: Record<string, unknown>,
  ctx: RequestContext,
) => Promise<CallToolResult>;

/** A fixed catalog, or a getter so a hot reload can swap it between requests. */
export type CatalogSource = Catalog | (() => Catalog);

/**
 * How one tools/call ended, for metrics: `refused` a governance refusal (authentication, policy,
 * quota, invalid arguments ...), `error` any other isError result, `exception` a throw.
 */
export type CallOutcome = 'ok' | 'error' | 'refused' | 'exception';

export interface ToolCallObservation {
  tool: string;
  connector: string;
  outcome: CallOutcome;
  /** For `refused`: the step and code, e.g. `quota/rate-limited`. */
  reason?: string;
  /** The authenticated caller's tenant, when the request was authenticated at the edge. */
  tenant?: string;
  seconds: number;
}

/** The slice of a pino-style logger the endpoint uses. */
export interface McpLogger {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}
