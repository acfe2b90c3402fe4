// Every storage behaviour runs against both backends: SQLite in a temp file and PostgreSQL.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiKeysRepo, approvalsRepo, auditRepo, migrateToLatest, migrationNames, openStore, quotaRepo, settingsRepo, tenantsRepo, usageRepo, type Store,
} from '../runtime/store/index.ts';
import { findPostgres, startPostgres, type PgCluster } from './helpers/postgres.ts';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pgAvail = findPostgres();

interface Backend { newUrl(): Promise<string>; teardown(): Promise<void> }

function sqliteBackend(): Backend {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'specgate-store-'));
  let n = 0;
  return { newUrl: async () => `sqlite:${path.join(dir, `db${n++}.sqlite`)}`, teardown: async () => fs.rmSync(dir, { recursive: true, force: true }) };
}

async function postgresBackend(): Promise<Backend> {
  if (!pgAvail.ok) throw new Error(pgAvail.reason);
  const cluster: PgCluster = await startPostgres(pgAvail);
  return { newUrl: () => cluster.createDatabase(), teardown: () => cluster.stop() };
}

describe('openStore', () => {
  it('refuses an unsupported URL, naming it', async () => {
    await expect(openStore('mysql://x/y')).rejects.toThrow(/store URL "mysql:\/\/x\/y" is not supported/);
    await expect(openStore('sqlite:')).rejects.toThrow(/names no file/);
  });
  it('opens an in-memory SQLite database and migrates it', async () => {
    const s = await openStore('sqlite::memory:');
    expect(await s.db.selectFrom('tenants').selectAll().execute()).toEqual([]);
    await s.close();
  });
});

if (!pgAvail.ok && process.env.CI) {
  describe('store on postgres', () => {
    it('needs PostgreSQL in CI', () => { throw new Error(`store tests need PostgreSQL in CI: ${pgAvail.reason}`); });
  });
}

const backends: [string, boolean, () => Backend | Promise<Backend>][] = [
  ['sqlite', true, sqliteBackend],
  [pgAvail.ok ? 'postgres' : `postgres (skipped: ${pgAvail.reason})`, pgAvail.ok, postgresBackend],
];

