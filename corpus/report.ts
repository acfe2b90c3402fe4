/** The figures of a corpus run: counts per stage, every failure with its reason, and times. */
import fs from 'node:fs';
import path from 'node:path';
import type { Machine } from '../bench/machine.ts';
import { projectRoot } from '../generator/paths.ts';
import type { Cause, DocumentResult } from './pool.ts';

export interface Summary {
  tried: number;
  valid: number;
  invalid: number;
  generated: number;
  compiled: number;
  served: number;
  /** Valid documents served, over valid documents that have something to serve read-only: the target is 100%. */
  validServed: number;
  validApplicable: number;
  failures: Record<Cause, number>;
  /** Per-document time (all stages, its share of the batch type-check), in seconds. */
  perDocument: { median: number; p90: number; max: number; maxId: string };
  stageSeconds: Record<'validate' | 'scaffold' | 'generate' | 'typecheck' | 'serve', number>;
}

export interface CorpusReport {
  source: { package: string; version: string; documents: number };
  choice: { seed: number; sample?: number; all: boolean; ids: string[] };
  settings: { jobs: number; batch: number; timeoutSeconds: number };
  machine: Machine;
  wallSeconds: number;
  /** Set when the run was stopped (Ctrl-C) before every document was done. */
  interrupted?: { finished: number; of: number };
  summary: Summary;
  documents: DocumentResult[];
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

function quantile(sorted: number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : 0;
}

export function summarize(results: DocumentResult[]): Summary {
  const count = (f: (r: DocumentResult) => boolean) => results.filter(f).length;
  const totals = results.map((r) => r.ms.total).sort((a, b) => a - b);
  const slowest = results.reduce<DocumentResult | undefined>((a, r) => (!a || r.ms.total > a.ms.total ? r : a), undefined);
  const stage = (k: keyof Summary['stageSeconds']) => seconds(results.reduce((s, r) => s + (r.ms[k] ?? 0), 0));
  return {
    tried: results.length,
    valid: count((r) => r.valid === true),
    invalid: count((r) => r.valid === false),
    generated: count((r) => r.generated),
    compiled: count((r) => r.compiled),
    served: count((r) => r.served),
    validServed: count((r) => r.valid === true && r.served),
    validApplicable: count((r) => r.valid === true && r.failure?.cause !== 'no-reads'),
    failures: {
      'invalid-openapi': count((r) => r.failure?.cause === 'invalid-openapi'),
      'no-reads': count((r) => r.failure?.cause === 'no-reads'),
      specgate: count((r) => r.failure?.cause === 'specgate'),
    },
    perDocument: { median: seconds(quantile(totals, 0.5)), p90: seconds(quantile(totals, 0.9)), max: seconds(totals.at(-1) ?? 0), maxId: slowest?.id ?? '' },
    stageSeconds: { validate: stage('validate'), scaffold: stage('scaffold'), generate: stage('generate'), typecheck: stage('typecheck'), serve: stage('serve') },
  };
}

/** Paths inside the project read better relative to it. */
const shorten = (text: string, max: number) => text.replaceAll(`${projectRoot}${path.sep}`, '').slice(0, max);
const percent = (n: number, of: number) => (of ? `${Math.round((1000 * n) / of) / 10}%` : 'n/a');
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s+/g, ' ');

/** Markdown: readable as text on a terminal, rendered on GitHub. */
export function renderMarkdown(report: CorpusReport): string {
  const { summary: s, machine: m } = report;
  const chosen = report.choice.ids.length ? `documents ${report.choice.ids.join(', ')}` : report.choice.all ? 'every document' : `a sample of ${report.choice.sample} (seed ${report.choice.seed})`;
  const lines = [
    `# specgate corpus run (${m.date})`,
    '',
    `${report.source.package}@${report.source.version} (${report.source.documents} documents): ${chosen}; ${report.settings.jobs} worker(s), batches of ${report.settings.batch}, ${report.settings.timeoutSeconds} s timeout per stage.`,
    ...(report.interrupted ? [`**Interrupted**: ${report.interrupted.finished} of ${report.interrupted.of} documents finished; the figures cover those.`] : []),
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB memory, Node ${m.node}, ${m.platform}; load average (1 min) ${m.loadAverage.start} at start, ${m.loadAverage.end ?? '?'} at end.`,
    '',
    '| tried | valid OpenAPI | invalid | generated | compiled | served | valid served (target 100%) |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${s.tried} | ${s.valid} | ${s.invalid} | ${s.generated} | ${s.compiled} | ${s.served} | ${s.validServed} of ${s.validApplicable} (${percent(s.validServed, s.validApplicable)}) |`,
    '',
    `Failures: ${s.failures['invalid-openapi']} not valid OpenAPI, ${s.failures['no-reads']} with no read operation to serve, ${s.failures.specgate} specgate's own.`,
    '',
    `Time: ${report.wallSeconds} s wall clock; per document median ${s.perDocument.median} s, p90 ${s.perDocument.p90} s, max ${s.perDocument.max} s (${s.perDocument.maxId}). ` +
      `Summed over documents: validate ${s.stageSeconds.validate} s, load + scaffold ${s.stageSeconds.scaffold} s, generate ${s.stageSeconds.generate} s, type-check ${s.stageSeconds.typecheck} s, serve + list ${s.stageSeconds.serve} s.`,
  ];
  // Documents without a GET have nothing to serve read-only: named in one line, not a table row each.
  const noReads = report.documents.filter((r) => r.failure?.cause === 'no-reads').map((r) => r.id);
  if (noReads.length) lines.push('', `No read operation (GET or HEAD), so nothing to serve read-only: ${noReads.join(', ')}.`);
  const failed = report.documents.filter((r) => (r.failure && r.failure.cause !== 'no-reads') || r.valid === false);
  if (failed.length) {
    lines.push('', '| document | valid OpenAPI | outcome | stage | cause | reason |', '| --- | --- | --- | --- | --- | --- |');
    for (const r of failed) {
      const validity = r.valid === undefined ? '?' : r.valid ? 'yes' : `no: ${r.invalidReason ?? ''}`;
      const outcome = r.served ? `served ${r.listed} tools` : 'failed';
      lines.push(`| ${r.id} | ${cell(shorten(validity, 300))} | ${outcome} | ${r.failure?.stage ?? ''} | ${r.failure?.cause ?? ''} | ${cell(shorten(r.failure?.message ?? '', 400))} |`);
    }
  }
  lines.push('', 'Produced by `npm run corpus`; every document\'s figures are in latest.json.', '');
  return lines.join('\n');
}

export function writeResults(dir: string, report: CorpusReport): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const json = path.join(dir, 'latest.json');
  const md = path.join(dir, 'latest.md');
  fs.writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(md, renderMarkdown(report));
  return [json, md];
}
