/**
 * What every governance step throws when it says no. One type for all steps so the composer can
 * audit and answer any refusal the same way, and the HTTP layer can map `status` to a response.
 */
import type { TraceContext } from '../ops/tracing.ts';

export type GovernanceStep = 'authenticate' | 'request' | 'arguments' | 'tenant' | 'customer' | 'entitlement' | 'policy' | 'quota';

export class Refusal extends Error {
  override name = 'Refusal';
  constructor(
    readonly step: GovernanceStep,
    /** Stable, machine-readable reason, e.g. `expired`, `not-entitled`. */
    readonly code: string,
    message: string,
    /**
     * The HTTP status this refusal corresponds to: 400 malformed, 401 unauthenticated, 403
     * forbidden, 429 quota, 503 when the check itself could not be made (an identity provider's
     * keys out of reach): the credential may be fine, so the client should retry, not re-authenticate.
     */
    readonly status: 400 | 401 | 403 | 429 | 503,
    /** The policy decision behind the refusal, when the policy engine made one. */
    readonly decisionId?: string,
  ) {
    super(message);
  }
}

/** The request as the governance chain sees it; built by the MCP endpoint. */
export interface GovernanceRequest {
  /** HTTP request headers with lower-case names; empty on stdio. */
  headers: Record<string, string | undefined>;
  /** The JSON-RPC request's `params._meta`, if any: a place where a client could claim a tenant. */
  meta?: Record<string, unknown>;
  requestId: string;
  signal?: AbortSignal;
  /** The request's trace context, when tracing is on: each step of the chain is a span under it. */
  trace?: TraceContext;
}

/** What a refused call's result was refused for: `<step>/<code>`, e.g. `quota/rate-limited`. */
const refusals = new WeakMap<object, string>();

/**
 * The isError result a caller gets for a refusal, marked so that the MCP layer's metrics count it
 * as `refused` with its reason rather than as an error. The mark stays in this process: nothing
 * is added to what the client receives.
 */
export function refusedResult(refusal: Refusal): { content: Array<{ type: 'text'; text: string }>; isError: true } {
  const result = { content: [{ type: 'text' as const, text: refusal.message }], isError: true as const };
  refusals.set(result, `${refusal.step}/${refusal.code}`);
  return result;
}

/** The refusal reason (`<step>/<code>`) of a result made by `refusedResult`, if it was one. */
export function refusalOf(result: object): string | undefined {
  return refusals.get(result);
}
