/**
 * Compact results: null and empty fields left out of a structured result, and list results
 * rendered as a header line and one line per item instead of JSON with every key repeated. Sparse
 * vendor data (most PSA fields are null for most records) shrinks to a fraction.
 *
 * Dropping is schema-aware: a property the output schema lists as `required` stays, even when
 * null, so a compacted result validates wherever the full one did. Where the schema cannot be
 * followed (a `$ref` outside the document, `anyOf`/`oneOf` alternatives), nothing under that
 * point is dropped.
 */
import type { JsonSchema } from '../model.ts';

type Schema = Record<string, unknown>;

/** The schema that says nothing: one object, so that what is worked out about it is kept once. */
const ANY: Schema = Object.freeze({});

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isEmpty(value: unknown): boolean {
  return value === null || value === '' || (Array.isArray(value) && value.length === 0) || (isObject(value) && Object.keys(value).length === 0);
}

/** A local `#/...` JSON pointer into the root schema. */
function resolve(schema: Schema, root: Schema, depth = 0): Schema | undefined {
  const ref = schema.$ref;
  if (typeof ref !== 'string') return schema;
  if (depth > 16 || !ref.startsWith('#')) return undefined;
  let node: unknown = root;
  for (const part of ref.slice(1).split('/').filter(Boolean)) {
    node = isObject(node) ? node[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
  }
  return isObject(node) ? resolve({ ...node, ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$ref')) }, root, depth + 1) : undefined;
}

/** What an object schema says about its properties, `allOf` branches merged; undefined: unknown. */
interface ObjectView { required: Set<string>; properties: Record<string, Schema>; additional: Schema | undefined }

function objectView(schema: Schema | undefined, root: Schema): ObjectView | undefined {
  const s = schema && resolve(schema, root);
  if (!s || s.anyOf !== undefined || s.oneOf !== undefined || s.not !== undefined || s.if !== undefined || s.minProperties !== undefined || s.dependentRequired !== undefined || s.patternProperties !== undefined || s.unevaluatedProperties !== undefined) return undefined;
  const view: ObjectView = {
    required: new Set(Array.isArray(s.required) ? (s.required as string[]) : []),
    properties: isObject(s.properties) ? (s.properties as Record<string, Schema>) : {},
    additional: isObject(s.additionalProperties) ? (s.additionalProperties as Schema) : undefined,
  };
  for (const branch of Array.isArray(s.allOf) ? s.allOf : []) {
    const b = objectView(isObject(branch) ? branch : undefined, root);
    if (!b) return undefined;
    b.required.forEach((r) => view.required.add(r));
    view.properties = { ...view.properties, ...b.properties };
  }
  return view;
}

function itemsSchema(schema: Schema | undefined, root: Schema): Schema | undefined {
  const s = schema && resolve(schema, root);
  if (!s || s.prefixItems !== undefined || s.anyOf !== undefined || s.oneOf !== undefined) return undefined;
  return isObject(s.items) ? (s.items as Schema) : s.items === undefined ? ANY : undefined;
}

/**
 * What a schema says, worked out once per (schema, root): the tool model's schemas live as long as
 * the catalog version and are never changed, and a list result asks the same question per item.
 */
function memoized<T>(fn: (schema: Schema | undefined, root: Schema) => T): (schema: Schema, root: Schema) => T {
  const byRoot = new WeakMap<Schema, WeakMap<Schema, { value: T }>>();
  return (schema, root) => {
    let bySchema = byRoot.get(root);
    if (!bySchema) byRoot.set(root, (bySchema = new WeakMap()));
    let hit = bySchema.get(schema);
    if (!hit) bySchema.set(schema, (hit = { value: fn(schema, root) }));
    return hit.value;
  };
}

const objectViewOf = memoized(objectView);
const itemsSchemaOf = memoized(itemsSchema);

const MAX_DEPTH = 64;

/**
 * `value` without null and empty properties that `schema` does not require. Arrays keep every
 * element (an item's position can matter); only properties go. `schema` undefined: keep as is.
 */
export function compactValue(value: unknown, schema: JsonSchema | undefined, root: JsonSchema | undefined = schema, depth = 0): unknown {
  if (schema === undefined || typeof schema === 'boolean' || !isObject(root) || depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) {
    const items = itemsSchemaOf(schema, root);
    return items === undefined ? value : value.map((v) => compactValue(v, items, root, depth + 1));
  }
  if (!isObject(value)) return value;
  const view = objectViewOf(schema, root);
  if (!view) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const child = view.properties[k] ?? view.additional ?? ANY;
    const compacted = compactValue(v, child, root, depth + 1);
    if (isEmpty(compacted) && !view.required.has(k)) continue;
    out[k] = compacted;
  }
  return out;
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return /[|\n\r]/.test(value) || value.trim() !== value ? JSON.stringify(value) : value;
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/**
 * The list as text: one header line of the keys the items use (in first-seen order) and one line
 * per item, `|`-separated, an empty cell where an item has no value.
 */
export function renderList(items: unknown[]): string {
  if (!items.every(isObject)) return items.map(cell).join('\n');
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const item of items as Array<Record<string, unknown>>) {
    for (const k of Object.keys(item)) if (!seen.has(k)) { seen.add(k); keys.push(k); }
  }
  const lines = [keys.join(' | ')];
  for (const item of items as Array<Record<string, unknown>>) lines.push(keys.map((k) => cell(item[k])).join(' | '));
  return lines.join('\n');
}

type PathKey = string | number;

/**
 * The `content` text of a shaped result. With an item list: what surrounds the list as compact
 * JSON, then the list rendered line by line; without one: the structured result as JSON.
 */
export function renderResult(structured: Record<string, unknown>, itemsAt: PathKey[] | undefined): string {
  if (!itemsAt) return JSON.stringify(structured);
  const path: PathKey[] = ['result', ...itemsAt];
  let items: unknown = structured;
  for (const k of path) items = (items as Record<PathKey, unknown> | undefined)?.[k];
  if (!Array.isArray(items)) return JSON.stringify(structured);
  const label = itemsAt.length ? String(itemsAt[itemsAt.length - 1]) : 'items';
  const rest = withoutPath(structured, path);
  const head = isObject(rest.result) && Object.keys(rest.result).length === 0 ? withoutKey(rest, 'result') : rest;
  const lines: string[] = [];
  if (Object.keys(head).length) lines.push(JSON.stringify(head));
  lines.push(`${label} (${items.length}):`);
  if (items.length) lines.push(renderList(items));
  return lines.join('\n');
}

function withoutKey(value: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _, ...rest } = value;
  return rest;
}

/** A copy without the node at `path` (the root result itself becomes an empty object). */
function withoutPath(value: Record<string, unknown>, path: PathKey[]): Record<string, unknown> {
  const [k, ...rest] = path;
  if (!rest.length) return withoutKey(value, String(k));
  const child = value[k as string];
  if (!isObject(child)) return withoutKey(value, String(k));
  return { ...value, [k as string]: withoutPath(child, rest) };
}
