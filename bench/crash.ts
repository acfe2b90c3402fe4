/**
 * `npm run crash [-- --kills N --calls N --clients N --only=sqlite|postgres]`: the crash suite
 * (bench/crash-run.ts) on the embedded database and on PostgreSQL (a throwaway local cluster,
 * fsync on). Prints the counts, writes bench/results/crash.{json,md}, exits 1 when an answered
 * call lost a record, has two, or the audit chain does not verify.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { findPostgres, startPostgres } from '../test/helpers/postgres.ts';
import { benchDir } from './child.ts';
import { crashProblems, runCrashSuite, type CrashReport } from './crash-run.ts';
import { describeMachine } from './machine.ts';
import { table, type Row } from './report.ts';

const USAGE = 'usage: npm run crash [-- --kills N] [--calls N (answered calls per phase)] [--clients N] [--only=sqlite|postgres]';

function count(value: string | undefined, name: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${name} ${value}: expected an integer from 1 to ${max}; ${USAGE}`);
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { kills: { type: 'string' }, calls: { type: 'string' }, clients: { type: 'string' }, only: { type: 'string' } } });
  const kills = count(values.kills, 'kills', 2, 10);
  const callsPerPhase = count(values.calls, 'calls', 500, 100_000);
  const clients = count(values.clients, 'clients', 16, 256);
  if (values.only !== undefined && !['sqlite', 'postgres'].includes(values.only)) throw new Error(`--only=${values.only}: expected sqlite or postgres; ${USAGE}`);
  const machine = describeMachine();
  const log = (line: string) => process.stderr.write(`[crash] ${line}\n`);
  const reports: Array<{ database: string; report?: CrashReport; skipped?: string; problems: string[] }> = [];

  if (values.only !== 'postgres') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'specgate-crash-'));
    try {
      log('SQLite');
      const report = await runCrashSuite({ storeUrl: `sqlite:${path.join(dir, 'store.db')}`, clients, kills, callsPerPhase, log });
      reports.push({ database: 'SQLite (WAL, synchronous=FULL)', report, problems: crashProblems(report) });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  if (values.only !== 'sqlite') {
    const pg = findPostgres();
    if (!pg.ok) reports.push({ database: 'PostgreSQL', skipped: pg.reason, problems: [] });
    else {
      const cluster = await startPostgres(pg, { durable: true });
      try {
        log('PostgreSQL');
        const report = await runCrashSuite({ storeUrl: await cluster.createDatabase(), clients, kills, callsPerPhase, log });
        reports.push({ database: 'PostgreSQL (fsync on)', report, problems: crashProblems(report) });
      } finally {
        await cluster.stop();
      }
    }
  }

  const rows: Row[] = reports.flatMap(({ database, report: r, skipped, problems }) => {
    const section = `crash: ${database}`;
    if (!r) return [{ section, metric: 'not run', value: skipped ?? '' }];
    return [
      { section, metric: `SIGKILLs mid-load (${clients} clients)`, value: `${r.killSignals.length} (${r.killSignals.join(', ')})` },
      { section, metric: 'calls answered / attempts with no answer (server killed or down)', value: `${r.answered} / ${r.unanswered}` },
      { section, metric: 'answered with a tool error (records required all the same)', value: `${r.answered - r.answeredOk}${r.firstNotOk ? `, e.g. ${r.firstNotOk.slice(0, 160)}` : ''}` },
      { section, metric: 'usage rows / audit records', value: `${r.usageRows} / ${r.auditRecords}` },
      { section, metric: 'answered without usage / audit', value: `${r.answeredWithoutUsage.length} / ${r.answeredWithoutAudit.length}`, target: '0 / 0', verdict: r.answeredWithoutUsage.length + r.answeredWithoutAudit.length === 0 ? 'met' : 'missed' },
      { section, metric: 'calls with duplicate usage / audit', value: `${r.duplicateUsage.length} / ${r.duplicateAudit.length}`, target: '0 / 0', verdict: r.duplicateUsage.length + r.duplicateAudit.length === 0 ? 'met' : 'missed' },
      { section, metric: 'recorded, answer cut off by the kill', value: String(r.recordedButUnanswered) },
      { section, metric: 'specgate audit verify', value: r.auditVerify.output.split('\n')[0], target: 'exit 0', verdict: r.auditVerify.exitCode === 0 ? 'met' : 'missed' },
      { section, metric: 'suite time', value: `${r.seconds} s` },
      ...problems.map((p) => ({ section, metric: 'PROBLEM', value: p })),
    ];
  });
  const out = path.join(benchDir, 'results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'crash.json'), `${JSON.stringify({ machine, kills, callsPerPhase, clients, reports }, null, 2)}\n`);
  fs.writeFileSync(path.join(out, 'crash.md'), [
    `# specgate crash suite (${machine.date})`, '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}. ${kills} SIGKILL(s) of \`specgate serve\` under load from ${clients} clients, ${callsPerPhase} answered calls per phase.`, '',
    '| section | metric | value | target | |', '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.section} | ${r.metric} | ${r.value.replace(/\|/g, '\\|')} | ${r.target ?? ''} | ${r.verdict ?? ''} |`), '',
    'Produced by `npm run crash`; details in crash.json.', '',
  ].join('\n'));
  process.stdout.write(`\n${table(rows)}\n\nwritten: bench/results/crash.json, bench/results/crash.md\n`);
  return reports.some((r) => r.problems.length) ? 1 : 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 2;
}
