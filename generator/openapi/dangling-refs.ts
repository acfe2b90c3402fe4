/**
 * Local `$ref`s that point at nothing, among what the selected operations reach: the typed client
 * cannot be built from such a document, so `check` reports them where `generate` would only fail
 * late. Each is named by the JSON pointer of the `$ref` and, when the vendor's file still holds it
 * there, by file:line:column.
 */
import { readFileSync } from 'node:fs';
import { findNodeAtLocation, parseTree } from 'jsonc-parser';
import { isMap, parseDocument } from 'yaml';
import type { OpenApiDocument } from './types.ts';
import { isObject, resolveRef } from './normalize.ts';

export interface DanglingRef {
  ref: string;
  /** JSON pointer of the object holding the `$ref`, in the normalised document. */
  pointer: string;
  /** The first selected operation (`GET /path`) that reaches it. */
  operation: string;
}

export function findDanglingRefs(doc: OpenApiDocument, ops: ReadonlyArray<{ method: string; path: string }>): DanglingRef[] {
  const found = new Map<string, DanglingRef>();
  const visited = new WeakSet<object>();
  for (const { method, path } of ops) {
    const operation = `${method.toUpperCase()} ${path}`;
    const base = `/paths/${escape(path)}`;
    const item = doc.paths[path];
    if (!isObject(item)) continue;
    // Path-level parameters belong to every operation of the path.
    const stack: Array<[unknown, string]> = [[item[method.toLowerCase()], `${base}/${method.toLowerCase()}`], [item.parameters, `${base}/parameters`]];
    while (stack.length) {
      const [node, pointer] = stack.pop()!;
      if (typeof node !== 'object' || node === null || visited.has(node)) continue;
      visited.add(node);
      const entries: Array<[string, unknown]> = Array.isArray(node) ? node.map((v, i) => [String(i), v]) : Object.entries(node);
      const ref = (node as { $ref?: unknown }).$ref;
      if (typeof ref === 'string' && ref.startsWith('#')) {
        const target = resolveRef(doc, ref);
        if (target === undefined) {
          if (!found.has(pointer)) found.set(pointer, { ref, pointer, operation });
        } else {
          stack.push([target, decodeFragment(ref)]);
        }
      }
      for (const [key, value] of entries) if (key !== '$ref') stack.push([value, `${pointer}/${escape(key)}`]);
    }
  }
  return [...found.values()].sort((a, b) => (a.pointer < b.pointer ? -1 : a.pointer > b.pointer ? 1 : 0));
}

/**
 * Line and column (1-based) of each pointer's `$ref` in the file, or nothing for a pointer the
 * file does not hold with that `$ref` (an overlay or a conversion from Swagger 2.0 put it there).
 * Reads the file again: only called when there is something to report.
 */
export function locateRefs(file: string, refs: readonly DanglingRef[]): Map<string, { line: number; column: number }> {
  const located = new Map<string, { line: number; column: number }>();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return located;
  }
  const offsetOf: (segments: string[], ref: string) => number | undefined = /^\s*[{[]/.test(text)
    ? (() => {
        const tree = parseTree(text);
        return (segments, ref) => {
          const node = tree && findNodeAtLocation(tree, [...segments, '$ref']);
          return node?.value === ref ? node.offset : undefined;
        };
      })()
    : (() => {
        const yamlDoc = parseDocument(text, { uniqueKeys: false, strict: false });
        return (segments, ref) => {
          const holder = yamlDoc.getIn(segments, true);
          if (!isMap(holder)) return undefined;
          const pair = holder.items.find((p) => (p.key as { value?: unknown })?.value === '$ref');
          const value = pair?.value as { value?: unknown; range?: [number, number, number] } | undefined;
          return value?.value === ref ? value.range?.[0] : undefined;
        };
      })();
  for (const r of refs) {
    const segments = r.pointer.split('/').slice(1).map(unescapeSegment);
    const offset = offsetOf(segments, r.ref);
    if (offset !== undefined) located.set(r.pointer, lineColumn(text, offset));
  }
  return located;
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: offset - start + 1 };
}

function escape(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

function unescapeSegment(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

function decodeFragment(ref: string): string {
  try {
    return decodeURIComponent(ref.slice(1));
  } catch {
    return ref.slice(1);
  }
}
