/**
 * The audit record against someone with write access to the database. After a graceful stop
 * (which writes a signed checkpoint of each chain's head under SPECGATE_AUDIT_KEYS), each
 * tampering is done on its own copy of the store with direct SQL: rewrite a record and recompute
 * every later hash exactly as the store computes them, delete the tail of a chain, delete a
 * tenant's whole chain, edit a usage row. Holds when `specgate audit verify` exits non-zero on
 * each copy (and 0 on the untouched store, the control). Stops the server: play it last.
 */
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { canonicalJson, sha256Hex } from '../../runtime/store/canonical.ts';
import { openStore, type Store } from '../../runtime/store/index.ts';
import { type Deployment, TENANT_A, TENANT_B } from '../deployment.ts';
import { OWASP, probe, type Attack, type Finding } from '../types.ts';

/** The chain hash as the store computes it (runtime/store/repos/audit.ts). */
const chainHash = (prevHash: string, tenant: string, seq: number, at: string, record: unknown) =>
  sha256Hex(prevHash + canonicalJson({ at, record, seq, tenant }));

/** A copy of the store to tamper with; returns its URL. */
async function copyStore(d: Deployment, name: string): Promise<string> {
  if (d.kind === 'sqlite') {
    const file = d.storeUrl.slice('sqlite:'.length);
    const copy = path.join(d.dir, `tamper-${name}.db`);
    for (const suffix of ['', '-wal']) if (fs.existsSync(file + suffix)) fs.copyFileSync(file + suffix, copy + suffix);
    return `sqlite:${copy}`;
  }
  const url = new URL(d.storeUrl);
  const source = url.pathname.slice(1);
  const target = `${source}_t_${name.replace(/[^a-z0-9]/g, '_')}`;
  const admin = new URL(d.storeUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try { await client.query(`create database ${target} template ${source}`); } finally { await client.end(); }
  url.pathname = `/${target}`;
  return url.toString();
}

async function withStore<T>(url: string, fn: (s: Store) => Promise<T>): Promise<T> {
  const s = await openStore(url, { migrate: false, poolSize: 1 });
  try { return await fn(s); } finally { await s.close(); }
}

const TAMPERS: Array<{ id: string; tried: string; apply(s: Store): Promise<string> }> = [
  {
    id: 'rewrite-and-rehash', tried: "rewrite one of tenant A's audit records (a refusal made to look served) and recompute every later hash",
    async apply(s) {
      const rows = await s.db.selectFrom('audit').selectAll().where('tenant_id', '=', TENANT_A).orderBy('seq').execute();
      const target = rows.find((r) => JSON.parse(r.record).outcome === 'refused') ?? rows[Math.floor(rows.length / 2)];
      let prev = rows[rows.indexOf(target) - 1]?.hash ?? '0'.repeat(64);
      for (const row of rows.slice(rows.indexOf(target))) {
        const record = JSON.parse(row.record) as Record<string, unknown>;
        if (row === target) { record.outcome = 'ok'; delete record.code; delete record.reason; delete record.step; }
        const text = canonicalJson(record);
        const hash = chainHash(prev, row.tenant_id, Number(row.seq), row.at, JSON.parse(text));
        await s.db.updateTable('audit').set({ record: text, prev_hash: prev, hash }).where('tenant_id', '=', row.tenant_id).where('seq', '=', row.seq).execute();
        prev = hash;
      }
      return `seq ${target.seq} of ${rows.length} rewritten, ${rows.length - rows.indexOf(target)} hashes recomputed`;
    },
  },
  {
    id: 'truncate-tail', tried: "delete the last 3 records of tenant A's chain",
    async apply(s) {
      const head = await s.db.selectFrom('audit').select(sql<number>`max(seq)`.as('m')).where('tenant_id', '=', TENANT_A).executeTakeFirstOrThrow();
      await s.db.deleteFrom('audit').where('tenant_id', '=', TENANT_A).where('seq', '>', Number(head.m) - 3).execute();
      return `seq ${Number(head.m) - 2}..${head.m} deleted`;
    },
  },
  {
    id: 'delete-chain', tried: "delete tenant B's whole audit chain",
    async apply(s) {
      const r = await s.db.deleteFrom('audit').where('tenant_id', '=', TENANT_B).executeTakeFirst();
      return `${r.numDeletedRows} records deleted`;
    },
  },
  {
    id: 'edit-usage', tried: "edit one of tenant A's usage rows (units and outcome)",
    async apply(s) {
      const row = await s.db.selectFrom('usage').selectAll().where('tenant_id', '=', TENANT_A).where('outcome', '=', 'ok').limit(1).executeTakeFirstOrThrow();
      await s.db.updateTable('usage').set({ units: Number(row.units) + 1000, outcome: 'error' }).where('call_id', '=', row.call_id).execute();
      return `usage ${row.call_id} edited`;
    },
  },
];

export const tamper: Attack = {
  family: 'tamper',
  async run(d: Deployment): Promise<Finding[]> {
    // Both chains hold records (and tenant A a refusal) whatever ran before.
    // Tenant A's chain is long enough that cutting its tail leaves a head to check against.
    for (let i = 0; i < 4; i++) await d.call('aTech', 'hudu_get_company', {}, { customer: 'rt-contoso' });
    await d.call('aTech', 'hudu_get_company', {}, { customer: 'rt-fabrikam', meta: { customer: 'rt-contoso' } });
    await d.call('bTech', 'hudu_get_company', {}, { customer: 'rt-globex' });
    await d.closeReader();
    const stopping = performance.now();
    const stopped = await d.stopServer(20_000);
    const stopSeconds = Math.round((performance.now() - stopping) / 100) / 10;
    const findings: Finding[] = [];
    const control = await d.cli(['audit', 'verify', '--store', d.storeUrl]);
    findings.push({
      id: 'tamper.control', owasp: OWASP.API8, tried: 'control: `specgate audit verify` on the untouched store after a graceful stop',
      held: control.code === 0,
      detail: control.code === 0
        ? `exit 0 (${control.stdout.trim().split('\n')[0]}); the server stopped on SIGTERM in ${stopSeconds} s with ${stopped.code ?? stopped.signal}`
        : `exit ${control.code}: ${(control.stderr || control.stdout).trim().slice(0, 200)}`,
    });
    // Copies are made one at a time (a PostgreSQL template admits one copy at a time); the verifications run side by side.
    const tampered: Array<{ t: (typeof TAMPERS)[number]; url?: string; what?: string; error?: Error }> = [];
    for (const t of TAMPERS) {
      try {
        const url = await copyStore(d, t.id);
        tampered.push({ t, url, what: await withStore(url, (s) => t.apply(s)) });
      } catch (error) {
        tampered.push({ t, error: error as Error });
      }
    }
    findings.push(...(await Promise.all(tampered.map(({ t, url, what, error }) => probe(`tamper.${t.id}`, OWASP.API8, t.tried, async () => {
      if (error || !url) throw error ?? new Error('no copy of the store');
      const verify = await d.cli(['audit', 'verify', '--store', url]);
      const said = (verify.stdout + verify.stderr).trim().split('\n')[0]?.slice(0, 140);
      return { problems: verify.code === 0 ? [`${what}; audit verify still says: ${said}`] : [], held: `${what}; audit verify exit ${verify.code}: ${said}` };
    })))));
    return findings;
  },
};
