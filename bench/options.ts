/**
 * Bench options from argv and the environment: `--short` (or BENCH_SHORT=1) for CI, and
 * `--only=generator,call,list,context,startup,peers,ownership` to run a subset while working on one part.
 */
export const SECTIONS = ['generator', 'call', 'list', 'context', 'startup', 'peers', 'ownership', 'cli'] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchOptions {
  short: boolean;
  sections: Section[];
  /** Load-test duration per target, seconds. */
  loadSeconds: number;
  /** Generator runs on the GitHub document (the median is reported). */
  generateRuns: number;
  /** Type-check the generated GitHub connector (tens of seconds: left out of the short run). */
  typecheck: boolean;
  /** Timed repetitions of tools/list: single pages and full walks. */
  listPages: number;
  listWalks: number;
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions {
  const truthy = (v: string | undefined) => v !== undefined && v !== '' && v !== '0' && v !== 'false';
  let short = truthy(env.BENCH_SHORT);
  let sections: Section[] = [...SECTIONS];
  for (const arg of argv) {
    if (arg === '--short') short = true;
    else if (arg.startsWith('--only=')) {
      const wanted = arg.slice('--only='.length).split(',').map((s) => s.trim()).filter(Boolean);
      const unknown = wanted.filter((w) => !(SECTIONS as readonly string[]).includes(w));
      if (unknown.length) throw new Error(`--only: unknown section(s) ${unknown.join(', ')}; known: ${SECTIONS.join(', ')}`);
      sections = SECTIONS.filter((s) => wanted.includes(s));
    } else if (arg === '--help' || arg === '-h') {
      throw new Error(`usage: npm run bench [-- --short] [-- --only=${SECTIONS.join(',')}]`);
    } else throw new Error(`unknown argument '${arg}'; usage: npm run bench [-- --short] [-- --only=${SECTIONS.join(',')}]`);
  }
  return {
    short,
    sections,
    loadSeconds: short ? 3 : 10,
    generateRuns: short ? 1 : 3,
    typecheck: !short,
    listPages: short ? 100 : 500,
    listWalks: short ? 20 : 100,
  };
}
