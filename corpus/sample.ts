/**
 * A seeded sample: the same seed picks the same documents on every machine. mulberry32 is a
 * tiny, well-known 32-bit generator; statistical quality hardly matters here, reproducibility does.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `size` items drawn without replacement (a partial Fisher-Yates shuffle), in draw order. */
export function sample<T>(items: readonly T[], size: number, seed: number): T[] {
  const pool = [...items];
  const random = mulberry32(seed);
  const n = Math.min(size, pool.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, n);
}

/** The documents a run covers: named ids, all of them, or a seeded sample, sorted by id. */
export function chooseDocuments<T extends { id: string }>(documents: readonly T[], choice: { seed: number; sample?: number; all?: boolean; ids?: string[] }): T[] {
  let chosen: T[];
  if (choice.ids?.length) {
    const byId = new Map(documents.map((d) => [d.id, d]));
    const unknown = choice.ids.filter((id) => !byId.has(id));
    if (unknown.length) throw new Error(`no such document in the directory: ${unknown.join(', ')} (ids are paths under api/ without .json, e.g. adyen.com/AccountService)`);
    chosen = choice.ids.map((id) => byId.get(id)!);
  } else {
    chosen = choice.all ? [...documents] : sample(documents, choice.sample ?? documents.length, choice.seed);
  }
  return chosen.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
