/** The bench's output: one table on the terminal, and the same figures in results/latest.{json,md}. */
import fs from 'node:fs';
import path from 'node:path';
import type { Machine } from './machine.ts';

export interface Row {
  section: string;
  metric: string;
  value: string;
  /** The goal the figure is held against, when there is one. */
  target?: string;
  /** 'met' / 'missed' against the target; absent without a target. */
  verdict?: 'met' | 'missed';
}

export interface SectionResult {
  name: string;
  rows: Row[];
  /** Everything measured, for the JSON file. */
  details: Record<string, unknown>;
}

export interface BenchReport {
  machine: Machine;
  mode: 'normal' | 'short';
  totalSeconds: number;
  sections: SectionResult[];
  /** Sections that could not run, with the reason. */
  failures: Array<{ section: string; error: string }>;
}

export const busyNote = 'The load average exceeded the core count: other processes competed for the CPU, so these figures are pessimistic and noisy.';

export function busy(m: Machine): boolean {
  return Math.max(m.loadAverage.start, m.loadAverage.end ?? 0) > m.cores;
}

export function table(rows: Row[]): string {
  const header = ['section', 'metric', 'value', 'target', ''];
  const cells = rows.map((r) => [r.section, r.metric, r.value, r.target ?? '', r.verdict ?? '']);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

function markdownTable(rows: Row[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    '| section | metric | value | target | |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${esc(r.section)} | ${esc(r.metric)} | ${esc(r.value)} | ${esc(r.target ?? '')} | ${r.verdict ?? ''} |`),
  ].join('\n');
}

export function markdown(report: BenchReport): string {
  const m = report.machine;
  const rows = report.sections.flatMap((s) => s.rows);
  return [
    `# specgate bench (${report.mode} run, ${m.date})`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB memory, Node ${m.node}, ${m.platform}.`,
    `Load average (1 min) ${m.loadAverage.start} at start, ${m.loadAverage.end ?? '?'} at end; total bench time ${report.totalSeconds} s.`,
    `CPU check: a fixed JavaScript loop took ${m.cpuCheckMs} ms (lower is faster; this host's speed has varied up to 20x, even within minutes, so compare runs in proportion).`,
    ...(busy(m) ? ['', `**${busyNote}**`] : []),
    '',
    markdownTable(rows),
    '',
    ...(report.failures.length ? ['Sections that failed:', '', ...report.failures.map((f) => `- ${f.section}: ${f.error.split('\n')[0]}`), ''] : []),
    'Produced by `npm run bench`; details in latest.json.',
    '',
  ].join('\n');
}

export function writeResults(dir: string, report: BenchReport): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const json = path.join(dir, 'latest.json');
  const md = path.join(dir, 'latest.md');
  // Written through a temporary name so that an interrupted run never leaves half a file.
  for (const [file, content] of [[json, `${JSON.stringify(report, null, 2)}\n`], [md, markdown(report)]] as const) {
    fs.writeFileSync(`${file}.tmp`, content);
    fs.renameSync(`${file}.tmp`, file);
  }
  return [json, md];
}
