/**
 * Repairs what real OpenAPI 3.x documents get wrong, in place, so that every later step (operation
 * listing, pruning, openapi-typescript, schema conversion) sees standard OpenAPI. Each repair is
 * reported as a DocumentNote: a connector author must be able to see what the loader changed.
 *
 * Also home of the small JSON-pointer helpers the other OpenAPI steps share.
 */
import type { DocumentNote, OpenApiDocument, SchemaObject } from './types.ts';

export const HTTP_METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options', 'trace'] as const;
const METHOD_SET = new Set<string>(HTTP_METHODS);
const PARAMETER_LOCATIONS = new Set(['path', 'query', 'header', 'cookie']);
const JSON_SCHEMA_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'object', 'array', 'null']);

type Obj = Record<string, unknown>;

export function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function escapePointer(segment: string | number): string {
  return String(segment).replace(/~/g, '~0').replace(/\//g, '~1');
}

export function pointer(...segments: Array<string | number>): string {
  return segments.map((s) => `/${escapePointer(s)}`).join('');
}

/** Resolves a local `#/...` reference; undefined when it is external or points at nothing. */
export function resolveRef(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#')) return undefined;
  let fragment = ref.slice(1);
  try {
    fragment = decodeURIComponent(fragment);
  } catch {
    // A stray '%' is a literal character in the name.
  }
  if (fragment === '') return doc;
  if (!fragment.startsWith('/')) return undefined;
  let node: unknown = doc;
  for (const raw of fragment.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) node = node[Number(key)];
    else if (isObject(node) && Object.hasOwn(node, key)) node = node[key];
    else return undefined;
  }
  return node;
}

/** Follows a chain of top-level $refs (parameter -> parameter -> ...), cycle safe. */
export function deref(doc: unknown, value: unknown): unknown {
  const seen = new Set<string>();
  let node = value;
  while (isObject(node) && typeof node.$ref === 'string') {
    if (seen.has(node.$ref)) return undefined;
    seen.add(node.$ref);
    node = resolveRef(doc, node.$ref);
  }
  return node;
}

/** Whether a media type carries JSON: application/json, text/json, application/vnd.api+json, ... */
export function isJsonMediaType(mediaType: string): boolean {
  const base = mediaType.split(';')[0].trim().toLowerCase();
  return base === 'application/json' || /[/+]json$/.test(base) || base.endsWith('-json') || base === '*/*';
}

/** Picks the JSON media type of a content map: application/json first, then other JSON, then any. */
export function pickJsonMediaType(content: unknown): string | undefined {
  if (!isObject(content)) return undefined;
  const keys = Object.keys(content).filter(isJsonMediaType);
  const rank = (k: string) => {
    const b = k.split(';')[0].trim().toLowerCase();
    return b === 'application/json' ? 0 : b === '*/*' ? 2 : 1;
  };
  return keys.sort((a, b) => rank(a) - rank(b))[0];
}

/** Where a schema sits, built into a JSON pointer only when a note needs it (most never do). */
export type Location = string | { up: Location; key: string | number };

export function locationPointer(loc: Location): string {
  const parts: Array<string | number> = [];
  let l = loc;
  while (typeof l !== 'string') {
    parts.push(l.key);
    l = l.up;
  }
  return l + pointer(...parts.reverse());
}

const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);
const SCHEMA_LISTS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);
const SCHEMA_ONES = new Set(['items', 'additionalProperties', 'not', 'if', 'then', 'else', 'contains', 'propertyNames',
  'unevaluatedItems', 'unevaluatedProperties', 'additionalItems']);

/**
 * Calls visit on every plain object in a JSON tree (arrays are walked through), each once, cycles
 * safe and without recursion (vendor documents nest deep). Stops when visit returns true, and
 * says whether it did.
 */
export function someObject(root: unknown, visit: (node: Obj) => boolean | void): boolean {
  const stack: unknown[] = [root];
  const seen = new WeakSet<object>();
  while (stack.length) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null || seen.has(node)) continue;
    seen.add(node);
    if (Array.isArray(node)) {
      stack.push(...node);
      continue;
    }
    if (visit(node as Obj) === true) return true;
    stack.push(...Object.values(node));
  }
  return false;
}

