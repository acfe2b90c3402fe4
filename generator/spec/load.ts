/**
 * Spec file -> ConnectorSpec, or diagnostics that say what is wrong and exactly where.
 *
 * YAML is parsed into a document tree (not straight to data) so every node keeps its source
 * offset; ajv validates the plain data against spec.schema.json, and each ajv error is mapped back
 * to the node it is about and reworded for a connector author.
 */
import { distance } from 'fastest-levenshtein';
import fs from 'node:fs';
import path from 'node:path';
import type { ErrorObject } from 'ajv/dist/2020.js';
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, visit, type Document, type Node } from 'yaml';
import { sortDiagnostics } from './diagnostics.ts';
import { specSchema, specValidator } from './validator.ts';
import type { ConnectorSpec, Diagnostic, LoadedSpec, SourcePosition } from './types.ts';

export const SCHEMA_ID = 'https://specgate.dev/schema/spec-v1.json';
export { SCHEMA_FILE, specSchema, specValidator } from './validator.ts';

/** The first line of a scaffolded spec: makes the YAML language server offer the schema. */
export function SCHEMA_COMMENT(relPathToSchema: string): string {
  return `# yaml-language-server: $schema=${relPathToSchema.split(path.sep).join('/')}`;
}

type JsonPath = ReadonlyArray<string | number>;
type SchemaObject = Record<string, any>;

export async function loadSpec(file: string): Promise<{ loaded?: LoadedSpec; diagnostics: Diagnostic[] }> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file does not exist' : (e as Error).message;
    return { diagnostics: [{ file, line: 1, column: 1, severity: 'error', code: 'spec/read', message: `cannot read the spec: ${reason}` }] };
  }
  return parseSpec(file, text);
}

export function parseSpec(file: string, text: string): { loaded?: LoadedSpec; diagnostics: Diagnostic[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: true, merge: true });
  const at = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col };
  };
  const diagnostics: Diagnostic[] = [];

  for (const [severity, list] of [['error', doc.errors], ['warning', doc.warnings]] as const) {
    for (const e of list) {
      if (e.code === 'DUPLICATE_KEY') {
        diagnostics.push({ ...at(e.pos[0]), severity, code: 'spec/duplicate-key', ...duplicateKey(doc, e.pos[0], at) });
      } else {
        diagnostics.push({ ...at(e.pos[0]), severity, code: 'spec/yaml', message: yamlMessage(e.message), hint: YAML_HINTS[e.code] });
      }
    }
  }
  visit(doc, {
    Alias(_, alias) {
      if (!alias.resolve(doc)) {
        diagnostics.push({
          ...at(alias.range?.[0] ?? 0), severity: 'error', code: 'spec/yaml', message: `unknown alias *${alias.source}`,
          hint: `define the anchor &${alias.source} before this alias`,
        });
      }
    },
  });
  if (diagnostics.some((d) => d.severity === 'error')) return { diagnostics: sortDiagnostics(diagnostics) };

  const empty = doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null);
  if (empty) {
    diagnostics.push({
      file, line: 1, column: 1, severity: 'error', code: 'spec/empty', message: 'the spec is empty',
      hint: 'a connector spec is a mapping with at least `specgate: 1`, `connector: <name>` and `document: { source: ... }`',
    });
    return { diagnostics };
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    diagnostics.push({ ...at(0), severity: 'error', code: 'spec/yaml', message: (e as Error).message });
    return { diagnostics };
  }

  // A digest of decimal digits (with at most an "e") reads as a number in YAML; the author meant the text.
  const sha = doc.getIn(['document', 'sha256'], true);
  if (isScalar(sha) && typeof sha.value === 'number' && sha.type === 'PLAIN' && sha.source && isObject(data) && isObject(data.document)) {
    data.document.sha256 = sha.source;
  }

  const positionOf = (p: JsonPath): SourcePosition => at(offsetOf(doc, p, 'value'));
  const validate = specValidator();
  if (!validate(data)) {
    for (const issue of explain(validate.errors ?? [], data)) {
      diagnostics.push({
        ...at(offsetOf(doc, issue.path, issue.at)),
        severity: 'error', code: 'spec/schema', message: issue.message, hint: issue.hint,
      });
    }
    return { diagnostics: sortDiagnostics(dedupe(diagnostics)) };
  }
  return { loaded: { file, spec: data as ConnectorSpec, positionOf }, diagnostics };
}

// ---------------------------------------------------------------------------------------------
// Positions

/**
 * Source offset of the node at a JSON path, or of the nearest existing parent. A collection or
 * an empty value under a key is reported at its key: that is the line an author looks for.
 */
