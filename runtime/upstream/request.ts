/**
 * Validated tool arguments -> the upstream request the generated client sends. This is where the
 * runtime's rules become wire values: fixed values always win, the customer binding is forced
 * from the caller's context (never from arguments), and the uniform `limit`/`cursor` arguments
 * become the vendor's own pagination parameters.
 */
import type { ParameterBinding, ParameterLocation, ToolModel, UpstreamRequest } from '../model.ts';
import type { ToolCallContext } from '../tool-call.ts';
import { POSITION_KEY, decodeCursor, type Cursor, type PageState } from './cursor.ts';
import { CustomerRequired, InvalidArguments } from './errors.ts';
import { followNextUrl } from './next-url.ts';

export interface BuiltRequest {
  request: UpstreamRequest;
  page?: PageState;
}

/**
 * `openCursor` checks a cursor the caller handed back (its seal) and gives its payload; without it
 * the cursor is taken as an unsealed payload (for callers that never hand cursors to a client).
 * `baseUrl` is the connector's upstream, which a vendor's next-page URL must stay on.
 */
export function buildUpstreamRequest(
  tool: ToolModel, args: Record<string, unknown>, ctx: ToolCallContext, openCursor: (cursor: string) => string = (c) => c, baseUrl?: string,
): BuiltRequest {
  const request: UpstreamRequest = { path: {}, query: {}, header: {}, cookie: {}, signal: ctx.signal };
  const put = (binding: Pick<ParameterBinding, 'name' | 'in' | 'style' | 'explode'>, value: unknown, source: string) => {
    setParam(request, binding.in, binding.name, delimited(binding, value), source);
  };

  for (const b of tool.parameters) {
    if (b.customer) continue; // below, last, so nothing can override it
    if (b.pagination) continue;
    if (b.fixed !== undefined) {
      put(b, b.fixed, `fixed parameter "${b.name}"`);
      continue;
    }
    if (b.argument === null) continue;
    const value = args[b.argument] !== undefined ? args[b.argument] : b.default;
    if (value === undefined || value === null) continue;
    put(b, value, `"${b.argument}"`);
  }

  if (tool.body) {
    const value = args[tool.body.argument];
    if (value !== undefined) request.body = value;
  }

  const page = tool.pagination ? applyPagination(tool, args, request, openCursor) : undefined;

  for (const b of tool.parameters) {
    if (!b.customer) continue;
    const id = customerVendorId(tool, ctx, b.customerId);
    put(b, b.customerTemplate === undefined ? id : fillTemplate(b.customerTemplate, id, b.name), `customer parameter "${b.name}"`);
  }
  if (tool.body?.customerFields?.length) {
    request.body = bindBodyFields(request.body, tool.body.customerFields.map((f) => ({ path: f.path, value: customerVendorId(tool, ctx, f.customerId) })));
  }
  // Last: the next-page URL is checked against the request as the runtime's rules made it.
  if (page?.at && 'n' in page.at) followNextUrl(tool, request, page.at.n, baseUrl);
  return { request, page };
}

/** The caller's vendor id for this tool's connector (the unnamed one, or a named one). */
export function customerVendorId(tool: ToolModel, ctx: ToolCallContext, name: string | undefined): string {
  const id = name === undefined ? ctx.customerIds?.[tool.connector] : ctx.customerNamedIds?.[tool.connector]?.[name];
  if (id === undefined || id === null || id === '') {
    throw new CustomerRequired(
      `This tool needs a customer: ${tool.name} returns customer data, and this session has no ${tool.connector} customer id${name === undefined ? '' : ` named ${name}`}; select a customer first`,
    );
  }
  return id;
}

/**
 * What may stand for {id} in a filter template: an id, never syntax. A vendor id with a quote,
 * a parenthesis or a space could close the template's expression and widen it (`1) OR (1=1`).
 */
const TEMPLATE_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

function fillTemplate(template: string, id: string, parameter: string): string {
  if (!TEMPLATE_ID.test(id)) {
    throw new CustomerRequired(`This tool cannot be scoped to the customer: its ${parameter} filter takes the customer's vendor id, which must be letters, digits, "_", ".", ":" or "-" (fix the mapping with customer vendor-id)`);
  }
  return template.replace('{id}', id);
}

/**
 * The model's body with each bound field forced to the customer's id. Objects on the way are
 * copied (the model's body is not changed in place) and created where missing; a field the model
 * set to something else is overwritten, so the search can never name another customer.
 */
