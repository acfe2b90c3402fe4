/**
 * Tool names for operations that a spec picks in bulk (`select:`) or that `init` lists: at most 64
 * characters (what clients accept), unique, and different where it matters to a model. A name that
 * is too long or shared is derived from the operation's path (`graph_list_users_messages` beside
 * `graph_list_groups_messages`); a counter is the last resort, written inside the 64 characters.
 * The result depends only on the operations, never on the order they are given in.
 */
import type { OperationInfo } from './openapi/types.ts';

export const MAX_TOOL_NAME = 64;

type Op = Pick<OperationInfo, 'method' | 'path' | 'operationId'>;

/** Lower snake case of any identifier-ish text: `ListMessages` / `list-messages` -> `list_messages`. */
export function snakeCase(text: string): string {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
}

/** `<connector>_<operation id in snake case>`, without repeating the connector's name; not cut. */
export function operationIdName(connector: string, op: Pick<OperationInfo, 'operationId'>): string {
  let snake = snakeCase(op.operationId);
  if (snake.startsWith(`${connector}_`)) snake = snake.slice(connector.length + 1);
  return `${connector}_${snake || 'operation'}`;
}

/**
 * What the operation does, read from its path: `get` for one record (the path ends in a
 * parameter), `count` for OData's `$count`, `list` for other reads, the method otherwise.
 */
function verbOf(op: Op): string {
  const segments = op.path.split('/').filter(Boolean);
  const last = segments.at(-1) ?? '';
  if (op.method === 'HEAD') return 'head';
  if (op.method !== 'GET') {
    // A read by POST (a search, a query): the operationId usually starts with what it does.
    const first = snakeCase(op.operationId).split('_')[0];
    return /^[a-z]+$/.test(first ?? '') ? first! : op.method.toLowerCase();
  }
  if (/^\$count$/i.test(last)) return 'count';
  // A cast or function after a record (`/owners/{id}/microsoft.graph.user`) still reads one record.
  const resource = segments.filter((s, i) => i === 0 || !/[.(]/.test(s)).at(-1) ?? '';
  return /^\{[^}]*\}$/.test(resource) ? 'get' : 'list';
}

/**
 * The words of the path's fixed segments: parameters dropped, a namespace (`microsoft.graph.user`)
 * reduced to its last part, a function call's argument names kept (`image(width={width})` ->
 * `image_width`), `$count` left to the verb, one word never twice in a row.
 */
export function pathWords(path: string): string[] {
  const words: string[] = [];
  for (const segment of path.split('/').filter(Boolean)) {
    if (/^\{[^}]*\}$/.test(segment) || /^\$count$/i.test(segment)) continue;
    const call = /^([^(]*)\((.*)\)$/.exec(segment);
    const head = (call ? call[1] : segment).replace(/\{[^}]*\}/g, '');
    const dotted = head.split('.').filter(Boolean);
    const parts = [dotted.at(-1) ?? ''];
    if (call) for (const arg of call[2].matchAll(/([A-Za-z_][A-Za-z0-9_-]*)\s*=/g)) parts.push(arg[1]);
    for (const part of parts) {
      const word = snakeCase(part);
      if (word && word !== words.at(-1)) words.push(word);
    }
  }
  return words;
}

/**
 * `<connector>_<verb>_<words>` within `max` characters. When too long, whole words give way, in
 * this order of keeping: the last (what the operation returns; its own leading parts give way if it
 * is too long alone), those `distinguishing` marks (what tells the operation from its namesakes),
 * the first (the resource family), then the others from the end.
 */
