/**
 * The meta-tools of discovery mode: search the tools the caller may use, describe one, call one.
 * They hold no governance of their own: search and describe see only the caller's visible set
 * (governance.visibleTools, through the endpoint's listTools), and call_tool hands the real tool
 * to the very call path of a direct tools/call, so entitlement, policy, customer binding, quota,
 * metering and audit all apply to, and name, the real tool.
 */
import type { Tool } from '@modelcontextprotocol/server';
import type { Catalog } from '../catalog.ts';
import type { ToolModel } from '../model.ts';
import type { CallToolResult } from '../mcp/types.ts';
import { DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT, searchTools } from './search.ts';
import { toolsetsOf } from './toolsets.ts';

export const SEARCH_TOOL = 'search_tools';
export const DESCRIBE_TOOL = 'describe_tool';
export const CALL_TOOL = 'call_tool';
/** A question, not a document: longer queries only cost CPU. */
export const MAX_QUERY_LENGTH = 500;

export const META_TOOL_NAMES: ReadonlySet<string> = new Set([SEARCH_TOOL, DESCRIBE_TOOL, CALL_TOOL]);

const READ_ONLY = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;

export const META_TOOL_ENTRIES: Tool[] = [
  {
    name: SEARCH_TOOL,
    title: 'Search tools',
    description: 'Find the tools you may use for a task, best match first. Describe a tool before its first call.',
    inputSchema: {
      type: 'object',
      properties: {
        query: { type: 'string', description: 'What you want to do or find, in plain words' },
        toolset: { type: 'string', description: 'Only tools of this connector or tag (see the server instructions); with no query, lists them' },
        limit: { type: 'integer', minimum: 1, maximum: MAX_SEARCH_LIMIT, default: DEFAULT_SEARCH_LIMIT },
      },
    },
    annotations: READ_ONLY,
  },
  {
    name: DESCRIBE_TOOL,
    title: 'Describe a tool',
    description: "One tool's full definition: description, input schema and output schema.",
    inputSchema: { type: 'object', properties: { name: { type: 'string', description: 'Tool name from search_tools' } }, required: ['name'] },
    annotations: READ_ONLY,
  },
  {
    name: CALL_TOOL,
    title: 'Call a tool',
    description: 'Call a tool by name with arguments matching its input schema (from describe_tool).',
    inputSchema: {
      type: 'object',
      properties: { name: { type: 'string' }, arguments: { type: 'object', description: "The tool's arguments" } },
      required: ['name'],
    },
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  },
];

export interface MetaToolContext {
  catalog: Catalog;
  /** The caller's visible tools (the governance chain's decision, or the whole catalog). */
  visible(): Promise<ToolModel[]>;
  /** A direct tools/call of the real tool: the same path, the same governance. */
  callReal(name: string, args: Record<string, unknown> | undefined): Promise<CallToolResult>;
}

const text = (t: string): CallToolResult['content'] => [{ type: 'text', text: t }];

function invalid(message: string): CallToolResult {
  return { content: text(message), isError: true };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The first sentence: enough for a model to choose between hits. */
function summary(description: string): string {
  const first = /^(.+?[.!?])(\s|$)/s.exec(description)?.[1] ?? description;
  return first.replace(/\s+/g, ' ').trim();
}

/** Same words for a tool that does not exist and one the caller may not use: no probing. */
const notAvailable = (name: string) => invalid(`No tool named '${name}' is available to you; use ${SEARCH_TOOL} to find one`);

export async function runMetaTool(name: string, args: Record<string, unknown> | undefined, mc: MetaToolContext): Promise<CallToolResult> {
  const a = args ?? {};
  if (name === CALL_TOOL) {
    if (typeof a.name !== 'string' || a.name === '') return invalid(`${CALL_TOOL}: argument 'name' must be a tool name (a non-empty string)`);
    if (a.arguments !== undefined && !isObject(a.arguments)) return invalid(`${CALL_TOOL}: argument 'arguments' must be an object of the tool's arguments`);
    if (META_TOOL_NAMES.has(a.name)) return invalid(`${CALL_TOOL}: '${a.name}' is a discovery tool; call it directly`);
    if (!mc.catalog.byName.has(a.name)) return notAvailable(a.name);
    return mc.callReal(a.name, a.arguments as Record<string, unknown> | undefined);
  }
  const visible = await mc.visible();
  const byName = new Map(visible.map((t) => [t.name, t]));
  if (name === DESCRIBE_TOOL) {
    if (typeof a.name !== 'string' || a.name === '') return invalid(`${DESCRIBE_TOOL}: argument 'name' must be a tool name (a non-empty string)`);
    const entry = byName.has(a.name) ? mc.catalog.listEntries[mc.catalog.tools.findIndex((t) => t.name === a.name)] : undefined;
    if (!entry) return notAvailable(a.name);
    return { content: text(JSON.stringify(entry)), structuredContent: entry as unknown as Record<string, unknown> };
  }
  // search_tools
  if (a.query !== undefined && typeof a.query !== 'string') return invalid(`${SEARCH_TOOL}: argument 'query' must be a string`);
  if (typeof a.query === 'string' && a.query.length > MAX_QUERY_LENGTH) return invalid(`${SEARCH_TOOL}: argument 'query' is longer than ${MAX_QUERY_LENGTH} characters; say it in fewer words`);
  if (a.toolset !== undefined && (typeof a.toolset !== 'string' || !toolsetsOf(mc.catalog).has(a.toolset))) {
    return invalid(`${SEARCH_TOOL}: argument 'toolset' must be one of: ${[...toolsetsOf(mc.catalog).keys()].join(', ')}`);
  }
  if (a.limit !== undefined && (!Number.isInteger(a.limit) || (a.limit as number) < 1 || (a.limit as number) > MAX_SEARCH_LIMIT)) {
    return invalid(`${SEARCH_TOOL}: argument 'limit' must be a whole number from 1 to ${MAX_SEARCH_LIMIT}`);
  }
  const query = (a.query as string | undefined)?.trim() ?? '';
  const toolset = a.toolset as string | undefined;
  if (query === '' && toolset === undefined) return invalid(`${SEARCH_TOOL}: give a 'query', a 'toolset', or both`);
  const limit = (a.limit as number | undefined) ?? DEFAULT_SEARCH_LIMIT;
  const names = query === ''
    ? (toolsetsOf(mc.catalog).get(toolset!)?.tools ?? []).filter((n) => byName.has(n)).slice(0, limit)
    : searchTools(mc.catalog, query, { visible: new Set(byName.keys()), ...(toolset && { toolset }), limit }).map((h) => h.name);
  const tools = names.map((n) => byName.get(n)!).map((t) => ({ name: t.name, ...(t.title && { title: t.title }), summary: summary(t.description) }));
  const lines = tools.map((t) => `${t.name}${t.title ? ` (${t.title})` : ''}: ${t.summary}`);
  return {
    content: text(tools.length ? lines.join('\n') : `No tool you may use matches '${query || toolset}'.`),
    structuredContent: { tools },
  };
}
