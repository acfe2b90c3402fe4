/**
 * The fetch that every generated client gets. It is the last point before bytes leave, so it
 * checks the outgoing request against the connector's compiled allow-list first, and only then
 * lets the credential broker add credentials. It never follows redirects, caps the time and the
 * size of each answer, and records what it saw for metering.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { AllowedRequest, HttpMethod } from '../model.ts';
import {
  CallCancelled, RedirectRefused, ResponseTooLarge, UpstreamRefused, UpstreamTimeout, UpstreamUnreachable,
} from './errors.ts';

export interface GuardOptions {
  connector: string;
  baseUrl: string;
  allowList: AllowedRequest[];
  authenticate?: (req: Request) => Promise<void> | void;
  timeoutMs: number;
  maxResponseBytes: number;
}

/** What one tool call expects and observes; carried to the fetch through async context. */
export interface CallScope {
  /** The operation of the tool being called: the request must be this one, not just any allowed one. */
  expected?: AllowedRequest;
  /** Set by the guard on each attempt. */
  status?: number;
  bytes: number;
  /** Header values the credential broker added, so they can be scrubbed from any text. */
  secrets: Set<string>;
}

export const callScope = new AsyncLocalStorage<CallScope>();

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

export function createGuardedFetch(options: GuardOptions): (input: Request) => Promise<Response> {
  const base = new URL(options.baseUrl);
  const compiled = compileAllowList(options.allowList);

  return async function guardedFetch(input: Request): Promise<Response> {
    const scope = callScope.getStore();
    const refusal = checkRequest(input.method.toUpperCase(), input.url, base, compiled, scope?.expected);
    if (refusal) throw new UpstreamRefused(refusal);

    if (options.authenticate) {
      const before = new Map(input.headers);
      await options.authenticate(input);
      for (const [k, v] of input.headers) {
        if (before.get(k) === v) continue;
        scope?.secrets.add(v);
        for (const part of v.split(/\s+/)) if (part.length >= 8) scope?.secrets.add(part);
      }
    }

    const timeout = AbortSignal.timeout(options.timeoutMs);
    const signal = AbortSignal.any([input.signal, timeout]);
    let response: Response;
    try {
      response = await fetch(input, { redirect: 'manual', signal });
    } catch (err) {
      throw fetchFailure(err, input.signal, timeout, options);
    }
    if (scope) scope.status = response.status;
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel().catch(() => {});
      throw new RedirectRefused(options.connector, response.status);
    }
    const bytes = await readCapped(response, options, input.signal, timeout);
    if (scope) scope.bytes += bytes.byteLength;
    const headers = new Headers(response.headers);
    // The body is already decoded and measured; these no longer describe it.
    headers.delete('content-encoding');
    headers.delete('content-length');
    return new Response(NULL_BODY.has(response.status) ? null : bytes, {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  };
}

async function readCapped(response: Response, options: GuardOptions, callSignal: AbortSignal, timeout: AbortSignal): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > options.maxResponseBytes) {
    await response.body?.cancel().catch(() => {});
    throw new ResponseTooLarge(options.connector, options.maxResponseBytes);
  }
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > options.maxResponseBytes) {
        await reader.cancel().catch(() => {});
        throw new ResponseTooLarge(options.connector, options.maxResponseBytes);
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof ResponseTooLarge) throw err;
    throw fetchFailure(err, callSignal, timeout, options);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

function fetchFailure(err: unknown, callSignal: AbortSignal, timeout: AbortSignal, options: GuardOptions): Error {
  if (callSignal.aborted) return new CallCancelled();
  if (timeout.aborted) return new UpstreamTimeout(options.connector, options.timeoutMs);
  const cause = (err as { cause?: { code?: string } })?.cause;
  return new UpstreamUnreachable(options.connector, cause?.code ?? (err as Error)?.name ?? 'network error');
}