export function pathName(connector: string, op: Op, max = MAX_TOOL_NAME, distinguishing: (word: string) => boolean = () => false): string {
  const head = `${connector}_${verbOf(op)}`;
  const words = pathWords(op.path);
  const full = [head, ...words].join('_');
  if (full.length <= max || words.length === 0) return cut(full, max);
  let last = words.length - 1;
  while (head.length + 1 + words[last].length > max && words[last].includes('_')) words[last] = words[last].replace(/^[^_]*_/, '');
  const order = words.map((_, i) => i);
  const rank = (i: number) => (i === last ? 0 : distinguishing(words[i]) ? 1 : i === 0 ? 2 : 3);
  order.sort((x, y) => rank(x) - rank(y) || y - x);
  const keep = new Set<number>();
  let length = head.length;
  for (const i of order) {
    if (length + 1 + words[i].length > max) continue;
    keep.add(i);
    length += 1 + words[i].length;
  }
  return cut([head, ...words.filter((_, i) => keep.has(i) || i === last)].join('_'), max);
}

function cut(name: string, max: number): string {
  return name.length <= max ? name : name.slice(0, max).replace(/_+$/, '');
}

/** `<name>_<n>` within `max` characters: the name is derived again for the room the suffix leaves. */
export function withCounter(derive: (max: number) => string, n: number, max = MAX_TOOL_NAME): string {
  const suffix = `_${n}`;
  return `${cut(derive(max - suffix.length), max - suffix.length)}${suffix}`;
}

const keyOf = (op: Op) => `${op.method.toUpperCase()} ${op.path}`;

/**
 * Names for `ops`, keyed by `METHOD path`. `taken` are names already claimed (a spec's own tool
 * names): a derived name never takes one. Steps, each only for the names still too long or shared:
 * the operationId's name, then the path's name, then the path's name and a counter.
 */
export function assignToolNames(connector: string, ops: readonly Op[], taken: ReadonlySet<string> = new Set()): Map<string, string> {
  const sorted = [...ops].sort((a, b) => compare(keyOf(a), keyOf(b)));
  const names = new Map<string, string>();
  // Names that differ only by a trailing number or hash (`get_count_members_9627`) tell a model
  // nothing: such a group is named from the paths too.
  const byStem = groupBy(sorted, (op) => operationIdName(connector, op).replace(/_[0-9a-f]*[0-9][0-9a-f]*$/, ''));
  const pending: Op[] = [];
  for (const group of byStem.values()) {
    const name = operationIdName(connector, group[0]);
    if (group.length === 1 && name.length <= MAX_TOOL_NAME && !taken.has(name)) names.set(keyOf(group[0]), name);
    else pending.push(...group);
  }
  const used = new Set([...taken, ...names.values()]);
  // Namesakes by path keep, when cut, the words that tell them apart.
  const byPath = new Map<string, Array<{ op: Op; derive: (max: number) => string }>>();
  const add = (name: string, op: Op, derive: (max: number) => string) => byPath.set(name, [...(byPath.get(name) ?? []), { op, derive }]);
  for (const [name, group] of groupBy(pending, (op) => pathName(connector, op))) {
    if (group.length === 1) {
      add(name, group[0], (max) => pathName(connector, group[0], max));
      continue;
    }
    const shared = group.map((op) => new Set(pathWords(op.path))).reduce((a, b) => new Set([...a].filter((w) => b.has(w))));
    for (const op of group) {
      const derive = (max: number) => pathName(connector, op, max, (w) => !shared.has(w));
      add(derive(MAX_TOOL_NAME), op, derive);
    }
  }
  const counted: Array<[string, Array<{ op: Op; derive: (max: number) => string }>]> = [];
  for (const [name, group] of byPath) {
    if (group.length === 1 && !used.has(name)) {
      names.set(keyOf(group[0].op), name);
      used.add(name);
    } else {
      counted.push([name, group]);
    }
  }
  for (const [name, group] of counted) {
    let n = 2;
    for (const [i, { op, derive }] of group.entries()) {
      // The first keeps the plain name when it is free: a counter marks only the later ones.
      let candidate = i === 0 && !used.has(name) ? name : withCounter(derive, n++);
      while (used.has(candidate)) candidate = withCounter(derive, n++);
      names.set(keyOf(op), candidate);
      used.add(candidate);
    }
  }
  return names;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
