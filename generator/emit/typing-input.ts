/**
 * The pruned document as openapi-typescript is to read it: without Example Objects. They type
 * nothing (openapi-typescript skips `examples` maps and the `examples` components), yet it walks
 * all of them, and on GitHub's description they are 40% of the pruned document. The values of
 * `example` stay: they go into the types' doc comments.
 *
 * Unchanged subtrees are shared, not copied: the result is only read, or copied by the caller.
 */
import type { OpenApiDocument } from '../openapi/types.ts';
import { HTTP_METHODS, isObject } from '../openapi/normalize.ts';

type Obj = Record<string, unknown>;

export function typingInput(doc: OpenApiDocument): OpenApiDocument {
  const paths: Obj = {};
  for (const [path, item] of Object.entries(doc.paths)) paths[path] = pathItem(item);
  const out: OpenApiDocument = { ...doc, paths: paths as OpenApiDocument['paths'] };
  if (isObject(doc.components)) {
    const c = doc.components;
    out.components = {
      ...c,
      ...each(c, 'parameters', parameter),
      ...each(c, 'headers', parameter),
      ...each(c, 'responses', response),
      ...each(c, 'requestBodies', body),
      // Names only: a `$ref` written into an `example` value still has to resolve.
      ...each(c, 'examples', () => ({})),
    } as Record<string, Record<string, unknown>>;
  }
  return out;
}

function pathItem(item: unknown): Obj {
  if (!isObject(item)) return item as Obj;
  const out: Obj = { ...item, ...list(item, 'parameters', parameter) };
  for (const m of HTTP_METHODS) {
    const op = item[m];
    if (isObject(op)) out[m] = { ...op, ...list(op, 'parameters', parameter), ...one(op, 'requestBody', body), ...each(op, 'responses', response) };
  }
  return out;
}

/** A parameter or a header: both may carry `examples` and `content`. */
function parameter(p: unknown): unknown {
  if (!isObject(p) || typeof p.$ref === 'string') return p;
  const { examples: _, ...rest } = p;
  return { ...rest, ...each(p, 'content', media) };
}

function response(r: unknown): unknown {
  if (!isObject(r) || typeof r.$ref === 'string') return r;
  return { ...r, ...each(r, 'headers', parameter), ...each(r, 'content', media) };
}

function body(b: unknown): unknown {
  if (!isObject(b) || typeof b.$ref === 'string') return b;
  return { ...b, ...each(b, 'content', media) };
}

function media(m: unknown): unknown {
  if (!isObject(m)) return m;
  const { examples: _, ...rest } = m;
  return rest;
}

/** `{ [key]: holder[key] with every value mapped }`, or nothing when holder has no such map. */
function each(holder: Obj, key: string, map: (v: unknown) => unknown): Obj {
  const value = holder[key];
  if (!isObject(value)) return {};
  const out: Obj = {};
  for (const [k, v] of Object.entries(value)) out[k] = map(v);
  return { [key]: out };
}

function list(holder: Obj, key: string, map: (v: unknown) => unknown): Obj {
  const value = holder[key];
  return Array.isArray(value) ? { [key]: value.map(map) } : {};
}

function one(holder: Obj, key: string, map: (v: unknown) => unknown): Obj {
  return holder[key] === undefined ? {} : { [key]: map(holder[key]) };
}
