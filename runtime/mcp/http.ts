/**
 * The Streamable HTTP endpoint: `POST /mcp` serving both protocol eras, stateless.
 *
 * The SDK's createMcpHandler does the era work: a request whose params carry the per-request
 * `_meta` envelope (`io.modelcontextprotocol/protocolVersion`, 2026-07-28) is served on the modern
 * path; everything else (the `initialize` handshake and 2025-era traffic) goes to its stateless
 * legacy fallback, which also answers GET/DELETE with 405. This plugin adds what the SDK leaves to
 * the host: Origin validation (from @modelcontextprotocol/fastify), a JSON-RPC parse error for
 * malformed bodies, rejection of batches (the stateless legacy leg would serve them), one
 * MCP-Protocol-Version check for every path, and, when the governance chain is on, authentication
 * from the headers before the body is read (refusals are marked on `request.edge` for the audit;
 * see runtime/mcp/edge.ts).
 */
import {
  classifyInboundRequest,
  createMcpHandler,
  localhostAllowedOrigins,
  SUPPORTED_PROTOCOL_VERSIONS,
  UnsupportedProtocolVersionError,
  isJsonContentType,
} from '@modelcontextprotocol/server';
import { originValidation } from '@modelcontextprotocol/fastify';
import type { AuthenticateRequest } from './types.ts';
import { authInfoOf, type EdgeCaller, type RequestContext } from '../request-context.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { catalogGetter, createServerFactory, type ServerFactoryOptions } from './factory.ts';
import { checkLegacyPost, expectsAnswer, JsonExchange, type ExchangeAnswer } from './json-exchange.ts';
import { createCallerBus, createVisibilityWatch } from '../discovery/list-changed.ts';
import { SpanKind, contextOf, endSpan, extractContext, startSpan, type TraceContext } from '../ops/tracing.ts';
import type { Span } from '@opentelemetry/api';

/** Modern (envelope) revisions the SDK serves; the SDK keeps its own list internal. */
export const MODERN_PROTOCOL_VERSIONS = ['2026-07-28'] as const;
/** Retry-After of a 503 when an identity provider's keys cannot be fetched. */
const AUTH_RETRY_AFTER_SECONDS = 30;
export const ACCEPTED_PROTOCOL_VERSIONS: readonly string[] = [...MODERN_PROTOCOL_VERSIONS, ...SUPPORTED_PROTOCOL_VERSIONS];

export interface McpHttpOptions extends Omit<ServerFactoryOptions, 'headers'> {
  /** Route path; default `/mcp`. */
  path?: string;
  /**
   * Origins allowed to call the endpoint (DNS-rebinding guard). Entries are hostnames or full
   * origins (`https://app.example.com`; the port is ignored) or `<scheme>://*`. Requests without an
   * Origin header always pass. Default: localhost, 127.0.0.1, [::1].
   */
  allowedOrigins?: string[];
  /** Upper bound on a request body, bytes; default 4 MiB. */
  bodyLimit?: number;
  /**
   * When set, every MCP request must carry credentials it accepts; a refusal is answered 401
   * with a WWW-Authenticate header pointing at the protected-resource metadata (MCP authorization).
   */
  authenticate?: AuthenticateRequest;
  /** With `authenticate`: the authorization servers and resource id the metadata announces. */
  protectedResource?: ProtectedResourceMetadata;
  /**
   * The base URL clients reach this server at (`https://mcp.example.com`): the 401 challenge's
   * `resource_metadata` and the metadata's `resource` are built on it. Default: the listen address.
   */
  publicUrl?: string;
}

/** RFC 9728 settings: `resource` defaults to this endpoint's URL under the configured public URL. */
export interface ProtectedResourceMetadata {
  resource?: string;
  authorizationServers: string[];
}

export interface McpEndpoint {
  /** The catalog was reloaded: tell each `subscriptions/listen` stream whose caller's lists changed. */
  toolsChanged(): void;
  /** Listening sessions followed for list_changed (open `subscriptions/listen` streams). */
  followers(): number;
  /** Aborts in-flight modern exchanges (the last step of a shutdown). */
  close(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    mcp: McpEndpoint;
  }
}

/** The SDK matches origins by hostname; accept full origins too, as operators tend to write them. */
export function normalizeAllowedOrigins(entries: string[]): string[] {
  return entries.map((entry) => {
    if (/^[a-z][a-z0-9+.-]*:\/\/\*$/i.test(entry)) return entry.toLowerCase();
    if (!entry.includes('://')) return entry;
    try {
      return new URL(entry).hostname;
    } catch {
      throw new Error(`allowedOrigins: '${entry}' is neither a hostname nor a valid origin URL`);
    }
  });
}

