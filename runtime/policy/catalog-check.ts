/**
 * Policies against the real catalog: a rule that names a tool, a tag or a sensitivity no tool of
 * the generated catalog has can never match, which is how a deny rule silently stops protecting
 * anything. `specgate policy test` reports each such name at its place in the rule (file:line:col).
 *
 * The check reads each condition's syntax tree for comparisons of `input.tool.name`,
 * `input.tool.tags` (or a variable ranging over them) and `input.tool.sensitivity` with string
 * literals, lists of them, or `data.*` documents holding them.
 */
import type { Diagnostic, SourcePosition } from '../config-load/diagnostics.ts';
import type { ToolModel } from '../model.ts';
import { normalizeTag } from './tags.ts';
import type { PolicySet } from './engine.ts';

export type ToolField = 'name' | 'tags' | 'sensitivity';

/** What the catalog offers a policy to match on. */
export interface CatalogVocabulary {
  name: Set<string>;
  tags: Set<string>;
  sensitivity: Set<string>;
}

export function catalogVocabulary(tools: ToolModel[]): CatalogVocabulary {
  return {
    name: new Set(tools.map((t) => t.name)),
    tags: new Set(tools.flatMap((t) => t.tags.map(normalizeTag))),
    sensitivity: new Set(tools.map((t) => t.sensitivity ?? 'none')),
  };
}

/** Why `value` of `field` matches nothing in the catalog, or undefined when it matches. */
export function unknownInCatalog(vocabulary: CatalogVocabulary, field: ToolField, value: string): string | undefined {
  const wanted = field === 'tags' ? normalizeTag(value) : value;
  if (vocabulary[field].has(wanted)) return undefined;
  const what = field === 'name' ? 'tool' : field === 'tags' ? 'tag' : 'sensitivity';
  const known = [...vocabulary[field]].sort();
  const hint = field === 'name' ? '' : ` (the catalog has: ${known.join(', ') || 'none'})`;
  return `no tool of the generated catalog has ${what} "${value}"${hint}`;
}

interface Node { op: string; args: unknown; pos?: number; start?: number }

const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && 'op' in v;

/** Diagnostics for every name in a rule that matches nothing in the catalog. */
export function checkPoliciesAgainstCatalog(policies: PolicySet, vocabulary: CatalogVocabulary): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const pkg of policies.packages) {
    for (const rule of pkg.rules) {
      const ast = (rule.condition as unknown as { ast?: unknown }).ast;
      if (!isNode(ast)) continue;
      for (const use of toolLiterals(ast, policies.data)) {
        const why = unknownInCatalog(vocabulary, use.field, use.value);
        if (!why) continue;
        const at: SourcePosition = rule.positionOf?.(use.pos) ?? parseSource(rule.source);
        out.push({ ...at, severity: 'error', code: 'policy/catalog', message: `rule "${rule.ref}": ${why}${use.via ? ` (via ${use.via})` : ''}` });
      }
    }
  }
  return out;
}

function parseSource(source: string): SourcePosition {
  const m = /^(.*):(\d+):(\d+)$/.exec(source);
  return m ? { file: m[1]!, line: Number(m[2]), column: Number(m[3]) } : { file: source, line: 1, column: 1 };
}

interface Literal { field: ToolField; value: string; pos: number; via?: string }

/** `input.tool.<field>` as a node, or undefined. */
function toolField(node: unknown, aliases: Map<string, ToolField>): ToolField | undefined {
  if (!isNode(node)) return undefined;
  if (node.op === 'id' && typeof node.args === 'string') return aliases.get(node.args);
  if (node.op !== '.' || !Array.isArray(node.args)) return undefined;
  const [obj, field] = node.args as [unknown, unknown];
  if (field !== 'name' && field !== 'tags' && field !== 'sensitivity') return undefined;
  if (!isNode(obj) || obj.op !== '.' || !Array.isArray(obj.args) || obj.args[1] !== 'tool') return undefined;
  const root = obj.args[0];
  return isNode(root) && root.op === 'id' && root.args === 'input' ? field : undefined;
}

