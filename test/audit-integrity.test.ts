/**
 * Tamper evidence of the audit log and the usage rows against someone who can write to the
 * database: every attack is plain SQL on a real store (SQLite and PostgreSQL), done the way an
 * attacker who read the code would do it (hashes recomputed), and each is caught by the signed
 * checkpoints. Also: key rotation, the checkpoint the runtime writes when it shuts down, the
 * admin API and the CLI's exit codes and messages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Migrator, sql } from 'kysely';
import { initial } from '../runtime/store/migrations/001_initial.ts';
import { credentialKind } from '../runtime/store/migrations/002_credential_kind.ts';
import { adminKeys } from '../runtime/store/migrations/003_admin_keys.ts';
import { rateLimitsApprovals } from '../runtime/store/migrations/004_rate_limits_approvals.ts';
import {
  apiKeysRepo, auditKeysFromKeyring, auditRepo, canonicalJson, checkpointsRepo, createGroupCommit, migrateToLatest, openStore, parseAuditPublicKeys,
  parseCheckpointExport, settingsRepo, tenantsRepo, type AuditKeys, type IntegrityReport, type Store,
} from '../runtime/store/index.ts';
import { parseKeyring } from '../runtime/credentials/keyring.ts';
import { createCallRecorder } from '../runtime/governance/record.ts';
import { ADMIN_PREFIX, startAdminServer } from '../runtime/admin/index.ts';
import { findPostgres, startPostgres, type PgCluster } from './helpers/postgres.ts';
import { HELPDESK_SPEC, governedClient, helpdeskAnswer, serveGoverned } from './helpers/governed.ts';
import { startFaultyUpstream } from './helpers/faulty-upstream.ts';
import { generateInto, root, tempDir } from './helpers/e2e.ts';

const pgAvail = findPostgres();
const seed = () => randomBytes(32).toString('base64');
const A1 = `a1:${seed()}`;
const A2 = `a2:${seed()}`;
const ring = (...entries: string[]): AuditKeys => auditKeysFromKeyring(parseKeyring(entries.join(','), 'test audit keys', 'audit key'));
const keys = ring(A1);
const bin = path.join(root, 'bin', 'specgate.js');
const dir = tempDir('audit-integrity');

/** The attacker's copy of the chain formulas (they are in the open source). */
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const auditHash = (prev: string, r: { tenant_id: string; seq: number; at: string; record: string }) =>
  sha(prev + canonicalJson({ at: r.at, record: JSON.parse(r.record) as unknown, seq: r.seq, tenant: r.tenant_id }));
const usageHash = (prev: string, seq: number, r: Record<string, any>) => sha(prev + canonicalJson({
  at: r.at, callId: r.call_id, connector: r.connector, customer: r.customer_id, latencyMs: r.latency_ms, outcome: r.outcome,
  seq, subject: r.subject, tenant: r.tenant_id, tool: r.tool, units: r.units, upstreamBytes: r.upstream_bytes,
}));

/** Recomputes every link of a tenant's audit chain from genesis, as an attacker covering an edit does. */
async function rechainAudit(store: Store, tenant: string): Promise<void> {
  const rows = await store.db.selectFrom('audit').selectAll().where('tenant_id', '=', tenant).orderBy('seq').execute();
  let prev = '0'.repeat(64);
  for (const r of rows) {
    const hash = auditHash(prev, r);
    await store.db.updateTable('audit').set({ prev_hash: prev, hash }).where('tenant_id', '=', tenant).where('seq', '=', r.seq).execute();
    prev = hash;
  }
}

/** The same for the usage chain, renumbering by the order given (seq, then inserted rows). */
async function rechainUsage(store: Store, tenant: string): Promise<void> {
  const rows = await store.db.selectFrom('usage').selectAll().where('tenant_id', '=', tenant).orderBy('seq').orderBy('call_id').execute();
  await store.db.updateTable('usage').set({ seq: null }).where('tenant_id', '=', tenant).execute();
  let prev = '0'.repeat(64);
  let seq = 0;
  for (const r of rows) {
    seq += 1;
    const hash = usageHash(prev, seq, r);
    await store.db.updateTable('usage').set({ seq, prev_hash: prev, hash }).where('call_id', '=', r.call_id).execute();
    prev = hash;
  }
}

