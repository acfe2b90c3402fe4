import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every depth: the same value always hashes the same. Written
 * with an explicit stack (JSON.stringify recurses), so no nesting depth can overflow the call stack.
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  // A string item is literal output; a value item is written as JSON.
  const stack: Array<{ text: string } | { value: unknown; inArray: boolean }> = [{ value, inArray: false }];
  while (stack.length) {
    const item = stack.pop()!;
    if ('text' in item) {
      out.push(item.text);
      continue;
    }
    let v = item.value;
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON(): unknown }).toJSON();
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') {
      // As JSON.stringify: undefined in an array is null, at the top it is nothing at all.
      if (item.inArray) out.push('null');
      continue;
    }
    if (typeof v === 'bigint') throw new TypeError('Do not know how to serialize a BigInt');
    if (v === null || typeof v !== 'object') {
      out.push(JSON.stringify(v));
      continue;
    }
    const parts: Array<{ text: string } | { value: unknown; inArray: boolean }> = [];
    if (Array.isArray(v)) {
      parts.push({ text: '[' });
      v.forEach((e, i) => {
        if (i > 0) parts.push({ text: ',' });
        parts.push({ value: e, inArray: true });
      });
      parts.push({ text: ']' });
    } else {
      const src = v as Record<string, unknown>;
      const keys = Object.keys(src).sort().filter((k) => {
        const e = src[k];
        return e !== undefined && typeof e !== 'function' && typeof e !== 'symbol';
      });
      parts.push({ text: '{' });
      keys.forEach((k, i) => {
        parts.push({ text: `${i > 0 ? ',' : ''}${JSON.stringify(k)}:` });
        parts.push({ value: src[k], inArray: false });
      });
      parts.push({ text: '}' });
    }
    for (let i = parts.length - 1; i >= 0; i--) stack.push(parts[i]!);
  }
  return out.join('');
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