/** Calls visit on every schema below `schema` (itself included), depth first, each object once. */
export function walkSchema(
  schema: unknown,
  at: Location,
  visit: (schema: Obj, at: Location) => void,
  seen: Set<object> = new Set(),
): void {
  if (!isObject(schema) || seen.has(schema)) return;
  seen.add(schema);
  visit(schema, at);
  for (const key in schema) {
    const sub = schema[key];
    if (typeof sub !== 'object' || sub === null) continue;
    if (SCHEMA_MAPS.has(key)) {
      if (!Array.isArray(sub)) {
        const here = { up: at, key };
        for (const k in sub) walkSchema((sub as Obj)[k], { up: here, key: k }, visit, seen);
      }
    } else if (SCHEMA_LISTS.has(key) || (SCHEMA_ONES.has(key) && Array.isArray(sub))) {
      if (Array.isArray(sub)) {
        const here = { up: at, key };
        sub.forEach((v, i) => walkSchema(v, { up: here, key: i }, visit, seen));
      }
    } else if (SCHEMA_ONES.has(key)) {
      walkSchema(sub, { up: at, key }, visit, seen);
    }
  }
}

/** Collects notes of one kind into a single note with a count, so 800 identical repairs read as one line. */
class Notes {
  private groups = new Map<string, { note: DocumentNote; count: number }>();
  add(note: DocumentNote, groupKey = `${note.code}\u0000${note.message}\u0000${note.pointer}`): void {
    const g = this.groups.get(groupKey);
    if (g) g.count++;
    else this.groups.set(groupKey, { note, count: 1 });
  }
  list(): DocumentNote[] {
    return [...this.groups.values()].map(({ note, count }) =>
      count > 1 ? { ...note, message: `${note.message} (${count} places, first at ${note.pointer})` } : note);
  }
}

/** Non-standard type names seen in real documents (C# and Java exports mostly), lower case. */
const TYPE_ALIASES: Record<string, { type: string; format?: string }> = {
  int: { type: 'integer', format: 'int32' },
  int32: { type: 'integer', format: 'int32' },
  int16: { type: 'integer' },
  short: { type: 'integer' },
  byte: { type: 'integer' },
  long: { type: 'integer', format: 'int64' },
  int64: { type: 'integer', format: 'int64' },
  bool: { type: 'boolean' },
  double: { type: 'number', format: 'double' },
  float: { type: 'number', format: 'float' },
  decimal: { type: 'number' },
  datetime: { type: 'string', format: 'date-time' },
  datetimeoffset: { type: 'string', format: 'date-time' },
  'date-time': { type: 'string', format: 'date-time' },
  date: { type: 'string', format: 'date' },
  timespan: { type: 'string' },
  guid: { type: 'string', format: 'uuid' },
  uuid: { type: 'string', format: 'uuid' },
  str: { type: 'string' },
  char: { type: 'string' },
  text: { type: 'string' },
  file: { type: 'string', format: 'binary' },
  obj: { type: 'object' },
  dictionary: { type: 'object' },
  map: { type: 'object' },
  list: { type: 'array' },
};

const GENERIC_LIST = /^(?:list|ilist|ienumerable|icollection|collection|array|set|hashset)<(.+)>$/i;

/** Maps a type name to a standard schema fragment; null when it means nothing we know. */
function standardType(name: string): SchemaObject | null {
  const t = name.trim();
  const lower = t.toLowerCase();
  if (JSON_SCHEMA_TYPES.has(lower)) return { type: lower };
  if (TYPE_ALIASES[lower]) return { ...TYPE_ALIASES[lower] };
  const nullable = /^(.+)\?$/.exec(t);
  if (nullable) {
    const inner = standardType(nullable[1]);
    return inner ? { ...inner, nullable: true } : null;
  }
  const list = GENERIC_LIST.exec(t) ?? /^(.+)\[\]$/.exec(t);
  if (list) {
    const item = standardType(list[1]);
    return { type: 'array', items: item ?? {} };
  }
  return null;
}

