/**
 * The operator commands as a user runs them: real processes against a real SQLite store file,
 * checked both through their output and through the store itself.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { apiKeysRepo, auditRepo, openStore, usageRepo } from '../runtime/store/index.ts';
import { root, tempDir } from './helpers/e2e.ts';

const bin = path.join(root, 'bin', 'specgate.js');
const dir = tempDir('admin-cli');
const storeUrl = `sqlite:${path.join(dir, 'specgate.db')}`;

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, SPECGATE_KEY_PEPPER: '', ...env } },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }));
  });
}
const admin = (...args: string[]) => run([...args, '--store', storeUrl]);

async function withStore<T>(fn: (store: Awaited<ReturnType<typeof openStore>>) => Promise<T>): Promise<T> {
  const store = await openStore(storeUrl);
  try { return await fn(store); } finally { await store.close(); }
}

describe('specgate admin commands', () => {
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('creates a tenant, a customer and its vendor id', async () => {
    // The first command creates the store, and says so: a store that is not there is otherwise an error.
    expect((await admin('tenant', 'create', 'Acme MSP', '--id', 'acme', '--create-store')).stdout).toBe('created tenant acme (Acme MSP)\n');
    // The environment variable names the store as well as --store does.
    const list = await run(['tenant', 'list', '--json'], { SPECGATE_STORE: storeUrl });
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([{ id: 'acme', name: 'Acme MSP', createdAt: expect.any(String) }]);

    const dup = await admin('tenant', 'create', 'Again', '--id', 'acme');
    expect(dup.code).toBe(1);
    expect(dup.stderr).toBe('specgate: tenant "acme" already exists\n');

    const cust = await admin('customer', 'create', '--tenant', 'acme', 'Contoso', '--json');
    const customer = JSON.parse(cust.stdout) as { id: string; tenantId: string; name: string };
    expect(customer).toMatchObject({ tenantId: 'acme', name: 'Contoso' });
    expect((await admin('customer', 'list', '--tenant', 'acme')).stdout).toMatch(new RegExp(`^ID\\s+NAME\\s+CREATED\\n${customer.id}\\s+Contoso\\s`));

    const vid = await admin('customer', 'vendor-id', '--tenant', 'acme', '--customer', customer.id, 'halopsa', 'C-42');
    expect(vid.code).toBe(0);
    expect(vid.stdout).toBe(`customer ${customer.id} is C-42 in halopsa\n`);
    const { tenantsRepo } = await import('../runtime/store/index.ts');
    expect(await withStore((s) => tenantsRepo(s).listVendorIds('acme', customer.id))).toEqual([{ connector: 'halopsa', vendorId: 'C-42' }]);

    // A second id of the same customer in one vendor, under a name (a Datto RMM site's siteUid).
    const named = await admin('customer', 'vendor-id', '--tenant', 'acme', '--customer', customer.id, '--name', 'siteUid', 'datto-rmm', 'a1b2-c3');
    expect(named.stdout).toBe(`customer ${customer.id} is a1b2-c3 (siteUid) in datto-rmm\n`);
    expect(await withStore((s) => tenantsRepo(s).listVendorIds('acme', customer.id))).toContainEqual({ connector: 'datto-rmm', vendorId: 'a1b2-c3', name: 'siteUid' });
    const badName = await admin('customer', 'vendor-id', '--tenant', 'acme', '--customer', customer.id, '--name', 'site uid', 'datto-rmm', 'x');
    expect(badName.code).toBe(1);
    expect(badName.stderr).toBe('specgate: vendor id name "site uid" must match ^[A-Za-z][A-Za-z0-9_.-]{0,63}$\n');

    const foreign = await admin('customer', 'vendor-id', '--tenant', 'acme', '--customer', 'nobody', 'halopsa', 'C-1');
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toBe('specgate: unknown customer "nobody" in tenant "acme"\n');
  });

  it('creates a key shown once that verifies, lists keys without secrets, revokes', async () => {
    const created = await admin('key', 'create', '--tenant', 'acme', '--subject', 'alice', '--roles', 'tech,admin', '--expires', '30d');
    expect(created.code).toBe(0);
    const secret = created.stdout.trim();
    expect(secret).toMatch(/^sg_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toMatch(/shown once/);

    const verified = await withStore((s) => apiKeysRepo(s).verify(secret));
    expect(verified).toMatchObject({ ok: true, key: { tenantId: 'acme', subject: 'alice', roles: ['admin', 'tech'] } });
    if (!verified.ok) throw new Error('unreachable');
    const keyId = verified.key.id;
    const expires = Date.parse(verified.key.expiresAt!);
    expect(Math.abs(expires - Date.now() - 30 * 86_400_000)).toBeLessThan(120_000);

    for (const args of [[], ['--json']]) {
      const list = await admin('key', 'list', '--tenant', 'acme', ...args);
      expect(list.code).toBe(0);
      expect(list.stdout).toContain(keyId);
      expect(list.stdout).toContain('active');
      expect(list.stdout).not.toContain(secret.slice(16));
      expect(list.stdout).not.toMatch(/hash/i);
    }

    expect((await admin('key', 'revoke', '--tenant', 'acme', keyId)).stdout).toBe(`revoked key ${keyId}\n`);
    expect(await withStore((s) => apiKeysRepo(s).verify(secret))).toEqual({ ok: false, reason: 'revoked' });
    expect((await admin('key', 'list', '--tenant', 'acme')).stdout).toMatch(new RegExp(`${keyId}\\s+alice\\s+admin,tech\\s+revoked`));
    const again = await admin('key', 'revoke', '--tenant', 'acme', keyId);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`key "${keyId}" is not an active key of tenant "acme"`);

    const badExpiry = await admin('key', 'create', '--tenant', 'acme', '--subject', 'bob', '--expires', 'soon');
    expect(badExpiry.code).toBe(1);
    expect(badExpiry.stderr).toContain('bad --expires "soon"');
  });

  it('grants, lists and revokes entitlements', async () => {
    expect((await admin('grant', '--tenant', 'acme', 'halopsa')).stdout).toBe('granted halopsa * to tenant acme\n');
    await admin('grant', '--tenant', 'acme', 'hudu', 'hudu_list_*');
    const grants = await admin('grants', '--tenant', 'acme', '--json');
    expect(JSON.parse(grants.stdout)).toEqual([
      { tenantId: 'acme', connector: 'halopsa', toolGlob: '*' },
      { tenantId: 'acme', connector: 'hudu', toolGlob: 'hudu_list_*' },
    ]);
    expect((await admin('revoke-grant', '--tenant', 'acme', 'hudu', 'hudu_list_*')).code).toBe(0);
    expect((await admin('grants', '--tenant', 'acme')).stdout).toBe('CONNECTOR  TOOLS\nhalopsa    *\n');
    const missing = await admin('revoke-grant', '--tenant', 'acme', 'hudu', 'hudu_list_*');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('has no grant hudu hudu_list_*');
  });

  it('sets and lists quotas, refusing a bad period or limit', async () => {
    expect((await admin('quota', 'set', '--tenant', 'acme', '--scope', '*', '--period', 'day', '--limit', '100')).code).toBe(0);
    expect((await admin('quota', 'set', '--tenant', 'acme', '--scope', '*', '--period', 'day', '--limit', '50')).code).toBe(0);
    const list = await admin('quota', 'list', '--tenant', 'acme', '--json');
    expect(JSON.parse(list.stdout)).toEqual([{ tenantId: 'acme', scope: '*', period: 'day', limit: 50 }]);

    const period = await admin('quota', 'set', '--tenant', 'acme', '--scope', '*', '--period', 'week', '--limit', '1');
    expect(period.code).toBe(1);
    expect(period.stderr).toBe('specgate: bad --period "week": use month, day, hour\n');
    const limit = await admin('quota', 'set', '--tenant', 'acme', '--scope', '*', '--period', 'hour', '--limit', '-3');
    expect(limit.code).toBe(1);
    expect(limit.stderr).toContain('bad --limit "-3"');
  });

  it('reports and exports usage for a period', async () => {
    const empty = await admin('usage', '--tenant', 'acme', '--from', '2026-01-01', '--to', '2026-02-01', '--csv');
    expect(empty.code).toBe(0);
    expect(empty.stdout).toBe('call_id,tenant_id,customer_id,subject,connector,tool,outcome,latency_ms,upstream_bytes,units,at\r\n');

    await withStore((s) => usageRepo(s).record({
      callId: 'c1', tenantId: 'acme', subject: 'alice', connector: 'halopsa', tool: 'halopsa_list_tickets',
      outcome: 'ok', latencyMs: 12, upstreamBytes: 300, units: 1, at: '2026-01-15T10:00:00.000Z',
    }));
    const csv = await admin('usage', '--tenant', 'acme', '--from', '2026-01-01', '--to', '2026-02-01', '--csv');
    expect(csv.stdout.split('\r\n')[1]).toBe('c1,acme,,alice,halopsa,halopsa_list_tickets,ok,12,300,1,2026-01-15T10:00:00.000Z');
    const json = await admin('usage', '--tenant', 'acme', '--from', '2026-01-01T00:00', '--to', '2026-01-15T10:00:00Z', '--json');
    expect(JSON.parse(json.stdout)).toEqual([]); // `to` is exclusive
    const table = await admin('usage', '--tenant', 'acme', '--from', '2026-01-01', '--to', '2026-02-01');
    expect(table.stdout).toMatch(/^CUSTOMER\s+CONNECTOR\s+TOOL\s+OUTCOME\s+CALLS[^\n]*\n-\s+halopsa\s+halopsa_list_tickets\s+ok\s+1\s+1\s+300\s+12\n$/);

    const badDate = await admin('usage', '--tenant', 'acme', '--from', '2026-13-45', '--to', '2026-02-01');
    expect(badDate.code).toBe(1);
    expect(badDate.stderr).toContain('bad date for --from: "2026-13-45"');
    const reversed = await admin('usage', '--tenant', 'acme', '--from', '2026-02-01', '--to', '2026-01-01');
    expect(reversed.code).toBe(1);
    expect(reversed.stderr).toContain('must be before --to');

    await withStore(async (s) => {
      for (const [id, day, customer, outcome] of [['c2', '2026-01-15', 'globex', 'error'], ['c3', '2026-01-16', 'globex', 'ok']] as const) {
        await usageRepo(s).record({ callId: id, tenantId: 'acme', customerId: customer, subject: 'alice', connector: 'hudu', tool: 'hudu_list_companies', outcome, latencyMs: 40, upstreamBytes: 10, units: 1, at: `${day}T08:00:00.000Z` });
      }
    });
    const byDay = await admin('usage', '--tenant', 'acme', '--from', '2026-01-01', '--to', '2026-02-01', '--by', 'day');
    expect(byDay.stdout).toMatch(/^PERIOD\s+CALLS\s+UNITS\s+ERRORS\s+REFUSED\s+P95 MS\n2026-01-15\s+2\s+2\s+1\s+0\s+40\n2026-01-16\s+1\s+1\s+0\s+0\s+40\n$/);
    const byConnector = JSON.parse((await admin('usage', '--tenant', 'acme', '--from', '2026-01-01', '--to', '2026-02-01', '--by', 'connector', '--json')).stdout);
    expect(byConnector.rows).toEqual([{ key: 'hudu', calls: 2, units: 2, errors: 1, refused: 0 }, { key: 'halopsa', calls: 1, units: 1, errors: 0, refused: 0 }]);
    // Without dates: this month so far, where January 2026's rows are not.
    const defaults = JSON.parse((await admin('usage', '--tenant', 'acme', '--by', 'customer', '--json')).stdout);
    expect(defaults.from).toBe(new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1)).toISOString());
    expect(defaults.rows).toEqual([]);
    const badGroup = await admin('usage', '--tenant', 'acme', '--by', 'week');
    expect(badGroup.code).toBe(1);
    expect(badGroup.stderr).toContain("argument 'week' is invalid");
  });

  it('audits every change made above in the tenant chain, as the OS user through the CLI', async () => {
    const entries = await withStore((s) => auditRepo(s).search({ tenant: 'acme' }));
    // Refused commands (a duplicate tenant, a bad expiry, a missing grant) changed nothing and left no record.
    expect(entries.map((e) => e.record.action)).toEqual([
      'tenant.create', 'customer.create', 'customer.vendor-id', 'customer.vendor-id', 'key.create', 'key.revoke',
      'grant.create', 'grant.create', 'grant.revoke', 'quota.create', 'quota.replace',
    ]);
    const user = os.userInfo().username;
    for (const e of entries) expect(e.record).toMatchObject({ event: 'admin', subject: `cli:${user}`, via: 'cli' });
    expect(entries[3].record.target).toMatchObject({ name: 'siteUid', vendorId: 'a1b2-c3' });
    expect(entries[4].record.target).toMatchObject({ holder: 'alice', roles: ['admin', 'tech'] });
    expect(JSON.stringify(entries)).not.toMatch(/sg_[0-9a-f]{12}_[A-Za-z0-9_-]{43}/);
  });

  it('verifies the audit chain, searches it, and names the seq where it breaks', async () => {
    const ok = await admin('audit', 'verify');
    expect(ok).toMatchObject({ code: 0, stdout: expect.stringMatching(/^audit ok: \d+ chain\(s\), \d+ entries, \d+ usage rows, 0 valid checkpoint\(s\)\n$/) });

    await withStore(async (s) => {
      const audit = auditRepo(s);
      for (const tool of ['t_a', 't_b', 't_c']) await audit.append('calls', { subject: 'alice', connector: 'halopsa', tool, outcome: 'ok' });
    });
    expect((await admin('audit', 'verify', '--tenant', 'calls')).stdout).toBe('audit ok: 1 chain(s), 3 entries, 0 usage rows, 0 valid checkpoint(s)\n');
    const found = await admin('audit', 'search', '--tenant', 'calls', '--tool', 't_b', '--json');
    expect((JSON.parse(found.stdout) as { seq: number }[]).map((e) => e.seq)).toEqual([2]);
    // A table, newest first by default; paging goes on with --before.
    const text = await admin('audit', 'search', '--tenant', 'calls', '--subject', 'alice', '--limit', '2');
    const lines = text.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^SEQ\s+TIME \(UTC\)\s+OUTCOME\s+SUBJECT\s+CUSTOMER\s+TOOL\s+REASON$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['3', '2']);
    expect(text.stderr).toContain('continue with --before 2');
    const older = await admin('audit', 'search', '--tenant', 'calls', '--subject', 'alice', '--before', '2');
    expect(older.stdout.trim().split('\n').slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['1']);
    const oldest = await admin('audit', 'search', '--tenant', 'calls', '--oldest-first', '--limit', '2', '--json');
    expect((JSON.parse(oldest.stdout) as { seq: number }[]).map((e) => e.seq)).toEqual([1, 2]);
    await withStore(async (s) => {
      await auditRepo(s).append('calls', { subject: 'mallory', tool: 't_a', outcome: 'refused', reason: 'not entitled', arguments: { note: '"outcome":"refused"' } });
      await auditRepo(s).append('calls', { subject: 'alice', tool: 't_a', outcome: 'ok', arguments: { note: '"outcome":"refused"' } });
    });
    const refused = await admin('audit', 'search', '--tenant', 'calls', '--outcome', 'refused', '--json');
    expect((JSON.parse(refused.stdout) as { record: { subject: string } }[]).map((e) => e.record.subject)).toEqual(['mallory']);
    const badOutcome = await admin('audit', 'search', '--tenant', 'calls', '--outcome', "ok' or 1=1");
    expect(badOutcome.code).toBe(1);
    expect(badOutcome.stderr).toContain('bad --outcome');

    await withStore((s) => sql`update audit set record = ${'{"outcome":"error","tool":"t_b"}'} where tenant_id = 'calls' and seq = 2`.execute(s.db));
    const broken = await admin('audit', 'verify');
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/^rewritten: chain calls: entry 2 was rewritten: hash does not match the row contents$/m);
  });

  it('refuses an unknown tenant and a bad store URL with one line and a non-zero exit', async () => {
    for (const args of [['customer', 'list', '--tenant', 'nope'], ['grants', '--tenant', 'nope'], ['quota', 'list', '--tenant', 'nope']]) {
      const r = await admin(...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toBe('specgate: unknown tenant "nope" (see `specgate tenant list`)\n');
    }
    const url = await run(['tenant', 'list', '--store', 'mysql://x']);
    expect(url.code).toBe(1);
    expect(url.stderr).toMatch(/^specgate: store URL "mysql:\/\/x" is not supported/);
    const missing = await admin('key', 'create', '--tenant', 'acme');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("required option '--subject <subject>' not specified");
  });
});
