/**
 * Spec + document -> the operations that become tools, enforcing the read-only contract.
 *
 * Individually listed tools win over bulk picks of the same operation. Anything a bulk pick
 * matched but left out is reported with its reason, so no operation disappears silently.
 */
import picomatch from 'picomatch';
import { distance } from 'fastest-levenshtein';
import type { LoadedSpec, Diagnostic, ToolSpec } from './spec/types.ts';
import type { LoadedDocument, OperationInfo } from './openapi/types.ts';

export const READ_METHODS = new Set(['GET', 'HEAD']);
const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE'];

export interface Selection {
  op: OperationInfo;
  /** The tools[] entry that configures it, when individually listed. */
  tool?: ToolSpec;
  /** JSON path in the spec of the entry that picked it (for error positions). */
  specPath: Array<string | number>;
}

export interface Skipped {
  method: string;
  path: string;
  operationId: string;
  reason: string;
}

export interface SelectResult {
  selections: Selection[];
  skipped: Skipped[];
  diagnostics: Diagnostic[];
}

/** Words that make a GET look like a write: the vendor may have mislabelled a mutation. */
const WRITE_WORDS =
  /(^|[^a-z])(delete|remove|cancel|reset|send|create|update|revoke|approve|reject|execute|trigger|disable|enable|purge|archive|restore|merge|assign|unassign|close|reopen|run|sync|import|upload|invite|suspend|activate|deactivate|provision|set)(?![a-z])/i;

export function looksLikeWrite(op: Pick<OperationInfo, 'path' | 'operationId' | 'derivedOperationId'>): string | null {
  const words = [
    ...op.path.split('/').filter((s) => s && !s.startsWith('{')),
    ...(op.derivedOperationId ? [] : splitWords(op.operationId)),
  ];
  for (const w of words) {
    const m = WRITE_WORDS.exec(w.replace(/[-_.]/g, ' '));
    if (m) return m[2].toLowerCase();
  }
  return null;
}

function splitWords(id: string): string[] {
  return id.replace(/([a-z0-9])([A-Z])/g, '$1 $2').split(/[^A-Za-z0-9]+/).filter(Boolean);
}

/** Parses "GET /path" into its parts; the schema already checked the form. */
export function parseOperationRef(ref: string): { method: string; path: string } {
  const i = ref.indexOf(' ');
  return { method: ref.slice(0, i).toUpperCase(), path: ref.slice(i + 1).trim() };
}