function repairSchema(schema: Obj, loc: Location, notes: Notes): void {
  // A function per call here showed in profiles: locations are only built for a note.
  const type = schema.type;
  if (typeof type === 'string' && !JSON_SCHEMA_TYPES.has(type)) {
    const fixed = standardType(type);
    if (fixed) {
      delete schema.type;
      for (const [k, v] of Object.entries(fixed)) {
        if (k === 'format' && schema.format !== undefined) continue;
        if (k === 'items' && schema.items !== undefined) continue;
        schema[k] = v;
      }
      const shown = fixed.format ? `${fixed.type} (format ${fixed.format})` : `${fixed.type}`;
      notes.add({ severity: 'info', code: 'schema/type-alias', message: `schema type "${type}" is not an OpenAPI type: read as ${shown}`, pointer: `${locationPointer(loc)}/type` },
        `alias\u0000${type}`);
    } else {
      delete schema.type;
      notes.add({ severity: 'warning', code: 'schema/unknown-type', message: `schema type "${type}" is unknown: the type constraint is dropped`, pointer: `${locationPointer(loc)}/type` },
        `unknown\u0000${type}`);
    }
  } else if (Array.isArray(type)) {
    const mapped = type.map((t) => (typeof t === 'string' ? standardType(t)?.type : undefined));
    if (mapped.some((t) => t === undefined)) {
      delete schema.type;
      notes.add({ severity: 'warning', code: 'schema/unknown-type', message: `schema type ${JSON.stringify(type)} holds an unknown type: the type constraint is dropped`, pointer: `${locationPointer(loc)}/type` });
    } else if (mapped.some((t, i) => t !== type[i])) {
      schema.type = [...new Set(mapped as string[])];
      notes.add({ severity: 'info', code: 'schema/type-alias', message: `schema type ${JSON.stringify(type)} read as ${JSON.stringify(schema.type)}`, pointer: `${locationPointer(loc)}/type` });
    }
  } else if (type !== undefined && typeof type !== 'string') {
    delete schema.type;
    notes.add({ severity: 'warning', code: 'schema/unknown-type', message: `schema type ${JSON.stringify(type).slice(0, 80)} is not a type name: the type constraint is dropped`, pointer: `${locationPointer(loc)}/type` },
      'type-not-a-name');
  }
  if (schema.required !== undefined && !(Array.isArray(schema.required) && schema.required.every((r) => typeof r === 'string'))) {
    notes.add({ severity: 'warning', code: 'schema/invalid-required', message: `"required" must be a list of property names, found ${JSON.stringify(schema.required).slice(0, 60)}: dropped`, pointer: `${locationPointer(loc)}/required` },
      `required\u0000${typeof schema.required}`);
    delete schema.required;
  }
  if (schema.enum !== undefined && !Array.isArray(schema.enum)) {
    notes.add({ severity: 'warning', code: 'schema/invalid-enum', message: '"enum" must be a list: dropped', pointer: `${locationPointer(loc)}/enum` });
    delete schema.enum;
  }
  if (Array.isArray(schema.enum) && schema.enum.length !== Object.keys(schema.enum).length) {
    // swagger2openapi deletes null enum members, leaving holes that crash openapi-typescript.
    schema.enum = Array.from(schema.enum, (v) => (v === undefined ? null : v));
    notes.add({ severity: 'info', code: 'schema/enum-hole', message: '"enum" had empty slots (null members lost in conversion): restored as null', pointer: `${locationPointer(loc)}/enum` },
      'enum-hole');
  }
  if (isObject(schema.properties) === false && schema.properties !== undefined) {
    notes.add({ severity: 'warning', code: 'schema/invalid-properties', message: '"properties" must be a map: dropped', pointer: `${locationPointer(loc)}/properties` });
    delete schema.properties;
  }
}

/** Visits every schema that a media-type map, parameter or header holds. */
function contentSchemas(content: unknown, at: string, each: (schema: unknown, at: string) => void): void {
  if (!isObject(content)) return;
  for (const [mt, media] of Object.entries(content)) if (isObject(media)) each(media.schema, `${at}${pointer('content', mt, 'schema')}`);
}

function repairParameter(param: Obj, at: string, notes: Notes, eachSchema: (s: unknown, at: string) => void): void {
  if (typeof param.$ref === 'string') return;
  if (param.schema === undefined) {
    const mt = isObject(param.content) ? Object.keys(param.content)[0] : undefined;
    const media = mt ? (param.content as Obj)[mt] : undefined;
    if (isObject(media) && media.schema !== undefined) {
      param.schema = media.schema;
      notes.add({ severity: 'info', code: 'parameter/content', message: 'a parameter describes its value as media-type content: that schema is used', pointer: at }, 'parameter/content');
    } else {
      param.schema = {};
      notes.add({ severity: 'warning', code: 'parameter/no-schema', message: 'a parameter has no schema: any value is accepted', pointer: at }, 'parameter/no-schema');
    }
  }
  if (param.in === 'path' && param.required !== true) {
    param.required = true;
    notes.add({ severity: 'info', code: 'parameter/path-required', message: 'a path parameter was not marked required: path parameters always are', pointer: at }, 'parameter/path-required');
  }
  eachSchema(param.schema, `${at}/schema`);
}

