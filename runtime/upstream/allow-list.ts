/**
 * The connector's compiled allow-list and the check every outgoing request passes before it may
 * leave: same origin and base path as the configured upstream, no user info, no encoded
 * separators or dot segments, a permitted method and path, and the calling tool's own operation.
 * Pure: no I/O, no state.
 */
import type { AllowedRequest, HttpMethod } from '../model.ts';

export interface CompiledEntry {
  method: HttpMethod;
  path: string;
  re: RegExp;
}

/** `/tickets/{id}` -> /^\/tickets\/[^/]+$/ : a path parameter fills exactly one segment. */
export function compileTemplate(path: string): RegExp {
  const parts = path.split(/(\{[^{}/]+\})/);
  const source = parts
    .map((part) => (/^\{[^{}/]+\}$/.test(part) ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`);
}

export function compileAllowList(allowList: AllowedRequest[]): CompiledEntry[] {
  return allowList.map((a) => ({ method: a.method, path: a.path, re: compileTemplate(a.path) }));
}

/** Why a request is not permitted, or undefined when it is. */
export function checkRequest(
  method: string,
  rawUrl: string,
  base: URL,
  compiled: CompiledEntry[],
  expected?: AllowedRequest,
): string | undefined {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return 'the request URL is malformed';
  }
  const shown = `${method} ${url.pathname.slice(0, 200)}`;
  if (url.protocol !== base.protocol || url.hostname !== base.hostname || url.port !== base.port) {
    return `${shown} goes to ${url.protocol}//${url.host}, not the configured upstream`;
  }
  if (url.username || url.password) return `${shown} carries user info in its URL`;
  const basePath = base.pathname.replace(/\/+$/, '');
  if (!url.pathname.startsWith(`${basePath}/`)) return `${shown} is outside the upstream's base path ${basePath || '/'}`;
  const rest = url.pathname.slice(basePath.length);
  // URL parsing already resolved literal dot segments; encoded separators would be decoded by
  // the vendor's router into another path than the one we checked.
  if (/%2f|%5c|\\/i.test(rest)) return `${shown} has an encoded slash or backslash in a path segment`;
  if (rest.split('/').some((seg) => seg === '..' || seg === '.' || /^(%2e|\.){1,2}$/i.test(seg))) {
    return `${shown} has a dot segment`;
  }
  if (!compiled.some((c) => c.method === method && c.re.test(rest))) return `${shown} matches no permitted request`;
  if (expected) {
    // Stricter than the allow-list: a value must not turn one tool's request into another's.
    const own = compiled.find((c) => c.method === expected.method && c.path === expected.path);
    if (!own || own.method !== method || !own.re.test(rest)) {
      return `${shown} is not the request of this tool (${expected.method} ${expected.path})`;
    }
  }
  return undefined;
}
