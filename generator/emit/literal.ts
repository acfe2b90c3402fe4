/**
 * Plain data -> TypeScript literal text. Strings go through
 * JSON.stringify (escapes quotes, backslashes, control characters and lone surrogates); keys
 * that are not identifiers are quoted, and `__proto__` is computed so that it stays an own
 * property instead of setting the prototype.
 */
/** Orders the keys of one object: known keys first in the given order, the rest as they came. */
export type KeyOrder = (path: ReadonlyArray<string | number>, keys: string[]) => string[];

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export function propertyKey(key: string): string {
  if (key === '__proto__') return '["__proto__"]';
  return IDENTIFIER.test(key) ? key : JSON.stringify(key);
}

export interface LiteralOptions {
  /** Orders each object's keys. */
  order: KeyOrder;
  /**
   * Values written as `JSON.parse(\`...\`)` instead of a literal: tsc checks a string in
   * constant time, while a large object literal costs seconds (measured: a 1.9 MB model of 648
   * tools took tsc ~25 s as literals, ~2.5 s with its schemas as JSON text).
   */
  asJsonText?: (path: ReadonlyArray<string | number>) => boolean;
  /** Names the value in error messages. */
  where?: string;
}

/**
 * The literal as text, indented by two spaces a level from column 0. Built as a string rather
 * than through code-block-writer, which inspects every character it is given: for a model of
 * a few megabytes that was most of the emission time.
 */
export function literalText(value: unknown, options: LiteralOptions): string {
  const { order, asJsonText = () => false, where = 'value' } = options;
  const out: string[] = [];
  let indent = '';
  const seen = new Set<object>();
  const path: Array<string | number> = [];
  const at = () => where + path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');

  const write = (v: unknown): void => {
    if (path.length && asJsonText(path)) {
      checkPlain(v);
      writeJsonText(v);
      return;
    }
    switch (typeof v) {
      case 'string':
        out.push(JSON.stringify(v));
        return;
      case 'boolean':
        out.push(String(v));
        return;
      case 'number':
        if (!Number.isFinite(v)) throw new Error(`${at()}: ${v} is not a JSON number and cannot be emitted`);
        out.push(String(v));
        return;
      case 'object':
        break;
      default:
        throw new Error(`${at()}: a ${typeof v} is not plain data and cannot be emitted`);
    }
    if (v === null) {
      out.push('null');
      return;
    }
    checkObject(v);
    seen.add(v);
    if (Array.isArray(v)) writeArray(v);
    else writeObject(v as Record<string, unknown>);
    seen.delete(v);
  };

  const writeArray = (items: unknown[]) => {
    if (items.length === 0) {
      out.push('[]');
      return;
    }
    const outer = indent;
    indent += '  ';
    out.push('[\n');
    items.forEach((item, i) => {
      path.push(i);
      out.push(indent);
      write(item === undefined ? null : item); // as JSON.stringify does
      path.pop();
      out.push(',\n');
    });
    indent = outer;
    out.push(`${indent}]`);
  };

  const writeObject = (obj: Record<string, unknown>) => {
    const keys = order(path, Object.keys(obj).filter((k) => obj[k] !== undefined));
    if (keys.length === 0) {
      out.push('{}');
      return;
    }
    const outer = indent;
    indent += '  ';
    out.push('{\n');
    for (const key of keys) {
      path.push(key);
      out.push(`${indent}${propertyKey(key)}: `);
      write(obj[key]);
      out.push(',\n');
      path.pop();
    }
    indent = outer;
    out.push(`${indent}}`);
  };

  const checkObject = (v: object) => {
    if (seen.has(v)) throw new Error(`${at()}: circular reference; the model must be plain, acyclic data`);
    const proto = Object.getPrototypeOf(v);
    if (!Array.isArray(v) && proto !== Object.prototype && proto !== null) {
      throw new Error(`${at()}: a ${proto?.constructor?.name ?? 'class'} instance is not plain data and cannot be emitted`);
    }
  };

  /** Subtrees found plain: converters share schemas between tools, each is checked once. */
  const plain = new WeakSet<object>();
  /** What JSON.stringify would silently drop or change is an error, as for literals. */
  const checkPlain = (v: unknown): void => {
    if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`${at()}: ${v} is not a JSON number and cannot be emitted`);
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return;
    if (typeof v !== 'object') throw new Error(`${at()}: a ${typeof v} is not plain data and cannot be emitted`);
    if (plain.has(v)) return;
    checkObject(v);
    seen.add(v);
    const each = (k: string | number, x: unknown) => {
      if (x === undefined) return;
      path.push(k);
      checkPlain(x);
      path.pop();
    };
    if (Array.isArray(v)) v.forEach((x, i) => each(i, x));
    else for (const k in v) each(k, (v as Record<string, unknown>)[k]);
    seen.delete(v);
    plain.add(v);
  };

  // Compact JSON, one line per schema: indenting it nearly tripled the size of a large
  // connector's model.ts (GitHub: 8.4 MB against 3.3 MB) for no reader who needs it.
  const writeJsonText = (v: unknown) => {
    const json = JSON.stringify(v)
      .replace(/\\/g, '\\\\')
      .replace(/`/g, '\\`')
      .replace(/\$\{/g, '\\${');
    out.push(`JSON.parse(\`${json}\`)`);
  };

  write(value);
  return out.join('');
}
