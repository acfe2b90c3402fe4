/**
 * MCP prompts and resources declared in specs, served through the same governance as tools:
 * a prompt is listed only when the caller may call every tool it names, a resource only when it
 * may call the backing tool, and reading a resource IS a call of that tool (the endpoint's
 * runToolCall, so entitlement, policy, customer binding, quota, metering and audit apply and
 * name the tool).
 */
import { ProtocolError, ProtocolErrorCode, UriTemplate, type Server } from '@modelcontextprotocol/server';
import type { Catalog } from '../catalog.ts';
import type { PromptModel, ResourceModel, ToolModel } from '../model.ts';
import type { CallToolResult } from './types.ts';
import type { RequestContext } from '../request-context.ts';

export interface PromptsResourcesOptions {
  getCatalog: () => Catalog;
  /** The caller's visible tools; undefined: the whole catalog. */
  visible: (ctx: RequestContext) => Promise<ToolModel[]>;
  /** The context of one request (id, headers, signal, _meta). */
  contextOf: (signal: AbortSignal, meta: Record<string, unknown> | undefined) => RequestContext;
  /** A direct tools/call of the backing tool. */
  callTool: (catalog: Catalog, name: string, args: Record<string, unknown>, ctx: RequestContext) => Promise<CallToolResult>;
}

const MIME = 'application/json';

function promptsOf(catalog: Catalog): PromptModel[] {
  return catalog.connectors.flatMap((c) => c.model.prompts ?? []);
}

function resourcesOf(catalog: Catalog): ResourceModel[] {
  return catalog.connectors.flatMap((c) => c.model.resources ?? []);
}

/** Template variables arrive as strings; the tool's schema says what they are. */
function coerce(tool: ToolModel, vars: Record<string, string | string[]>): Record<string, unknown> {
  const props = ((tool.inputSchema as { properties?: Record<string, { type?: unknown }> }).properties) ?? {};
  const out: Record<string, unknown> = {};
  for (const [k, raw] of Object.entries(vars)) {
    const v = Array.isArray(raw) ? raw[0] : raw;
    const type = props[k]?.type;
    const types = Array.isArray(type) ? type : [type];
    if ((types.includes('integer') || types.includes('number')) && v !== '' && Number.isFinite(Number(v))) out[k] = Number(v);
    else if (types.includes('boolean') && (v === 'true' || v === 'false')) out[k] = v === 'true';
    else out[k] = v;
  }
  return out;
}

function fill(text: string, args: Record<string, string>): string {
  return text.replace(/\{\{\s*([a-z][a-z0-9_]*)\s*\}\}/g, (_, name: string) => args[name] ?? '');
}

export function registerPromptsAndResources(server: Server, options: PromptsResourcesOptions): void {
  const visibleNames = async (signal: AbortSignal, meta: Record<string, unknown> | undefined) =>
    new Set((await options.visible(options.contextOf(signal, meta))).map((t) => t.name));
  const metaOf = (params: { _meta?: unknown } | undefined) => params?._meta as Record<string, unknown> | undefined;

  server.setRequestHandler('prompts/list', async (request, ctx) => {
    const catalog = options.getCatalog();
    const visible = await visibleNames(ctx.mcpReq.signal, metaOf(request.params));
    const prompts = promptsOf(catalog).filter((p) => p.tools.every((t) => visible.has(t)));
    return {
      prompts: prompts.map((p) => ({
        name: p.name, ...(p.title && { title: p.title }),
        description: `${p.description} (uses ${p.tools.join(', ')})`,
        arguments: p.arguments.map((a) => ({ name: a.name, ...(a.description && { description: a.description }), required: a.required })),
      })),
    };
  });

  server.setRequestHandler('prompts/get', async (request, ctx) => {
    const catalog = options.getCatalog();
    const visible = await visibleNames(ctx.mcpReq.signal, metaOf(request.params));
    const prompt = promptsOf(catalog).find((p) => p.name === request.params.name);
    // One answer for a prompt that does not exist and one the caller may not use.
    if (!prompt || !prompt.tools.every((t) => visible.has(t))) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown prompt: ${request.params.name}`);
    const args = (request.params.arguments ?? {}) as Record<string, string>;
    const missing = prompt.arguments.filter((a) => a.required && (args[a.name] === undefined || args[a.name] === ''));
    if (missing.length) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Prompt ${prompt.name}: missing required argument(s) ${missing.map((a) => a.name).join(', ')}`);
    return {
      description: prompt.description,
      messages: [{ role: 'user' as const, content: { type: 'text' as const, text: `${fill(prompt.text, args)}\n\nTools for this: ${prompt.tools.join(', ')}.` } }],
    };
  });

  server.setRequestHandler('resources/list', async (request, ctx) => {
    const catalog = options.getCatalog();
    const visible = await visibleNames(ctx.mcpReq.signal, metaOf(request.params));
    return {
      resources: resourcesOf(catalog).filter((r) => r.uri && visible.has(r.tool)).map((r) => ({
        uri: r.uri!, name: r.name, ...(r.title && { title: r.title }), ...(r.description && { description: r.description }), mimeType: MIME,
      })),
    };
  });

  server.setRequestHandler('resources/templates/list', async (request, ctx) => {
    const catalog = options.getCatalog();
    const visible = await visibleNames(ctx.mcpReq.signal, metaOf(request.params));
    return {
      resourceTemplates: resourcesOf(catalog).filter((r) => r.uriTemplate && visible.has(r.tool)).map((r) => ({
        uriTemplate: r.uriTemplate!, name: r.name, ...(r.title && { title: r.title }), ...(r.description && { description: r.description }), mimeType: MIME,
      })),
    };
  });

  server.setRequestHandler('resources/read', async (request, ctx) => {
    const catalog = options.getCatalog();
    const uri = request.params.uri;
    let found: { resource: ResourceModel; vars: Record<string, string | string[]> } | undefined;
    for (const r of resourcesOf(catalog)) {
      if (r.uri === uri) found = { resource: r, vars: {} };
      else if (r.uriTemplate) {
        const vars = new UriTemplate(r.uriTemplate).match(uri);
        if (vars) found = { resource: r, vars };
      }
      if (found) break;
    }
    const entry = found && catalog.byName.get(found.resource.tool);
    if (!found || !entry) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown resource: ${uri.slice(0, 200)}`);
    const args = { ...coerce(entry.tool, found.vars), ...found.resource.arguments };
    // Not pre-filtered by visibility: the governed call refuses, and the refusal is audited.
    const result = await options.callTool(catalog, entry.tool.name, args, options.contextOf(ctx.mcpReq.signal, metaOf(request.params)));
    const text = result.content.map((c) => ('text' in c ? c.text : '')).join('\n');
    if (result.isError) throw new ProtocolError(ProtocolErrorCode.InvalidRequest, text);
    return { contents: [{ uri, mimeType: MIME, text: JSON.stringify(result.structuredContent ?? text) }] };
  });
}
