/**
 * tools/list and tools/call over a catalog, independent of transport and protocol era.
 */
import { ProtocolError, ProtocolErrorCode, type ListToolsResult } from '@modelcontextprotocol/server';
import type { Catalog } from '../catalog.ts';
import type { CallTool, CallToolResult, McpLogger, ToolCallObservation } from './types.ts';
import type { RequestContext } from '../request-context.ts';
import { refusalOf } from '../governance/refusal.ts';

export const DEFAULT_PAGE_SIZE = 100;

/*
 * The cursor names the last tool of the previous page rather than an offset, so a page boundary
 * stays correct when a hot reload adds or removes tools between two pages.
 */
export function encodeCursor(lastName: string): string {
  return Buffer.from(JSON.stringify({ after: lastName }), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof value === 'object' && value !== null && typeof (value as { after?: unknown }).after === 'string') {
      return (value as { after: string }).after;
    }
  } catch {
    // fall through to the error below
  }
  throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Invalid cursor: '${cursor.slice(0, 64)}' was not issued by this server`);
}

/** Index of the first tool whose name sorts after `name` (tools are sorted by name). */
function firstAfter(catalog: Catalog, name: string): number {
  let lo = 0;
  let hi = catalog.tools.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (catalog.tools[mid].name <= name) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The catalog narrowed to the tools one caller may see (same order, same precomputed entries). */
export function visibleCatalog(catalog: Catalog, visible: ReadonlyArray<{ name: string }>): Catalog {
  const names = new Set(visible.map((t) => t.name));
  const keep = catalog.tools.map((t) => names.has(t.name));
  return {
    ...catalog,
    tools: catalog.tools.filter((_, i) => keep[i]),
    listEntries: catalog.listEntries.filter((_, i) => keep[i]),
  };
}

export function listToolsPage(catalog: Catalog, cursor: string | undefined, pageSize: number): ListToolsResult {
  const start = cursor === undefined ? 0 : firstAfter(catalog, decodeCursor(cursor));
  const end = Math.min(start + pageSize, catalog.tools.length);
  const tools = catalog.listEntries.slice(start, end);
  return end < catalog.tools.length ? { tools, nextCursor: encodeCursor(catalog.tools[end - 1].name) } : { tools };
}

export interface RunToolCallOptions {
  callTool: CallTool;
  observe?: (observation: ToolCallObservation) => void;
  logger?: McpLogger;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/**
 * Runs one tools/call. An unknown tool is a protocol error (-32602, per the spec); anything the
 * executor throws becomes an `isError` result the model can read, with the message only: stacks
 * go to the log, never to the client.
 */
export async function runToolCall(
  catalog: Catalog,
  name: string,
  args: Record<string, unknown> | undefined,
  ctx: RequestContext,
  options: RunToolCallOptions,
): Promise<CallToolResult> {
  const entry = catalog.byName.get(name);
  if (!entry) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${name}`);
  const started = performance.now();
  const observe = (outcome: ToolCallObservation['outcome'], reason?: string): void =>
    options.observe?.({
      tool: name,
      connector: entry.connector.model.name,
      outcome,
      ...(reason !== undefined && { reason }),
      ...(ctx.caller && { tenant: ctx.caller.tenantId }),
      seconds: (performance.now() - started) / 1000,
    });
  try {
    const result = await options.callTool(entry.tool, args ?? {}, ctx);
    const refused = refusalOf(result);
    if (refused !== undefined) observe('refused', refused);
    else observe(result.isError ? 'error' : 'ok');
    return result;
  } catch (error) {
    observe('exception');
    options.logger?.error({ err: error, tool: name, requestId: ctx.requestId }, 'tool call failed');
    return {
      content: [{ type: 'text', text: `Tool ${name} failed: ${messageOf(error)}` }],
      isError: true,
    };
  }
}
