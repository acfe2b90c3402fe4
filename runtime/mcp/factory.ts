/**
 * The MCP server factory shared by HTTP and stdio. The SDK's dual-era entries (createMcpHandler,
 * serveStdio) ask the factory for a fresh low-level Server per HTTP request / stdio connection and
 * bind it to the era themselves; so the factory stays cheap: two handlers that close over the
 * catalog source, no per-tool work.
 */
import { randomUUID } from 'node:crypto';
import { Server, type McpRequestContext, type McpServerFactory } from '@modelcontextprotocol/server';
import type { Catalog } from '../catalog.ts';
import { DEFAULT_PAGE_SIZE, listToolsPage, runToolCall, visibleCatalog } from './tools.ts';
import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';
import type { CallTool, CatalogSource, ListTools, McpLogger, ToolCallObservation } from './types.ts';
import { contextOf, type RequestContext } from '../request-context.ts';
import { createDiscovery, type DiscoveryOptions } from '../discovery/endpoint.ts';
import type { VisibilityWatch } from '../discovery/list-changed.ts';
import type { DescribeCaller } from './instructions.ts';
import { registerPromptsAndResources } from './prompts-resources.ts';

export const SERVER_INFO = { name: 'specgate', version: '0.1.0' } as const;

export interface ServerFactoryOptions {
  catalog: CatalogSource;
  callTool: CallTool;
  /** Per-caller visibility (the governance chain); default: the whole catalog. */
  listTools?: ListTools;
  pageSize?: number;
  logger?: McpLogger;
  observe?: (observation: ToolCallObservation) => void;
  /**
   * The headers of every message when the edge made no request context (stdio: the local user's
   * configured credentials); default the Web Request's own.
   */
  headers?: Record<string, string>;
  /** Progressive discovery (meta-tools instead of the catalog); default off. */
  discovery?: DiscoveryOptions;
  /** Who the caller acts for, for the server instructions (the governance chain's principal). */
  describeCaller?: DescribeCaller;
  /** How long a client may reuse tools/list and server/discover answers, ms (cache hints); default 0. */
  listTtlMs?: number;
  /** Follows connection-long servers (stdio) to send list_changed when their caller's lists change. */
  watch?: VisibilityWatch;
  /** The store's visibility fingerprint (governed runtimes), polled to see grants and keys change. */
  visibilityFingerprint?: () => Promise<string>;
  /** How often that fingerprint is read while a session listens, ms; default 5,000. */
  listChangedPollMs?: number;
}

/** Nothing aborts it: the signal of work done outside any one request (the factory's instructions). */
const UNABORTED = new AbortController().signal;

/**
 * What the factory is asked with: the SDK's context, and (when the host already knows it, as the
 * 2025-era JSON exchange does) the method of the one message the server will serve. A server for
 * one message needs only that message's handler and, for a handshake, the instructions.
 */
export type ServerFactoryContext = McpRequestContext & { method?: string };

/** Methods whose answer carries the server instructions. */
const HANDSHAKES = new Set(['initialize', 'server/discover']);

export function catalogGetter(source: CatalogSource): () => Catalog {
  return typeof source === 'function' ? source : () => source;
}

/**
 * The context of one message: the one the edge made for its request (carried in `authInfo`), else
 * (stdio, or a host without an edge) a fresh one with its own id.
 */
function messageContext(
  options: Pick<ServerFactoryOptions, 'headers'>, authInfo: { extra?: Record<string, unknown> } | undefined, request: Request | undefined,
  signal: AbortSignal, meta: Record<string, unknown> | undefined,
): RequestContext {
  const edge = contextOf(authInfo);
  const base = edge ?? { requestId: randomUUID(), headers: options.headers ? { ...options.headers } : request ? Object.fromEntries(request.headers) : {} };
  return { ...base, signal, ...(meta && { meta }) };
}

const metaOf = (params: { _meta?: unknown } | undefined): Record<string, unknown> | undefined => params?._meta as Record<string, unknown> | undefined;

/**
 * The 2026-07-28 cache hints of the list results and server/discover. Governed, both answers are the
 * caller's own (its visible tools, its customer in the instructions): private, for the client
 * alone; ungoverned, everyone gets the same: public. The TTL is the operator's (`listTtlMs`):
 * clients do reuse a list that long, so a hot reload or a grant change reaches a client that does
 * not listen for list_changed only after it; default 0, immediately stale.
 */
