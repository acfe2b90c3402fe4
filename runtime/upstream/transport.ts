/**
 * The wire: one HTTP exchange with a vendor through undici's dispatcher API on a keep-alive Agent
 * of the connector's own, not through the WHATWG fetch, whose spec machinery (request cloning,
 * streams, CORS bookkeeping) cost several times the exchange itself on the tools/call path. It
 * never follows redirects, caps the time and the size of each answer (on the wire and after
 * decompression), and maps every failure to the error the model is told.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { Agent, type Dispatcher } from 'undici';
import {
  CallCancelled, RedirectRefused, ResponseTooLarge, ToolCallError, UndecodableBody, UpstreamTimeout, UpstreamUnreachable,
} from './errors.ts';

export interface TransportOptions {
  connector: string;
  timeoutMs: number;
  maxResponseBytes: number;
}

/** What the exchanges of one call observed, for metering and metrics (the call's scope). */
export interface WireObservation {
  /** The last answer's status, set before its body is read. */
  status?: number;
  /** Bytes received on the wire, before decoding, summed over the call's exchanges. */
  bytes: number;
}

export interface Transport {
  /** Sends an already checked and authenticated request, noting what it saw in `seen`. */
  send(input: Request, seen: WireObservation): Promise<Response>;
  /** Closes the pooled connections (after the calls in flight). */
  close(): Promise<void>;
}

/** Statuses whose responses must not carry a body. */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/** What WHATWG fetch would have sent by default, for vendors that insist (GitHub needs a User-Agent). */
const DEFAULT_HEADERS: Readonly<Record<string, string>> = {
  accept: '*/*',
  'accept-encoding': 'gzip, deflate, br',
  'user-agent': 'specgate',
};

export function createTransport(options: TransportOptions): Transport {
  // The cap holds on the wire here, and again after decompression (decode below).
  const dispatcher = new Agent({ maxResponseSize: options.maxResponseBytes });

  async function send(input: Request, seen: WireObservation): Promise<Response> {
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
      const response = await dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: input.method.toUpperCase() as Dispatcher.HttpMethod,
        headers,
        ...(body && { body }),
        signal: abort.signal,
      });
      seen.status = response.statusCode;
      if (response.statusCode >= 300 && response.statusCode < 400) {
        await response.body.dump().catch(() => {});
        throw new RedirectRefused(options.connector, response.statusCode);
      }
      const wire = await response.body.bytes();
      seen.bytes += wire.byteLength;
      const answered = toHeaders(response.headers);
      const bytes = await decode(wire, answered, options);
      return wireResponse(response.statusCode, answered, NULL_BODY.has(response.statusCode) ? new Uint8Array(0) : bytes);
    } catch (err) {
      if (err instanceof ToolCallError) throw err;
      throw fetchFailure(err, input.signal, timedOut, options);
    } finally {
      clearTimeout(timer);
      input.signal.removeEventListener('abort', cancel);
    }
  }

  return { send, close: () => dispatcher.close() };
}

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
async function decode(wire: Uint8Array, headers: Headers, options: TransportOptions): Promise<Uint8Array> {
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

const decoder = new TextDecoder();

/**
 * The answer as the generated client reads it: status, headers and the whole body, already in
 * memory. A WHATWG Response would wrap those bytes in a stream only for openapi-fetch to read them
 * back out, which cost more than the exchange; this object has the members openapi-fetch and the
 * runtime use (status, ok, headers, text, json, arrayBuffer, bytes) and nothing that streams.
 */
function wireResponse(status: number, headers: Headers, bytes: Uint8Array): Response {
  let used = false;
  const take = (): Uint8Array => {
    if (used) throw new TypeError('Body is unusable: body has already been read');
    used = true;
    return bytes;
  };
  const answer = {
    status,
    statusText: '',
    ok: status >= 200 && status < 300,
    headers,
    redirected: false,
    type: 'basic',
    url: '',
    body: null,
    get bodyUsed() {
      return used;
    },
    text: async () => decoder.decode(take()),
    json: async () => JSON.parse(decoder.decode(take())) as unknown,
    arrayBuffer: async () => {
      const b = take();
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
    },
    bytes: async () => take(),
  };
  return answer as unknown as Response;
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

function fetchFailure(err: unknown, callSignal: AbortSignal, timedOut: boolean, options: TransportOptions): Error {
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