for (const [name, available, make] of backends) {
  describe.skipIf(!available)(`store on ${name}`, () => {
    let backend: Backend;
    let url: string;
    let store: Store;
    const others: Store[] = [];
    const second = async () => { const s = await openStore(url); others.push(s); return s; };

    beforeAll(async () => {
      backend = await make();
      url = await backend.newUrl();
      store = await openStore(url);
      await tenantsRepo(store).createTenant({ id: 't1', name: 'Tenant One' });
      await tenantsRepo(store).createTenant({ id: 't2', name: 'Tenant Two' });
    });
    afterAll(async () => {
      for (const s of others) await s.close();
      await store?.close();
      await backend?.teardown();
    });

    it('migrations are applied once and are idempotent', async () => {
      expect(store.dialect).toBe(name === 'sqlite' ? 'sqlite' : 'postgres');
      expect(await migrateToLatest(store.db)).toEqual([]);
      const applied = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(store.db);
      expect(applied.rows.map((r) => r.name)).toEqual(migrationNames);
      for (const t of ['tenants', 'customers', 'customer_vendor_ids', 'api_keys', 'credentials', 'entitlements', 'quotas', 'quota_counters', 'usage', 'audit'] as const) {
        await expect(store.db.selectFrom(t).selectAll().execute()).resolves.toBeInstanceOf(Array);
      }
    });

    if (name === 'sqlite') it('sqlite runs in WAL mode with full sync and a busy timeout', async () => {
      const pragma = async (p: string) => Object.values((await sql.raw(`pragma ${p}`).execute(store.db)).rows[0] as object)[0];
      expect(await pragma('journal_mode')).toBe('wal');
      expect(await pragma('synchronous')).toBe(2); // FULL: each commit is fsynced before it returns
      expect(await pragma('busy_timeout')).toBe(5000);
      expect(await pragma('foreign_keys')).toBe(1);
    });

    it('tenants, customers and vendor ids, scoped per tenant', async () => {
      const repo = tenantsRepo(store);
      const c = await repo.createCustomer({ tenantId: 't1', name: 'Acme' });
      await repo.createCustomer({ tenantId: 't2', name: 'Other' });
      await repo.setVendorId(c.id, 'halopsa', '42');
      await repo.setVendorId(c.id, 'halopsa', '43'); // replaces
      expect(await repo.listVendorIds('t1', c.id)).toEqual([{ connector: 'halopsa', vendorId: '43' }]);
      expect(await repo.listVendorIds('t2', c.id)).toEqual([]);
      expect(await repo.customerByVendorId('t1', 'halopsa', '43')).toBe(c.id);
      expect(await repo.customerByVendorId('t2', 'halopsa', '43')).toBeUndefined();
      expect((await repo.listCustomers('t1')).map((x) => x.name)).toContain('Acme');
      expect((await repo.listCustomers('t2')).map((x) => x.name)).not.toContain('Acme');
      expect((await repo.listTenants()).map((t) => t.id)).toEqual(['t1', 't2']);
      await expect(repo.createCustomer({ tenantId: 'nope', name: 'x' })).rejects.toThrow();
      await expect(repo.createTenant({ name: ' ' })).rejects.toThrow(/tenant name must be a non-empty string/);
    });

    it('named vendor ids: several per customer and connector, each replaced on its own, the unnamed one apart', async () => {
      const repo = tenantsRepo(store);
      const c = await repo.createCustomer({ tenantId: 't1', name: 'Named' });
      await repo.setVendorId(c.id, 'datto-rmm', 'uid-old', 'siteUid');
      await repo.setVendorId(c.id, 'datto-rmm', '9001', 'siteId');
      await repo.setVendorId(c.id, 'datto-rmm', 'uid-7', 'siteUid'); // replaces only siteUid
      await repo.setVendorId(c.id, 'datto-rmm', 'default-1');
      expect(await repo.listVendorIds('t1', c.id)).toEqual([
        { connector: 'datto-rmm', vendorId: 'default-1' },
        { connector: 'datto-rmm', vendorId: '9001', name: 'siteId' },
        { connector: 'datto-rmm', vendorId: 'uid-7', name: 'siteUid' },
      ]);
      expect(await repo.listVendorIds('t2', c.id)).toEqual([]);
      // The reverse lookup reads unnamed ids only: a named id is not "the customer's id".
      expect(await repo.customerByVendorId('t1', 'datto-rmm', 'uid-7')).toBeUndefined();
      expect(await repo.customerByVendorId('t1', 'datto-rmm', 'default-1')).toBe(c.id);
      await expect(repo.setVendorId(c.id, 'datto-rmm', 'x', 'site uid')).rejects.toThrow('vendor id name "site uid" must match ^[A-Za-z][A-Za-z0-9_.-]{0,63}$');
    });

    it('api keys: plaintext once, hash at rest, verify, revoke, expire', async () => {
      let clock = new Date('2026-01-01T00:00:00Z');
      const keys = apiKeysRepo(store, { pepper: 'pep', now: () => clock });
      const { key, info } = await keys.create({ tenantId: 't1', subject: 'alice', roles: ['tech', 'admin'], expiresAt: new Date('2026-02-01T00:00:00Z') });
      expect(key).toMatch(/^sg_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
      const row = await store.db.selectFrom('api_keys').selectAll().where('id', '=', info.id).executeTakeFirstOrThrow();
      expect(JSON.stringify(row)).not.toContain(key.split('_').slice(2).join('_'));
      const ok = await keys.verify(key);
      expect(ok).toMatchObject({ ok: true, key: { tenantId: 't1', subject: 'alice', roles: ['admin', 'tech'] } });
      // Same prefix, different secret; different pepper; garbage.
      expect(await keys.verify(key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A'))).toEqual({ ok: false, reason: 'unknown' });
      expect(await apiKeysRepo(store, { pepper: 'other' }).verify(key)).toEqual({ ok: false, reason: 'unknown' });
      expect(await keys.verify('Bearer nonsense')).toEqual({ ok: false, reason: 'malformed' });
      clock = new Date('2026-02-01T00:00:00Z');
      expect(await keys.verify(key)).toEqual({ ok: false, reason: 'expired' });
      clock = new Date('2026-01-15T00:00:00Z');
      expect(await keys.revoke('t2', info.id)).toBe(false); // another tenant cannot revoke it
      expect(await keys.revoke('t1', info.id)).toBe(true);
      expect(await keys.revoke('t1', info.id)).toBe(false);
      expect(await keys.verify(key)).toEqual({ ok: false, reason: 'revoked' });
      expect((await keys.list('t1')).map((k) => k.revokedAt)).toEqual(['2026-01-15T00:00:00.000Z']);
    });

    it('quota: two instances hammering one counter never exceed the limit', async () => {
      const [a, b] = [quotaRepo(store), quotaRepo(await second())];
      const attempts = Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).consume('t1', 'halopsa', '2026-01-01', 50));
      const results = await Promise.all(attempts);
      expect(results.filter((r) => r.ok)).toHaveLength(50);
      expect(results.filter((r) => r.ok).map((r) => r.used).sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(await a.used('t1', 'halopsa', '2026-01-01')).toBe(50);
      expect(await a.consume('t1', 'halopsa', '2026-01-01', 50)).toEqual({ ok: false, used: 50 });
      // Other periods and tenants are separate counters; n larger than what is left is refused whole.
      expect(await a.consume('t2', 'halopsa', '2026-01-01', 50, 10)).toEqual({ ok: true, used: 10 });
      expect(await a.consume('t2', 'halopsa', '2026-01-01', 50, 41)).toEqual({ ok: false, used: 10 });
      expect(await a.consume('t2', 'halopsa', '2026-01-01', 5, 6)).toEqual({ ok: false, used: 10 });
      expect(await a.consume('t1', 'halopsa', '2026-02-01', 50)).toEqual({ ok: true, used: 1 });
      await expect(a.consume('t1', 'x', 'p', 5, 0)).rejects.toThrow(/positive integer/);
      await a.setQuota({ tenantId: 't1', scope: '*', period: 'month', limit: 100 });
      await a.setQuota({ tenantId: 't1', scope: '*', period: 'month', limit: 200 });
      expect(await a.listQuotas('t1')).toEqual([{ tenantId: 't1', scope: '*', period: 'month', limit: 200 }]);
    });

    it('usage: one record per call id, report and CSV export', async () => {
      const usage = usageRepo(store);
      const base = { tenantId: 't1', customerId: 'c1', subject: 'alice', connector: 'hudu', tool: 'list_companies', outcome: 'ok', latencyMs: 12, upstreamBytes: 300, units: 1 };
      expect(await usage.record({ ...base, callId: 'call-1', at: '2026-03-01T10:00:00.000Z' })).toEqual({ inserted: true });
      expect(await usage.record({ ...base, callId: 'call-1', at: '2026-03-01T10:00:05.000Z', units: 9 })).toEqual({ inserted: false });
      const other = usageRepo(await second());
      expect(await other.record({ ...base, callId: 'call-1' })).toEqual({ inserted: false });
      await usage.record({ ...base, callId: 'call-2', at: '2026-03-02T10:00:00.000Z', latencyMs: 8, customerId: 'c2' });
      await usage.record({ ...base, callId: 'call-3', at: '2026-03-03T10:00:00.000Z', outcome: 'error', tool: 'get, "odd"' });
      await usage.record({ ...base, callId: 'call-4', at: '2026-04-01T00:00:00.000Z' }); // outside the window
      await usage.record({ ...base, callId: 'call-5', tenantId: 't2', at: '2026-03-01T10:00:00.000Z' });
      const rows = await store.db.selectFrom('usage').selectAll().where('call_id', '=', 'call-1').execute();
      expect(rows).toHaveLength(1);
      expect(rows[0].units).toBe(1);
      expect(await usage.report('t1', '2026-03-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z')).toEqual([
        { customerId: 'c1', connector: 'hudu', tool: 'get, "odd"', outcome: 'error', calls: 1, units: 1, upstreamBytes: 300, latencyMsTotal: 12 },
        { customerId: 'c1', connector: 'hudu', tool: 'list_companies', outcome: 'ok', calls: 1, units: 1, upstreamBytes: 300, latencyMsTotal: 12 },
        { customerId: 'c2', connector: 'hudu', tool: 'list_companies', outcome: 'ok', calls: 1, units: 1, upstreamBytes: 300, latencyMsTotal: 8 },
      ]);
      const csv = await usage.exportCsv('t1', '2026-03-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z');
      expect(csv.split('\r\n')).toEqual([
        'call_id,tenant_id,customer_id,subject,connector,tool,outcome,latency_ms,upstream_bytes,units,at',
        'call-1,t1,c1,alice,hudu,list_companies,ok,12,300,1,2026-03-01T10:00:00.000Z',
        'call-2,t1,c2,alice,hudu,list_companies,ok,8,300,1,2026-03-02T10:00:00.000Z',
        'call-3,t1,c1,alice,hudu,"get, ""odd""",error,12,300,1,2026-03-03T10:00:00.000Z',
        '',
      ]);
      await expect(usage.record({ ...base, callId: 'bad', latencyMs: -1 })).rejects.toThrow(/usage record bad: latencyMs must be a non-negative integer/);
    });

    it('audit: hash chain append, verify, tamper detection', async () => {
      let t = Date.parse('2026-05-01T00:00:00Z');
      const audit = auditRepo(store, () => new Date((t += 1000)));
      const e1 = await audit.append('t1', { subject: 'alice', customer: 'c1', connector: 'hudu', tool: 'list_companies', outcome: 'ok', args: { b: 1, a: 2 } });
      const e2 = await audit.append('t1', { subject: 'bob', customer: 'c2', connector: 'halopsa', tool: 'list_tickets', outcome: 'denied' });
      await audit.append('t2', { subject: 'carol', tool: 'list_tickets' });
      const e3 = await audit.append('t1', { subject: 'alice', customer: 'c2', connector: 'halopsa', tool: 'list_tickets', outcome: 'ok' });
      expect([e1.seq, e2.seq, e3.seq]).toEqual([1, 2, 3]);
      expect(e1.prevHash).toBe('0'.repeat(64));
      expect(e2.prevHash).toBe(e1.hash);
      expect(e3.prevHash).toBe(e2.hash);
      expect(await audit.verify('t1')).toEqual({ ok: true, checked: 3 });
      expect(await audit.verify()).toEqual({ ok: true, checked: 4 });

      // Search filters.
      const seqs = async (q: Parameters<typeof audit.search>[0]) => (await audit.search(q)).map((e) => e.seq);
      expect(await seqs({ tenant: 't1' })).toEqual([1, 2, 3]);
      expect(await seqs({ tenant: 't1', subject: 'alice' })).toEqual([1, 3]);
      expect(await seqs({ tenant: 't1', customer: 'c2' })).toEqual([2, 3]);
      expect(await seqs({ tenant: 't1', tool: 'list_tickets', subject: 'alice' })).toEqual([3]);
      expect(await seqs({ tenant: 't1', connector: 'hudu' })).toEqual([1]);
      expect(await seqs({ tenant: 't1', from: e2.at, to: e3.at })).toEqual([2]);
      expect(await seqs({ tenant: 't2', subject: 'alice' })).toEqual([]);
      expect(await seqs({ tenant: 't1', afterSeq: 1, limit: 1 })).toEqual([2]);
      expect((await audit.search({ tenant: 't1', subject: 'alice' }))[0].record).toEqual({ subject: 'alice', customer: 'c1', connector: 'hudu', tool: 'list_companies', outcome: 'ok', args: { a: 2, b: 1 } });

      // Tampering with a record, a time or an indexed column is reported at that seq.
      const original = await store.db.selectFrom('audit').selectAll().where('tenant_id', '=', 't1').where('seq', '=', 2).executeTakeFirstOrThrow();
      await store.db.updateTable('audit').set({ record: original.record.replace('denied', 'ok') }).where('tenant_id', '=', 't1').where('seq', '=', 2).execute();
      expect(await audit.verify('t1')).toMatchObject({ ok: false, tenantId: 't1', seq: 2, reason: 'hash does not match the row contents' });
      expect(await audit.verify()).toMatchObject({ ok: false, tenantId: 't1', seq: 2 });
      await store.db.updateTable('audit').set({ record: original.record }).where('tenant_id', '=', 't1').where('seq', '=', 2).execute();
      expect(await audit.verify('t1')).toMatchObject({ ok: true });
      await store.db.updateTable('audit').set({ subject: 'mallory' }).where('tenant_id', '=', 't1').where('seq', '=', 1).execute();
      expect(await audit.verify('t1')).toMatchObject({ ok: false, seq: 1, reason: 'indexed column subject does not match the record' });
      await store.db.updateTable('audit').set({ subject: 'alice' }).where('tenant_id', '=', 't1').where('seq', '=', 1).execute();
      await store.db.deleteFrom('audit').where('tenant_id', '=', 't1').where('seq', '=', 2).execute();
      expect(await audit.verify('t1')).toMatchObject({ ok: false, seq: 2, reason: 'seq 2 is missing (next stored seq is 3)' });
      expect(await audit.verify('t2')).toEqual({ ok: true, checked: 1 });
    });

    it('audit: two runtime processes appending concurrently keep one unbroken chain', async () => {
      const worker = `
        const { openStore, auditRepo } = await import(${JSON.stringify(path.join(projectRoot, 'runtime/store/index.ts'))});
        const s = await openStore(process.argv[1]);
        const a = auditRepo(s);
        await Promise.all(Array.from({ length: 20 }, (_, i) => a.append('t-race', { subject: process.argv[2], i })));
        await s.close();`;
      const run = (who: string) => promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', worker, url, who], { cwd: projectRoot });
      await Promise.all([run('w1'), run('w2')]);
      const audit = auditRepo(store);
      expect(await audit.verify('t-race')).toEqual({ ok: true, checked: 40 });
      const entries = await audit.search({ tenant: 't-race' });
      expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      expect(entries.filter((e) => e.record.subject === 'w1')).toHaveLength(20);
    });

    it('approvals: a status filter and a limit count matching requests only, expiry included', async () => {
      let clock = new Date('2026-03-01T00:00:00Z');
      const approvals = approvalsRepo(store, { now: () => clock, ttlMs: 3600_000 });
      const ask = (i: number) => approvals.request({
        tenantId: 't2', subject: 'tech', customerId: null, connector: 'hudu', tool: 'hudu_get_password',
        argumentsHash: `h${i}`, arguments: { id: i }, decisionId: `d${i}`, reason: 'risk tier high',
      });
      // Three requests that will have expired, one denied, then two still pending.
      const old = [];
      for (let i = 0; i < 4; i++) old.push(await ask(i));
      await approvals.decide(old[3].id, { approve: false, by: 'lead' });
      clock = new Date('2026-03-01T02:00:00Z');
      const fresh = [await ask(10), await ask(11)];
      expect((await approvals.list({ tenantId: 't2', status: 'pending', limit: 2 })).map((a) => a.id)).toEqual(fresh.map((a) => a.id));
      expect((await approvals.list({ tenantId: 't2', status: 'expired', limit: 2 })).map((a) => [a.id, a.status])).toEqual(old.slice(0, 2).map((a) => [a.id, 'expired']));
      expect((await approvals.list({ tenantId: 't2', status: 'denied' })).map((a) => a.id)).toEqual([old[3].id]);
      expect(await approvals.list({ tenantId: 't2', status: 'used' })).toEqual([]);
      expect(await approvals.list({ tenantId: 't1' })).toEqual([]);
      expect(await approvals.list({ tenantId: 't2' })).toHaveLength(6);
    });
    it('credentials and entitlements', async () => {
      const settings = settingsRepo(store);
      await settings.putCredential('t1', 'hudu', 'blob-1', 'k1');
      await settings.putCredential('t1', 'hudu', 'blob-2', 'k2');
      expect(await settings.getCredential('t1', 'hudu')).toMatchObject({ ciphertext: 'blob-2', keyId: 'k2' });
      expect(await settings.getCredential('t2', 'hudu')).toBeUndefined();
      await settings.grant('t1', 'hudu', 'list_*');
      await settings.grant('t1', 'hudu', 'list_*');
      await settings.grant('t1', 'halopsa', '*');
      expect((await settings.entitlements('t1')).map((e) => `${e.connector}:${e.toolGlob}`)).toEqual(['halopsa:*', 'hudu:list_*']);
      await settings.revokeGrant('t1', 'halopsa', '*');
      expect(await settings.entitlements('t1')).toEqual([{ tenantId: 't1', connector: 'hudu', toolGlob: 'list_*' }]);
    });
  });
}