function offsetOf(doc: Document, p: JsonPath, want: 'value' | 'key'): number {
  let node: Node | null = doc.contents as Node | null;
  let key: Node | null = null;
  for (const seg of p) {
    if (isAlias(node)) node = node.resolve(doc) ?? null;
    if (isMap(node)) {
      const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(seg));
      if (!pair) break;
      key = pair.key as Node;
      node = pair.value as Node | null;
    } else if (isSeq(node) && /^\d+$/.test(String(seg)) && node.items[Number(seg)]) {
      key = null;
      node = node.items[Number(seg)] as Node;
    } else {
      break;
    }
  }
  const emptyValue = !node || (isScalar(node) && node.value === null && node.range?.[0] === node.range?.[1]);
  const preferKey = want === 'key' || emptyValue || isMap(node) || isSeq(node);
  const chosen = key && preferKey ? key : node;
  return chosen?.range?.[0] ?? 0;
}

// ---------------------------------------------------------------------------------------------
// ajv errors -> one clear message per problem

interface Issue {
  path: JsonPath;
  /** Point at the value of `path`, or at its key (unknown keys). */
  at: 'value' | 'key';
  message: string;
  hint?: string;
}

type Entry = { instancePath: string; error: ErrorObject } | { instancePath: string; issue: Issue };

/**
 * Folds each anyOf/oneOf with the errors of its branches into what the author needs to hear.
 * ajv appends a branch's errors right before the anyOf/oneOf error itself, and in this schema
 * every composite is the first keyword evaluated at its data, so the trailing run of errors at or
 * below the composite's data location is exactly its branches' errors.
 */
function explain(errors: readonly ErrorObject[], data: unknown): Issue[] {
  const stack: Entry[] = [];
  for (const error of errors) {
    if (error.keyword !== 'anyOf' && error.keyword !== 'oneOf') {
      stack.push({ instancePath: error.instancePath, error });
      continue;
    }
    const branchErrors: Entry[] = [];
    while (stack.length && within(stack[stack.length - 1].instancePath, error.instancePath)) branchErrors.unshift(stack.pop()!);
    stack.push(...foldComposite(error, branchErrors, data));
  }
  const issues = stack.map((e) => ('issue' in e ? e.issue : describe(e.error, data)));
  // A value of the wrong type makes every other complaint about the same place noise.
  const typeWrong = new Set(stack.filter((e) => 'error' in e && e.error.keyword === 'type').map((e) => e.instancePath));
  return issues.filter((issue, i) => {
    const e = stack[i];
    return !typeWrong.has(e.instancePath) || ('error' in e && e.error.keyword === 'type') || issue.at === 'key';
  });
}

function foldComposite(error: ErrorObject, branchErrors: Entry[], root: unknown): Entry[] {
  const p = toPath(error.instancePath, root);
  const value = error.data;
  const branches = error.schema as SchemaObject[];
  const where = label(p);

  // Branches that only require one key each: "at least one of" / "exactly one of" some keys.
  const keys = branches.map((b) => (Array.isArray(b.required) && b.required.length === 1 ? (b.required[0] as string) : undefined));
  if (keys.every((k) => k !== undefined)) {
    if (!isObject(value)) return []; // the type error says it better
    const names = keys as string[];
    const others = branchErrors.filter((e) => !('error' in e && e.error.keyword === 'required' && e.instancePath === error.instancePath));
    const present = names.filter((k) => k in value);
    const list = names.map((k) => `\`${k}\``).join(error.keyword === 'oneOf' ? ' or ' : ', ');
    let issue: Issue;
    if (error.keyword === 'anyOf') {
      issue = { path: p, at: 'value', message: `${where} needs at least one of ${list}`, hint: `add one of: ${names.join(', ')}` };
    } else if (present.length === 0) {
      issue = { path: p, at: 'value', message: `${where} needs exactly one of ${list}, found neither`, hint: `add one of: ${names.join(', ')}` };
    } else {
      issue = {
        path: [...p, present[present.length - 1]], at: 'key',
        message: `${where} needs exactly one of ${list}, found ${present.length === 2 ? 'both' : present.join(', ')}`,
        hint: `keep only one of: ${present.join(', ')}`,
      };
    }
    return [...others, { instancePath: error.instancePath, issue }];
  }

  // A union of types (a pagination mapping or false): report the branch the value's type fits.
  const fits = branchErrors.filter(
    (e) => !('error' in e && e.instancePath === error.instancePath && ['type', 'const', 'enum'].includes(e.error.keyword)),
  );
  if (fits.length) return fits;
  const alternatives = branches.map((b) => describeSchema(b)).join(' or ');
  return [{ instancePath: error.instancePath, issue: { path: p, at: 'value', message: `${where} must be ${alternatives}, found ${describeValue(value)}` } }];
}