export function cacheHintsFor(options: Pick<ServerFactoryOptions, 'listTools' | 'describeCaller' | 'listTtlMs'>) {
  const cacheScope = options.listTools || options.describeCaller ? 'private' as const : 'public' as const;
  const hint = { ttlMs: options.listTtlMs ?? 0, cacheScope };
  // Prompts and resources are listed by the same per-caller visibility as tools.
  return { 'tools/list': hint, 'prompts/list': hint, 'resources/list': hint, 'resources/templates/list': hint, 'server/discover': hint };
}

export function createServerFactory(options: ServerFactoryOptions): McpServerFactory & ((context: ServerFactoryContext) => Promise<Server>) {
  const getCatalog = catalogGetter(options.catalog);
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize < 1) {
    throw new RangeError(`pageSize must be a positive integer, got ${String(options.pageSize)}`);
  }

  const discovery = createDiscovery({ ...options, getCatalog, pageSize });
  const run = { callTool: options.callTool, ...(options.observe && { observe: options.observe }), ...(options.logger && { logger: options.logger }) };

  return async (context: ServerFactoryContext) => {
    const { method } = context;
    const first = messageContext(options, context.authInfo, context.requestInfo, UNABORTED, undefined);
    // Per caller and cached, but not free: asked for only when the answer can carry them.
    const instructions = method === undefined || HANDSHAKES.has(method) ? await discovery.instructions(first) : undefined;
    const server = new Server(SERVER_INFO, {
      capabilities: { tools: { listChanged: true }, prompts: { listChanged: true }, resources: { listChanged: true } },
      ...(instructions !== undefined && { instructions }),
      cacheHints: cacheHintsFor(options),
    });
    discovery.attach(server, context, first.headers);
    if (method === undefined || method.startsWith('prompts/') || method.startsWith('resources/')) registerPromptsAndResources(server, {
      getCatalog,
      visible: async (ctx) => {
        if (!options.listTools) return getCatalog().tools;
        try {
          return await options.listTools(ctx);
        } catch (error) {
          throw new ProtocolError(ProtocolErrorCode.InvalidRequest, (error as Error).message);
        }
      },
      contextOf: (signal, meta) => messageContext(options, context.authInfo, context.requestInfo, signal, meta),
      callTool: (catalog, name, args, ctx) => runToolCall(catalog, name, args, ctx, run),
    });
    if (method !== undefined && method !== 'tools/list' && method !== 'tools/call') return server;
    server.setRequestHandler('tools/list', async (request, ctx) => {
      const catalog = getCatalog();
      const rctx = messageContext(options, ctx.http?.authInfo ?? context.authInfo, context.requestInfo, ctx.mcpReq.signal, metaOf(request.params));
      if (discovery.enabled) return discovery.listTools(catalog, request.params?.cursor, rctx);
      if (!options.listTools) return listToolsPage(catalog, request.params?.cursor, pageSize);
      // Listing goes through the same decision path as calling, so the two cannot disagree.
      let visible;
      try {
        visible = await options.listTools(rctx);
      } catch (error) {
        throw new ProtocolError(ProtocolErrorCode.InvalidRequest, (error as Error).message);
      }
      return listToolsPage(visibleCatalog(catalog, visible), request.params?.cursor, pageSize);
    });
    server.setRequestHandler('tools/call', async (request, ctx) => {
      // Read the catalog once: a reload mid-call must not change the tool under this call.
      const catalog = getCatalog();
      const callContext = messageContext(options, ctx.http?.authInfo ?? context.authInfo, context.requestInfo, ctx.mcpReq.signal, metaOf(request.params));
      const { name, arguments: args } = request.params;
      if (discovery.isMetaTool(name)) {
        // call_tool reaches the real tool through runToolCall too: one call path, one governance.
        return server.projectCallToolResult(await discovery.callMetaTool(catalog, name, args, callContext, (real, realArgs) => runToolCall(catalog, real, realArgs, callContext, run)), undefined);
      }
      const result = await runToolCall(catalog, name, args, callContext, run);
      // The SDK projects the result per era (e.g. the 2025 `{result: …}` wrap for non-object output).
      const outputSchema = catalog.byName.get(name)?.tool.outputSchema;
      return server.projectCallToolResult(
        result,
        typeof outputSchema === 'object' && Object.keys(outputSchema).length > 0 ? outputSchema : undefined,
      );
    });
    return server;
  };
}
