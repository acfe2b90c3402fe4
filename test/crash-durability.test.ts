/**
 * The fast part of the crash suite (bench/crash-run.ts, `npm run crash` for the full run):
 * `specgate serve` with the governance chain on a store, concurrent tools/call load over real
 * HTTP, one SIGKILL mid-load, a restart on the same store, more load; then every answered call
 * has exactly one usage row and one audit record and `specgate audit verify` passes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { crashProblems, runCrashSuite, type CrashReport } from '../bench/crash-run.ts';
import { findPostgres, startPostgres, type PgCluster } from './helpers/postgres.ts';

function expectNoLostRecord(report: CrashReport): void {
  expect(report.killSignals).toEqual(['SIGKILL']);
  expect(report.answered).toBeGreaterThanOrEqual(2 * 150);
  expect(report.answeredWithoutUsage).toEqual([]);
  expect(report.answeredWithoutAudit).toEqual([]);
  expect(report.duplicateUsage).toEqual([]);
  expect(report.duplicateAudit).toEqual([]);
  // Records of cut-off calls are allowed on top, never fewer than the answered calls.
  expect(report.usageRows).toBeGreaterThanOrEqual(report.answered);
  expect(report.auditRecords).toBe(report.usageRows);
  expect(report.auditVerify.exitCode).toBe(0);
  expect(report.auditVerify.output).toMatch(/^audit chain ok: \d+ entries checked/);
  expect(crashProblems(report)).toEqual([]);
}

const suite = { clients: 8, kills: 1, callsPerPhase: 150 };

describe('no answered call loses its records when the runtime is killed mid-load', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'specgate-crash-test-'));
  let cluster: PgCluster | undefined;
  afterAll(async () => {
    await cluster?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('on SQLite', async () => {
    expectNoLostRecord(await runCrashSuite({ storeUrl: `sqlite:${path.join(dir, 'store.db')}`, ...suite }));
  });

  const pg = findPostgres();
  it.runIf(pg.ok)(pg.ok ? 'on PostgreSQL' : `on PostgreSQL (skipped: ${pg.reason})`, async () => {
    if (!pg.ok) return;
    cluster = await startPostgres(pg);
    expectNoLostRecord(await runCrashSuite({ storeUrl: await cluster.createDatabase(), ...suite }));
  });
});
