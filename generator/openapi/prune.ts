/**
 * Cuts a document down to the selected operations and the components they reach, the input of
 * openapi-typescript for a connector's typed client. A 3.6 MB vendor document becomes the few
 * kilobytes the connector needs, and the generated types stay small.
 */
import type { OpenApiDocument } from './types.ts';
import { HTTP_METHODS, isObject, resolveRef, someObject } from './normalize.ts';
import { listOperations } from './operations.ts';

type Obj = Record<string, unknown>;

/** Path-item fields kept beside the selected operations. */
const PATH_ITEM_FIELDS = ['summary', 'description', 'servers', 'parameters'];
/** Top-level fields kept: what describes the API, never other operations (webhooks, x-*). */
const TOP_LEVEL_FIELDS = ['openapi', 'info', 'jsonSchemaDialect', 'servers', 'security'];

export function pruneDocument(doc: OpenApiDocument, ops: Array<{ method: string; path: string }>): OpenApiDocument {
  const ids = new Map(listOperations(doc).map((o) => [`${o.method} ${o.path}`, o.operationId]));
  const wanted = new Map<string, Set<string>>();
  for (const { method, path } of ops) {
    const key = `${method.toUpperCase()} ${path}`;
    if (!ids.has(key)) throw new Error(`pruneDocument: the document has no operation ${key}`);
    if (!wanted.has(path)) wanted.set(path, new Set());
    wanted.get(path)!.add(method.toLowerCase());
  }

  const paths: Record<string, Obj> = {};
  for (const path of [...wanted.keys()].sort(compareStrings)) {
    const item = doc.paths[path];
    const out: Obj = {};
    for (const f of PATH_ITEM_FIELDS) if (item[f] !== undefined) out[f] = item[f];
    for (const m of HTTP_METHODS) {
      if (!wanted.get(path)!.has(m)) continue;
      // openapi-typescript names its `operations` by operationId: derived ones must be in the document.
      out[m] = { ...(item[m] as Obj), operationId: ids.get(`${m.toUpperCase()} ${path}`) };
    }
    paths[path] = out;
  }

  const result: OpenApiDocument = { openapi: doc.openapi, info: doc.info, paths };
  for (const f of TOP_LEVEL_FIELDS) if (doc[f] !== undefined) (result as Obj)[f] = doc[f];
  result.paths = paths;

  const usedTags = new Set<string>();
  for (const item of Object.values(paths)) {
    for (const m of HTTP_METHODS) {
      const op = item[m];
      if (isObject(op) && Array.isArray(op.tags)) for (const t of op.tags) usedTags.add(String(t));
    }
  }
  if (Array.isArray(doc.tags)) {
    const tags = doc.tags.filter((t) => isObject(t) && usedTags.has(String(t.name)));
    if (tags.length) result.tags = tags;
  }

  const { components, hoisted } = reachableComponents(doc, paths);
  if (Object.keys(components).length) result.components = components;
  // Refs into paths (possibly cut away) now point at their hoisted copies.
  return hoisted.size ? rewriteRefs(structuredClone(result), hoisted) : result;
}

/** Components that the kept paths reach, transitively; securitySchemes always (the client needs them). */
function reachableComponents(doc: OpenApiDocument, paths: Obj): { components: Record<string, Record<string, unknown>>; hoisted: Map<string, string> } {
  const source = isObject(doc.components) ? doc.components : {};
  const reached = new Map<string, Set<string>>();
  const queue: unknown[] = [paths];
  const visited = new WeakSet<object>();
  /** Local refs outside components (bundlers and authors point into paths): ref -> new component ref. */
  const hoisted = new Map<string, string>();
  const extra = new Map<string, Obj>();

  const reach = (ref: string) => {
    const m = /^#\/components\/([^/]+)\/([^/]+)/.exec(ref);
    if (!m) {
      // Even a target inside a kept path moves: openapi-typescript cannot type a ref into paths that reaches itself.
      if (!ref.startsWith('#/') || hoisted.has(ref)) return;
      const target = resolveRef(doc, ref);
      if (target === undefined) return;
      const section = sectionOf(ref);
      const name = `${ref.slice(2).replace(/[^A-Za-z0-9]+/g, '_')}`;
      hoisted.set(ref, `#/components/${section}/${name}`);
      if (!extra.has(section)) extra.set(section, {});
      extra.get(section)![name] = target;
      queue.push(target);
      return;
    }
    const section = unescape(m[1]);
    const name = unescape(m[2]);
    const target = (source[section] as Obj | undefined)?.[name];
    if (target === undefined) return;
    if (!reached.has(section)) reached.set(section, new Set());
    const names = reached.get(section)!;
    if (names.has(name)) return;
    names.add(name);
    queue.push(target);
  };

  while (queue.length) {
    const node = queue.pop();
    if (typeof node !== 'object' || node === null || visited.has(node)) continue;
    visited.add(node);
    if (Array.isArray(node)) {
      for (const v of node) queue.push(v);
      continue;
    }
    const obj = node as Obj;
    if (typeof obj.$ref === 'string') reach(obj.$ref);
    // Discriminator mappings name schemas by ref or bare name: openapi-typescript follows them.
    if (isObject(obj.discriminator) && isObject(obj.discriminator.mapping)) {
      for (const v of Object.values(obj.discriminator.mapping)) {
        if (typeof v === 'string') reach(v.startsWith('#') ? v : `#/components/schemas/${v}`);
      }
    }
    // Examples too: openapi-typescript resolves every $ref, wherever it sits.
    for (const v of Object.values(obj)) queue.push(v);
  }

  const out: Record<string, Record<string, unknown>> = {};
  const sections = new Set([...reached.keys(), ...extra.keys(), ...(isObject(source.securitySchemes) ? ['securitySchemes'] : [])]);
  for (const section of [...sections].sort(compareStrings)) {
    const all = { ...(source[section] as Obj | undefined), ...extra.get(section) };
    const names = section === 'securitySchemes' ? Object.keys(all) : [...(reached.get(section) ?? []), ...Object.keys(extra.get(section) ?? {})];
    const kept: Obj = {};
    for (const n of names.sort(compareStrings)) kept[n] = all[n];
    out[section] = kept;
  }
  return { components: out, hoisted };
}

/** The components section a hoisted target belongs in, judged by where it sat. */
function sectionOf(ref: string): string {
  if (/\/parameters\/[^/]+$/.test(ref)) return 'parameters';
  if (/\/responses\/[^/]+$/.test(ref)) return 'responses';
  if (/\/requestBody$/.test(ref)) return 'requestBodies';
  if (/\/headers\/[^/]+$/.test(ref)) return 'headers';
  if (/\/examples\/[^/]+$/.test(ref)) return 'examples';
  return 'schemas';
}

function rewriteRefs<T>(node: T, hoisted: Map<string, string>): T {
  someObject(node, (o) => {
    if (typeof o.$ref === 'string' && hoisted.has(o.$ref)) o.$ref = hoisted.get(o.$ref);
  });
  return node;
}

function unescape(segment: string): string {
  let s = segment;
  try {
    s = decodeURIComponent(s);
  } catch {
    // keep as written
  }
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