/**
 * Repairs the document in place and returns what it changed. Expects OpenAPI 3.x (Swagger 2.0 is
 * converted before this step).
 */
export function normalizeDocument(doc: OpenApiDocument): DocumentNote[] {
  const notes = new Notes();
  const seen = new Set<object>();
  const eachSchema = (schema: unknown, at: string) => walkSchema(schema, at, (s, p) => repairSchema(s, p, notes), seen);
  const eachParameter = (param: unknown, at: string) => {
    if (isObject(param)) repairParameter(param, at, notes, eachSchema);
  };
  const eachHeaders = (headers: unknown, at: string) => {
    if (!isObject(headers)) return;
    for (const [name, h] of Object.entries(headers)) {
      if (!isObject(h)) continue;
      eachSchema(h.schema, `${at}${pointer(name, 'schema')}`);
      contentSchemas(h.content, `${at}${pointer(name)}`, eachSchema);
    }
  };
  const eachResponse = (resp: unknown, at: string) => {
    if (!isObject(resp)) return;
    contentSchemas(resp.content, at, eachSchema);
    eachHeaders(resp.headers, `${at}/headers`);
  };
  const eachRequestBody = (body: unknown, at: string) => {
    if (isObject(body)) contentSchemas(body.content, at, eachSchema);
  };

  if (!isObject(doc.info)) {
    doc.info = { title: '', version: '' };
    notes.add({ severity: 'warning', code: 'document/no-info', message: 'the document has no info object', pointer: '/info' });
  }
  if (!isObject(doc.paths)) {
    if (doc.paths !== undefined || !isObject(doc.webhooks)) {
      notes.add({ severity: 'warning', code: 'document/no-paths', message: 'the document has no paths: it offers no operations', pointer: '/paths' });
    }
    doc.paths = {};
  }
  normalizeServers(doc, notes);

  const eachPathItem = (item: Obj, at: string, templatePath?: string) => {
    const pathParams = Array.isArray(item.parameters) ? item.parameters : [];
    pathParams.forEach((p, i) => eachParameter(p, `${at}/parameters/${i}`));
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (op === undefined) continue;
      if (!isObject(op)) {
        delete item[method];
        notes.add({ severity: 'warning', code: 'operation/invalid', message: `${method.toUpperCase()} is not an operation object: skipped`, pointer: `${at}/${method}` });
        continue;
      }
      const opAt = `${at}/${method}`;
      if (op.parameters !== undefined && !Array.isArray(op.parameters)) {
        notes.add({ severity: 'warning', code: 'operation/invalid-parameters', message: '"parameters" must be a list: dropped', pointer: `${opAt}/parameters` });
        delete op.parameters;
      }
      const params = (op.parameters as unknown[] | undefined) ?? [];
      const kept = params.filter((p, i) => {
        const r = deref(doc, p);
        if (isObject(r) && typeof r.name === 'string' && PARAMETER_LOCATIONS.has(r.in as string)) return true;
        notes.add({ severity: 'warning', code: 'parameter/invalid', message: `parameter ${JSON.stringify((r as Obj | undefined)?.name ?? (p as Obj)?.$ref ?? null)} has no name or no valid location ("in"): skipped`, pointer: `${opAt}/parameters/${i}` });
        return false;
      });
      if (kept.length !== params.length) op.parameters = kept;
      kept.forEach((p, i) => eachParameter(p, `${opAt}/parameters/${i}`));
      if (templatePath) addMissingPathParameters(doc, templatePath, pathParams, op, opAt, notes);
      eachRequestBody(op.requestBody, `${opAt}/requestBody`);
      if (isObject(op.responses)) for (const [code, r] of Object.entries(op.responses)) eachResponse(r, `${opAt}${pointer('responses', code)}`);
      else {
        op.responses = { default: { description: '' } };
        notes.add({ severity: 'warning', code: 'operation/no-responses', message: 'the operation declares no responses', pointer: opAt });
      }
      if (isObject(op.callbacks)) {
        for (const [cn, cb] of Object.entries(op.callbacks)) {
          if (isObject(cb)) for (const [expr, ci] of Object.entries(cb)) if (isObject(ci)) eachPathItem(ci, `${opAt}${pointer('callbacks', cn, expr)}`);
        }
      }
    }
  };

  for (const [p, item] of Object.entries(doc.paths)) {
    const at = pointer('paths', p);
    if (!p.startsWith('/')) {
      delete doc.paths[p];
      notes.add({ severity: 'warning', code: 'path/invalid', message: `path "${p}" does not start with "/": skipped`, pointer: at });
      continue;
    }
    let pathItem: unknown = item;
    if (isObject(item) && typeof item.$ref === 'string') {
      const target = deref(doc, item);
      if (isObject(target)) {
        const { $ref: _ref, ...siblings } = item;
        pathItem = { ...structuredClone(target), ...siblings };
        doc.paths[p] = pathItem as Obj;
        notes.add({ severity: 'info', code: 'path/ref', message: `path item of "${p}" is a $ref (${item.$ref}): inlined`, pointer: at });
      } else {
        delete doc.paths[p];
        notes.add({ severity: 'warning', code: 'path/unresolved-ref', message: `path item of "${p}" refers to ${item.$ref}, which does not resolve: skipped`, pointer: at });
        continue;
      }
    }
    if (!isObject(pathItem)) {
      delete doc.paths[p];
      notes.add({ severity: 'warning', code: 'path/invalid', message: `path item of "${p}" is not an object: skipped`, pointer: at });
      continue;
    }
    eachPathItem(pathItem, at, p);
  }

  const components = isObject(doc.components) ? doc.components : {};
  for (const [name, s] of Object.entries(components.schemas ?? {})) eachSchema(s, pointer('components', 'schemas', name));
  for (const [name, p] of Object.entries(components.parameters ?? {})) eachParameter(p, pointer('components', 'parameters', name));
  for (const [name, r] of Object.entries(components.responses ?? {})) eachResponse(r, pointer('components', 'responses', name));
  for (const [name, b] of Object.entries(components.requestBodies ?? {})) eachRequestBody(b, pointer('components', 'requestBodies', name));
  eachHeaders(components.headers, pointer('components', 'headers'));
  for (const [name, pi] of Object.entries(components.pathItems ?? {})) if (isObject(pi)) eachPathItem(pi, pointer('components', 'pathItems', name));
  if (isObject(doc.webhooks)) for (const [name, pi] of Object.entries(doc.webhooks)) if (isObject(pi)) eachPathItem(pi, pointer('webhooks', name));
  return notes.list();
}

