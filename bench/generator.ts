/**
 * Section 1: the generator on GitHub's REST description, every read operation selected. Each
 * generation and the type-check run in a child process so that their peak memory is measurable.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadDocument } from '../generator/openapi/load.ts';
import { scaffoldSpec } from '../generator/scaffold.ts';
import { runTimed, type TimedRun } from './child.ts';
import { benchGraph } from './generator-graph.ts';
import { cacheDir, ensureOctokitDocument } from './octokit.ts';
import type { BenchOptions } from './options.ts';
import type { SectionResult } from './report.ts';
import { median, round } from './stats.ts';

export const githubGeneratedDir = path.join(cacheDir, 'generated-github');
const TARGET_MS = 2000;

interface GenerateReport { ms: number; tools: number; files: number; maxRssKiB: number }
interface TypecheckReport { ms: number; problems: number; firstProblems: unknown[]; maxRssKiB: number }

export async function benchGenerator(options: BenchOptions, log: (line: string) => void): Promise<SectionResult> {
  const octokit = ensureOctokitDocument(log);
  const doc = await loadDocument(octokit.file);
  const gets = doc.operations.filter((o) => o.method === 'GET').length;
  const specFile = path.join(cacheDir, 'github.yaml');
  fs.writeFileSync(specFile, scaffoldSpec(doc, { specFile, source: octokit.file, allReads: true, connector: 'github' }));

  const runs: Array<TimedRun<GenerateReport>> = [];
  for (let i = 0; i < options.generateRuns; i++) {
    log(`generate github (${gets} GET operations), run ${i + 1}/${options.generateRuns}`);
    runs.push(await runTimed<GenerateReport>('generate', ['generate', specFile, githubGeneratedDir], 300_000));
  }
  const generateMs = median(runs.map((r) => r.result.ms));
  const processMs = median(runs.map((r) => r.processMs));
  const peakRss = Math.max(...runs.map((r) => r.peakRssMiB));
  const tools = runs[0].result.tools;

  let typecheck: TimedRun<TypecheckReport> | undefined;
  if (options.typecheck) {
    log('type-check the generated github connector');
    typecheck = await runTimed<TypecheckReport>('generate', ['typecheck', githubGeneratedDir], 600_000);
  }

  const section = 'generator (GitHub)';
  const rows: SectionResult['rows'] = [
    { section, metric: 'document', value: `@octokit/openapi ${octokit.version}: ${doc.operations.length} operations, ${gets} GET` },
    { section, metric: 'tools generated', value: String(tools) },
    {
      section,
      metric: `generate, median of ${runs.length}`,
      value: `${round(generateMs / 1000)} s`,
      target: `<= ${TARGET_MS / 1000} s`,
      verdict: generateMs <= TARGET_MS ? 'met' : 'missed',
    },
    { section, metric: 'generate, whole process (Node + tsx start-up)', value: `${round(processMs / 1000)} s` },
    { section, metric: 'generate, peak RSS', value: `${Math.round(peakRss)} MiB` },
    typecheck
      ? { section, metric: 'type-check generated code', value: `${round(typecheck.result.ms / 1000)} s, ${typecheck.result.problems} problems, peak RSS ${Math.round(typecheck.peakRssMiB)} MiB` }
      : { section, metric: 'type-check generated code', value: 'skipped (short run)' },
  ];
  const graph = await benchGraph(options, log);
  rows.push(...graph.rows);
  return {
    name: 'generator',
    rows,
    details: {
      graph: graph.details,
      document: { package: '@octokit/openapi', version: octokit.version, file: 'generated/api.github.com.json', operations: doc.operations.length, getOperations: gets },
      tools,
      targetMs: TARGET_MS,
      generate: {
        medianMs: round(generateMs),
        runs: runs.map((r) => ({ ms: round(r.result.ms), processMs: round(r.processMs), peakRssMiB: round(r.peakRssMiB, 1), files: r.result.files })),
        rssSource: runs[0].rssSource,
      },
      typecheck: typecheck
        ? { ms: round(typecheck.result.ms), processMs: round(typecheck.processMs), peakRssMiB: round(typecheck.peakRssMiB, 1), problems: typecheck.result.problems, firstProblems: typecheck.result.firstProblems }
        : null,
    },
  };
}
