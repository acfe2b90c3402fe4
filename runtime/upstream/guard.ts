/**
 * The fetch each tool call hands its generated client: the last point before bytes leave. It
 * checks the outgoing request against the connector's allow-list and the calling tool's own
 * operation first (upstream/allow-list.ts), only then lets the credential broker add credentials,
 * and sends it through the connector's transport (upstream/transport.ts) under a client span.
 *
 * The call's scope is bound into the fetch the call passes per request (openapi-fetch's `fetch`
 * option): no state is shared between calls, and the client's own fetch refuses to send.
 */
import type { AllowedRequest } from '../model.ts';
import { UpstreamRefused } from './errors.ts';
import { checkRequest, compileAllowList } from './allow-list.ts';
import { createTransport, type WireObservation } from './transport.ts';
import { SpanKind, contextOf, endSpan, injectContext, startSpan, type TraceContext } from '../ops/tracing.ts';

export interface GuardOptions {
  connector: string;
  baseUrl: string;
  allowList: AllowedRequest[];
  authenticate?: Authenticate;
  timeoutMs: number;
  maxResponseBytes: number;
}

/** Whose call a request is, for the credential broker: a per-customer token is that customer's. */
export interface AuthCall {
  tenant?: string;
  /** The customer's vendor id for this connector, from the identity's grant (never a tool argument). */
  customer?: string;
}

/**
 * Adds credentials to a request, after the allow-list check. It may return what to do when the
 * vendor answers 401 to this request (drop the cached token it used).
 */
export type Authenticate = (req: Request, call?: AuthCall) => Promise<(() => void) | void> | (() => void) | void;

/** What one tool call expects and observes; bound into the fetch of each of its requests. */
export interface CallScope extends WireObservation {
  /** The operation of the tool being called: the request must be this one, not just any allowed one. */
  expected?: AllowedRequest;
  /** Set once a request has left for the vendor (allow-listed and authenticated): what billing counts. */
  dispatched?: boolean;
  /** Header values the credential broker added, so they can be scrubbed from any text. */
  secrets: Set<string>;
  /** The call's trace context when tracing is on: each attempt is a client span under it. */
  trace?: TraceContext;
  /** The caller's tenant and customer (its vendor id for this connector), handed to the authenticator. */
  tenant?: string;
  customer?: string;
}

export type ScopedFetch = (input: Request) => Promise<Response>;

export interface UpstreamGuard {
  /** The fetch for the requests of one call (one scope): give it to the generated operation. */
  fetchFor(scope: CallScope): ScopedFetch;
  /** For the generated client's own `fetch` option: a request made without a call's fetch is refused. */
  unscoped: ScopedFetch;
  /** Closes the connector's pooled connections (after the calls in flight). */
  close(): Promise<void>;
}

export function createUpstreamGuard(options: GuardOptions): UpstreamGuard {
  const base = new URL(options.baseUrl);
  const compiled = compileAllowList(options.allowList);
  const transport = createTransport(options);

  async function guarded(input: Request, scope: CallScope): Promise<Response> {
    const method = input.method.toUpperCase();
    const refusal = checkRequest(method, input.url, base, compiled, scope.expected);
    if (refusal) throw new UpstreamRefused(refusal);

    let onRejected: (() => void) | void = undefined;
    if (options.authenticate) {
      const before = new Map(input.headers);
      onRejected = await options.authenticate(input, { tenant: scope.tenant, customer: scope.customer });
      for (const [k, v] of input.headers) {
        if (before.get(k) === v) continue;
        scope.secrets.add(v);
        for (const part of v.split(/\s+/)) if (part.length >= 8) scope.secrets.add(part);
      }
    }

    // Names and status only: the URL's query and the headers may carry arguments or credentials.
    const span = scope.trace && startSpan(`${method} ${scope.expected?.path ?? ''}`, scope.trace, {
      'http.request.method': method, 'server.address': base.hostname, 'url.template': scope.expected?.path ?? '', 'specgate.connector': options.connector,
    }, SpanKind.CLIENT);
    if (span) injectContext(contextOf(span, scope.trace), input.headers);
    scope.dispatched = true;
    try {
      const response = await transport.send(input, scope);
      if (response.status === 401 && onRejected) onRejected();
      if (span) endSpan(span, response.status >= 500 ? new Error(`HTTP ${response.status}`) : undefined, { 'http.response.status_code': response.status });
      return response;
    } catch (err) {
      if (span?.isRecording()) endSpan(span, err);
      throw err;
    }
  }

  return {
    fetchFor: (scope) => (input) => guarded(input, scope),
    unscoped: async (input) => {
      throw new UpstreamRefused(`${input.method} request made outside a tool call`);
    },
    close: () => transport.close(),
  };
}