function normalizeServers(doc: OpenApiDocument, notes: Notes): void {
  if (doc.servers === undefined) return;
  if (!Array.isArray(doc.servers)) {
    notes.add({ severity: 'warning', code: 'server/invalid', message: '"servers" must be a list: dropped', pointer: '/servers' });
    delete doc.servers;
    return;
  }
  doc.servers = doc.servers.filter((s, i) => {
    if (isObject(s) && typeof s.url === 'string') return true;
    notes.add({ severity: 'warning', code: 'server/invalid', message: 'server has no url: dropped', pointer: `/servers/${i}` });
    return false;
  });
  doc.servers.forEach((s, i) => {
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(s.url) && !s.url.startsWith('{')) {
      notes.add({ severity: 'info', code: 'server/relative', message: `server URL "${s.url}" is relative: the runtime needs the vendor's base URL (spec \`server:\` or per tenant)`, pointer: `/servers/${i}/url` });
    }
  });
}

/** A path template variable that no parameter declares would leave the runtime unable to fill it. */
function addMissingPathParameters(doc: OpenApiDocument, path: string, pathParams: unknown[], op: Obj, at: string, notes: Notes): void {
  const names = [...path.matchAll(/\{([^{}]+)\}/g)].map((m) => m[1]);
  if (names.length === 0) return;
  const declared = new Set<string>();
  for (const p of [...pathParams, ...((op.parameters as unknown[]) ?? [])]) {
    const r = deref(doc, p);
    if (isObject(r) && r.in === 'path') declared.add(String(r.name));
  }
  for (const name of names) {
    if (declared.has(name)) continue;
    op.parameters = [...((op.parameters as unknown[]) ?? []), { name, in: 'path', required: true, schema: { type: 'string' } }];
    declared.add(name);
    notes.add({ severity: 'warning', code: 'parameter/undeclared-path', message: `path variable {${name}} has no parameter: added as a required string`, pointer: at });
  }
}
