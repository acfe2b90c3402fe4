/**
 * What every governance step throws when it says no. One type for all steps so the composer can
 * audit and answer any refusal the same way, and the HTTP layer can map `status` to a response.
 */
export type GovernanceStep = 'authenticate' | 'request' | 'tenant' | 'customer' | 'entitlement' | 'policy' | 'quota';

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
}