function describe(error: ErrorObject, root: unknown): Issue {
  const p = toPath(error.instancePath, root);
  const where = label(p);
  const params = error.params as Record<string, any>;
  const parent = (error.parentSchema ?? {}) as SchemaObject;
  const value = error.data;
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const known = Object.keys(parent.properties ?? {});
      const near = nearest(key, known);
      return {
        path: [...p, key], at: 'key',
        message: p.length ? `unknown key "${key}" in ${where}` : `unknown top-level key "${key}"`,
        hint: near ? `did you mean "${near}"? (known keys: ${known.join(', ')})` : `known keys: ${known.join(', ')}`,
      };
    }
    case 'required': {
      const key = String(params.missingProperty);
      const about = parent.properties?.[key]?.description ?? resolveRef(parent.properties?.[key])?.description;
      return {
        path: p, at: 'value',
        message: p.length ? `${where} is missing the required key "${key}"` : `missing the required top-level key "${key}"`,
        hint: about ? `${key}: ${about}` : undefined,
      };
    }
    case 'type':
      if (!p.length) {
        return {
          path: p, at: 'value', message: `the spec must be a mapping, found ${describeValue(value)}`,
          hint: 'a connector spec is a mapping with at least `specgate: 1`, `connector: <name>` and `document: { source: ... }`',
        };
      }
      return { path: p, at: 'value', message: `${where} must be ${typeWord(params.type)}, found ${describeValue(value)}`, hint: about(p, parent) };
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map((v) => String(v));
      const near = typeof value === 'string' ? nearest(value, allowed) : undefined;
      return {
        path: p, at: 'value', message: `${where} is ${JSON.stringify(value)}, which is not one of ${allowed.join(', ')}`,
        hint: `${near ? `did you mean "${near}"? ` : ''}allowed values: ${allowed.join(', ')}`,
      };
    }
    case 'const':
      return { path: p, at: 'value', message: `${where} must be ${JSON.stringify(params.allowedValue)}, found ${JSON.stringify(value)}`, hint: about(p, parent) };
    case 'pattern':
      return { path: p, at: 'value', message: `${where} ${JSON.stringify(value)} is not ${PATTERNS[params.pattern]?.what ?? `of the form ${params.pattern}`}`, hint: PATTERNS[params.pattern]?.hint(String(value)) };
    case 'minLength':
      return { path: p, at: 'value', message: `${where} must not be empty`, hint: about(p, parent) };
    case 'minItems':
      return { path: p, at: 'value', message: `${where} must list at least ${params.limit} item${params.limit === 1 ? '' : 's'}`, hint: about(p, parent) };
    case 'minimum':
      return { path: p, at: 'value', message: `${where} must be at least ${params.limit}, found ${JSON.stringify(value)}`, hint: about(p, parent) };
    default:
      return { path: p, at: 'value', message: `${where} ${error.message ?? 'is not valid'}` };
  }
}

/** The spec's patterns, explained in words; keyed by the pattern text in spec.schema.json. */
const PATTERNS: Record<string, { what: string; hint: (value: string) => string }> = {
  '^[a-z][a-z0-9_]{0,31}$': {
    what: 'a valid connector name',
    hint: (v) => {
      const fixed = v.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^[^a-z]+/, '').slice(0, 32);
      return `a connector name is a lower-case letter followed by at most 31 lower-case letters, digits or underscores${fixed ? `, e.g. "${fixed}"` : ''}`;
    },
  },
  '^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|TRACE) /\\S*$': {
    what: 'a valid operation',
    hint: (v) => {
      const m = /^\s*([A-Za-z]+)\s+(\/\S*)\s*$/.exec(v);
      if (m && METHODS.includes(m[1].toUpperCase()) && m[1] !== m[1].toUpperCase()) return `write the method in upper case: "${m[1].toUpperCase()} ${m[2]}"`;
      if (m && !METHODS.includes(m[1].toUpperCase())) return `"${m[1]}" is not an HTTP method; use one of ${METHODS.join(', ')}, e.g. "GET ${m[2]}"`;
      return 'an operation is an upper-case HTTP method, one space, then the path as in the document, e.g. "GET /tickets/{id}"';
    },
  },
  '^[a-f0-9]{64}$': {
    what: 'a valid sha256',
    hint: (v) =>
      /^[A-Fa-f0-9]{64}$/.test(v)
        ? 'write the hex digits in lower case'
        : `a sha256 is 64 lower-case hex digits (this has ${v.length} characters); \`specgate pin\` records it`,
  },
  '^https?://\\S+$': {
    what: 'a valid server URL',
    hint: () => 'a server is an http:// or https:// base URL without spaces, e.g. "https://api.example.com/v1"',
  },
};

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE'];