function valueAt(value: unknown, path: string[]): unknown {
  let node = value;
  for (const key of path) {
    if (!node || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function bindBodyFields(body: unknown, fields: Array<{ path: string[]; value: string }>): unknown {
  const root: Record<string, unknown> = body && typeof body === 'object' && !Array.isArray(body) ? { ...(body as Record<string, unknown>) } : {};
  for (const { path, value } of fields) {
    // The model may not choose the customer, not even the right one: say so rather than overwrite quietly.
    if (valueAt(body, path) !== undefined) {
      throw new InvalidArguments(`Invalid arguments: body.${path.join('.')} is set by specgate to the conversation's customer; leave it out`);
    }
    let node = root;
    for (const key of path.slice(0, -1)) {
      const next = Object.hasOwn(node, key) ? node[key] : undefined;
      const copy = next && typeof next === 'object' && !Array.isArray(next) ? { ...(next as Record<string, unknown>) } : {};
      node[key] = copy;
      node = copy;
    }
    node[path[path.length - 1]!] = value;
  }
  return root;
}

function applyPagination(tool: ToolModel, args: Record<string, unknown>, request: UpstreamRequest, openCursor: (cursor: string) => string): PageState {
  const p = tool.pagination!;
  const limit = typeof args.limit === 'number' ? args.limit : p.defaultLimit;
  // Asking the vendor for more than shaping would show only loses items between pages.
  const size = Math.max(1, Math.min(limit, p.maxLimit, tool.shape.maxItems ?? Infinity));
  const cursor: Cursor | undefined = typeof args.cursor === 'string' ? decodeCursor(openCursor(args.cursor)) : undefined;
  // A cursor names this style's position, or none (the first page) with items already seen in it;
  // offsets never need the latter.
  const positionKeys = cursor ? Object.keys(cursor).filter((k) => k !== 's') : [];
  if (cursor && (positionKeys.length ? positionKeys[0] !== POSITION_KEY[p.style] : p.style === 'offset')) {
    throw new InvalidArguments('Invalid arguments: "cursor" was returned by another tool; omit it to start from the first page');
  }
  const locate = (name: string | undefined) => {
    if (!name) return undefined;
    const b = tool.parameters.find((x) => x.name === name && x.pagination);
    return { name, in: (b?.in ?? 'query') as ParameterLocation };
  };
  const send = (name: string | undefined, value: unknown) => {
    const at = locate(name);
    if (at) setParam(request, at.in, at.name, value, `pagination parameter "${at.name}"`);
  };
  const sizeName = p.sizeParam ?? p.limitParam;
  const state: PageState = { style: p.style, size };
  if (cursor?.s) state.skip = cursor.s;
  switch (p.style) {
    case 'page':
      state.page = cursor && 'p' in cursor ? cursor.p : (p.firstPage ?? 1);
      state.at = { p: state.page };
      send(p.pageParam, state.page);
      send(sizeName, size);
      break;
    case 'offset':
      state.offset = cursor && 'o' in cursor ? cursor.o : 0;
      send(p.offsetParam, state.offset);
      send(sizeName, size);
      break;
    case 'cursor':
      if (cursor && 'c' in cursor) {
        state.at = { c: cursor.c };
        send(p.cursorParam, cursor.c);
      }
      send(sizeName, size);
      break;
    case 'next-url':
      // The URL itself is checked and applied once the customer binding is in place.
      if (cursor && 'n' in cursor) state.at = { n: cursor.n };
      else send(sizeName, size);
      break;
    case 'link':
      if (cursor && 'u' in cursor) state.at = { u: cursor.u };
      send(sizeName, size);
      if (cursor && 'u' in cursor) {
        // Only the query of the vendor's next link is used: host and path stay the tool's own.
        const fixedOrCustomer = new Set(tool.parameters.filter((b) => b.fixed !== undefined || b.customer).map((b) => b.name));
        const fromLink: Record<string, string | string[]> = {};
        for (const [k, v] of new URL(cursor.u).searchParams) {
          if (fixedOrCustomer.has(k)) continue;
          const prev = fromLink[k];
          fromLink[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
        }
        request.query = { ...request.query, ...fromLink };
      }
      break;
  }
  return state;
}

/**
 * A query array the document declares `explode: false` goes as one comma-separated value
 * (`$select=id,displayName`); openapi-fetch would repeat the name for each item, which such
 * vendors read as only the last one.
 */
function delimited(binding: Pick<ParameterBinding, 'in' | 'style' | 'explode'>, value: unknown): unknown {
  if (binding.in !== 'query' || binding.explode !== false || !Array.isArray(value)) return value;
  if (binding.style !== undefined && binding.style !== 'form') return value;
  return value.map(scalar).join(',');
}

const CONTROL = /[\r\n\0]/;
/** A lone UTF-16 surrogate: URL encoding throws on it, so it must be refused before the client sees it. */
const LONE_SURROGATE = /\p{Cs}/u;
/** What fetch can put in a header value at all (undici throws on anything else). */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

function setParam(request: UpstreamRequest, where: ParameterLocation, name: string, value: unknown, source: string): void {
  const text = Array.isArray(value) ? value.map(scalar).join(',') : scalar(value);
  if (LONE_SURROGATE.test(text)) throw new InvalidArguments(`Invalid arguments: ${source} is not valid Unicode (it contains a lone surrogate)`);
  if (where === 'query') {
    request.query[name] = value;
    return;
  }
  if (CONTROL.test(text)) {
    throw new InvalidArguments(`Invalid arguments: ${source} contains a line break or NUL character, which a ${where} value cannot carry`);
  }
  if (where === 'path') {
    // A path value fills one segment; dot segments would be resolved into another path.
    if (text === '' || text === '.' || text === '..') {
      throw new InvalidArguments(`Invalid arguments: ${source} cannot be "${text}" (it is a path segment)`);
    }
    request.path[name] = Array.isArray(value) ? value : text;
  } else if (where === 'header') {
    if (!HEADER_VALUE.test(text)) throw new InvalidArguments(`Invalid arguments: ${source} contains characters a header value cannot carry (control or non-Latin-1 characters)`);
    request.header[name] = text;
  } else {
    if (/[;,\s]/.test(text)) throw new InvalidArguments(`Invalid arguments: ${source} cannot contain ";", "," or spaces (it is a cookie value)`);
    request.cookie[name] = text;
  }
}

function scalar(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
