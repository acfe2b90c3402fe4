/**
 * Raw vendor response -> a result sized for a model's context: redact secret fields, project with
 * JMESPath, cap the item list, then drop items from the end until the text fits the token budget.
 * Whatever is cut is said so, in the structured result and in the text, with the cursor to go on.
 */
import { TreeInterpreter, compile } from '@jmespath-community/jmespath';
import type { JSONValue } from '@jmespath-community/jmespath';
import { countTokens, isWithinTokenLimit } from 'gpt-tokenizer';
import { compactValue, renderResult } from './compact.ts';
import type { JsonSchema, ToolModel } from '../model.ts';
import type { PageCounts } from '../upstream/cursor.ts';
import { InvalidJson } from '../upstream/errors.ts';
import type { CallToolResult } from '../tool-call.ts';


/** The result's token count, in `_meta`. */
export const TOKENS_META = 'specgate/tokens';

/** The schema of `result` inside a tool's output schema (the generator's envelope). */
function resultSchemaOf(tool: ToolModel): JsonSchema | undefined {
  const schema = tool.outputSchema;
  if (typeof schema !== 'object' || schema === null) return undefined;
  const props = (schema as { properties?: Record<string, JsonSchema> }).properties;
  return props?.result;
}

export interface Truncation {
  reason: 'maxItems' | 'tokenBudget' | 'otherCustomers';
  returned: number;
  available: number;
  /** Items of other customers left out before shaping (runtime/execution/ownership.ts). */
  withheld?: number;
}

/** Response text -> JSON value; empty -> null; plain text stays text; anything else is an error. */
export function parseBody(text: string | undefined, contentType: string | null): unknown {
  if (text === undefined || text.trim() === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    if ((contentType ?? '').toLowerCase().startsWith('text/plain')) return text;
    throw new InvalidJson();
  }
}

type Compiled = { project?: ReturnType<typeof compile>; items?: ReturnType<typeof compile> };
const compiledShapes = new WeakMap<ToolModel, Compiled>();

function compiledFor(tool: ToolModel): Compiled {
  let c = compiledShapes.get(tool);
  if (!c) {
    c = {};
    // The generator validated these; a broken one falls back to no projection rather than failing calls.
    try {
      if (tool.shape.project) c.project = compile(tool.shape.project);
    } catch { /* unprojected */ }
    try {
      if (tool.shape.itemsPath && tool.shape.itemsPath !== '@') c.items = compile(tool.shape.itemsPath);
    } catch { /* default items */ }
    compiledShapes.set(tool, c);
  }
  return c;
}

export interface Shaped {
  result: CallToolResult;
  /** Item counts when the result has an item list (pagination needs them). */
  counts?: PageCounts;
}

/**
 * Shapes a parsed body. `nextCursor` is asked with the final counts, so a cursor can continue right
 * after the last item the model saw.
 */
