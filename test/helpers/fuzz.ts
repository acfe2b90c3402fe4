/**
 * Fast-check settings for the fuzz and property suites: a fixed seed so CI runs the same cases
 * every time, and FUZZ_RUNS / FUZZ_SEED to run longer or other cases by hand
 * (`FUZZ_RUNS=2000 FUZZ_SEED=7 npm run fuzz`). A failure prints the seed and path to replay it.
 */
export const FUZZ_SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20261121;

export function fuzzParameters(defaultRuns: number): { seed: number; numRuns: number; endOnFailure: true } {
  const runs = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : defaultRuns;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`FUZZ_RUNS must be a positive integer, got ${process.env.FUZZ_RUNS}`);
  if (!Number.isInteger(FUZZ_SEED)) throw new Error(`FUZZ_SEED must be an integer, got ${process.env.FUZZ_SEED}`);
  return { seed: FUZZ_SEED, numRuns: runs, endOnFailure: true };
}

/** Unhandled rejections seen while a suite runs: the suite asserts there were none. */
export function watchUnhandledRejections(): { seen: unknown[]; stop(): void } {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => void seen.push(reason);
  process.on('unhandledRejection', listener);
  return { seen, stop: () => void process.off('unhandledRejection', listener) };
}
