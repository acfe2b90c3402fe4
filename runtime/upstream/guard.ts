/**
 * The fetch that every generated client gets. It is the last point before bytes leave, so it
 * checks the outgoing request against the connector's compiled allow-list first, and only then
 * lets the credential broker add credentials. It never follows redirects, caps the time and the
 * size of each answer, and records what it saw for metering.
 *
 * The request goes out through undici's dispatcher API on a keep-alive Agent of the connector's
 * own, not through the WHATWG fetch: fetch's spec machinery (request cloning, streams, CORS
 * bookkeeping) cost several times the HTTP exchange itself on the tools/call path.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { Agent, type Dispatcher } from 'undici';
import type { AllowedRequest, HttpMethod } from '../model.ts';
import {
  CallCancelled, RedirectRefused, ResponseTooLarge, ToolCallError, UndecodableBody, UpstreamRefused, UpstreamTimeout, UpstreamUnreachable,
} from './errors.ts';
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

/** What one tool call expects and observes; handed to the fetch by `withCallScope`. */
export interface CallScope {
  /** The operation of the tool being called: the request must be this one, not just any allowed one. */
  expected?: AllowedRequest;
  /** Set by the guard on each attempt. */
  status?: number;
  /** Set once a request has left for the vendor (allow-listed and authenticated): what billing counts. */
  dispatched?: boolean;
  bytes: number;
  /** Header values the credential broker added, so they can be scrubbed from any text. */
  secrets: Set<string>;
  /** The call's trace context when tracing is on: each attempt is a client span under it. */
  trace?: TraceContext;
  /** The caller's tenant and customer (its vendor id for this connector), handed to the authenticator. */
  tenant?: string;
  customer?: string;
}

/** The scope of the call whose generated operation is being started right now (see withCallScope). */
let handing: CallScope | undefined;

/**
 * Starts one attempt (a generated operation) with `scope` as its call scope. openapi-fetch builds
 * the Request and calls the fetch synchronously, so the fetch takes the scope before anything
 * else runs; a plain hand-off instead of AsyncLocalStorage, whose promise hooks taxed every
 * promise in the process. A fetch that finds no scope refuses to send (fail closed).
 */
export function withCallScope<T>(scope: CallScope, start: () => T): T {
  handing = scope;
  try {
    return start();
  } finally {
    handing = undefined;
  }
}

interface CompiledEntry {
  method: HttpMethod;
  path: string;
  re: RegExp;
}

/** `/tickets/{id}` -> /^\/tickets\/[^/]+$/ : a path parameter fills exactly one segment. */
export function compileTemplate(path: string): RegExp {
  const parts = path.split(/(\{[^{}/]+\})/);
  const source = parts
    .map((part) => (/^\{[^{}/]+\}$/.test(part) ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`);
}

export function compileAllowList(allowList: AllowedRequest[]): CompiledEntry[] {
  return allowList.map((a) => ({ method: a.method, path: a.path, re: compileTemplate(a.path) }));
}

/** Why a request is not permitted, or undefined when it is. */
export function checkRequest(
  method: string,
  rawUrl: string,
  base: URL,
  compiled: CompiledEntry[],
  expected?: AllowedRequest,
): string | undefined {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return 'the request URL is malformed';
  }
  const shown = `${method} ${url.pathname.slice(0, 200)}`;
  if (url.protocol !== base.protocol || url.hostname !== base.hostname || url.port !== base.port) {
    return `${shown} goes to ${url.protocol}//${url.host}, not the configured upstream`;
  }
  if (url.username || url.password) return `${shown} carries user info in its URL`;
  const basePath = base.pathname.replace(/\/+$/, '');
  if (!url.pathname.startsWith(`${basePath}/`)) return `${shown} is outside the upstream's base path ${basePath || '/'}`;
  const rest = url.pathname.slice(basePath.length);
  // URL parsing already resolved literal dot segments; encoded separators would be decoded by
  // the vendor's router into another path than the one we checked.
  if (/%2f|%5c|\\/i.test(rest)) return `${shown} has an encoded slash or backslash in a path segment`;
  if (rest.split('/').some((seg) => seg === '..' || seg === '.' || /^(%2e|\.){1,2}$/i.test(seg))) {
    return `${shown} has a dot segment`;
  }
  if (!compiled.some((c) => c.method === method && c.re.test(rest))) return `${shown} matches no permitted request`;
  if (expected) {
    // Stricter than the allow-list: a value must not turn one tool's request into another's.
    const own = compiled.find((c) => c.method === expected.method && c.path === expected.path);
    if (!own || own.method !== method || !own.re.test(rest)) {
      return `${shown} is not the request of this tool (${expected.method} ${expected.path})`;
    }
  }
  return undefined;
}

/** Statuses whose responses must not carry a body. */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

export interface GuardedFetch {
  fetch: (input: Request) => Promise<Response>;
  /** Closes the connector's pooled connections (after the calls in flight). */
  close(): Promise<void>;
}

export function createGuardedFetch(options: GuardOptions): GuardedFetch {
  const base = new URL(options.baseUrl);
  const compiled = compileAllowList(options.allowList);
  // The cap holds on the wire here, and again after decompression (decode below).
  const dispatcher = new Agent({ maxResponseSize: options.maxResponseBytes });

  async function guardedFetch(input: Request): Promise<Response> {
    const scope = handing;
    handing = undefined;
    if (!scope) throw new UpstreamRefused(`${input.method} request made outside a tool call`);
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
    const headers: Record<string, string> = { ...DEFAULT_HEADERS };
    input.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const body = input.body ? Buffer.from(await input.arrayBuffer()) : undefined;
    const url = new URL(input.url);

    // One timer and one controller per attempt: the caller's cancellation or the timeout ends it.
    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, options.timeoutMs);
    const cancel = () => abort.abort();
    if (input.signal.aborted) abort.abort();
    else input.signal.addEventListener('abort', cancel, { once: true });
    try {
      scope.dispatched = true;
      const response = await dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: method as Dispatcher.HttpMethod,
        headers,
        ...(body && { body }),
        signal: abort.signal,
      });
      scope.status = response.statusCode;
      if (response.statusCode === 401 && onRejected) onRejected();
      if (response.statusCode >= 300 && response.statusCode < 400) {
        await response.body.dump().catch(() => {});
        throw new RedirectRefused(options.connector, response.statusCode);
      }
      const wire = await response.body.bytes();
      scope.bytes += wire.byteLength;
      const answered = toHeaders(response.headers);
      const bytes = await decode(wire, answered, options);
      if (span) endSpan(span, response.statusCode >= 500 ? new Error(`HTTP ${response.statusCode}`) : undefined, { 'http.response.status_code': response.statusCode });
      return new Response(NULL_BODY.has(response.statusCode) ? null : bytes, { status: response.statusCode, headers: answered });
    } catch (err) {
      if (span?.isRecording()) endSpan(span, err);
      if (err instanceof ToolCallError) throw err;
      throw fetchFailure(err, input.signal, timedOut, options);
    } finally {
      clearTimeout(timer);
      input.signal.removeEventListener('abort', cancel);
    }
  }

  return { fetch: guardedFetch, close: () => dispatcher.close() };
}