export function shapeResult(
  tool: ToolModel,
  raw: unknown,
  nextCursor?: (counts: PageCounts | undefined) => string | undefined,
  /** Items of other customers the ownership check left out, said in the truncation marker. */
  withheld = 0,
  /** Items at the start of the list the model saw in an earlier result (a resumed vendor page). */
  skip = 0,
): Shaped {
  const c = compiledFor(tool);
  const redacted = tool.shape.redact?.length ? redact(raw, new Set(tool.shape.redact.map((k) => k.toLowerCase()))) : raw;
  let projected: unknown = redacted;
  if (c.project) {
    try {
      projected = TreeInterpreter.search(c.project, redacted as JSONValue);
    } catch {
      projected = redacted; // a runtime type error in the expression: show the unprojected body
    }
  }
  const itemsAt = locateItems(tool, c, projected);
  const listed = itemsAt ? (getAt(projected, itemsAt) as unknown[]) : undefined;
  const seen = listed ? Math.min(skip, listed.length) : 0;
  const items = listed && seen ? listed.slice(seen) : listed;
  const available = items?.length ?? 0;
  const capped = Math.min(available, tool.shape.maxItems ?? Infinity);

  const resultSchema = resultSchemaOf(tool);
  const root = tool.outputSchema;
  const build = (n: number): CallToolResult & { structuredContent: Record<string, unknown> } => {
    const sliced = itemsAt && (n < available || seen) ? replaceAt(projected, itemsAt, items!.slice(0, n)) : projected;
    // Within the root schema, so that a $ref in the result's schema still resolves.
    const result = compactValue(sliced, resultSchema, root);
    // Positions in the whole list, so that a cursor goes on after the last item shown.
    const counts = itemsAt ? { available: available + seen, returned: seen + n } : undefined;
    const next = nextCursor?.(counts);
    const structured: Record<string, unknown> = { result: result ?? null };
    let truncated: Truncation | undefined;
    if (n < available || withheld > 0) {
      truncated = { reason: n < available ? (n < capped ? 'tokenBudget' : 'maxItems') : 'otherCustomers', returned: n, available };
      if (withheld > 0) truncated.withheld = withheld;
      structured.truncated = truncated;
    }
    if (next) structured.nextCursor = next;
    const content: CallToolResult['content'] = [{ type: 'text', text: renderResult(structured, itemsAt) }];
    if (truncated) content.push({ type: 'text', text: marker(truncated, next) });
    return { content, structuredContent: structured };
  };

  let n = capped;
  let out = build(n);
  const budget = tool.shape.tokenBudget;
  if (budget && itemsAt && !fits(out, budget)) {
    // Largest n in [0, capped) that fits; 0 items is the floor even if still over budget.
    let lo = 0;
    let hi = capped - 1;
    n = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (fits(build(mid), budget)) {
        n = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    out = build(n);
  }
  out._meta = { [TOKENS_META]: countTokens(out.content.map((c) => c.text).join('\n')) };
  return { result: out, counts: itemsAt ? { available: available + seen, returned: seen + n } : undefined };
}

function fits(r: CallToolResult, budget: number): boolean {
  const text = r.content.map((c) => c.text).join('\n');
  // Every token covers at least one byte, so a text of at most `budget` bytes fits without
  // running the tokenizer (the costliest step of shaping).
  if (Buffer.byteLength(text) <= budget) return true;
  return isWithinTokenLimit(text, budget) !== false;
}

function marker(t: Truncation, next: string | undefined): string {
  const others = t.withheld ? `${t.withheld} item${t.withheld === 1 ? '' : 's'} of other customers withheld` : '';
  if (t.reason === 'otherCustomers') return `[truncated: ${others}; showing ${t.returned} of this customer's items]`;
  const why = t.reason === 'tokenBudget' ? 'size budget' : 'item limit';
  const more = next
    ? `ask for the next page with cursor "${next}"`
    : 'narrow the request (filters, a smaller limit) to see the rest';
  return `[truncated: showing ${t.returned} of ${t.available} items (${why}); ${more}${others ? `; ${others}` : ''}]`;
}

type PathKey = string | number;

/**
 * Where the capped item list sits. An explicit itemsPath is evaluated and then found by identity
 * (JMESPath returns the same array object), so any expression that selects an existing array works.
 */
function locateItems(tool: ToolModel, c: Compiled, value: unknown): PathKey[] | undefined {
  if (tool.shape.itemsPath === '@') return Array.isArray(value) ? [] : undefined;
  if (c.items) {
    let target: unknown;
    try {
      target = TreeInterpreter.search(c.items, value as JSONValue);
    } catch {
      return undefined;
    }
    return Array.isArray(target) ? findPath(value, target) : undefined;
  }
  if (Array.isArray(value)) return [];
  if (value && typeof value === 'object') {
    const key = Object.keys(value).find((k) => Array.isArray((value as Record<string, unknown>)[k]));
    return key === undefined ? undefined : [key];
  }
  return undefined;
}

/** Where `target` sits inside `node`, found by identity (JMESPath returns the same objects). */
export function findPath(node: unknown, target: unknown, depth = 0): PathKey[] | undefined {
  if (node === target) return [];
  if (depth > 32 || !node || typeof node !== 'object') return undefined;
  const entries: Array<[PathKey, unknown]> = Array.isArray(node) ? node.map((v, i) => [i, v]) : Object.entries(node);
  for (const [k, v] of entries) {
    const sub = findPath(v, target, depth + 1);
    if (sub) return [k, ...sub];
  }
  return undefined;
}

export function getAt(value: unknown, path: PathKey[]): unknown {
  return path.reduce<unknown>((v, k) => (v as Record<PathKey, unknown>)[k], value);
}

/** A copy of `value` with the node at `path` replaced; siblings are shared, not cloned. */
export function replaceAt(value: unknown, path: PathKey[], next: unknown): unknown {
  if (!path.length) return next;
  const [k, ...rest] = path;
  const copy: Record<PathKey, unknown> | unknown[] = Array.isArray(value) ? [...value] : { ...(value as object) };
  (copy as Record<PathKey, unknown>)[k!] = replaceAt((value as Record<PathKey, unknown>)[k!], rest, next);
  return copy;
}

/** Deep copy without the redacted keys (case-insensitive), at any depth. */
function redact(value: unknown, keys: Set<string>): unknown {
  if (Array.isArray(value)) return value.map((v) => redact(v, keys));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (!keys.has(k.toLowerCase())) out[k] = redact(v, keys);
    return out;
  }
  return value;
}
