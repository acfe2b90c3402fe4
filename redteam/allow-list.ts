/**
 * What the recording upstream may see: for each connector of the launch catalog, the operations
 * its tools call (method, path template under the connector's base path, query parameter names).
 * A request outside that list, or carrying raw CR, LF, NUL, a dot segment or an encoded slash in
 * its path, reached a vendor where no tool leads.
 */
import path from 'node:path';
import { projectRoot } from '../generator/paths.ts';
import type { ConnectorModel } from '../runtime/model.ts';
import type { Recorded } from './recorder.ts';

interface Allowed { method: string; path: RegExp; query: Set<string> }

const CONNECTORS = ['hudu', 'itglue', 'pax8'];

export async function loadAllowList(): Promise<Map<string, Allowed[]>> {
  const out = new Map<string, Allowed[]>();
  for (const name of CONNECTORS) {
    const { model } = (await import(path.join(projectRoot, 'generated', name, 'model.ts'))) as { model: ConnectorModel };
    out.set(name, model.tools.map((t) => ({
      method: t.operation.method.toUpperCase(),
      // A path parameter fills one segment with anything but a slash.
      path: new RegExp(`^${t.operation.path.split(/\{[^}]+\}/).map((s) => s.replace(/[.*+?^$()|[\]\\]/g, '\\$&')).join('[^/]+')}$`),
      query: new Set(t.parameters.filter((p) => p.in === 'query').map((p) => p.name)),
    })));
  }
  return out;
}

/** Why a recorded request is outside the allow-list, or null when it is inside. */
export function outsideAllowList(r: Recorded, allow: Map<string, Allowed[]>): string | null {
  if (/[\r\n\0]/.test(r.rawUrl)) return `raw control character in ${JSON.stringify(r.rawUrl)}`;
  for (const [name, value] of Object.entries(r.headers)) {
    if (/[\r\n\0]/.test(String(value))) return `control character in header ${name}`;
  }
  const url = new URL(r.rawUrl, 'http://upstream');
  if (url.pathname === '/oauth/token' && r.method === 'POST') return null;
  const m = /^\/([abc])\/([a-z0-9_]+)(\/.*)?$/.exec(url.pathname);
  if (!m) return `path ${r.rawUrl} is under no tenant's connector`;
  const rest = m[3] ?? '/';
  const segments = rest.split('/');
  if (segments.some((s) => s === '.' || s === '..' || /%2e%2e|%2f|%5c/i.test(s) || s.includes('\\'))) return `dot segment or encoded slash in ${r.rawUrl}`;
  const ops = allow.get(m[2]);
  if (!ops) return `connector ${m[2]} is not served`;
  // Several tools can share an operation (a list and a read by slug): any of their parameters is allowed.
  const matching = ops.filter((o) => o.method === r.method && o.path.test(rest));
  if (!matching.length) return `${r.method} ${rest} is no operation of ${m[2]}`;
  const extra = [...url.searchParams.keys()].filter((k) => !matching.some((o) => o.query.has(k)));
  if (extra.length) return `query parameters ${extra.join(', ')} are not ${m[2]} parameters of ${rest}`;
  return null;
}