function jsonRpcError(reply: FastifyReply, status: number, code: number, message: string, data?: unknown, id: string | number | null = null) {
  return reply
    .code(status)
    .type('application/json')
    .send({ jsonrpc: '2.0', error: { code, message, ...(data !== undefined && { data }) }, id });
}

/** The request's JSON-RPC id when the body has a usable one: error responses must echo it. */
function requestIdOf(body: unknown): string | number | null {
  const id = (body as { id?: unknown } | null | undefined)?.id;
  return typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) ? id : null;
}

/**
 * Whether a parsed POST is 2025-era traffic, by the SDK's own classification (the one
 * createMcpHandler routes by), read from the headers and body the host already has.
 */
function isLegacyPost(headers: Record<string, string>, body: unknown): boolean {
  return classifyInboundRequest({
    httpMethod: 'POST', body,
    ...(headers['mcp-protocol-version'] !== undefined && { protocolVersionHeader: headers['mcp-protocol-version'] }),
    ...(headers['mcp-method'] !== undefined && { mcpMethodHeader: headers['mcp-method'] }),
    ...(headers['mcp-name'] !== undefined && { mcpNameHeader: headers['mcp-name'] }),
  }).kind === 'legacy';
}

/** Whether the body carries the 2026-07-28 per-request envelope (`params._meta` protocol version). */
function hasModernEnvelope(body: unknown): boolean {
  const meta = (body as { params?: { _meta?: Record<string, unknown> } } | null | undefined)?.params?._meta;
  return typeof meta?.['io.modelcontextprotocol/protocolVersion'] === 'string';
}

/**
 * The server span of one MCP request, under the caller's trace context (the 2026-07-28 `_meta`,
 * else the HTTP headers); undefined when tracing is off. Attributes name the method and tool only.
 */
function requestSpan(request: FastifyRequest, body: unknown): { span: Span; context: TraceContext } | undefined {
  const params = (body as { method?: unknown; params?: { name?: unknown; _meta?: Record<string, unknown> } } | undefined);
  const method = typeof params?.method === 'string' ? params.method : request.method;
  const parent = extractContext(request.headers as Record<string, unknown>, params?.params?._meta);
  const tool = method === 'tools/call' && typeof params?.params?.name === 'string' ? params.params.name : undefined;
  const span = startSpan(tool ? `tools/call ${tool}` : method, parent, {
    'mcp.method.name': method, 'http.request.method': request.method, 'specgate.request_id': request.id, ...(tool && { 'gen_ai.tool.name': tool }),
  }, SpanKind.SERVER);
  if (!span.isRecording()) return undefined;
  return { span, context: contextOf(span, parent) };
}

/** Runs one exchange under the request's span (when tracing is on) and ends it with the answer's status. */
async function withinSpan<T extends { status: number }>(span: { span: Span } | undefined, run: () => Promise<T>): Promise<T> {
  let answer: T;
  try {
    answer = await run();
  } catch (error) {
    if (span) endSpan(span.span, error);
    throw error;
  }
  if (span) endSpan(span.span, answer.status >= 500 ? new Error(`HTTP ${answer.status}`) : undefined, { 'http.response.status_code': answer.status });
  return answer;
}

