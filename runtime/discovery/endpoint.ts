/**
 * Discovery at the MCP endpoint: what tools/list shows (the catalog or the meta-tools, per
 * caller), the meta-tools' calls, the server instructions, and list_changed on connection-long
 * servers. The factory hooks this in; it keeps no call path of its own (call_tool is handed the
 * endpoint's runToolCall).
 */
import { ProtocolError, ProtocolErrorCode, type ListToolsResult, type McpRequestContext, type Server } from '@modelcontextprotocol/server';
import { LRUCache } from 'lru-cache';
import type { Catalog } from '../catalog.ts';
import type { ToolModel } from '../model.ts';
import { listToolsPage, visibleCatalog } from '../mcp/tools.ts';
import type { CallToolResult, ListTools, McpLogger } from '../mcp/types.ts';
import type { RequestContext } from '../request-context.ts';
import { buildInstructions, type DescribeCaller } from '../mcp/instructions.ts';
import { sha256Hex } from '../store/canonical.ts';
import { discoveryActive, type DiscoveryOptions } from './mode.ts';
import { META_TOOL_ENTRIES, META_TOOL_NAMES, runMetaTool } from './meta-tools.ts';
import { parseToolsets, toolsInToolsets, TOOLSETS_HEADER } from './toolsets.ts';

import type { ListKind, VisibilityWatch } from './list-changed.ts';

export type { DiscoveryOptions } from './mode.ts';

/** Subscribes a listener to "the visible tools may have changed"; returns the unsubscribe. */
export type ToolsChanged = (listener: () => void) => () => void;

export interface DiscoveryEndpointOptions {
  getCatalog: () => Catalog;
  pageSize: number;
  discovery?: DiscoveryOptions;
  listTools?: ListTools;
  describeCaller?: DescribeCaller;
  /** Follows connection-long sessions (stdio) to tell them when their lists change. */
  watch?: VisibilityWatch;
  logger?: McpLogger;
}

/** Instructions are asked for by every request's server; one caller's answer is reused briefly. */
const INSTRUCTIONS_TTL_MS = 10_000;

export function createDiscovery(options: DiscoveryEndpointOptions) {
  const enabled = options.discovery !== undefined && options.discovery.mode !== 'off';
  const instructionsCache = new LRUCache<string, Promise<string>>({ max: 1_000, ttl: INSTRUCTIONS_TTL_MS });

  async function visibleFor(catalog: Catalog, ctx: RequestContext): Promise<ToolModel[]> {
    if (!options.listTools) return catalog.tools;
    try {
      return await options.listTools(ctx);
    } catch (error) {
      throw new ProtocolError(ProtocolErrorCode.InvalidRequest, (error as Error).message);
    }
  }

  function pinnedOf(catalog: Catalog, headers: Record<string, string | undefined>): string[] {
    return parseToolsets(headers[TOOLSETS_HEADER], catalog).names;
  }

  async function computeInstructions(catalog: Catalog, ctx: RequestContext): Promise<string> {
    const visible = await visibleFor(catalog, ctx);
    const caller = options.describeCaller ? await options.describeCaller(ctx) : undefined;
    return buildInstructions({
      catalog, visible, discovery: discoveryActive(options.discovery, visible.length), pinned: pinnedOf(catalog, ctx.headers), ...(caller && { caller }),
    });
  }

  return {
    /** Whether the meta-tools exist at all (mode auto or on). */
    enabled,

    isMetaTool: (name: string): boolean => enabled && META_TOOL_NAMES.has(name),

    /** This caller's instructions; a refused caller gets none here (its request is refused anyway). */
    async instructions(ctx: RequestContext): Promise<string | undefined> {
      // No catalog yet (still loading): no instructions, and the handshake still answers.
      let catalog: Catalog | undefined;
      try {
        catalog = options.getCatalog();
      } catch {
        catalog = undefined;
      }
      if (!catalog) return undefined;
      const h = ctx.headers;
      const key = sha256Hex([catalog.version, h.authorization ?? '', h['specgate-customer'] ?? '', h[TOOLSETS_HEADER] ?? ''].join('\n'));
      let answer = instructionsCache.get(key);
      if (!answer) {
        answer = computeInstructions(catalog, ctx);
        instructionsCache.set(key, answer);
        answer.catch(() => instructionsCache.delete(key));
      }
      try {
        return await answer;
      } catch (error) {
        options.logger?.debug({ err: (error as Error).message }, 'no instructions for this caller');
        return undefined;
      }
    },

    /** tools/list: the caller's catalog, or the meta-tools and its pinned toolsets. */
    async listTools(catalog: Catalog, cursor: string | undefined, ctx: RequestContext): Promise<ListToolsResult> {
      const visible = await visibleFor(catalog, ctx);
      if (!discoveryActive(options.discovery, visible.length)) return listToolsPage(visibleCatalog(catalog, visible), cursor, options.pageSize);
      const pinned = toolsInToolsets(catalog, pinnedOf(catalog, ctx.headers));
      const page = listToolsPage(visibleCatalog(catalog, visible.filter((t) => pinned.has(t.name))), cursor, options.pageSize);
      return cursor === undefined ? { ...page, tools: [...META_TOOL_ENTRIES, ...page.tools] } : page;
    },

    callMetaTool(
      catalog: Catalog,
      name: string,
      args: Record<string, unknown> | undefined,
      ctx: RequestContext,
      callReal: (name: string, args: Record<string, unknown> | undefined) => Promise<CallToolResult>,
    ): Promise<CallToolResult> {
      return runMetaTool(name, args, { catalog, visible: () => visibleFor(catalog, ctx), callReal });
    },

    /**
     * A server that lives as long as its connection (stdio) is followed with its caller's headers
     * and hears directly when its own lists change (HTTP streams are followed by the endpoint's bus).
     */
    attach(server: Server, context: McpRequestContext, headers: RequestContext['headers']): void {
      if (!options.watch || context.requestInfo) return;
      const send: Record<ListKind, () => Promise<void>> = {
        tools: () => server.sendToolListChanged(),
        prompts: () => server.sendPromptListChanged(),
        resources: () => server.sendResourceListChanged(),
      };
      const off = options.watch.follow(headers, (kinds) => {
        for (const k of kinds) void send[k]().catch(() => undefined);
      });
      const previous = server.onclose;
      server.onclose = () => {
        off();
        previous?.();
      };
    },
  };
}
