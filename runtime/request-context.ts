/**
 * One request's context, created once where the request arrives (the HTTP route, or each stdio
 * message) and carried to the MCP handlers through the SDK's channel for verified authentication
 * (`authInfo`), never through a cache or a global. What the edge decided (who the caller is, its
 * tenant, customer and grants) travels with it, so that no step looks it up a second time.
 */
import type { GovernanceRequest } from './governance/refusal.ts';
import type { Identity } from './governance/authenticate.ts';
import type { CustomerScope } from './governance/customer.ts';
import type { Entitled } from './governance/entitlement.ts';

/** The caller a request authenticated as, or was refused as after its credential verified. */
export interface EdgeCaller {
  subject: string;
  tenantId: string;
  /** The credential's id (an API key's public prefix, or a token's `oidc:<issuer>#<jti>`). */
  keyId: string;
}

/** What the edge established about a request before its body was read (governed HTTP). */
export interface Authenticated {
  caller: EdgeCaller;
  principal: Principal;
}

/** Who is calling, for whom: the outcome of the request-wide governance steps (2 to 5). */
export interface Principal {
  identity: Identity;
  tenantId: string;
  customer: CustomerScope;
  entitled: Entitled;
}

export interface RequestContext extends GovernanceRequest {
  /** Unique per request: the HTTP request id, or a generated one per stdio message. */
  requestId: string;
  /** Aborted when the client cancels or disconnects, or the server shuts down. */
  signal: AbortSignal;
  /** The request headers (lower-case names); on stdio, the configured ones. */
  headers: Record<string, string | undefined>;
  /** The authenticated caller as the edge verified it (governed HTTP), for metrics and the audit. */
  caller?: EdgeCaller;
  /**
   * The request-wide decisions the edge took (governed HTTP): the chain reuses them and checks
   * only what the message itself adds (`_meta` claims). Absent on stdio: the chain decides per message.
   */
  principal?: Principal;
}

/** The key under which the context rides in the SDK's `authInfo.extra`. */
const CONTEXT_KEY = 'specgate/request';

/** The SDK's AuthInfo carrying a request context; no token: the credential stays at the edge. */
export function authInfoOf(context: RequestContext): { token: string; clientId: string; scopes: string[]; extra: Record<string, unknown> } {
  return { token: '', clientId: context.caller?.subject ?? '', scopes: [], extra: { [CONTEXT_KEY]: context } };
}

/** The request context an `authInfo` carries, when the edge made one. */
export function contextOf(authInfo: { extra?: Record<string, unknown> } | undefined): RequestContext | undefined {
  return authInfo?.extra?.[CONTEXT_KEY] as RequestContext | undefined;
}
