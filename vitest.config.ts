import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The real launch catalog in generated/, which several suites hold their checks against.
    globalSetup: ['test/global-setup.ts'],
    // Spawned CLIs and tsc runs are slow on two shared cores; a test that hangs still ends.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // Generation and tsc runs are CPU-heavy; two cores, so keep forks bounded.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
