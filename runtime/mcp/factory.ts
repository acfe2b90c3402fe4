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
import type { CallTool, CatalogSource, ListTools, McpLogger, ToolCallContext, ToolCallObservation } from './types.ts';
import { createDiscovery, type DiscoveryOptions } from '../discovery/endpoint.ts';
import type { VisibilityWatch } from '../discovery/list-changed.ts';
import type { DescribeCaller } from './instructions.ts';
import { registerPromptsAndResources } from './prompts-resources.ts';
import type { TraceContext } from '../ops/tracing.ts';

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
   * The id and headers of the HTTP request behind a Web Request (HTTP passes the Fastify request's
   * own, already parsed); without it, or on stdio, each call gets a UUID and no headers.
   */
  requestOf?: (request: Request | undefined) => HostRequest | undefined;
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

export interface HostRequest {
  id: string;
  headers: Record<string, string | undefined>;
  /** The request's server span context, when tracing is on. */
  trace?: TraceContext;
  /** The tenant the edge authenticated the caller into. */
  tenantId?: string;
}

export function catalogGetter(source: CatalogSource): () => Catalog {
  return typeof source === 'function' ? source : () => source;
}

function headersOf(request: Request | undefined): Record<string, string | undefined> {
  return request ? Object.fromEntries(request.headers) : {};
}

/** Id and headers for one exchange: the host's own when it has them, else derived here. */
function hostRequest(options: ServerFactoryOptions, request: Request | undefined): HostRequest {
  return options.requestOf?.(request) ?? { id: randomUUID(), headers: headersOf(request) };
}

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

export function createServerFactory(options: ServerFactoryOptions): McpServerFactory {
  const getCatalog = catalogGetter(options.catalog);
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize < 1) {
    throw new RangeError(`pageSize must be a positive integer, got ${String(options.pageSize)}`);
  }

  const discovery = createDiscovery({ ...options, getCatalog, pageSize });
  const run = { callTool: options.callTool, ...(options.observe && { observe: options.observe }), ...(options.logger && { logger: options.logger }) };

  return async (context: McpRequestContext) => {
    const host = hostRequest(options, context.requestInfo);
    const instructions = await discovery.instructions(host);
    const server = new Server(SERVER_INFO, {
      capabilities: { tools: { listChanged: true }, prompts: { listChanged: true }, resources: { listChanged: true } },
      instructions,
      cacheHints: cacheHintsFor(options),
    });
    discovery.attach(server, context, host.headers);
    registerPromptsAndResources(server, {
      getCatalog,
      visible: async (ctx) => {
        if (!options.listTools) return getCatalog().tools;
        try {
          return await options.listTools(ctx);
        } catch (error) {
          throw new ProtocolError(ProtocolErrorCode.InvalidRequest, (error as Error).message);
        }
      },
      contextOf: (signal, meta) => {
        const h = hostRequest(options, context.requestInfo);
        return { requestId: h.id, headers: h.headers, signal, ...(meta && { meta }) };
      },
      callTool: (catalog, name, args, ctx) => runToolCall(catalog, name, args, ctx, run),
    });
    server.setRequestHandler('tools/list', async (request, ctx) => {
      const catalog = getCatalog();
      if (discovery.enabled) {
        const h = hostRequest(options, context.requestInfo);
        return discovery.listTools(catalog, request.params?.cursor, {
          requestId: h.id, headers: h.headers, signal: ctx.mcpReq.signal,
          ...(request.params?._meta ? { meta: request.params._meta as Record<string, unknown> } : {}),
        });
      }
      if (!options.listTools) return listToolsPage(catalog, request.params?.cursor, pageSize);
      // Listing goes through the same decision path as calling, so the two cannot disagree.
      let visible;
      const host = hostRequest(options, context.requestInfo);
      try {
        visible = await options.listTools({
          requestId: host.id,
          signal: ctx.mcpReq.signal,
          ...(host.trace && { trace: host.trace }),
          headers: host.headers,
          ...(request.params?._meta ? { meta: request.params._meta as Record<string, unknown> } : {}),
        });
      } catch (error) {
        throw new ProtocolError(ProtocolErrorCode.InvalidRequest, (error as Error).message);
      }
      return listToolsPage(visibleCatalog(catalog, visible), request.params?.cursor, pageSize);
    });
    server.setRequestHandler('tools/call', async (request, ctx) => {
      // Read the catalog once: a reload mid-call must not change the tool under this call.
      const catalog = getCatalog();
      const host = hostRequest(options, context.requestInfo);
      const callContext: ToolCallContext = {
        requestId: host.id,
        signal: ctx.mcpReq.signal,
        ...(host.trace && { trace: host.trace }),
        ...(host.tenantId !== undefined && { edgeTenant: host.tenantId }),
        headers: host.headers,
        ...(request.params._meta ? { meta: request.params._meta as Record<string, unknown> } : {}),
      };
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