// ---------------------------------------------------------------------------------------------
// Small helpers

function within(instancePath: string, parent: string): boolean {
  return instancePath === parent || instancePath.startsWith(parent + '/');
}

/** JSON pointer -> path segments; array indexes become numbers. */
function toPath(pointer: string, root: unknown): Array<string | number> {
  if (!pointer) return [];
  const out: Array<string | number> = [];
  let cur: any = root;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const key = Array.isArray(cur) ? Number(seg) : seg;
    out.push(key);
    cur = cur?.[key];
  }
  return out;
}

/** `tools[1].parameters.x` */
function label(p: JsonPath): string {
  if (!p.length) return 'the spec';
  return p
    .map((s, i) => (typeof s === 'number' ? `[${s}]` : /^[A-Za-z_$][\w$-]*$/.test(s) ? `${i ? '.' : ''}${s}` : `[${JSON.stringify(s)}]`))
    .join('');
}

/** `key: what the schema says it is`, to remind the author what the value is for. */
function about(p: JsonPath, schema: SchemaObject): string | undefined {
  const last = p[p.length - 1];
  return schema.description && typeof last === 'string' ? `${last}: ${schema.description}` : schema.description;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeWord(type: string | string[]): string {
  const words: Record<string, string> = {
    object: 'a mapping', array: 'a list', string: 'a string', integer: 'a whole number',
    number: 'a number', boolean: 'true or false', null: 'empty',
  };
  return (Array.isArray(type) ? type : [type]).map((t) => words[t] ?? t).join(' or ');
}

function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'number') return `the number ${v}`;
  if (typeof v === 'boolean') return String(v);
  return `the string ${JSON.stringify(v)}`;
}

function resolveRef(s: SchemaObject | undefined): SchemaObject | undefined {
  const ref = s?.$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#/')) return s;
  let cur: any = specSchema();
  for (const seg of ref.slice(2).split('/')) cur = cur?.[seg];
  return cur;
}

function describeSchema(s: SchemaObject): string {
  const r = resolveRef(s) ?? {};
  if ('const' in r) return JSON.stringify(r.const);
  if (Array.isArray(r.enum)) return `one of ${r.enum.join(', ')}`;
  const kind = r.type ? typeWord(r.type) : 'a value';
  return r.title && r.type === 'object' ? `${kind} (${r.title.toLowerCase()} settings)` : kind;
}

/** The closest candidate by edit distance, if close enough to be a likely typo. */
function nearest(wanted: string, candidates: readonly string[]): string | undefined {
  const w = wanted.toLowerCase();
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const d = distance(w, c.toLowerCase());
    if (!best || d < best.d) best = { c, d };
  }
  return best && best.d <= Math.max(2, Math.floor(wanted.length / 3)) ? best.c : undefined;
}

const YAML_HINTS: Record<string, string> = {
  BLOCK_AS_IMPLICIT_KEY: 'a value containing ": " must be quoted, and a nested mapping goes on its own indented lines',
  MULTILINE_IMPLICIT_KEY: 'check the indentation: a nested key must be indented under its parent key, which ends with ":"',
  TAB_AS_INDENT: 'indent with spaces, not tabs',
  BAD_INDENT: 'check the indentation and that every [ or { is closed',
  MISSING_CHAR: 'a quote, ] or } is not closed',
  MULTIPLE_DOCS: 'a spec file holds one YAML document: remove the extra `---`',
};

/** Names the repeated key and where it first appeared, which yaml's own message leaves out. */
function duplicateKey(doc: Document, offset: number, at: (o: number) => SourcePosition): { message: string; hint: string } {
  let found: { message: string; hint: string } | undefined;
  visit(doc, {
    Map(_, map) {
      const dup = map.items.find((p) => isScalar(p.key) && p.key.range?.[0] === offset);
      if (!dup || !isScalar(dup.key)) return;
      const name = String(dup.key.value);
      const first = map.items.find((p) => isScalar(p.key) && String(p.key.value) === name);
      const line = first && isScalar(first.key) ? at(first.key.range?.[0] ?? 0).line : undefined;
      found = {
        message: `duplicate key "${name}"${line ? ` (first written at line ${line})` : ''}`,
        hint: 'a key may appear only once in a mapping: merge the two entries or remove one',
      };
      return visit.BREAK;
    },
  });
  return found ?? { message: 'duplicate key', hint: 'a key may appear only once in a mapping: merge the two entries or remove one' };
}

/** yaml's messages end in " at line L, column C:" and a source excerpt; the position is ours to print. */
function yamlMessage(message: string): string {
  return message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '').replace(/:$/, '');
}

function dedupe(list: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return list.filter((d) => {
    const k = `${d.line}:${d.column}:${d.message}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
}