/** Node's header object with repeated headers joined, as a Web Headers object would show them. */
function plainHeaders(request: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/**
 * The Web Request the SDK takes. A body the host already parsed is handed to the SDK as
 * `parsedBody` and left out here: the SDK would not read it, and a body stream per request is
 * one of the costlier parts of a Request.
 */
function toWebRequest(request: FastifyRequest, headers: Record<string, string>, body: Buffer | undefined, signal: AbortSignal): Request {
  const url = `http://${request.headers.host ?? 'localhost'}${request.url}`;
  const hasBody = body !== undefined && request.method !== 'GET' && request.method !== 'HEAD';
  return new Request(url, { method: request.method, headers, signal, ...(hasBody && { body }) });
}

/**
 * Sends the SDK's Response. A plain JSON answer is sent as one buffer with its length, as any
 * Fastify route would; only an event stream is piped (Fastify writes a Web stream chunked).
 */
async function sendResponse(reply: FastifyReply, response: Response): Promise<FastifyReply> {
  const type = response.headers.get('content-type') ?? '';
  if (response.body === null || type.startsWith('text/event-stream')) return reply.send(response);
  void reply.code(response.status);
  response.headers.forEach((value, name) => {
    void reply.header(name, value);
  });
  return reply.send(Buffer.from(await response.arrayBuffer()));
}

async function mcpHttp(app: FastifyInstance, options: McpHttpOptions): Promise<void> {
  const routePath = options.path ?? '/mcp';
  const factory = createServerFactory(options);
  // subscriptions/listen streams are followed per caller: each hears only its own lists change.
  const watch = createVisibilityWatch({
    getCatalog: catalogGetter(options.catalog),
    ...(options.listTools && { listTools: options.listTools }),
    ...(options.discovery && { discovery: options.discovery }),
    ...(options.visibilityFingerprint && { fingerprint: options.visibilityFingerprint }),
    ...(options.listChangedPollMs !== undefined && { intervalMs: options.listChangedPollMs }),
    ...(options.logger && { logger: options.logger }),
  });
  const bus = createCallerBus(watch);
  const handler = createMcpHandler(factory, {
    legacy: 'stateless',
    bus,
    ...(options.bodyLimit !== undefined && { maxRequestBodySize: options.bodyLimit }),
    onerror: (error) => app.log.debug({ err: error }, 'mcp request rejected or failed'),
  });
  /**
   * 2025-era POSTs, served as the SDK's stateless fallback does (a fresh server per request) but
   * over a JSON exchange (runtime/mcp/json-exchange.ts): one JSON body instead of an SSE stream or
   * a Web Response, since a tools-only server emits nothing before its result.
   */
  const serveLegacyJson = async (headers: Record<string, string>, parsedBody: unknown, authInfo: ReturnType<typeof authInfoOf>, signal: AbortSignal): Promise<ExchangeAnswer> => {
    const checked = checkLegacyPost(headers, parsedBody);
    if ('refusal' in checked) return checked.refusal;
    const server = await factory({ era: 'legacy', authInfo, ...('method' in checked.message && { method: checked.message.method }) });
    const exchange = new JsonExchange();
    await server.connect(exchange);
    if (!expectsAnswer(checked.message)) {
      exchange.deliver(checked.message, authInfo);
      return { status: 202 };
    }
    // A client that hangs up cancels its call: closing the exchange aborts the handler's signal,
    // which the upstream request carries (the modern path gets this from the SDK itself).
    const hangUp = () => void exchange.close();
    signal.addEventListener('abort', hangUp, { once: true });
    try {
      exchange.deliver(checked.message, authInfo);
      const answer = await exchange.answered;
      return answer ? { status: 200, body: answer } : { status: 499 };
    } finally {
      signal.removeEventListener('abort', hangUp);
    }
  };
  app.decorate('mcp', {
    toolsChanged: () => void watch.check(),
    followers: () => watch.followers,
    close: async () => {
      watch.close();
      await handler.close();
    },
  } satisfies McpEndpoint);

  const allowed = normalizeAllowedOrigins(options.allowedOrigins ?? localhostAllowedOrigins());
  /** The configured public base URL, else the address this server listens on. */
  const publicBase = (): string => {
    if (options.publicUrl) return options.publicUrl.replace(/\/+$/, '');
    const address = app.server.address();
    if (address && typeof address === 'object') {
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return `http://${host}:${address.port}`;
    }
    return 'http://localhost';
  };

  const serve = async (request: FastifyRequest, reply: FastifyReply) => {
    const raw = Buffer.isBuffer(request.body) ? request.body : undefined;
    let parsedBody: unknown;
    if (request.method === 'POST' && isJsonContentType(request.headers['content-type'])) {
      try {
        parsedBody = JSON.parse((raw ?? Buffer.alloc(0)).toString('utf8'));
      } catch (error) {
        request.edge.refusal = { step: 'transport', code: 'parse-error', reason: 'the request body is not valid JSON' };
        return jsonRpcError(reply, 400, -32700, `Parse error: the request body is not valid JSON (${(error as Error).message})`);
      }
      if (Array.isArray(parsedBody)) {
        request.edge.refusal = { step: 'transport', code: 'batch', reason: 'JSON-RPC batches are not supported' };
        return jsonRpcError(reply, 400, -32600, 'Invalid Request: JSON-RPC batches are not supported; send one message per request');
      }
    }
    const versionHeader = request.headers['mcp-protocol-version'];
    if (typeof versionHeader === 'string' && !ACCEPTED_PROTOCOL_VERSIONS.includes(versionHeader.trim())) {
      // A 2026-era request hears the versions server/discover announces; a 2025-era one all we accept.
      const supported = hasModernEnvelope(parsedBody) ? [...MODERN_PROTOCOL_VERSIONS] : [...ACCEPTED_PROTOCOL_VERSIONS];
      const error = new UnsupportedProtocolVersionError({ supported, requested: versionHeader });
      request.edge.refusal = { step: 'transport', code: 'protocol-version', reason: `unsupported MCP-Protocol-Version ${versionHeader.slice(0, 40)}` };
      return jsonRpcError(reply, 400, error.code, `Unsupported MCP-Protocol-Version header: ${versionHeader}`, error.data, requestIdOf(parsedBody));
    }
    // Abort the exchange when the client goes away before the response is complete.
    const abort = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) abort.abort();
    });
    const headers = plainHeaders(request);
    const span = requestSpan(request, parsedBody);
    // The request's one context: made here, carried to the handlers as the SDK's verified auth.
    const context: RequestContext = {
      requestId: request.id, headers, signal: abort.signal,
      ...(span && { trace: span.context }),
      ...(request.edge.caller && { caller: request.edge.caller }),
      ...(request.edge.principal && { principal: request.edge.principal }),
    };
    const authInfo = authInfoOf(context);
    if (request.method === 'POST' && parsedBody !== undefined && isLegacyPost(headers, parsedBody)) {
      const answer = await withinSpan(span, () => serveLegacyJson(headers, parsedBody, authInfo, abort.signal));
      void reply.code(answer.status);
      return answer.body === undefined ? reply.send() : reply.type('application/json').send(answer.body);
    }
    const web = toWebRequest(request, headers, parsedBody === undefined ? raw : undefined, abort.signal);
    const response = await withinSpan(span, () => bus.within(headers, () => handler.fetch(web, parsedBody === undefined ? { authInfo } : { parsedBody, authInfo })));
    return sendResponse(reply, response);
  };
  if (options.authenticate) {
    // RFC 9728 metadata: where a client learns that this resource takes bearer tokens. The resource
    // and the challenge's URL come from configuration, never from the request's Host header.
    const servers = options.protectedResource?.authorizationServers ?? [];
    app.get('/.well-known/oauth-protected-resource', async () => ({
      resource: options.protectedResource?.resource ?? `${publicBase()}${routePath}`,
      ...(servers.length > 0 && { authorization_servers: servers }),
      bearer_methods_supported: ['header'],
      resource_name: 'specgate MCP gateway',
    }));
  }
  const authenticate = options.authenticate;
  // Own scope: the raw-body parser and the Origin hook apply to the MCP route only.
  await app.register(async (scope) => {
    scope.addHook('onRequest', async (request) => {
      request.edge.audited = true;
    });
    scope.addHook('onRequest', originValidation(allowed));
    if (authenticate) {
      // From the headers alone, before the body is read: a refused request's body is never read
      // or parsed, and the connection is closed rather than drained when one is on its way.
      scope.addHook('onRequest', async (request, reply) => {
        try {
          const { caller, principal } = await authenticate({ headers: request.headers as Record<string, string | undefined>, requestId: request.id });
          request.edge.caller = caller;
          request.edge.principal = principal;
        } catch (error) {
          const e = error as { status?: number; step?: string; code?: string; caller?: EdgeCaller; message: string };
          const status = e.status;
          if (status !== 400 && status !== 401 && status !== 403 && status !== 503) throw error;
          if (e.caller) request.edge.caller = e.caller;
          request.edge.refusal = { step: e.step ?? 'authenticate', code: e.code ?? `http-${status}`, reason: e.message };
          if (request.headers['content-length'] !== undefined || request.headers['transfer-encoding'] !== undefined) {
            void reply.header('connection', 'close');
          }
          // The body (and so the JSON-RPC id) is never read: the answer's id is null (JSON-RPC 2.0 5.1).
          if (status === 400) return jsonRpcError(reply, 400, -32600, e.message);
          if (status === 403) return jsonRpcError(reply, 403, -32003, `Forbidden: ${e.message}`);
          if (status === 503) {
            // jose refetches a key set at most every 30 s: sooner would meet the same failure.
            void reply.header('retry-after', String(AUTH_RETRY_AFTER_SECONDS));
            return jsonRpcError(reply, 503, -32000, e.message);
          }
          const metadata = `${publicBase()}/.well-known/oauth-protected-resource`;
          // RFC 6750 3.1: a credential that was sent and refused is an invalid_token; none sent gets the bare challenge.
          const invalid = request.headers.authorization !== undefined ? ', error="invalid_token"' : '';
          void reply.header('www-authenticate', `Bearer resource_metadata="${metadata}"${invalid}`);
          return jsonRpcError(reply, 401, -32001, `Unauthorized: ${e.message}`);
        }
      });
    }
    // The SDK must see the raw bytes: Fastify's JSON parser would answer malformed JSON itself.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.bodyLimit ?? 4 * 1024 * 1024 }, (_req, body, done) =>
      done(null, body),
    );
    scope.route({ method: ['POST', 'GET', 'DELETE'], url: routePath, handler: serve });
  });
  app.addHook('onClose', async () => handler.close());
}

export default fp(mcpHttp, { name: 'specgate-mcp-http', fastify: '5.x' });
