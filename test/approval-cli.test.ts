/**
 * The approval and rate-limit commands as an operator runs them: real processes against a real
 * SQLite store file, with the approval request made by the governance chain itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { approvalsRepo, auditRepo, openStore, tenantsRepo, type Approval } from '../runtime/store/index.ts';
import { root, tempDir } from './helpers/e2e.ts';

const bin = path.join(root, 'bin', 'specgate.js');
const dir = tempDir('approval-cli');
const storeUrl = `sqlite:${path.join(dir, 'specgate.db')}`;

function admin(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args, '--store', storeUrl], { cwd: root },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }));
  });
}

describe('specgate approval and rate-limit commands', () => {
  let pending: Approval;
  beforeAll(async () => {
    const store = await openStore(storeUrl);
    await tenantsRepo(store).createTenant({ id: 'acme', name: 'Acme' });
    await tenantsRepo(store).createTenant({ id: 'other', name: 'Other' });
    pending = await approvalsRepo(store).request({
      tenantId: 'acme', subject: 'alice', customerId: null, connector: 'halopsa', tool: 'halopsa_export',
      argumentsHash: 'h1', arguments: { since: '2026-01-01' }, decisionId: 'd1', reason: 'high-risk tool',
    });
    await store.close();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('lists pending requests and approves one, recording the decision in the audit chain', async () => {
    const list = await admin('approval', 'list', '--tenant', 'acme', '--status', 'pending');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`${pending.id}\\s+pending\\s+alice\\s+-\\s+halopsa_export\\s+\\{"since":"2026-01-01"\\}`));

    // Another tenant's operator cannot decide it.
    const foreign = await admin('approval', 'approve', pending.id, '--tenant', 'other', '--by', 'mallory');
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toBe(`specgate: approval ${pending.id} does not exist\n`);

    // The subject who requested the call cannot approve it, however the name is written.
    for (const self of ['alice', ' Alice ']) {
      const own = await admin('approval', 'approve', pending.id, '--tenant', 'acme', '--by', self);
      expect(own.code).toBe(1);
      expect(own.stderr).toBe(`specgate: approval ${pending.id} was requested by "alice", who cannot approve it: a second person must\n`);
    }

    const ok = await admin('approval', 'approve', pending.id, '--tenant', 'acme', '--by', 'carol', '--note', 'ticket 4711');
    expect(ok.stdout).toBe(`approved ${pending.id}: halopsa_export for alice\n`);
    const again = await admin('approval', 'deny', pending.id, '--tenant', 'acme', '--by', 'dave');
    expect(again.stderr).toMatch(/is approved, not pending/);

    const store = await openStore(storeUrl);
    try {
      const entries = await auditRepo(store).search({ tenant: 'acme' });
      expect(entries.map((e) => e.record)).toEqual([expect.objectContaining({ event: 'approval.approved', approvalId: pending.id, decidedBy: 'carol', note: 'ticket 4711' })]);
      expect(await auditRepo(store).verify()).toMatchObject({ ok: true });
    } finally {
      await store.close();
    }
    expect((await admin('approval', 'list', '--tenant', 'acme', '--status', 'bogus')).stderr).toMatch(/bad --status "bogus": use pending, approved/);
  });

  it('sets, lists and removes rate limits, refusing bad values with the rule', async () => {
    expect((await admin('rate-limit', 'set', '--tenant', 'acme', '--scope', 'identity', '--per-second', '5')).stdout)
      .toBe('rate limit for tenant acme: 5 calls per second per identity\n');
    expect(JSON.parse((await admin('rate-limit', 'list', '--tenant', 'acme', '--json')).stdout)).toEqual([{ tenantId: 'acme', scope: 'identity', perSecond: 5 }]);
    expect((await admin('rate-limit', 'set', '--tenant', 'acme', '--scope', 'identity', '--per-second', '0')).stderr).toMatch(/bad --per-second "0": must be a positive integer/);
    expect((await admin('rate-limit', 'set', '--tenant', 'acme', '--scope', 'galaxy', '--per-second', '3')).stderr).toMatch(/bad --scope "galaxy": use tenant or identity/);
    await admin('rate-limit', 'remove', '--tenant', 'acme', '--scope', 'identity');
    expect(JSON.parse((await admin('rate-limit', 'list', '--tenant', 'acme', '--json')).stdout)).toEqual([]);
  });
});
