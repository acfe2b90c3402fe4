/**
 * `npm run redteam [-- --store sqlite|postgres|both] [--only family,family]`: starts a real
 * governed deployment (redteam/deployment.ts) on each store, plays every attack family against
 * it (redteam/attacks/), prints one table row per attack (OWASP API Security Top 10 2023
 * category, what was tried, held or SUCCEEDED, why) and exits 1 when any attack succeeded.
 * PostgreSQL runs on a throwaway local cluster when its binaries are installed; without them
 * the second pass is reported as not run.
 */
import { parseArgs } from 'node:util';
import { findPostgres, startPostgres, type PgCluster } from '../test/helpers/postgres.ts';
import { ATTACKS } from './attacks/index.ts';
import { Deployment } from './deployment.ts';
import type { Attack, Finding } from './types.ts';

const USAGE = 'usage: npm run redteam [-- --store sqlite|postgres|both] [--only family[,family...]]';

export interface Pass { store: 'sqlite' | 'postgres'; findings: Finding[]; skipped?: string; seconds: number }

/** One deployment on `store`, the attacks played in order; the deployment is torn down whatever happens. */
export async function runPass(store: 'sqlite' | 'postgres', attacks: Attack[], options: { pg?: PgCluster; log?: (line: string) => void } = {}): Promise<Pass> {
  const started = performance.now();
  const log = options.log ?? (() => {});
  const d = new Deployment({ store, ...(options.pg ? { pgUrl: await options.pg.createDatabase() } : {}), log });
  const findings: Finding[] = [];
  try {
    await d.start();
    for (const attack of attacks.filter((a) => !a.stores || a.stores.includes(store))) {
      log(`${store}: ${attack.family}`);
      try {
        findings.push(...(await attack.run(d)));
      } catch (error) {
        findings.push({ id: `${attack.family}.*`, owasp: 'API8:2023 Security Misconfiguration', tried: `the ${attack.family} family`, held: false, detail: `the family could not run: ${(error as Error).stack ?? String(error)}` });
      }
      // A family that stopped the server (tampering) leaves nothing for the next to attack.
      if (!d.child && attack !== attacks[attacks.length - 1]) await d.startServer();
    }
  } finally {
    await d.close();
  }
  return { store, findings, seconds: Math.round((performance.now() - started) / 100) / 10 };
}

/** The table: one row per finding, columns padded; long details wrap in the last column. */
export function renderTable(passes: Pass[]): string {
  const rows = passes.flatMap((p) => p.skipped
    ? [[p.store, '-', '-', `not run: ${p.skipped}`, '-', '']]
    : p.findings.map((f) => [p.store, f.id, f.owasp, f.tried, f.held ? 'held' : 'SUCCEEDED', f.detail]));
  const header = ['store', 'attack', 'OWASP API Top 10 (2023)', 'tried', 'result', 'detail'];
  const width = header.map((h, i) => Math.min(i === 3 ? 60 : 200, Math.max(h.length, ...rows.map((r) => r[i].length))));
  const cell = (text: string, i: number) => (i === 5 ? text : text.length > width[i] ? `${text.slice(0, width[i] - 1)}…` : text.padEnd(width[i]));
  const line = (r: string[]) => r.map(cell).join(' | ');
  return [line(header), width.map((w, i) => '-'.repeat(i === 5 ? 6 : w)).join('-|-'), ...rows.map(line)].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { store: { type: 'string', default: 'both' }, only: { type: 'string' } } });
  if (!['sqlite', 'postgres', 'both'].includes(values.store!)) throw new Error(`--store ${values.store}: ${USAGE}`);
  const only = values.only?.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = only?.filter((f) => !ATTACKS.some((a) => a.family === f)) ?? [];
  if (unknown.length) throw new Error(`--only: no attack family ${unknown.join(', ')} (families: ${ATTACKS.map((a) => a.family).join(', ')}); ${USAGE}`);
  const attacks = only ? ATTACKS.filter((a) => only.includes(a.family)) : ATTACKS;
  const t0 = performance.now();
  const log = (line: string) => process.stderr.write(`[redteam ${Math.round((performance.now() - t0) / 1000)}s] ${line}\n`);
  const passes: Pass[] = [];
  if (values.store !== 'postgres') passes.push(await runPass('sqlite', attacks, { log }));
  if (values.store !== 'sqlite') {
    const pg = findPostgres();
    if (!pg.ok) passes.push({ store: 'postgres', findings: [], skipped: pg.reason, seconds: 0 });
    else {
      const cluster = await startPostgres(pg);
      // Its stop is synchronous underneath: an exit handler can still run it if the runner dies.
      const stopOnExit = () => void cluster.stop().catch(() => {});
      process.once('exit', stopOnExit);
      try {
        passes.push(await runPass('postgres', attacks, { pg: cluster, log }));
      } finally {
        process.removeListener('exit', stopOnExit);
        await cluster.stop();
      }
    }
  }
  process.stdout.write(`\n${renderTable(passes)}\n\n`);
  const succeeded = passes.flatMap((p) => p.findings.filter((f) => !f.held).map((f) => `${p.store}: ${f.id}`));
  const held = passes.reduce((n, p) => n + p.findings.filter((f) => f.held).length, 0);
  process.stdout.write(`${held} held, ${succeeded.length} SUCCEEDED${succeeded.length ? `: ${succeeded.join(', ')}` : ''} (${passes.map((p) => `${p.store} ${p.skipped ? 'not run' : `${p.seconds} s`}`).join(', ')})\n`);
  return succeeded.length ? 1 : 0;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  // Ctrl-C and SIGTERM end the run through 'exit', so the servers and the cluster go with it.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  try {
    process.exitCode = await main();
  } catch (error) {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 2;
  }
}
