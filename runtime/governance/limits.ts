/**
 * The bounds every tools/call's arguments must stay within, checked first, before any other step
 * reads them: the later walkers (redaction, canonical JSON, hashing, schema validation) can then
 * rely on a small depth and size. The check itself is iterative, so no input can exhaust the stack.
 * Tests and the red-team suite import these numbers rather than repeating them.
 */

export const ARGUMENT_LIMITS = {
  /** Nesting levels of objects and arrays below the arguments object itself. */
  maxDepth: 32,
  /** Characters of the arguments as compact JSON. */
  maxJsonChars: 256 * 1024,
  /** Values (objects, arrays, strings, numbers, ...) in the whole tree. */
  maxValues: 10_000,
} as const;

/** Why the arguments are out of bounds, naming the limit; undefined when they are within them. */
export function argumentLimitViolation(args: unknown): string | undefined {
  const { maxDepth, maxJsonChars, maxValues } = ARGUMENT_LIMITS;
  const stack: Array<{ value: unknown; depth: number }> = [{ value: args, depth: 0 }];
  let chars = 0;
  let values = 0;
  while (stack.length) {
    const { value, depth } = stack.pop()!;
    if (++values > maxValues) return `arguments hold more than ${maxValues} values (the limit)`;
    if (value !== null && typeof value === 'object') {
      if (depth > maxDepth) return `arguments nest deeper than ${maxDepth} levels`;
      if (Array.isArray(value)) {
        chars += 2 + Math.max(0, value.length - 1);
        for (const v of value) stack.push({ value: v, depth: depth + 1 });
      } else {
        const entries = Object.entries(value);
        chars += 2 + Math.max(0, entries.length - 1);
        for (const [k, v] of entries) {
          chars += JSON.stringify(k).length + 1;
          stack.push({ value: v, depth: depth + 1 });
        }
      }
    } else {
      chars += scalarChars(value);
    }
    if (chars > maxJsonChars) return `arguments are larger than the size limit of ${maxJsonChars} characters of JSON`;
  }
  return undefined;
}

function scalarChars(value: unknown): number {
  if (typeof value === 'string') return JSON.stringify(value).length;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value).length;
  return 4; // null, and what JSON would write as null
}
