/**
 * `npm run bench [-- --short] [-- --only=generator,call,list,context,startup,peers,ownership,cli]`: the project's
 * performance figures, measured in one run on this machine, printed as a table and written to
 * bench/results/latest.{json,md}. A section that fails is reported and the others still run;
 * the exit code is then 1. No figure is asserted: targets are shown as met or missed.
 */
import os from 'node:os';
import path from 'node:path';
import { benchCallCost } from './call-cost.ts';
import { benchCli } from './cli.ts';
import { benchDir } from './child.ts';
import { benchGenerator } from './generator.ts';
import { describeMachine } from './machine.ts';
import { benchPeers } from './peers.ts';
import { parseOptions, type BenchOptions, type Section } from './options.ts';
import { busy, busyNote, table, writeResults, type BenchReport, type SectionResult } from './report.ts';
import { benchStartup } from './startup.ts';
import { benchToolsList } from './tools-list.ts';
import { benchOwnership } from './ownership.ts';
import { benchModelContext } from './model-context.ts';

const RUNNERS: Record<Section, (options: BenchOptions, log: (line: string) => void) => Promise<SectionResult>> = {
  generator: benchGenerator,
  call: benchCallCost,
  list: benchToolsList,
  context: benchModelContext,
  startup: benchStartup,
  peers: benchPeers,
  ownership: benchOwnership,
  cli: benchCli,
};

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseOptions(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  const machine = describeMachine();
  const started = performance.now();
  const log = (line: string) => process.stderr.write(`[bench ${Math.round((performance.now() - started) / 1000)}s] ${line}\n`);
  log(`${options.short ? 'short' : 'normal'} run: ${options.sections.join(', ')} on ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}`);

  const sections: SectionResult[] = [];
  const failures: BenchReport['failures'] = [];
  for (const name of options.sections) {
    try {
      sections.push(await RUNNERS[name](options, log));
    } catch (error) {
      const message = (error as Error).stack ?? String(error);
      log(`section ${name} failed: ${message}`);
      failures.push({ section: name, error: message });
    }
  }
  machine.loadAverage.end = Math.round(os.loadavg()[0] * 100) / 100;
  const report: BenchReport = {
    machine,
    mode: options.short ? 'short' : 'normal',
    totalSeconds: Math.round((performance.now() - started) / 100) / 10,
    sections,
    failures,
  };
  const files = writeResults(path.join(benchDir, 'results'), report);
  process.stdout.write(`\n${table(sections.flatMap((s) => s.rows))}\n\n`);
  process.stdout.write(`${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}; CPU check ${machine.cpuCheckMs} ms; load average ${machine.loadAverage.start} -> ${machine.loadAverage.end}; ${report.totalSeconds} s\n`);
  if (busy(machine)) process.stdout.write(`note: ${busyNote}\n`);
  process.stdout.write(`written: ${files.map((f) => path.relative(process.cwd(), f)).join(', ')}\n`);
  return failures.length ? 1 : 0;
}

process.exitCode = await main();
