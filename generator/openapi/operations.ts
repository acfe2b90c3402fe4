/**
 * The flat list of a document's operations, the unit that connector specs select from. Top-level
 * $refs (parameters, request bodies, responses) are resolved here so that selection and model
 * building never chase them; schemas keep theirs (the converter turns them into $defs).
 */
import type { DocumentNote, OpenApiDocument, OperationInfo, ParameterInfo, SchemaObject } from './types.ts';
import { HTTP_METHODS, deref, isObject, pickJsonMediaType, pointer } from './normalize.ts';

type Obj = Record<string, unknown>;

export interface OperationList {
  operations: OperationInfo[];
  notes: DocumentNote[];
}

export function listOperations(doc: OpenApiDocument): OperationInfo[] {
  return analyzeOperations(doc).operations;
}

/** Operations plus what was odd about them (duplicate operationIds, unresolved refs). */
export function analyzeOperations(doc: OpenApiDocument): OperationList {
  const notes: DocumentNote[] = [];
  const found: Array<{ method: string; path: string; op: Obj; item: Obj }> = [];
  const paths = isObject(doc.paths) ? doc.paths : {};
  for (const path of Object.keys(paths).sort(compareStrings)) {
    const item = paths[path];
    if (!isObject(item)) continue;
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (isObject(op)) found.push({ method: method.toUpperCase(), path, op, item });
    }
  }

  // Declared ids are claimed first, so a derived id never takes a name the vendor uses.
  const used = new Set<string>();
  /** Declared ids used more than once: the operations (indexes into found) that declare each. */
  const sharing = new Map<string, number[]>();
  const ids: Array<string | undefined> = found.map(({ op }, i) => {
    const id = op.operationId;
    if (typeof id !== 'string' || id.trim() === '') return undefined;
    const users = sharing.get(id);
    if (users) users.push(i);
    else sharing.set(id, [i]);
    if (used.has(id)) return undefined;
    used.add(id);
    return id;
  });

  const operations = found.map(({ method, path, op, item }, i): OperationInfo => {
    const at = pointer('paths', path, method.toLowerCase());
    let operationId = ids[i];
    const derived = operationId === undefined;
    if (operationId === undefined) {
      const base = deriveOperationId(method, path);
      operationId = base;
      for (let n = 2; used.has(operationId); n++) operationId = `${base}${n}`;
      used.add(operationId);
    }
    const declared = found[i]!.op.operationId;
    const info: OperationInfo = {
      method,
      path,
      operationId,
      derivedOperationId: derived,
      ...(typeof declared === 'string' && sharing.get(declared)!.length > 1 && { sharedOperationId: declared }),
      tags: Array.isArray(op.tags) ? op.tags.filter((t): t is string => typeof t === 'string') : [],
      deprecated: op.deprecated === true,
      parameters: mergeParameters(doc, item.parameters, op.parameters, at, notes),
      pointer: at,
      security: securityOf(op.security ?? doc.security),
    };
    if (typeof op.summary === 'string' && op.summary.trim()) info.summary = op.summary;
    if (typeof op.description === 'string' && op.description.trim()) info.description = op.description;
    const body = requestBodyOf(doc, op.requestBody);
    if (body) info.requestBody = body;
    const response = responseOf(doc, op.responses);
    if (response) {
      info.responseSchema = response.schema;
      info.responseContentType = response.contentType;
    }
    return info;
  });
  // One warning per shared id, pointing at its second use: the count and the operations say what
  // to select by instead.
  for (const [id, users] of sharing) {
    if (users.length < 2) continue;
    const second = found[users[1]!]!;
    const list = users.map((i) => `${found[i]!.method} ${found[i]!.path}${operations[i]!.operationId === id ? '' : ` (as ${operations[i]!.operationId})`}`);
    notes.push({
      severity: 'warning', code: 'operation/duplicate-id',
      message: `operationId "${id}" is used by ${users.length} operations: ${list.join(', ')}; the first keeps it, the others get derived ids`,
      pointer: pointer('paths', second.path, second.method.toLowerCase(), 'operationId'),
    });
  }
  return { operations, notes };
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * GET /api/Tickets/{id} -> getTicketsById. A leading "api" or version segment says nothing about
 * the operation, so it is left out.
 */
