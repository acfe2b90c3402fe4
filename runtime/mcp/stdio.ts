/**
 * MCP over stdio for a local desktop client. The SDK's serveStdio owns the era decision per
 * connection (a `server/discover` opening pins the 2026-07-28 era, an `initialize` opening pins a
 * 2025-era instance). stdout carries protocol frames only, so every log line goes to stderr.
 */
import pino from 'pino';
import { serveStdio as sdkServeStdio, type ServeStdioOptions, type StdioServerHandle } from '@modelcontextprotocol/server/stdio';
import { catalogGetter, createServerFactory } from './factory.ts';
import { createVisibilityWatch } from '../discovery/list-changed.ts';
import type { CallTool, CatalogSource, ListTools, McpLogger, ToolCallObservation } from './types.ts';
import { createLogger } from '../ops/logging.ts';
import type { DiscoveryOptions, ToolsChanged } from '../discovery/endpoint.ts';
import type { DescribeCaller } from './instructions.ts';

export interface ServeStdioOptionsSpecgate {
  pageSize?: number;
  /** Default: a pino logger writing to stderr. */
  logger?: McpLogger;
  observe?: (observation: ToolCallObservation) => void;
  /** Per-caller visibility: the governance chain, when the stdio runtime runs one. */
  listTools?: ListTools;
  /**
   * The local user's credentials as HTTP would carry them (`authorization`, `specgate-customer`):
   * a desktop client has no headers, so the governed chain reads these on every message.
   */
  headers?: Record<string, string>;
  /** Progressive discovery (runtime/discovery); default off. */
  discovery?: DiscoveryOptions;
  /** The ttlMs of the tools/list and server/discover cache hints; default 0. */
  listTtlMs?: number;
  /** Who the session acts for, named in the server instructions. */
  describeCaller?: DescribeCaller;
  /** Where the connection hears that the catalog was reloaded. */
  toolsChanged?: ToolsChanged;
  /** The store's visibility fingerprint (governed runtimes): polled to see grants and keys change. */
  visibilityFingerprint?: () => Promise<string>;
  /** How often that fingerprint is read, ms; default 5,000. */
  listChangedPollMs?: number;
  /** A custom transport (tests, sockets); default the process's stdin/stdout. */
  transport?: ServeStdioOptions['transport'];
}

export function serveStdio(catalog: CatalogSource, callTool: CallTool, options: ServeStdioOptionsSpecgate = {}): StdioServerHandle {
  const logger = options.logger ?? createLogger({ destination: pino.destination(2) });
  // The connection is told when what its caller may see changes: a reload, a grant, a revoked key.
  const watch = createVisibilityWatch({
    getCatalog: catalogGetter(catalog),
    ...(options.listTools && { listTools: options.listTools }),
    ...(options.discovery && { discovery: options.discovery }),
    ...(options.visibilityFingerprint && { fingerprint: options.visibilityFingerprint }),
    ...(options.listChangedPollMs !== undefined && { intervalMs: options.listChangedPollMs }),
    logger,
  });
  options.toolsChanged?.(() => void watch.check());
  const factory = createServerFactory({
    watch,
    catalog,
    callTool,
    logger,
    ...(options.pageSize !== undefined && { pageSize: options.pageSize }),
    ...(options.observe && { observe: options.observe }),
    ...(options.listTools && { listTools: options.listTools }),
    ...(options.discovery && { discovery: options.discovery }),
    ...(options.listTtlMs !== undefined && { listTtlMs: options.listTtlMs }),
    ...(options.describeCaller && { describeCaller: options.describeCaller }),
    ...(options.headers && { headers: options.headers }),
  });
  return sdkServeStdio(factory, {
    legacy: 'serve',
    onerror: (error) => logger.warn({ err: error }, 'stdio transport error'),
    ...(options.transport && { transport: options.transport }),
  });
}