/** What WHATWG fetch would have sent by default, for vendors that insist (GitHub needs a User-Agent). */
const DEFAULT_HEADERS: Readonly<Record<string, string>> = {
  accept: '*/*',
  'accept-encoding': 'gzip, deflate, br',
  'user-agent': 'specgate',
};

const DECODERS: Record<string, (buf: Uint8Array, options: zlib.ZlibOptions) => Promise<Buffer>> = {
  gzip: promisify(zlib.gunzip),
  'x-gzip': promisify(zlib.gunzip),
  deflate: promisify(zlib.inflate),
  br: promisify(zlib.brotliDecompress) as (buf: Uint8Array, options: zlib.ZlibOptions) => Promise<Buffer>,
};

/**
 * Undoes the Content-Encoding we asked for (fetch did this on its own), capped like the wire
 * bytes; the headers then describe the decoded body. An encoding we did not offer stays as is.
 */
async function decode(wire: Uint8Array, headers: Headers, options: GuardOptions): Promise<Uint8Array> {
  const encoding = headers.get('content-encoding')?.trim().toLowerCase();
  const decoder = encoding ? DECODERS[encoding] : undefined;
  if (!decoder || wire.byteLength === 0) return wire;
  let decoded: Buffer;
  try {
    decoded = await decoder(wire, { maxOutputLength: options.maxResponseBytes });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new ResponseTooLarge(options.connector, options.maxResponseBytes);
    throw new UndecodableBody(options.connector, encoding!);
  }
  headers.delete('content-encoding');
  headers.delete('content-length');
  return decoded;
}

function toHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers();
  for (const name in raw) {
    const value = raw[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.append(name, value);
  }
  return headers;
}

const PROGRAMMING_ERRORS = new Set(['TypeError', 'ReferenceError', 'RangeError', 'SyntaxError']);

function fetchFailure(err: unknown, callSignal: AbortSignal, timedOut: boolean, options: GuardOptions): Error {
  if (callSignal.aborted) return new CallCancelled();
  if (timedOut) return new UpstreamTimeout(options.connector, options.timeoutMs);
  const code = (err as { code?: string })?.code;
  if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') return new ResponseTooLarge(options.connector, options.maxResponseBytes);
  const cause = (err as { cause?: { code?: string } })?.cause;
  const networkCode = cause?.code ?? code;
  // A bug of ours (a TypeError, say) is not a network failure: it must not be retried, count
  // toward the breaker, or be reported as the vendor being unreachable.
  if (networkCode === undefined && err instanceof Error && PROGRAMMING_ERRORS.has(err.name)) return err;
  return new UpstreamUnreachable(options.connector, networkCode ?? (err as Error)?.name ?? 'network error');
}
