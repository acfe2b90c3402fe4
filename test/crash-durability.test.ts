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
import { crashProblems, redactUrl, runCrashSuite, type CrashReport } from '../bench/crash-run.ts';
import { findPostgres, startPostgres, type PgCluster } from './helpers/postgres.ts';

function expectNoLostRecord(report: CrashReport): void {
  expect(report.killSignals).toEqual(['SIGKILL']);
  expect(report.answered).toBeGreaterThanOrEqual(2 * 150);
  expect(report.answeredOk).toBeGreaterThan(0);
  expect(report.answeredWithoutUsage).toEqual([]);
  expect(report.answeredWithoutAudit).toEqual([]);
  expect(report.duplicateUsage).toEqual([]);
  expect(report.duplicateAudit).toEqual([]);
  // Records of cut-off calls are allowed on top, never fewer than the answered calls.
  expect(report.usageRows).toBeGreaterThanOrEqual(report.answered);
  expect(report.auditRecords).toBe(report.usageRows);
  expect(report.auditVerify.exitCode).toBe(0);
  expect(report.auditVerify.output).toMatch(/^audit ok: \d+ chain\(s\), \d+ entries, \d+ usage rows/);
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

describe('the crash suite\'s verdict', () => {
  const clean: CrashReport = {
    store: 'sqlite:x', kills: 1, killSignals: ['SIGKILL'], attempts: 12, answered: 10, answeredOk: 10, unanswered: 2,
    usageRows: 11, auditRecords: 11, answeredWithoutUsage: [], answeredWithoutAudit: [], duplicateUsage: [], duplicateAudit: [],
    recordedButUnanswered: 1, auditVerify: { exitCode: 0, output: 'audit chain ok: 11 entries checked' }, seconds: 1,
  };

  it('accepts records of cut-off calls on top of the answered ones', () => {
    expect(crashProblems(clean)).toEqual([]);
  });

  it('counts answered tool errors as answered calls, but not a run where nothing executed', () => {
    expect(crashProblems({ ...clean, answeredOk: 3, firstNotOk: 'upstream timed out' })).toEqual([]);
    expect(crashProblems({ ...clean, answeredOk: 0, firstNotOk: 'breaker open' })).toEqual(["no answered call returned the upstream's items, e.g. breaker open"]);
  });

  it('names each way a record can be lost, doubled or broken', () => {
    const problems = crashProblems({
      ...clean,
      killSignals: ['SIGTERM'],
      answeredWithoutUsage: ['c1'],
      answeredWithoutAudit: ['c2'],
      duplicateUsage: ['c3'],
      duplicateAudit: ['c4'],
      auditVerify: { exitCode: 1, output: 'audit chain broken: tenant t at seq 3' },
    });
    expect(problems).toEqual([
      'expected 1 SIGKILLs, saw ["SIGTERM"]',
      '1 answered calls have no usage row (e.g. c1)',
      '1 answered calls have no audit record (e.g. c2)',
      '1 calls have more than one usage row',
      '1 calls have more than one audit record',
      'specgate audit verify failed: audit chain broken: tenant t at seq 3',
    ]);
  });

  it('never prints a store password', () => {
    expect(redactUrl('postgres://bench:s3cret@127.0.0.1:5432/db')).toBe('postgres://bench:***@127.0.0.1:5432/db');
    expect(redactUrl('sqlite:/tmp/store.db')).toBe('sqlite:/tmp/store.db');
  });
});