/** The strings a node stands for, each with its place: a literal, a list of literals, or a data document path. */
function strings(node: unknown, data: unknown): Array<{ value: string; pos: number; via?: string }> {
  if (!isNode(node)) return [];
  const pos = node.start ?? node.pos ?? 0;
  if (node.op === 'value' && typeof node.args === 'string') return [{ value: node.args, pos }];
  if (node.op === 'list' && Array.isArray(node.args)) {
    return (node.args as unknown[]).filter((n): n is Node => isNode(n) && n.op === 'value' && typeof n.args === 'string')
      .map((n) => ({ value: n.args as string, pos: n.start ?? n.pos ?? pos }));
  }
  const path = dataPath(node);
  if (!path) return [];
  let v: unknown = data;
  for (const k of path) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  const values = typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  return values.map((value) => ({ value, pos, via: `data.${path.join('.')}` }));
}

function dataPath(node: Node): string[] | undefined {
  const keys: string[] = [];
  let n: unknown = node;
  while (isNode(n) && n.op === '.' && Array.isArray(n.args) && typeof n.args[1] === 'string') {
    keys.unshift(n.args[1] as string);
    n = n.args[0];
  }
  return isNode(n) && n.op === 'id' && n.args === 'data' && keys.length ? keys : undefined;
}

const MACROS = new Set(['exists', 'all', 'exists_one', 'filter', 'map']);

/** Every literal compared with a tool field, anywhere in the condition. */
function toolLiterals(root: Node, data: unknown): Literal[] {
  const found: Literal[] = [];
  const stack: Array<{ node: unknown; aliases: Map<string, ToolField> }> = [{ node: root, aliases: new Map() }];
  const add = (field: ToolField, list: ReturnType<typeof strings>) => {
    for (const s of list) found.push({ field, ...s });
  };
  while (stack.length) {
    const { node, aliases } = stack.pop()!;
    if (Array.isArray(node)) {
      for (const n of node) stack.push({ node: n, aliases });
      continue;
    }
    if (!isNode(node)) continue;
    const args = Array.isArray(node.args) ? (node.args as unknown[]) : [node.args];
    if ((node.op === '==' || node.op === '!=') && args.length === 2) {
      const [l, r] = args;
      const lf = toolField(l, aliases);
      const rf = toolField(r, aliases);
      // `input.tool.tags == [...]` compares lists; a scalar field compares single values.
      if (lf) add(lf, strings(r, data));
      if (rf) add(rf, strings(l, data));
    } else if (node.op === 'in' && args.length === 2) {
      const [l, r] = args;
      const lf = toolField(l, aliases);
      const rf = toolField(r, aliases);
      // input.tool.name in [...], or t in [...] where t ranges over the tags
      if (lf && (lf !== 'tags' || (isNode(l) && l.op === 'id'))) add(lf, strings(r, data));
      else if (rf === 'tags') add('tags', strings(l, data)); // "x" in input.tool.tags
    } else if (node.op === 'rcall' && args.length === 3 && MACROS.has(args[0] as string)) {
      // input.tool.tags.exists(t, <body>): inside the body `t` is a tag.
      const receiver = toolField(args[1], aliases);
      const macroArgs = args[2];
      if (receiver === 'tags' && Array.isArray(macroArgs) && isNode(macroArgs[0]) && macroArgs[0].op === 'id') {
        const inner = new Map(aliases).set(macroArgs[0].args as string, 'tags');
        for (const n of macroArgs.slice(1)) stack.push({ node: n, aliases: inner });
        continue;
      }
    }
    for (const a of args) if (typeof a === 'object' && a !== null) stack.push({ node: a, aliases });
  }
  return found.sort((a, b) => a.pos - b.pos);
}
