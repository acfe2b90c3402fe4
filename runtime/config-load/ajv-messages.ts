/**
 * The one place where ajv's errors become messages, for every file the project validates against
 * a JSON Schema and for every tool call. Four wordings, by audience:
 * - explainSchemaErrors: a connector author's spec. Each anyOf/oneOf is folded with its branches'
 *   errors into one sentence, typos get a "did you mean", patterns are explained in words.
 * - settingMessage/settingPath: the operator's runtime configuration, `path: what is wrong`.
 * - briefMessage: policies and their tests, `dotted.path: what is wrong`.
 * - valueMessages: a model's tool arguments and a vendor's tool results, `"where" what rule`.
 */
import { distance } from 'fastest-levenshtein';
import type { ErrorObject } from 'ajv';
import type { Aim, JsonPath } from './yaml.ts';

type SchemaObject = Record<string, any>;

/** JSON pointer -> its segments, unescaped, as strings. */
export function pointerPath(pointer: string): string[] {
  if (!pointer) return [];
  return pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** JSON pointer -> path segments into `root`; array indexes become numbers. */
export function dataPath(pointer: string, root: unknown): Array<string | number> {
  const out: Array<string | number> = [];
  let cur: any = root;
  for (const seg of pointerPath(pointer)) {
    const key = Array.isArray(cur) ? Number(seg) : seg;
    out.push(key);
    cur = cur?.[key];
  }
  return out;
}

export interface SchemaIssue {
  path: JsonPath;
  /** Point at the value of `path`, or at its key (unknown keys). */
  at: Aim;
  message: string;
  hint?: string;
}

/** What a file's schema errors are worded with. */
export interface Vocabulary {
  /** The whole file, as a message names it: "the spec". */
  subject: string;
  /** Said when the whole file is not a mapping. */
  rootHint: string;
  /** The file's JSON Schema, to resolve local $refs for descriptions. */
  schema: SchemaObject;
  /** Patterns of the schema, keyed by their text, explained in words. */
  patterns: Record<string, { what: string; hint: (value: string) => string }>;
}

type Entry = { instancePath: string; error: ErrorObject } | { instancePath: string; issue: SchemaIssue };

/**
 * Folds each anyOf/oneOf with the errors of its branches into what the author needs to hear.
 * ajv appends a branch's errors right before the anyOf/oneOf error itself, and in this schema
 * every composite is the first keyword evaluated at its data, so the trailing run of errors at or
 * below the composite's data location is exactly its branches' errors.
 */
export function explainSchemaErrors(errors: readonly ErrorObject[], data: unknown, words: Vocabulary): SchemaIssue[] {
  const stack: Entry[] = [];
  for (const error of errors) {
    if (error.keyword !== 'anyOf' && error.keyword !== 'oneOf') {
      stack.push({ instancePath: error.instancePath, error });
      continue;
    }
    const branchErrors: Entry[] = [];
    while (stack.length && within(stack[stack.length - 1].instancePath, error.instancePath)) branchErrors.unshift(stack.pop()!);
    stack.push(...foldComposite(error, branchErrors, data, words));
  }
  const issues = stack.map((e) => ('issue' in e ? e.issue : describe(e.error, data, words)));
  // A value of the wrong type makes every other complaint about the same place noise.
  const typeWrong = new Set(stack.filter((e) => 'error' in e && e.error.keyword === 'type').map((e) => e.instancePath));
  return issues.filter((issue, i) => {
    const e = stack[i];
    return !typeWrong.has(e.instancePath) || ('error' in e && e.error.keyword === 'type') || issue.at === 'key';
  });
}

function foldComposite(error: ErrorObject, branchErrors: Entry[], root: unknown, words: Vocabulary): Entry[] {
  const p = dataPath(error.instancePath, root);
  const value = error.data;
  const branches = error.schema as SchemaObject[];
  const where = label(p, words.subject);

  // Branches that only require one key each: "at least one of" / "exactly one of" some keys.
  const keys = branches.map((b) => (Array.isArray(b.required) && b.required.length === 1 ? (b.required[0] as string) : undefined));
  if (keys.every((k) => k !== undefined)) {
    if (!isObject(value)) return []; // the type error says it better
    const names = keys as string[];
    const others = branchErrors.filter((e) => !('error' in e && e.error.keyword === 'required' && e.instancePath === error.instancePath));
    const present = names.filter((k) => k in value);
    const list = names.map((k) => `\`${k}\``).join(error.keyword === 'oneOf' ? ' or ' : ', ');
    let issue: SchemaIssue;
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
  const alternatives = branches.map((b) => describeSchema(b, words.schema)).join(' or ');
  return [{ instancePath: error.instancePath, issue: { path: p, at: 'value', message: `${where} must be ${alternatives}, found ${describeValue(value)}` } }];
}

function describe(error: ErrorObject, root: unknown, words: Vocabulary): SchemaIssue {
  const p = dataPath(error.instancePath, root);
  const where = label(p, words.subject);
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
      const about = parent.properties?.[key]?.description ?? resolveRef(parent.properties?.[key], words.schema)?.description;
      return {
        path: p, at: 'value',
        message: p.length ? `${where} is missing the required key "${key}"` : `missing the required top-level key "${key}"`,
        hint: about ? `${key}: ${about}` : undefined,
      };
    }
    case 'type':
      if (!p.length) {
        return {
          path: p, at: 'value', message: `${words.subject} must be a mapping, found ${describeValue(value)}`,
          hint: words.rootHint,
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
      return { path: p, at: 'value', message: `${where} ${JSON.stringify(value)} is not ${words.patterns[params.pattern]?.what ?? `of the form ${params.pattern}`}`, hint: words.patterns[params.pattern]?.hint(String(value)) };
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

function within(instancePath: string, parent: string): boolean {
  return instancePath === parent || instancePath.startsWith(parent + '/');
}

/** `tools[1].parameters.x` */
function label(p: JsonPath, subject: string): string {
  if (!p.length) return subject;
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

function resolveRef(s: SchemaObject | undefined, root: SchemaObject): SchemaObject | undefined {
  const ref = s?.$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#/')) return s;
  let cur: any = root;
  for (const seg of ref.slice(2).split('/')) cur = cur?.[seg];
  return cur;
}

function describeSchema(s: SchemaObject, root: SchemaObject): string {
  const r = resolveRef(s, root) ?? {};
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

// ---------------------------------------------------------------------------------------------
// The runtime configuration: `path: what is wrong`, worded for an operator.

/** The setting an error is about: the unknown key or the bad connector name included. */
export function settingPath(e: ErrorObject): string[] {
  const p = pointerPath(e.instancePath);
  if (e.keyword === 'additionalProperties') p.push(String((e.params as { additionalProperty: string }).additionalProperty));
  if (e.keyword === 'propertyNames') p.push(String((e.params as { propertyName: string }).propertyName));
  return p;
}

/** Where to point: a wrong discriminator at its value, everything else at the object or key the error names. */
export function settingTarget(e: ErrorObject, p: string[]): { path: string[]; aim: Aim } {
  return {
    path: e.keyword === 'discriminator' ? [...p, String((e.params as { tag: string }).tag)] : p,
    aim: e.keyword === 'additionalProperties' ? 'key' : 'value',
  };
}

/** `kinds` lists the discriminator's values, for the message naming a wrong or missing one. */
export function settingMessage(e: ErrorObject, kinds: readonly string[]): string {
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': return 'is not a known setting';
    case 'required': return `needs ${String(params.missingProperty)}`;
    case 'discriminator': return params.error === 'mapping'
      ? `kind ${JSON.stringify(params.tagValue)} is not one of ${kinds.join(', ')}`
      : `needs a kind (${kinds.join(', ')})`;
    case 'propertyNames': return 'a connector name is lower-case letters, digits and underscores';
    case 'enum': return `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    default: return e.message ?? e.keyword;
  }
}

// ---------------------------------------------------------------------------------------------
// Policies and policy tests: `dotted.path: what is wrong`.

export function briefMessage(err: ErrorObject): string {
  const where = err.instancePath ? err.instancePath.slice(1).replaceAll('/', '.') : 'the file';
  if (err.keyword === 'additionalProperties') return `${where}: unknown key "${(err.params as { additionalProperty: string }).additionalProperty}"`;
  if (err.keyword === 'enum') return `${where}: must be one of ${(err.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
  return `${where} ${err.message ?? 'is invalid'}`;
}

// ---------------------------------------------------------------------------------------------
// Tool calls: what a model must change in its arguments, or where a vendor's result strays from
// its declared shape. Built only after validation failed, so the success path pays nothing.

/** How one kind of validated value is named in messages. */
export interface ValueWording {
  /** The whole value, when an error is about it: "arguments". */
  whole: string;
  /** What a top-level key is called: "argument". */
  member: string;
  /** A location inside the value as a message names it; '' for the whole value. */
  place(instancePath: string): string;
  /** Whether each message names the JSON Schema keyword broken, as in "(maximum)". */
  rules: boolean;
}

/** `/page_size` -> `"page_size"`, `/filter/0/name` -> `"filter[0].name"`. */
function argumentPlace(instancePath: string): string {
  const [head, ...rest] = pointerPath(instancePath);
  if (head === undefined) return '';
  return `"${head}${rest.map((r) => (/^\d+$/.test(r) ? `[${r}]` : `.${r}`)).join('')}"`;
}

/** A model's tool arguments: each message names the argument and the rule it breaks. */
export const ARGUMENTS: ValueWording = { whole: 'arguments', member: 'argument', place: argumentPlace, rules: true };

/** A vendor's tool result, located by JSON pointer as its output schema would be read. */
export const RESULT: ValueWording = { whole: '/', member: 'property', place: (p) => p, rules: false };

/** One message per distinct error, joined with "; ". */
export function valueMessages(errors: readonly ErrorObject[], words: ValueWording): string {
  return [...new Set(errors.map((e) => valueMessage(e, words)))].join('; ');
}

function valueMessage(e: ErrorObject, words: ValueWording): string {
  const where = words.place(e.instancePath);
  const subject = where || words.whole;
  const p = e.params as Record<string, unknown>;
  const rule = words.rules ? ` (${e.keyword})` : '';
  switch (e.keyword) {
    case 'required':
      return where ? `missing required property "${String(p.missingProperty)}" in ${where}` : `missing required ${words.member} "${String(p.missingProperty)}"`;
    case 'additionalProperties':
      return where ? `unknown property "${String(p.additionalProperty)}" in ${where}` : `unknown ${words.member} "${String(p.additionalProperty)}"`;
    case 'maximum':
    case 'minimum':
    case 'exclusiveMaximum':
    case 'exclusiveMinimum':
      return `${subject} must be ${String(p.comparison)} ${String(p.limit)}${rule}`;
    case 'maxLength':
    case 'minLength':
    case 'maxItems':
    case 'minItems':
      return `${subject} must have at ${e.keyword.startsWith('max') ? 'most' : 'least'} ${String(p.limit)} ${e.keyword.endsWith('Length') ? 'characters' : 'items'}${rule}`;
    case 'type':
      return `${subject} must be ${String(p.type)}${rule}`;
    case 'enum':
      return `${subject} must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}${rule}`;
    case 'format':
      return `${subject} must be a valid ${String(p.format)}${rule}`;
    case 'pattern':
      return `${subject} must match ${String(p.pattern)}${rule}`;
    default:
      return `${subject} ${e.message ?? 'is invalid'}${rule}`;
  }
}