/** `n` governed calls per tenant through the runtime's own recorder: an audit record and a usage row each, in one transaction. */
async function record(store: Store, tenant: string, n: number): Promise<void> {
  const recorder = createCallRecorder(createGroupCommit(store), () => new Date());
  for (let i = 0; i < n; i++) {
    const callId = `${tenant}-${randomBytes(6).toString('hex')}`;
    await recorder.record(
      { tenantId: tenant, callId, requestId: callId, decisionId: 'd', subject: 'alice', keyId: 'k', customer: 'c1', connector: 'helpdesk', tool: 'helpdesk_get_ticket', arguments: { id: i }, outcome: 'ok' },
      { callId, tenantId: tenant, customerId: 'c1', subject: 'alice', connector: 'helpdesk', tool: 'helpdesk_get_ticket', outcome: 'ok', latencyMs: 5, upstreamBytes: 10, units: 1 },
    );
  }
}

const kinds = (r: IntegrityReport) => r.problems.map((p) => `${p.kind} ${p.chain ?? '-'}`);

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, SPECGATE_AUDIT_KEYS: '', SPECGATE_AUDIT_KEYS_FILE: '', ...env } },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }));
  });
}

interface Backend { newUrl(): Promise<string>; teardown(): Promise<void> }
let n = 0;
const backends: [string, boolean, () => Promise<Backend>][] = [
  ['sqlite', true, async () => ({ newUrl: async () => `sqlite:${path.join(dir, `db${n++}.sqlite`)}`, teardown: async () => undefined })],
  [pgAvail.ok ? 'postgres' : `postgres (skipped: ${pgAvail.reason})`, pgAvail.ok, async () => {
    if (!pgAvail.ok) throw new Error(pgAvail.reason);
    const cluster: PgCluster = await startPostgres(pgAvail);
    return { newUrl: () => cluster.createDatabase(), teardown: () => cluster.stop() };
  }],
];

if (!pgAvail.ok && process.env.CI) {
  describe('audit integrity on postgres', () => {
    it('needs PostgreSQL in CI', () => { throw new Error(`audit integrity tests need PostgreSQL in CI: ${pgAvail.reason}`); });
  });
}

