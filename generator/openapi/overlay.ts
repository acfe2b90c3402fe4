/**
 * OpenAPI Overlay Specification 1.0: actions whose JSONPath `target` selects nodes of the
 * document, each either merged with `update` or removed. Connector authors fix a vendor's
 * document this way without editing (or copying) the vendor's file.
 *
 * JSONPath evaluation is jsonpath-plus's; RFC 9535 filters written without parentheses
 * (`[?@.deprecated]`) are rewritten to its `[?(...)]` form first.
 */
import { JSONPath } from 'jsonpath-plus';
import type { DocumentNote } from './types.ts';
import { isObject } from './normalize.ts';

type Obj = Record<string, unknown>;

interface Match {
  value: unknown;
  parent: unknown;
  parentProperty: string | number | null;
  pointer: string;
}

/** Checks an overlay document's shape; the message names the overlay and what is wrong. */
export function validateOverlay(overlay: unknown, name: string): asserts overlay is { overlay: string; actions: Obj[] } {
  if (!isObject(overlay)) throw new Error(`${name}: an overlay must be a YAML or JSON object`);
  if (typeof overlay.overlay !== 'string' || !overlay.overlay.startsWith('1.')) {
    throw new Error(`${name}: not an OpenAPI Overlay 1.x document (the "overlay" field must be a version such as "1.0.0")`);
  }
  if (!Array.isArray(overlay.actions)) throw new Error(`${name}: "actions" must be a list`);
  overlay.actions.forEach((a, i) => {
    if (!isObject(a)) throw new Error(`${name}: actions[${i}] must be an object`);
    if (typeof a.target !== 'string' || !a.target.startsWith('$')) throw new Error(`${name}: actions[${i}].target must be a JSONPath expression starting with "$"`);
    if (a.remove !== undefined && typeof a.remove !== 'boolean') throw new Error(`${name}: actions[${i}].remove must be true or false`);
    if (a.update === undefined && a.remove !== true) throw new Error(`${name}: actions[${i}] has neither "update" nor "remove: true"`);
  });
}

/** Applies an overlay to the document in place, actions in order. */
export function applyOverlay(doc: Obj, overlay: unknown, name: string): DocumentNote[] {
  validateOverlay(overlay, name);
  const notes: DocumentNote[] = [];
  overlay.actions.forEach((action, i) => {
    const target = action.target as string;
    let matches: Match[];
    try {
      matches = JSONPath({ path: toJsonPathPlus(target), json: doc, resultType: 'all', wrap: true, eval: 'safe' }) as Match[];
    } catch (e) {
      throw new Error(`${name}: actions[${i}].target ${JSON.stringify(target)} is not a valid JSONPath: ${(e as Error).message}`);
    }
    if (matches.length === 0) {
      notes.push({ severity: 'warning', code: 'overlay/no-match', message: `${name}: actions[${i}] target ${target} matches nothing` });
      return;
    }
    if (action.remove === true) {
      // Later array indexes first, so earlier removals do not shift the ones still to come.
      const index = (m: Match) => (Array.isArray(m.parent) ? Number(m.parentProperty) : -1);
      const ordered = [...matches].sort((a, b) => index(b) - index(a));
      for (const m of ordered) {
        if (Array.isArray(m.parent)) m.parent.splice(Number(m.parentProperty), 1);
        else if (isObject(m.parent) && m.parentProperty !== null) delete m.parent[m.parentProperty as string];
        else throw new Error(`${name}: actions[${i}] cannot remove the document root`);
      }
    } else {
      for (const m of matches) {
        const merged = merge(m.value, action.update);
        if (merged !== m.value) {
          if (m.parent === null || m.parentProperty === null) throw new Error(`${name}: actions[${i}] cannot replace the document root with a non-object`);
          (m.parent as Obj)[m.parentProperty as string] = merged;
        }
      }
    }
    notes.push({ severity: 'info', code: 'overlay/applied', message: `${name}: actions[${i}] ${action.remove === true ? 'removed' : 'updated'} ${matches.length} node(s) at ${target}` });
  });
  return notes;
}

/**
 * Overlay merge: objects merge recursively, update values replace primitives, and an array
 * target gets the update appended (its items when the update is itself an array).
 * Returns the target itself when it was changed in place.
 */
function merge(target: unknown, update: unknown): unknown {
  if (Array.isArray(target)) {
    if (Array.isArray(update)) target.push(...structuredClone(update));
    else target.push(structuredClone(update));
    return target;
  }
  if (isObject(target) && isObject(update)) {
    for (const [k, v] of Object.entries(update)) {
      const current = target[k];
      const merged = current === undefined ? structuredClone(v) : merge(current, v);
      if (merged !== current) target[k] = merged;
    }
    return target;
  }
  return structuredClone(update);
}

/** `[?expr]` (RFC 9535) -> `[?(expr)]` (jsonpath-plus); other syntax passes through. */
export function toJsonPathPlus(path: string): string {
  let out = '';
  let i = 0;
  while (i < path.length) {
    const open = path.indexOf('[?', i);
    if (open < 0 || path[open + 2] === '(') {
      if (open < 0) return out + path.slice(i);
      out += path.slice(i, open + 2);
      i = open + 2;
      continue;
    }
    out += path.slice(i, open + 2);
    let depth = 1;
    let quote: string | null = null;
    let j = open + 2;
    for (; j < path.length; j++) {
      const c = path[j];
      if (quote) {
        if (c === '\\') j++;
        else if (c === quote) quote = null;
      } else if (c === '"' || c === "'") quote = c;
      else if (c === '[') depth++;
      else if (c === ']' && --depth === 0) break;
    }
    out += `(${path.slice(open + 2, j).trim()})`;
    i = j;
  }
  return out;
}