export function selectOperations(loaded: LoadedSpec, doc: LoadedDocument): SelectResult {
  const { spec } = loaded;
  const diagnostics: Diagnostic[] = [];
  const at = (path: Array<string | number>) => loaded.positionOf(path);
  const error = (path: Array<string | number>, code: string, message: string, hint?: string) =>
    diagnostics.push({ severity: 'error', code, message, hint, ...at(path) });

  const byId = new Map(doc.operations.map((o) => [o.operationId, o]));
  const byRef = new Map(doc.operations.map((o) => [`${o.method} ${o.path}`, o]));
  const key = (o: OperationInfo) => `${o.method} ${o.path}`;

  const shared = new Map<string, OperationInfo[]>();
  for (const o of doc.operations) {
    if (o.sharedOperationId !== undefined) shared.set(o.sharedOperationId, [...(shared.get(o.sharedOperationId) ?? []), o]);
  }

  const find = (entry: { operationId?: string; operation?: string }, path: Array<string | number>) => {
    if (entry.operationId !== undefined) {
      const namesakes = shared.get(entry.operationId);
      if (namesakes) {
        // Taking the first would pick one of several operations without the author knowing which.
        error([...path, 'operationId'], 'select/ambiguous-operation-id',
          `operationId "${entry.operationId}" is ambiguous: the document declares it on ${namesakes.length} operations (${namesakes.map(key).join(', ')})`,
          `select one by method and path instead, e.g. \`operation: ${key(namesakes[0]!)}\``);
        return undefined;
      }
      const op = byId.get(entry.operationId);
      if (!op) {
        error([...path, 'operationId'], 'select/not-found', `operationId "${entry.operationId}" is not in the document`,
          suggest(entry.operationId, [...byId.keys()], 'operationId'));
      }
      return op;
    }
    const ref = parseOperationRef(entry.operation!);
    const op = byRef.get(`${ref.method} ${ref.path}`);
    if (!op) {
      error([...path, 'operation'], 'select/not-found', `operation "${ref.method} ${ref.path}" is not in the document`,
        suggest(`${ref.method} ${ref.path}`, [...byRef.keys()], 'operation'));
    }
    return op;
  };

  /** The read-only contract for one individually picked operation. */
  const admit = (op: OperationInfo, tool: ToolSpec | undefined, path: Array<string | number>): boolean => {
    if (READ_METHODS.has(op.method)) return true;
    const where = tool?.operation !== undefined ? 'operation' : 'operationId';
    if (op.method === 'POST' && tool?.effect === 'read') {
      if (!tool.reason?.trim()) {
        error([...path, 'effect'], 'select/read-post-reason',
          `${key(op)} is a POST picked with effect: read but no reason`,
          'add `reason:` saying why this POST only reads (for example: "search endpoint, no side effects")');
        return false;
      }
      return true;
    }
    if (op.method === 'POST') {
      error([...path, where], 'select/write-operation', `${key(op)} is a POST: only reads become tools`,
        'if this POST only reads (a search endpoint), add `effect: read` and a `reason:`');
    } else {
      error([...path, where], 'select/write-operation', `${key(op)} is a write operation (${op.method}): specgate serves reads only`,
        'remove this entry; writes are out of the read-only contract');
    }
    return false;
  };

  const picked = new Map<string, Selection>();
  const toolNames = new Map<string, number>();

  (spec.tools ?? []).forEach((tool, i) => {
    const path = ['tools', i];
    const op = find(tool, path);
    if (!op || !admit(op, tool, path)) return;
    if (tool.effect === 'read' && op.method !== 'POST') {
      // Harmless, but says the author misunderstood; GET and HEAD are reads already.
    }
    const name = tool.name ?? '';
    const selKey = `${key(op)}#${name}`;
    if (picked.has(selKey)) {
      error(path, 'select/duplicate', `${key(op)} is listed twice with the same tool name`, 'give the second entry its own `name`');
      return;
    }
    if (name) {
      const prev = toolNames.get(name);
      if (prev !== undefined) {
        error([...path, 'name'], 'select/duplicate-name', `tool name "${name}" is already used by tools[${prev}]`);
        return;
      }
      toolNames.set(name, i);
    }
    picked.set(selKey, { op, tool, specPath: path });
  });
  const individually = new Set([...picked.values()].map((s) => key(s.op)));

  const skipped: Skipped[] = [];
  const skip = (op: OperationInfo, reason: string) =>
    skipped.push({ method: op.method, path: op.path, operationId: op.operationId, reason });

  (spec.select ?? []).forEach((sel, i) => {
    const path = ['select', i];
    if (sel.operationId !== undefined || sel.operation !== undefined) {
      const op = find(sel, path);
      if (!op || individually.has(key(op))) return;
      if (!admit(op, undefined, path)) return;
      picked.set(`${key(op)}#`, { op, specPath: path });
      return;
    }
    const methods = (sel.methods ?? ['GET', 'HEAD']).map((m) => m.toUpperCase());
    methods.forEach((m, j) => {
      if (!ALL_METHODS.includes(m)) {
        error([...path, 'methods', j], 'select/method', `"${m}" is not an HTTP method`, `use one of ${ALL_METHODS.join(', ')}`);
      } else if (!READ_METHODS.has(m)) {
        error([...path, 'methods', j], 'select/write-operation', `bulk selection cannot pick ${m} operations: only reads become tools`,
          m === 'POST' ? 'list a read-only POST (a search endpoint) under `tools:` with `effect: read` and a `reason:`' : 'remove it');
      }
    });
    const pathMatchers = sel.paths?.map((g) => picomatch(g, { dot: true }));
    const excludes = (sel.exclude ?? []).map((e) => excludeMatcher(e));
    let matched = 0;
    for (const op of doc.operations) {
      if (sel.tags && !op.tags.some((t) => sel.tags!.includes(t))) continue;
      if (pathMatchers && !pathMatchers.some((m) => m(op.path))) continue;
      if (!methods.includes(op.method)) {
        if (!READ_METHODS.has(op.method) && !sel.methods) skip(op, `write operation (${op.method}) left out by select[${i}]`);
        continue;
      }
      matched++;
      if (!READ_METHODS.has(op.method)) continue; // already reported as an error above
      if (excludes.some((m) => m(op))) {
        skip(op, `excluded by select[${i}].exclude`);
        continue;
      }
      if (individually.has(key(op)) || picked.has(`${key(op)}#`)) continue;
      picked.set(`${key(op)}#`, { op, specPath: path });
    }
    if (matched === 0) {
      diagnostics.push({ severity: 'warning', code: 'select/empty', message: `select[${i}] matches no operation`, hint: 'check its tags, methods and paths against `specgate ops`', ...at(path) });
    }
  });

  (spec.select ?? []).forEach((sel, i) => {
    (sel.exclude ?? []).forEach((e, j) => {
      const m = excludeMatcher(e);
      if (!doc.operations.some(m)) {
        diagnostics.push({ severity: 'warning', code: 'select/exclude-unused', message: `exclude "${e}" matches no operation`, ...at(['select', i, 'exclude', j]) });
      }
    });
  });

  // Document order (path, then method) keeps the catalog stable whatever the spec's order.
  const order = new Map(doc.operations.map((o, i) => [o, i]));
  const selections = [...picked.values()].sort((a, b) => order.get(a.op)! - order.get(b.op)! || (a.tool?.name ?? '').localeCompare(b.tool?.name ?? ''));
  return { selections, skipped, diagnostics };
}

function excludeMatcher(entry: string): (op: OperationInfo) => boolean {
  if (/^[A-Za-z]+ \//.test(entry)) {
    const ref = parseOperationRef(entry);
    const glob = picomatch(ref.path, { dot: true });
    return (op) => op.method === ref.method && (op.path === ref.path || glob(op.path));
  }
  if (entry.startsWith('/')) {
    const glob = picomatch(entry, { dot: true });
    return (op) => op.path === entry || glob(op.path);
  }
  return (op) => op.operationId === entry || op.sharedOperationId === entry;
}

/** A "did you mean" hint from the closest candidates. */
export function suggest(wanted: string, candidates: string[], what: string): string | undefined {
  const w = wanted.toLowerCase();
  const scored = candidates
    .map((c) => ({ c, d: distance(w, c.toLowerCase()) }))
    .sort((a, b) => a.d - b.d || a.c.localeCompare(b.c));
  const best = scored.filter((s) => s.d <= Math.max(3, Math.floor(wanted.length / 3))).slice(0, 3);
  if (best.length) return `did you mean ${best.map((s) => `"${s.c}"`).join(' or ')}? (\`specgate ops\` lists every ${what})`;
  return `run \`specgate ops <document>\` to list every ${what}`;
}