let generatedDir: string;
beforeAll(async () => {
  const specFile = path.join(dir, 'helpdesk.yaml');
  fs.writeFileSync(specFile, HELPDESK_SPEC);
  generatedDir = path.join(dir, 'generated');
  await generateInto([specFile], generatedDir);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

for (const [name, available, make] of backends) {
  describe.skipIf(!available)(`audit integrity on ${name}`, () => {
    let backend: Backend;
    const open: Store[] = [];
    /** A fresh store with two tenants' chains (5 calls each) and a checkpoint of both. */
    async function checkpointed(): Promise<{ store: Store; url: string }> {
      const url = await backend.newUrl();
      const store = await openStore(url);
      open.push(store);
      await record(store, 'acme', 5);
      await record(store, 'globex', 5);
      expect(await checkpointsRepo(store).write(keys)).toMatchObject({ written: true, chains: 2, changed: 2 });
      return { store, url };
    }
    beforeAll(async () => { backend = await make(); });
    afterAll(async () => {
      for (const s of open) await s.close();
      await backend?.teardown();
    });

    it('holds for an untouched store, also with calls after the checkpoint, and writes nothing when nothing changed', async () => {
      const { store } = await checkpointed();
      expect(await checkpointsRepo(store).write(keys)).toMatchObject({ written: false, chains: 2 });
      await record(store, 'acme', 2);
      const r = await checkpointsRepo(store).verify({ keys });
      expect(r).toMatchObject({ ok: true, chains: 2, entries: 12, usageRows: 12, checkpoints: 3, problems: [] });
      // Only acme moved: one new chain checkpoint and a new set.
      expect(await checkpointsRepo(store).write(keys)).toMatchObject({ written: true, chains: 2, changed: 1 });
      expect((await checkpointsRepo(store).verify({ keys })).ok).toBe(true);
    });

    it('chains the usage rows stored before migration 005, in time order, so they are covered too', async () => {
      const store = await openStore(await backend.newUrl(), { migrate: false });
      open.push(store);
      const before = { '001_initial': initial, '002_credential_kind': credentialKind, '003_admin_keys': adminKeys, '004_rate_limits_approvals': rateLimitsApprovals };
      await new Migrator({ db: store.db, provider: { getMigrations: async () => before } }).migrateToLatest();
      for (const [callId, at] of [['old-b', '2026-01-02T00:00:00.000Z'], ['old-a', '2026-01-01T00:00:00.000Z']]) {
        await sql`insert into usage (call_id, tenant_id, customer_id, subject, connector, tool, outcome, latency_ms, upstream_bytes, units, at)
          values (${callId}, 'acme', null, 'alice', 'helpdesk', 'helpdesk_get_ticket', 'ok', 1, 2, 1, ${at})`.execute(store.db);
      }
      expect(await migrateToLatest(store.db)).toEqual(['005_audit_checkpoints', '006_named_vendor_ids', '007_settings_version']);
      const rows = await store.db.selectFrom('usage').select(['call_id', 'seq']).orderBy('seq').execute();
      expect(rows).toEqual([{ call_id: 'old-a', seq: 1 }, { call_id: 'old-b', seq: 2 }]);
      await record(store, 'acme', 1);
      await checkpointsRepo(store).write(keys);
      expect(await checkpointsRepo(store).verify({ keys })).toMatchObject({ ok: true, usageRows: 3, entries: 1 });
      await sql`update usage set units = 9 where call_id = 'old-a'`.execute(store.db);
      expect(kinds(await checkpointsRepo(store).verify({ keys }))).toEqual(['usage acme']);
    });

    it('reports a record rewritten with every later hash recomputed', async () => {
      const { store } = await checkpointed();
      await sql`update audit set record = ${canonicalJson({ arguments: { id: 99 }, outcome: 'error', tool: 'helpdesk_get_ticket' })}, subject = null, customer_id = null, connector = null where tenant_id = 'acme' and seq = 2`.execute(store.db);
      await rechainAudit(store, 'acme');
      // The unkeyed chain alone is fooled: that is the attack.
      expect(await auditRepo(store).verify()).toMatchObject({ ok: true });
      const r = await checkpointsRepo(store).verify({ keys });
      expect(kinds(r)).toEqual(['rewritten acme']);
      expect(r.problems[0].message).toMatch(/^chain acme was rewritten: entry 5 no longer has the hash signed in the checkpoint of /);
    });

    it('reports a truncated chain (tail rows deleted)', async () => {
      const { store } = await checkpointed();
      await store.db.deleteFrom('audit').where('tenant_id', '=', 'acme').where('seq', '>', 3).execute();
      expect(await auditRepo(store).verify()).toMatchObject({ ok: true });
      const r = await checkpointsRepo(store).verify({ keys });
      expect(kinds(r)).toEqual(['truncated acme']);
      expect(r.problems[0].message).toBe('chain acme was truncated: it has 3 entries, a checkpoint says 5');
    });

    it("reports a tenant's whole chain deleted, with its usage rows and its own checkpoints", async () => {
      const { store } = await checkpointed();
      await store.db.deleteFrom('audit').where('tenant_id', '=', 'globex').execute();
      await store.db.deleteFrom('usage').where('tenant_id', '=', 'globex').execute();
      await store.db.deleteFrom('audit_checkpoints').where('chain', '=', 'globex').execute();
      expect(await auditRepo(store).verify()).toMatchObject({ ok: true });
      const r = await checkpointsRepo(store).verify({ keys });
      expect(kinds(r)).toEqual(['deleted globex']);
      expect(r.problems[0].message).toMatch(/^chain globex was deleted: the set checkpoint of .* lists it with 5 entries and 5 usage rows$/);
    });

    it('reports a usage row edited (with the usage chain recomputed), deleted, or inserted', async () => {
      const edited = await checkpointed();
      await sql`update usage set units = 0 where tenant_id = 'acme' and seq = 2`.execute(edited.store.db);
      expect(kinds(await checkpointsRepo(edited.store).verify({ keys }))).toEqual(['usage acme']);
      await rechainUsage(edited.store, 'acme');
      const rechained = await checkpointsRepo(edited.store).verify({ keys });
      expect(kinds(rechained)).toEqual(['usage acme']);
      expect(rechained.problems[0].message).toMatch(/^chain acme: usage rows were rewritten: usage row 5 no longer has the hash signed/);

      const deleted = await checkpointed();
      await deleted.store.db.deleteFrom('usage').where('tenant_id', '=', 'acme').where('seq', '=', 5).execute();
      const d = await checkpointsRepo(deleted.store).verify({ keys });
      expect(d.problems.map((p) => p.message)).toEqual(['chain acme: usage rows were deleted: it has 4 usage rows, a checkpoint says 5']);

      const inserted = await checkpointed();
      const row = { call_id: 'forged-call', tenant_id: 'acme', customer_id: 'c1', subject: 'alice', connector: 'helpdesk', tool: 'helpdesk_get_ticket', outcome: 'ok', latency_ms: 1, upstream_bytes: 1, units: 50, at: new Date().toISOString() };
      await inserted.store.db.insertInto('usage').values({ ...row, seq: null, prev_hash: null, hash: null }).execute();
      expect((await checkpointsRepo(inserted.store).verify({ keys })).problems.map((p) => p.message))
        .toEqual(["chain acme: usage row forged-call was inserted outside the tenant's usage chain"]);
      // Slipped in before the checkpointed head and the chain renumbered and recomputed around it.
      await inserted.store.db.updateTable('usage').set({ seq: 0 }).where('call_id', '=', 'forged-call').execute();
      await rechainUsage(inserted.store, 'acme');
      expect(kinds(await checkpointsRepo(inserted.store).verify({ keys }))).toEqual(['usage acme']);
    });

    it('refuses a forged checkpoint (own key, unknown key id, edited payload) and still reports the rewrite it tried to cover', async () => {
      const { store } = await checkpointed();
      await sql`update audit set record = ${canonicalJson({ arguments: {}, outcome: 'ok' })}, subject = null, customer_id = null, connector = null, tool = null where tenant_id = 'acme' and seq = 1`.execute(store.db);
      await rechainAudit(store, 'acme');
      // The attacker signs new checkpoints of the rewritten heads with a key of their own, under the real key id.
      const forger = auditKeysFromKeyring(parseKeyring(`a1:${seed()}`, 'attacker', 'audit key'));
      await checkpointsRepo(store, () => new Date(Date.now() + 60_000)).write(forger);
      // And one under a key id nobody configured, and one valid checkpoint's payload edited.
      const { privateKey } = generateKeyPairSync('ed25519');
      const [latest] = await store.db.selectFrom('audit_checkpoints').selectAll().where('chain', '=', 'globex').execute();
      await store.db.insertInto('audit_checkpoints').values({ ...latest, id: 'forged-2', key_id: 'zz', signature: sign(null, Buffer.from(latest.payload), privateKey).toString('base64') }).execute();
      const edited = await store.db.selectFrom('audit_checkpoints').selectAll().where('chain', '=', 'globex').where('key_id', '=', 'a1').orderBy('at').execute();
      await store.db.updateTable('audit_checkpoints').set({ payload: edited[0].payload.replace(/"seq":5/, '"seq":4') }).where('id', '=', edited[0].id).execute();

      const r = await checkpointsRepo(store).verify({ keys });
      const messages = r.problems.map((p) => `${p.kind}: ${p.message}`);
      expect(messages.filter((m) => m.startsWith('signature: ') && /has a bad signature: forged or edited$/.test(m))).toHaveLength(4);
      expect(messages).toContain(`signature: checkpoint forged-2 of chain globex (${latest.at}) is signed with unknown key id "zz": forged, or signed with a key no longer configured`);
      expect(kinds(r)).toContain('rewritten acme');
      expect(r.ok).toBe(false);
    });

    it('verifies old checkpoints after the key is rotated, and names the key id when the old key is dropped', async () => {
      const { store } = await checkpointed();
      const rotated = ring(A2, A1);
      await record(store, 'acme', 1);
      await checkpointsRepo(store).write(rotated);
      const signers = (await store.db.selectFrom('audit_checkpoints').select('key_id').execute()).map((r) => r.key_id);
      expect(new Set(signers)).toEqual(new Set(['a1', 'a2']));
      expect(await checkpointsRepo(store).verify({ keys: rotated })).toMatchObject({ ok: true, checkpoints: 5 });
      // Verification with the public halves only: what an external auditor holds.
      const publicOnly = parseAuditPublicKeys(rotated.publicEntries().join('\n'), 'auditor keys');
      expect(publicOnly.signer).toBeUndefined();
      expect(await checkpointsRepo(store).verify({ keys: publicOnly })).toMatchObject({ ok: true, checkpoints: 5 });
      const dropped = await checkpointsRepo(store).verify({ keys: ring(A2) });
      expect(dropped.ok).toBe(false);
      const refused = dropped.problems.filter((p) => p.kind === 'signature');
      expect(refused).toHaveLength(3);
      expect(refused.every((p) => p.message.includes('unknown key id "a1"'))).toBe(true);
    });

    it('detects a rollback (newest checkpoints deleted, chain cut back to an older one) only against the exported copy', async () => {
      const { store } = await checkpointed();
      await record(store, 'acme', 3);
      await checkpointsRepo(store, () => new Date(Date.now() + 60_000)).write(keys);
      const exported = parseCheckpointExport((await checkpointsRepo(store).list()).map((c) => JSON.stringify(c)).join('\n'), 'export.jsonl');
      const newest = exported.filter((c) => c.at > exported[0].at).map((c) => c.id);
      expect(newest).toHaveLength(2);
      await store.db.deleteFrom('audit_checkpoints').where('id', 'in', newest).execute();
      await store.db.deleteFrom('audit').where('tenant_id', '=', 'acme').where('seq', '>', 5).execute();
      await store.db.deleteFrom('usage').where('tenant_id', '=', 'acme').where('seq', '>', 5).execute();
      const storeOnly = await checkpointsRepo(store).verify({ keys });
      expect(storeOnly.ok).toBe(true);
      expect(storeOnly.warnings.join('\n')).toContain('a rollback (newest checkpoints deleted) is detected only with --checkpoints');
      const r = await checkpointsRepo(store).verify({ keys, external: exported });
      expect(kinds(r).sort()).toEqual(['rollback acme', 'rollback -', 'truncated acme', 'usage acme'].sort());
      expect(r.problems.find((p) => p.kind === 'rollback')!.message).toMatch(/in the exported copy was deleted from the store: the checkpoints were rolled back$/);
    });

    it('writes a checkpoint when a real runtime shuts down gracefully (keys from SPECGATE_AUDIT_KEYS)', async () => {
      const url = await backend.newUrl();
      const store = await openStore(url);
      open.push(store);
      const tenants = tenantsRepo(store);
      await tenants.createTenant({ id: 'msp-a', name: 'MSP A' });
      await tenants.createCustomer({ id: 'contoso', tenantId: 'msp-a', name: 'Contoso' });
      await tenants.setVendorId('contoso', 'helpdesk', '4242');
      await settingsRepo(store).grant('msp-a', 'helpdesk', '*');
      const { key } = await apiKeysRepo(store).create({ tenantId: 'msp-a', subject: 'alice', roles: ['technician'] });
      const up = await startFaultyUpstream({ answer: helpdeskAnswer });
      const saved = process.env.SPECGATE_AUDIT_KEYS;
      process.env.SPECGATE_AUDIT_KEYS = A1;
      try {
        const { app, url: mcp } = await serveGoverned(store, { generatedDir, upstreamConfig: { helpdesk: { baseUrl: up.url } } });
        const client = await governedClient(mcp, { authorization: `Bearer ${key}`, 'specgate-customer': 'contoso' });
        for (const id of [1, 2, 3]) expect((await client.callTool({ name: 'helpdesk_get_ticket', arguments: { id } })).isError).toBeFalsy();
        await client.close();
        expect(await store.db.selectFrom('audit_checkpoints').selectAll().execute()).toEqual([]);
        await app.shutdown();
      } finally {
        if (saved === undefined) delete process.env.SPECGATE_AUDIT_KEYS; else process.env.SPECGATE_AUDIT_KEYS = saved;
        await up.close();
      }
      const audited = await store.db.selectFrom('audit').select('seq').where('tenant_id', '=', 'msp-a').execute();
      const usage = await store.db.selectFrom('usage').select('seq').where('tenant_id', '=', 'msp-a').execute();
      expect(audited.length).toBeGreaterThanOrEqual(3);
      expect(usage).toHaveLength(3);
      const cps = await checkpointsRepo(store).list('msp-a');
      const chain = cps.find((c) => c.kind === 'chain')!;
      expect(JSON.parse(chain.payload)).toMatchObject({ chain: 'msp-a', seq: audited.length, usageSeq: 3 });
      expect(cps.some((c) => c.kind === 'set')).toBe(true);
      expect(await checkpointsRepo(store).verify({ keys })).toMatchObject({ ok: true, problems: [] });
    });

    it('answers audit verify on the admin API: global for every chain, tenant-scoped for its own', async () => {
      const { store } = await checkpointed();
      await store.db.deleteFrom('audit').where('tenant_id', '=', 'acme').where('seq', '>', 2).execute();
      const admin = await startAdminServer({ store, port: 0, adminToken: 'admin-token-for-audit-tests', auditKeys: keys });
      try {
        const a = admin.server.address();
        const base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}${ADMIN_PREFIX}`;
        const get = (route: string) => fetch(`${base}${route}`, { headers: { authorization: 'Bearer admin-token-for-audit-tests' } });
        const all = await get('/audit/verify');
        expect(all.status).toBe(200);
        const body = await all.json() as IntegrityReport;
        expect(body).toMatchObject({ ok: false, chains: 2 });
        expect(kinds(body)).toEqual(['truncated acme']);
        const globex = await (await get('/tenants/globex/audit/verify')).json() as IntegrityReport;
        expect(globex).toMatchObject({ ok: true, chains: 1, entries: 5, usageRows: 5 });
      } finally {
        await admin.close();
      }
    });

    it('the CLI: checkpoint, verify, export-checkpoints, verify --checkpoints and --public-keys, with exit codes and one line per problem', async () => {
      const url = await backend.newUrl();
      const store = await openStore(url);
      open.push(store);
      await record(store, 'acme', 3);
      await record(store, 'globex', 2);
      const noKey = await cli(['audit', 'checkpoint', '--store', url]);
      expect(noKey.code).toBe(1);
      expect(noKey.stderr).toContain('no audit signing key: set SPECGATE_AUDIT_KEYS=');
      const made = await cli(['audit', 'checkpoint', '--store', url], { SPECGATE_AUDIT_KEYS: A1 });
      expect(made).toMatchObject({ code: 0, stdout: expect.stringMatching(/^audit checkpoint written: set \S+, 2 chain\(s\), 2 with new entries \(key a1\)\n$/) });
      const out = path.join(dir, `export-${name}.jsonl`);
      const exported = await cli(['audit', 'export-checkpoints', '--store', url, '--out', out]);
      expect(exported.code).toBe(0);
      expect(fs.readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(3);
      const pubFile = path.join(dir, `public-${name}.txt`);
      fs.writeFileSync(pubFile, keys.publicEntries().join('\n'));

      await rechainAfterEdit(store);
      await store.db.deleteFrom('audit').where('tenant_id', '=', 'globex').execute();
      await store.db.deleteFrom('audit_checkpoints').execute();
      // Against the store alone the checkpoints are gone too; against the exported copy nothing is hidden.
      const r = await cli(['audit', 'verify', '--store', url, '--checkpoints', out, '--public-keys', pubFile]);
      expect(r.code).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toEqual(expect.arrayContaining([
        expect.stringMatching(/^rewritten: chain acme was rewritten: entry 3 /),
        expect.stringMatching(/^deleted: chain globex was deleted: it has no entries, a checkpoint says 2$/),
        expect.stringMatching(/^rollback: checkpoint \S+ \(.*\) in the exported copy was deleted from the store/),
        expect.stringMatching(/^audit verify failed: \d+ problem\(s\); 2 chain\(s\)/),
      ]));
      const forgedKey = await cli(['audit', 'verify', '--store', url, '--checkpoints', out], { SPECGATE_AUDIT_KEYS: A2 });
      expect(forgedKey.code).toBe(1);
      expect(forgedKey.stderr).toMatch(/^signature: checkpoint \S+ .* is signed with unknown key id "a1"/m);
    });
  });
}

/** Edits acme's first record and recomputes its chain. */
async function rechainAfterEdit(store: Store): Promise<void> {
  await sql`update audit set record = ${canonicalJson({ arguments: {}, outcome: 'ok' })}, subject = null, customer_id = null, connector = null, tool = null where tenant_id = 'acme' and seq = 1`.execute(store.db);
  await rechainAudit(store, 'acme');
}
