/**
 * An iterative deep copy of JSON-like data with a hook per object, used by every walker over
 * caller data (canonical JSON, audit redaction): an explicit stack instead of recursion, so no
 * nesting depth can overflow the call stack.
 */

/** Per plain object: its entries in output order, each with the value to copy or a replacement to use as is. */
export type EntryMapper = (obj: Record<string, unknown>) => Array<[string, { copy: unknown } | { use: unknown }]>;

export function mapJson(value: unknown, entries: EntryMapper, isObject: (v: object) => boolean = () => true): unknown {
  const root: { v?: unknown } = {};
  const stack: Array<{ src: unknown; set: (v: unknown) => void }> = [{ src: value, set: (v) => { root.v = v; } }];
  while (stack.length) {
    const { src, set } = stack.pop()!;
    if (Array.isArray(src)) {
      const out: unknown[] = new Array(src.length);
      set(out);
      for (let i = src.length - 1; i >= 0; i--) stack.push({ src: src[i], set: (v) => { out[i] = v; } });
    } else if (src !== null && typeof src === 'object' && isObject(src)) {
      const out: Record<string, unknown> = {};
      set(out);
      const list = entries(src as Record<string, unknown>);
      // Keys are assigned now, in order, so the copy keeps the mapper's order; values fill in later.
      for (const [k, e] of list) out[k] = 'use' in e ? e.use : undefined;
      for (let i = list.length - 1; i >= 0; i--) {
        const [k, e] = list[i]!;
        if ('copy' in e) stack.push({ src: e.copy, set: (v) => { out[k] = v; } });
      }
    } else {
      set(src);
    }
  }
  return root.v;
}