export function deriveOperationId(method: string, path: string): string {
  const segments = path.split('/').filter(Boolean);
  while (segments.length > 1 && /^(api|rest|v\d+(\.\d+)*|\d+(\.\d+)*)$/i.test(segments[0])) segments.shift();
  const words = segments.map((s) => {
    const param = /^\{(.+)\}$/.exec(s);
    return param ? `By${pascal(param[1])}` : pascal(s);
  });
  const name = words.join('') || 'Root';
  return `${method.toLowerCase()}${name}`;
}

function pascal(text: string): string {
  return text
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('');
}

function mergeParameters(doc: OpenApiDocument, pathLevel: unknown, opLevel: unknown, at: string, notes: DocumentNote[]): ParameterInfo[] {
  const byKey = new Map<string, ParameterInfo>();
  const add = (list: unknown, listAt: string) => {
    if (!Array.isArray(list)) return;
    list.forEach((raw, i) => {
      const p = deref(doc, raw);
      if (!isObject(p) || typeof p.name !== 'string' || !['path', 'query', 'header', 'cookie'].includes(p.in as string)) {
        if (isObject(raw) && typeof raw.$ref === 'string') {
          notes.push({ severity: 'warning', code: 'parameter/unresolved-ref', message: `parameter ${raw.$ref} does not resolve: skipped`, pointer: `${listAt}/${i}` });
        }
        return;
      }
      const info: ParameterInfo = {
        name: p.name,
        in: p.in as ParameterInfo['in'],
        required: p.in === 'path' || p.required === true,
        schema: isObject(p.schema) ? p.schema : {},
      };
      if (typeof p.description === 'string' && p.description.trim()) info.description = p.description;
      if (typeof p.style === 'string') info.style = p.style;
      if (typeof p.explode === 'boolean') info.explode = p.explode;
      if (p.deprecated === true) info.deprecated = true;
      // Same name in another location is another parameter; same name and location overrides.
      byKey.set(`${p.in}\u0000${p.name}`, info);
    });
  };
  const pathAt = at.slice(0, at.lastIndexOf('/'));
  add(pathLevel, `${pathAt}/parameters`);
  add(opLevel, `${at}/parameters`);
  return [...byKey.values()];
}

function requestBodyOf(doc: OpenApiDocument, raw: unknown): OperationInfo['requestBody'] {
  const body = deref(doc, raw);
  if (!isObject(body)) return undefined;
  const contentType = pickJsonMediaType(body.content);
  if (!contentType) return undefined;
  const media = (body.content as Obj)[contentType];
  const schema = isObject(media) && isObject(media.schema) ? media.schema : {};
  return {
    contentType,
    required: body.required === true,
    schema,
    ...(typeof body.description === 'string' && body.description.trim() ? { description: body.description } : {}),
  };
}

/** The first 2xx response (in status order) with a JSON schema, else `default`'s. */
function responseOf(doc: OpenApiDocument, responses: unknown): { schema: SchemaObject; contentType: string } | undefined {
  if (!isObject(responses)) return undefined;
  const codes = Object.keys(responses).filter((c) => /^2(\d\d|XX)$/i.test(c)).sort();
  if (Object.hasOwn(responses, 'default')) codes.push('default');
  for (const code of codes) {
    const resp = deref(doc, responses[code]);
    if (!isObject(resp)) continue;
    const contentType = pickJsonMediaType(resp.content);
    if (!contentType) continue;
    const media = (resp.content as Obj)[contentType];
    if (isObject(media) && isObject(media.schema)) return { schema: media.schema, contentType };
  }
  return undefined;
}

function securityOf(requirements: unknown): string[] {
  if (!Array.isArray(requirements)) return [];
  const names = new Set<string>();
  for (const r of requirements) if (isObject(r)) for (const k of Object.keys(r)) names.add(k);
  return [...names];
}
