/**
 * OpenAPI schemas (3.0 or 3.1 dialect, $refs into the document) -> self-contained JSON Schema
 * 2020-12 for MCP tool input and output schemas.
 *
 * Component refs become `#/$defs/<name>`, each component converted once, so circular schemas
 * terminate and one converter shared by all parameters of a tool gives them one `$defs`.
 *
 * Input mode validates what the model sends, so it keeps constraints. Output mode describes
 * what vendors actually return, which strays from their documents: it drops `required`,
 * enums, formats, patterns and bounds, allows null everywhere, and reads oneOf as anyOf.
 */
import type { OpenApiDocument, SchemaObject } from '../openapi/types.ts';
import { isObject, resolveRef } from '../openapi/normalize.ts';

type Obj = Record<string, unknown>;
export type ConvertMode = 'input' | 'output';

export interface ConverterOptions {
  mode: ConvertMode;
  /** At most this many $defs; refs beyond it become `{}` (any value) so schemas stay bounded. */
  maxDefs?: number;
}

const TYPES = new Set(['string', 'number', 'integer', 'boolean', 'object', 'array', 'null']);
/** Annotations and constraints copied as they are (after a type check of the value). */
const NUMBER_KEYS = ['minimum', 'maximum', 'multipleOf'];
const COUNT_KEYS = ['minLength', 'maxLength', 'minItems', 'maxItems', 'minProperties', 'maxProperties', 'minContains', 'maxContains'];
const STRING_KEYS = ['title', 'description', 'format', 'pattern', 'contentMediaType', 'contentEncoding'];
const BOOLEAN_KEYS = ['uniqueItems', 'deprecated', 'readOnly', 'writeOnly'];
const SCHEMA_MAP_KEYS = ['properties', 'patternProperties', 'dependentSchemas'];
const SCHEMA_KEYS = ['items', 'additionalProperties', 'not', 'if', 'then', 'else', 'contains', 'propertyNames', 'unevaluatedItems', 'unevaluatedProperties'];
const SCHEMA_LIST_KEYS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'];
/** Constraints that real vendor data breaks; output schemas describe, they must not reject. */
const OUTPUT_DROPPED = new Set(['required', 'enum', 'const', 'format', 'pattern', 'not', 'if', 'then', 'else',
  'dependentRequired', 'dependentSchemas', 'unevaluatedItems', 'unevaluatedProperties', 'propertyNames', 'contains',
  'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'uniqueItems', ...COUNT_KEYS]);

const COMPONENT_PREFIX = '#/components/schemas/';

/** A schema converted with its refs kept, and the defs those refs name, first reached first. */
interface Converted {
  schema: Obj;
  refs: string[];
}

/**
 * One converter's view of a document: which defs it has taken (at most maxDefs, in the order a
 * depth-first conversion reaches them) over conversions that are shared, per document and mode,
 * with every other converter. A tool's converter thus pays only for what no tool before it
 * converted: GitHub's 639 tools reach the same few hundred components again and again.
 */
export class SchemaConverter {
  private readonly shared: DocumentConversion;
  private readonly maxDefs: number;
  private readonly taken = new Set<string>();

  constructor(doc: OpenApiDocument, options: ConverterOptions) {
    this.shared = DocumentConversion.of(doc, options.mode);
    this.maxDefs = options.maxDefs ?? Infinity;
  }

  convert(schema: SchemaObject): Record<string, unknown> {
    const root = this.shared.root(schema);
    this.take(root.refs);
    return this.withoutUntaken(root);
  }

  /** The $defs reached so far, sorted by name. */
  defs(): Record<string, Record<string, unknown>> {
    const out: Record<string, Record<string, unknown>> = {};
    for (const name of [...this.taken].sort()) out[name] = this.withoutUntaken(this.shared.def(name));
    return out;
  }

  /**
   * Takes defs as a depth-first conversion meets them. Once maxDefs are taken the rest never
   * are, so a def that is not taken after its first meeting is left out everywhere.
   */
  private take(refs: string[]): void {
    for (const name of refs) {
      if (this.taken.has(name) || this.taken.size >= this.maxDefs) continue;
      this.taken.add(name);
      this.take(this.shared.def(name).refs);
    }
  }

  /** The schema with each ref to a def beyond maxDefs replaced by `{}` (any value), keeping its description. */
  private withoutUntaken(converted: Converted): Obj {
    if (converted.refs.every((name) => this.taken.has(name))) return converted.schema;
    const copy = (node: unknown): unknown => {
      if (Array.isArray(node)) return node.map(copy);
      if (!isObject(node)) return node;
      const ref = this.shared.refNodes.get(node);
      if (ref && !this.taken.has(ref.name)) return { ...ref.untaken };
      const out: Obj = {};
      for (const [k, v] of Object.entries(node)) out[k] = copy(v);
      return out;
    };
    return copy(converted.schema) as Obj;
  }
}

/**
 * Conversions of one document in one mode; refs are kept as refs, never followed. Kept for as
 * long as the document object lives, which the pipeline never changes once loaded.
 */
class DocumentConversion {
  private static readonly all = new WeakMap<object, Partial<Record<ConvertMode, DocumentConversion>>>();

  static of(doc: OpenApiDocument, mode: ConvertMode): DocumentConversion {
    let byMode = DocumentConversion.all.get(doc);
    if (!byMode) DocumentConversion.all.set(doc, (byMode = {}));
    return (byMode[mode] ??= new DocumentConversion(doc, mode));
  }

  /** The nodes that stand for a ref: their def's name and what they become when it is not taken. */
  readonly refNodes = new WeakMap<object, { name: string; untaken: Obj }>();
  private readonly defs = new Map<string, Converted>();
  private readonly roots = new WeakMap<object, Converted>();
  /** Each def's schema in the document. */
  private readonly targets = new Map<string, unknown>();
  private readonly names: DefNames;
  /** The refs met by the conversion under way. */
  private refs: Set<string> = new Set();

  private constructor(private readonly doc: OpenApiDocument, private readonly mode: ConvertMode) {
    this.names = defNames(doc);
  }

  root(schema: unknown): Converted {
    if (!isObject(schema)) return this.converted(schema);
    let root = this.roots.get(schema);
    if (!root) this.roots.set(schema, (root = this.converted(schema)));
    return root;
  }

  def(name: string): Converted {
    let def = this.defs.get(name);
    if (!def) {
      // Depth restarts: a def's content must not depend on where it was first reached.
      def = this.converted(this.targets.get(name));
      this.defs.set(name, def);
    }
    return def;
  }

  private converted(input: unknown): Converted {
    const outer = this.refs;
    this.refs = new Set();
    try {
      const schema = this.schema(input, 0);
      return { schema, refs: [...this.refs] };
    } finally {
      this.refs = outer;
    }
  }

  private schema(input: unknown, depth: number): Obj {
    if (input === true || input === undefined) return {};
    if (input === false) return this.mode === 'output' ? {} : { not: {} };
    if (!isObject(input)) return {};
    // Deep inline nesting (no refs) is finite, but a pathological document should not blow the stack.
    if (depth > 64) return {};
    if (typeof input.$ref === 'string') return this.ref(input);

    const out: Obj = {};
    const output = this.mode === 'output';
    let types = typeList(input.type);
    for (const key of STRING_KEYS) if (typeof input[key] === 'string') out[key] = input[key];
    if (typeof out.pattern === 'string' && !validPattern(out.pattern)) delete out.pattern;
    for (const key of NUMBER_KEYS) if (typeof input[key] === 'number' && Number.isFinite(input[key])) out[key] = input[key];
    if (typeof out.multipleOf === 'number' && out.multipleOf <= 0) delete out.multipleOf;
    for (const key of COUNT_KEYS) if (Number.isInteger(input[key]) && (input[key] as number) >= 0) out[key] = input[key];
    for (const key of BOOLEAN_KEYS) if (typeof input[key] === 'boolean') out[key] = input[key];
    this.exclusiveBounds(input, out);
    if (input.default !== undefined) out.default = input.default;
    if (input.const !== undefined) out.const = input.const;
    if (Array.isArray(input.enum)) out.enum = uniqueValues(input.enum);
    if (!output) {
      if (input.example !== undefined) out.examples = [input.example];
      else if (Array.isArray(input.examples)) out.examples = input.examples;
    }

    for (const key of SCHEMA_MAP_KEYS) {
      if (!isObject(input[key])) continue;
      const map: Obj = {};
      for (const [name, sub] of Object.entries(input[key] as Obj)) {
        if (key === 'properties' && this.hiddenInMode(sub)) continue;
        if (key === 'patternProperties' && !validPattern(name)) continue;
        map[name] = this.schema(sub, depth + 1);
      }
      out[key] = map;
    }
    if (Array.isArray(input.required)) {
      const props = out.properties as Obj | undefined;
      const hidden = isObject(input.properties) ? Object.keys(input.properties).filter((k) => !props || !(k in props)) : [];
      const req = [...new Set(input.required.filter((r): r is string => typeof r === 'string' && !hidden.includes(r)))];
      if (req.length) out.required = req;
    }
    if (isObject(input.dependentRequired) && Object.values(input.dependentRequired).every((v) => Array.isArray(v) && v.every((x) => typeof x === 'string'))) {
      out.dependentRequired = input.dependentRequired;
    }
    for (const key of SCHEMA_KEYS) {
      const sub = input[key];
      if (sub === undefined) continue;
      if (key === 'items' && Array.isArray(sub)) {
        // Draft 4 tuple form: 2020-12 calls it prefixItems.
        out.prefixItems = sub.map((s) => this.schema(s, depth + 1));
      } else if (typeof sub === 'boolean') {
        out[key] = sub;
      } else if (isObject(sub)) {
        out[key] = this.schema(sub, depth + 1);
      }
    }
    for (const key of SCHEMA_LIST_KEYS) {
      if (!Array.isArray(input[key]) || (input[key] as unknown[]).length === 0) continue;
      out[key] = (input[key] as unknown[]).map((s) => this.schema(s, depth + 1));
    }

    if (output) {
      for (const key of OUTPUT_DROPPED) delete out[key];
      // Lenient object members match several branches, which oneOf would reject.
      if (out.oneOf) {
        out.anyOf = out.anyOf ? out.anyOf : out.oneOf;
        delete out.oneOf;
      }
      if (out.additionalProperties === false) delete out.additionalProperties;
    }

    // `nullable` is 3.0, but 3.1 documents converted by hand keep it and mean the same.
    const nullable = input.nullable === true || (output && types.length > 0);
    if (nullable) {
      if (types.length) {
        if (!types.includes('null')) types = [...types, 'null'];
      } else if (Object.keys(out).some((k) => ['$ref', 'allOf', 'anyOf', 'oneOf', 'enum', 'const'].includes(k))) {
        return { anyOf: [out, { type: 'null' }] };
      }
    }
    if (Array.isArray(out.enum) && types.includes('null') && !(out.enum as unknown[]).includes(null)) out.enum = [...(out.enum as unknown[]), null];
    if (types.length === 1) out.type = types[0];
    else if (types.length > 1) out.type = types;
    return order(out);
  }

  /** Input mode hides what the vendor sets (readOnly); output mode what it never returns (writeOnly). */
  private hiddenInMode(sub: unknown): boolean {
    const s = isObject(sub) && typeof sub.$ref === 'string' && Object.keys(sub).length === 1 ? undefined : sub;
    if (!isObject(s)) return false;
    return this.mode === 'input' ? s.readOnly === true : s.writeOnly === true;
  }

  private exclusiveBounds(input: Obj, out: Obj): void {
    for (const [ex, bound] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']] as const) {
      const v = input[ex];
      if (typeof v === 'number' && Number.isFinite(v)) out[ex] = v;
      else if (v === true && typeof out[bound] === 'number') {
        out[ex] = out[bound];
        delete out[bound];
      }
    }
  }

  private ref(input: Obj): Obj {
    const ref = input.$ref as string;
    const name = this.names.of(ref);
    const siblings: Obj = {};
    if (typeof input.description === 'string') siblings.description = input.description;
    if (name === undefined) return siblings;
    if (!this.targets.has(name)) {
      const target = resolveRef(this.doc, ref);
      if (target === undefined) return siblings;
      this.targets.set(name, target);
    }
    this.refs.add(name);
    let out: Obj = { $ref: `#/$defs/${name}`, ...siblings };
    // 3.0 ignores siblings of $ref, but `{$ref, nullable}` is how 3.0 documents write "this or null".
    if (input.nullable === true) out = { anyOf: [out, { type: 'null' }] };
    this.refNodes.set(out, { name, untaken: siblings });
    return out;
  }
}

/** Def names, fixed for the document: every converter of it must agree on them. */
interface DefNames {
  /** A component's sanitised name, or a name made from any other local pointer; undefined for external refs. */
  of(ref: string): string | undefined;
}

const defNamesCache = new WeakMap<object, DefNames>();

function defNames(doc: OpenApiDocument): DefNames {
  const cached = defNamesCache.get(doc);
  if (cached) return cached;
  // One unique name per component schema, by sorted key (not by visit order).
  const names = new Map<string, string>();
  const taken = new Set<string>();
  const unique = (base: string) => {
    let name = base;
    for (let n = 2; taken.has(name); n++) name = `${base}_${n}`;
    taken.add(name);
    return name;
  };
  const schemas = isObject(doc.components?.schemas) ? doc.components!.schemas : {};
  for (const key of Object.keys(schemas).sort()) {
    const name = unique(sanitize(key));
    const ref = COMPONENT_PREFIX + key.replace(/~/g, '~0').replace(/\//g, '~1');
    names.set(ref, name);
    // Refs may be percent-encoded as well.
    const encoded = COMPONENT_PREFIX + encodeURIComponent(key.replace(/~/g, '~0').replace(/\//g, '~1'));
    if (encoded !== ref) names.set(encoded, name);
  }
  const result: DefNames = {
    of(ref) {
      if (!ref.startsWith('#/')) return undefined;
      let name = names.get(ref);
      if (name === undefined) {
        name = unique(sanitize(ref.slice(2).replace(/^components\/schemas\//, '').replace(/\//g, '.')));
        names.set(ref, name);
      }
      return name;
    },
  };
  defNamesCache.set(doc, result);
  return result;
}

function sanitize(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_.-]/g, '_');
  return s === '' ? '_' : s;
}

function typeList(type: unknown): string[] {
  const list = Array.isArray(type) ? type : type === undefined ? [] : [type];
  return [...new Set(list.filter((t): t is string => typeof t === 'string' && TYPES.has(t)))];
}

function validPattern(pattern: string): boolean {
  try {
    new RegExp(pattern, 'u');
    return true;
  } catch {
    return false;
  }
}

function uniqueValues(values: unknown[]): unknown[] {
  const seen = new Set<string>();
  return values.filter((v) => {
    const k = JSON.stringify(v);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Deterministic, readable key order: $ref and type first, then the rest as converted. */
function order(s: Obj): Obj {
  const first = ['$ref', 'type', 'title', 'description'];
  const out: Obj = {};
  for (const k of first) if (k in s) out[k] = s[k];
  for (const [k, v] of Object.entries(s)) if (!(k in out)) out[k] = v;
  return out;
}

/** The size of a schema as JSON text, for token and size budgets. */
export function schemaSize(schema: unknown): number {
  return JSON.stringify(schema)?.length ?? 0;
}

/**
 * Replaces refs to defs that are small, used once and not recursive with the def itself, and
 * drops the defs no longer referenced. Returns the new schema and defs; the inputs are untouched.
 */
export function inlineSmall(
  schema: Record<string, unknown>,
  defs: Record<string, Record<string, unknown>>,
  maxSize = 200,
): { schema: Record<string, unknown>; defs: Record<string, Record<string, unknown>> } {
  const counts = new Map<string, number>();
  const count = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(count);
    else if (isObject(node)) {
      if (typeof node.$ref === 'string' && node.$ref.startsWith('#/$defs/')) {
        const n = node.$ref.slice(8);
        counts.set(n, (counts.get(n) ?? 0) + 1);
      }
      Object.values(node).forEach(count);
    }
  };
  count(schema);
  Object.values(defs).forEach(count);
  const refersTo = (node: unknown, name: string): boolean =>
    Array.isArray(node) ? node.some((n) => refersTo(n, name))
      : isObject(node) ? node.$ref === `#/$defs/${name}` || Object.values(node).some((n) => refersTo(n, name)) : false;
  const inlinable = new Set(Object.keys(defs).filter((n) => counts.get(n) === 1 && schemaSize(defs[n]) <= maxSize && !refersTo(defs[n], n)));
  const replace = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(replace);
    if (!isObject(node)) return node;
    if (typeof node.$ref === 'string' && node.$ref.startsWith('#/$defs/') && inlinable.has(node.$ref.slice(8))) {
      const { $ref, ...rest } = node;
      return { ...(replace(defs[$ref.slice(8)]) as Obj), ...rest };
    }
    const out: Obj = {};
    for (const [k, v] of Object.entries(node)) out[k] = replace(v);
    return out;
  };
  const outDefs: Record<string, Record<string, unknown>> = {};
  for (const n of Object.keys(defs).sort()) if (!inlinable.has(n)) outDefs[n] = replace(defs[n]) as Record<string, unknown>;
  return { schema: replace(schema) as Record<string, unknown>, defs: outDefs };
}
