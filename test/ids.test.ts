import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../runtime/ids.ts';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const millisOf = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);

describe('uuidv7', () => {
  it('is an RFC 9562 version 7 UUID carrying the time it was made', () => {
    const before = Date.now();
    const id = uuidv7();
    const after = Date.now();
    expect(id).toMatch(V7);
    expect(millisOf(id)).toBeGreaterThanOrEqual(before);
    expect(millisOf(id)).toBeLessThanOrEqual(after);
  });

  it('ids sort in the order they were made, within a millisecond too, and none repeats', async () => {
    const ids: string[] = [];
    for (let round = 0; round < 3; round++) {
      const start = Date.now();
      while (Date.now() === start) ids.push(uuidv7());
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(new Set(ids).size).toBe(ids.length);
    // Made in time order, so sorting them as text must keep their milliseconds in that order.
    expect([...ids].sort().map(millisOf)).toEqual(ids.map(millisOf));
    // And, within one millisecond, the order they were made in.
    expect([...ids].sort()).toEqual(ids);
    expect(millisOf(ids.at(-1)!)).toBeGreaterThan(millisOf(ids[0]));
    expect(ids.every((id) => V7.test(id))).toBe(true);
  });
});
