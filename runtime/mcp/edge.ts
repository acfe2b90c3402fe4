/**
 * What the HTTP edge knows about a request before any MCP handling: who it is (when the credential
 * verified), why it was refused, and what of its credential may be shown (never the secret). Every
 * listener (the MCP port, the admin API) applies the same URL rule: credentials in a query string
 * are refused, because URLs end up in logs, proxies and browser history.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { EdgeCaller, Principal } from '../request-context.ts';

/** Why the edge refused a request. */
export interface EdgeRefusalReason {
  /** `authenticate`, `tenant`, `customer`, `transport` (URL, body, Origin, protocol), `metrics`. */
  step: string;
  code: string;
  reason: string;
}

/** Per-request edge state, set by the hooks that decide and read by the audit hook. */
export interface EdgeState {
  caller?: EdgeCaller;
  /** The request-wide governance decisions, when the caller authenticated (see runtime/request-context.ts). */
  principal?: Principal;
  refusal?: EdgeRefusalReason;
  /** Set on the routes whose refusals are audited (the MCP endpoint, /metrics); URL refusals always are. */
  audited?: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    edge: EdgeState;
  }
}

/** An audit-ready description of one refused request. */
export interface EdgeRefusal extends EdgeRefusalReason {
  status: number;
  caller?: EdgeCaller;
  remoteAddress: string;
  /** The presented key's public prefix (`sg_<12 hex>` keys), never any secret part. */
  keyPrefix?: string;
  /** What kind of credential was presented: `api-key`, `token`, `none`, `malformed`, `query`. */
  credential: string;
  requestId: string;
  method: string;
  /** Without the query string. */
  path: string;
}

/** Query parameter names that carry credentials by convention (OAuth's access_token, API keys). */
const CREDENTIAL_PARAM = /^(api[-_]?key|apikey|access[-_]?token|id[-_]?token|refresh[-_]?token|token|key|auth|authorization|bearer|jwt|password|passwd|secret|client[-_]?secret|sig|signature|x[-_]api[-_]key)$/i;
/** A specgate key or operator key pasted anywhere in the query, whatever the parameter is called. */
const SPECGATE_KEY = /\bsga?_[0-9a-f]{12}_/;
const API_KEY_SHAPE = /^(sga?)_([0-9a-f]{12})_/;

export const CREDENTIALS_IN_URL_MESSAGE = 'Credentials in the URL are refused: URLs are written to logs and proxies. Send the key or token in the Authorization header ("Authorization: Bearer ...") and remove it from the query string';

/** The path of a request URL, query string dropped. */
export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** The name of the first query parameter that carries a credential, or undefined. */
export function credentialInUrl(url: string): { param: string; keyPrefix?: string } | undefined {
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(url.slice(q + 1));
  } catch {
    return undefined;
  }
  for (const [name, value] of params) {
    if (CREDENTIAL_PARAM.test(name) || SPECGATE_KEY.test(value) || SPECGATE_KEY.test(name)) {
      const prefix = keyPrefixOf(value) ?? keyPrefixOf(name);
      return { param: CREDENTIAL_PARAM.test(name) ? name : '(a specgate key)', ...(prefix && { keyPrefix: prefix }) };
    }
  }
  return undefined;
}

/** `sg_<12 hex>` of a specgate key: the public lookup handle stored in api_keys.prefix, with its tag. */
export function keyPrefixOf(token: string | undefined): string | undefined {
  const m = token === undefined ? null : API_KEY_SHAPE.exec(token.trim());
  return m ? `${m[1]}_${m[2]}` : undefined;
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** The presented credential, described without its secret. */
export function presentedCredential(authorization: string | undefined): { credential: string; keyPrefix?: string } {
  if (authorization === undefined || authorization.trim() === '') return { credential: 'none' };
  const bearer = BEARER.exec(authorization)?.[1];
  if (!bearer) return { credential: 'malformed' };
  const prefix = keyPrefixOf(bearer);
  if (prefix) return { credential: 'api-key', keyPrefix: prefix };
  return { credential: bearer.split('.').length === 3 ? 'token' : 'malformed' };
}

/** The reason an answer gives, from its JSON body (JSON-RPC `error.message` or Fastify's `message`). */
function messageOf(payload: unknown): string | undefined {
  if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return undefined;
  try {
    const body = JSON.parse(payload.toString()) as { error?: { message?: unknown } | string; message?: unknown };
    const m = typeof body.error === 'object' ? body.error?.message : body.message;
    return typeof m === 'string' ? m : undefined;
  } catch {
    return undefined;
  }
}

/** Refusals nobody named explicitly (Fastify's body limit, the SDK's Origin guard, 405/406/415 ...). */
function derivedReason(status: number, payload: unknown): EdgeRefusalReason {
  const reason = (messageOf(payload) ?? `HTTP ${status}`).slice(0, 500);
  switch (status) {
    case 413: return { step: 'transport', code: 'body-too-large', reason };
    case 415: return { step: 'transport', code: 'unsupported-media-type', reason };
    case 403: return { step: 'transport', code: 'origin', reason };
    default: return { step: 'transport', code: `http-${status}`, reason };
  }
}

/** The refusal to audit for an answer with status >= 400, or undefined when the route is not audited. */
export function edgeRefusalOf(request: FastifyRequest, reply: FastifyReply, payload: unknown): EdgeRefusal | undefined {
  const edge = request.edge;
  if (!edge || reply.statusCode < 400 || !(edge.audited || edge.refusal)) return undefined;
  const why = edge.refusal ?? derivedReason(reply.statusCode, payload);
  const inUrl = edge.refusal?.code === 'credentials-in-url' ? credentialInUrl(request.url) : undefined;
  const presented = inUrl
    ? { credential: 'query', ...(inUrl.keyPrefix && { keyPrefix: inUrl.keyPrefix }) }
    : presentedCredential(request.headers.authorization);
  return {
    ...why,
    status: reply.statusCode,
    ...(edge.caller && { caller: edge.caller }),
    remoteAddress: request.ip,
    ...presented,
    requestId: request.id,
    method: request.method,
    path: pathOf(request.url),
  };
}
