/** `npm run corpus -- [--seed N] [--sample N | --all | --id <id>...] [--jobs N] [--batch N] [--timeout s] [--keep] [--work dir] [--results dir]` */
import path from 'node:path';
import { parseArgs } from 'node:util';

export interface CorpusOptions {
  seed: number;
  /** How many documents to draw; undefined with `all` or `ids`. */
  sample?: number;
  all: boolean;
  /** Exact document ids (`adyen.com/AccountService`), to reproduce a failure. */
  ids: string[];
  jobs: number;
  batch: number;
  timeoutMs: number;
  keep: boolean;
  /** Where documents are built (default .cache/corpus/run) and where the figures go (default corpus/results). */
  workDir?: string;
  resultsDir?: string;
}

const USAGE = 'usage: npm run corpus -- [--seed N] [--sample N | --all | --id <api id> ...] [--jobs N] [--batch N] [--timeout seconds] [--keep] [--work <dir>] [--results <dir>]';

function positiveInteger(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: expected an integer >= ${min}, got "${value}"\n${USAGE}`);
  return n;
}

export function parseOptions(argv: string[]): CorpusOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        seed: { type: 'string' },
        sample: { type: 'string' },
        all: { type: 'boolean', default: false },
        id: { type: 'string', multiple: true },
        jobs: { type: 'string' },
        batch: { type: 'string' },
        timeout: { type: 'string' },
        keep: { type: 'boolean', default: false },
        work: { type: 'string' },
        results: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${USAGE}`);
  }
  const ids = values.id ?? [];
  if ([values.all, ids.length > 0, values.sample !== undefined].filter(Boolean).length > 1) {
    throw new Error(`--sample, --all and --id choose the documents in different ways: give one\n${USAGE}`);
  }
  return {
    seed: positiveInteger('seed', values.seed, 1, 0),
    sample: values.all || ids.length ? undefined : positiveInteger('sample', values.sample, 50),
    all: values.all,
    ids,
    jobs: positiveInteger('jobs', values.jobs, 2),
    batch: positiveInteger('batch', values.batch, 10),
    timeoutMs: positiveInteger('timeout', values.timeout, 300) * 1000,
    keep: values.keep,
    ...(values.work !== undefined && { workDir: path.resolve(values.work) }),
    ...(values.results !== undefined && { resultsDir: path.resolve(values.results) }),
  };
}
