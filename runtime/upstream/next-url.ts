/**
 * Following a vendor's next-page URL (pagination style next-url). The URL came from a response
 * body, so it is vendor data, not configuration: it is followed only if it stays on the
 * connector's own origin and on the very path the tool's operation would call now (the same path
 * parameters, so the same customer), carries no user info, and leaves the parameters the runtime
 * forces (fixed values, customer bindings) as the runtime set them. Even then only its query is
 * used: the request still goes to the tool's own operation through the generated client and the
 * allow-list guard, never to the URL as written.
 */
import type { ToolModel, UpstreamRequest } from '../model.ts';
import { ToolCallError } from './errors.ts';

/** The vendor's next-page URL left what the tool may call; nothing was sent. */
export class NextUrlRefused extends ToolCallError {
  constructor(why: string) {
    super(`The vendor's next-page URL was not followed: ${why}. specgate follows a next-page URL only on the connector's own origin and the tool's own operation; omit "cursor" to start from the first page`);
  }
}

/** Replaces the request's query with the next URL's, once the URL passed every check. */
export function followNextUrl(tool: ToolModel, request: UpstreamRequest, next: string, baseUrl: string | undefined): void {
  if (!baseUrl) throw new NextUrlRefused('the connector has no base URL to check it against');
  const base = new URL(baseUrl);
  let url: URL;
  try {
    url = new URL(next, base);
  } catch {
    throw new NextUrlRefused('it is not a URL');
  }
  if (url.username || url.password) throw new NextUrlRefused('it carries user info (credentials) before its host');
  if (url.protocol !== base.protocol) throw new NextUrlRefused(`its scheme ${url.protocol} is not the connector's ${base.protocol}`);
  if (url.host !== base.host) throw new NextUrlRefused(`it points to host ${url.host}, not the connector's ${base.host}`);

  const expected = expectedPath(base, tool, request);
  if (!samePath(url.pathname, expected)) {
    throw new NextUrlRefused(`its path ${url.pathname} is not ${tool.name}'s operation ${tool.operation.method} ${tool.operation.path} (${expected})`);
  }

  const forced = tool.parameters.filter((b) => b.in === 'query' && (b.fixed !== undefined || b.customer));
  for (const b of forced) {
    const given = url.searchParams.getAll(b.name);
    if (given.length === 0) continue; // the runtime's value is applied below
    const own = request.query[b.name];
    const values = own === undefined || own === null ? [] : Array.isArray(own) ? own.map(String) : [String(own)];
    if (!sameValues(given, values)) {
      const what = b.customer ? 'the customer binding' : 'a fixed value';
      throw new NextUrlRefused(`it changes query parameter "${b.name}", which specgate sets (${what})`);
    }
  }

  const forcedNames = new Set(forced.map((b) => b.name));
  const query: Record<string, unknown> = {};
  for (const [k, v] of url.searchParams) {
    if (forcedNames.has(k)) continue;
    const prev = query[k] as string | string[] | undefined;
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  for (const name of forcedNames) if (request.query[name] !== undefined) query[name] = request.query[name];
  request.query = query;
}

/** The base URL's path, then the operation's path with this request's path values. */
function expectedPath(base: URL, tool: ToolModel, request: UpstreamRequest): string {
  const prefix = base.pathname.replace(/\/+$/, '');
  const filled = tool.operation.path.replace(/\{([^{}/]+)\}/g, (whole, name: string) => {
    const v = request.path[name];
    return v === undefined || v === null ? whole : Array.isArray(v) ? v.map(String).join(',') : String(v);
  });
  return `${prefix}${filled}`;
}

/** Segment by segment after percent-decoding, so a vendor's own encoding choices do not matter. */
function samePath(actual: string, expected: string): boolean {
  const a = actual.replace(/\/+$/, '').split('/');
  const e = expected.replace(/\/+$/, '').split('/');
  if (a.length !== e.length) return false;
  return a.every((seg, i) => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(seg);
    } catch {
      return false;
    }
    return decoded === e[i];
  });
}

/** A list sent as repeated parameters or joined with commas is the same list. */
function sameValues(given: string[], own: string[]): boolean {
  if (given.length === own.length && given.every((v, i) => v === own[i])) return true;
  return given.length === 1 && given[0] === own.join(',');
}
