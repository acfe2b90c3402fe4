// The group commit that carries quota counters, usage rows and audit records, on both databases.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { appendAuditIn, auditLockKey, auditRepo, consumeQuotaIn, createGroupCommit, insertUsageIn, openStore, type Store } from '../runtime/store/index.ts';
import { walkUsageChain } from '../runtime/store/repos/usage.ts';
import { createCallRecorder } from '../runtime/governance/record.ts';
import { usageRecord } from '../runtime/governance/meter.ts';
import { findPostgres, startPostgres } from './helpers/postgres.ts';

const pgAvail = findPostgres();
const backends: Array<[string, boolean, () => Promise<{ url: string; stop(): Promise<void> }>]> = [
  ['sqlite', true, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'specgate-group-'));
    return { url: `sqlite:${path.join(dir, 'db.sqlite')}`, stop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  }],
  [pgAvail.ok ? 'postgres' : `postgres (skipped: ${pgAvail.reason})`, pgAvail.ok, async () => {
    if (!pgAvail.ok) throw new Error(pgAvail.reason);
    const cluster = await startPostgres(pgAvail);
    return { url: await cluster.createDatabase(), stop: () => cluster.stop() };
  }],
];

for (const [name, available, backend] of backends) describe.skipIf(!available)(`group commit on ${name}`, () => {
  let store: Store;
  let db: { url: string; stop(): Promise<void> };
  const now = () => new Date('2026-05-01T10:00:00Z');

  beforeAll(async () => {
    db = await backend();
    store = await openStore(db.url);
  });
  afterAll(async () => {
    await store?.close();
    await db?.stop();
  });

  const call = (i: number, tenantId: string) => ({
    callId: `c-${tenantId}-${i}`, requestId: `r-${i}`, decisionId: `d-${i}`, tenantId, subject: 'alice', keyId: 'k1', customer: null,
    connector: 'acme', tool: 'acme_list', arguments: { i }, outcome: 'ok' as const,
  });
  const usage = (i: number, tenantId: string) => usageRecord({
    callId: `c-${tenantId}-${i}`, tenantId, customerId: null, subject: 'alice', connector: 'acme', tool: 'acme_list', outcome: 'ok', latencyMs: 3.4, upstreamBytes: 10 * i,
  });

  it('commits many concurrent calls: every usage row and audit record, each chain contiguous and verifiable', async () => {
    const group = createGroupCommit(store);
    const recorder = createCallRecorder(group, now);
    const n = 120;
    await Promise.all(Array.from({ length: n }, (_, i) => recorder.record(call(i, i % 3 === 0 ? 't-b' : 't-a'), usage(i, i % 3 === 0 ? 't-b' : 't-a'))));
    const rows = await store.db.selectFrom('usage').select(['call_id', 'upstream_bytes', 'latency_ms']).execute();
    expect(rows).toHaveLength(n);
    expect(rows.find((r) => r.call_id === 'c-t-a-7')).toMatchObject({ upstream_bytes: 70, latency_ms: 3 });
    const seqs = (await store.db.selectFrom('audit').select(['tenant_id', 'seq']).where('tenant_id', '=', 't-a').orderBy('seq').execute()).map((r) => r.seq);
    expect(seqs).toEqual(Array.from({ length: n - 40 }, (_, i) => i + 1));
    expect(await auditRepo(store).verify()).toEqual({ ok: true, checked: n });
  });

  it('rolls back and rejects only the failing item of a batch; the others commit', async () => {
    const group = createGroupCommit(store);
    const results = await Promise.allSettled([
      group.run([], (trx) => consumeQuotaIn(trx, 't-a', '*', '2026-05-01', 5)),
      group.run([], async (trx) => {
        await consumeQuotaIn(trx, 't-a', 'x', '2026-05-01', 5);
        throw new Error('boom after a write');
      }),
      group.run([], (trx) => consumeQuotaIn(trx, 't-a', '*', '2026-05-01', 5)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.message).toBe('boom after a write');
    const counters = await store.db.selectFrom('quota_counters').selectAll().where('tenant_id', '=', 't-a').orderBy('scope').execute();
    // The failed item's counter write was rolled back with it.
    expect(counters.map((c) => [c.scope, c.used])).toEqual([['*', 2]]);
  });

  it('a malformed usage record fails its own call before it is queued', async () => {
    const recorder = createCallRecorder(createGroupCommit(store), now);
    const bad = { ...usage(999, 't-a'), upstreamBytes: -1 };
    await expect(recorder.record(call(999, 't-a'), bad)).rejects.toThrow(/usage record c-t-a-999: upstreamBytes must be a non-negative integer/);
    expect(await store.db.selectFrom('audit').selectAll().where('record', 'like', '%c-t-a-999%').execute()).toEqual([]);
  });

  it('a failing item after a chain write leaves both chains contiguous: the rest of its batch links to what committed', async () => {
    const group = createGroupCommit(store);
    const recorder = createCallRecorder(group, now);
    const tenant = 't-rollback';
    const results = await Promise.allSettled([
      recorder.record(call(1, tenant), usage(1, tenant)),
      // Writes the next link of both chains, then fails: its links are rolled back, and the next
      // item must not build on them.
      group.run([auditLockKey(tenant)], async (trx, batch) => {
        await insertUsageIn(trx, usage(2, tenant), now, batch);
        await appendAuditIn(trx, tenant, { forged: true }, now().toISOString(), batch);
        throw new Error('failed after linking');
      }),
      recorder.record(call(3, tenant), usage(3, tenant)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const audit = await store.db.selectFrom('audit').select(['seq', 'record']).where('tenant_id', '=', tenant).orderBy('seq').execute();
    expect(audit.map((r) => [r.seq, (JSON.parse(r.record) as { callId: string }).callId])).toEqual([[1, `c-${tenant}-1`], [2, `c-${tenant}-3`]]);
    const billed = await store.db.selectFrom('usage').select(['seq', 'call_id']).where('tenant_id', '=', tenant).orderBy('seq').execute();
    expect(billed).toEqual([{ seq: 1, call_id: `c-${tenant}-1` }, { seq: 2, call_id: `c-${tenant}-3` }]);
    expect(await auditRepo(store).verify(tenant)).toEqual({ ok: true, checked: 2 });
    expect(await walkUsageChain(store.db, tenant)).toEqual({ checked: 2, problems: [] });
  });

  it('a call id metered twice in one batch is billed once and the usage chain stays contiguous', async () => {
    const recorder = createCallRecorder(createGroupCommit(store), now);
    const tenant = 't-twice';
    await Promise.all([
      recorder.record(call(1, tenant), usage(1, tenant)),
      recorder.record({ ...call(1, tenant), requestId: 'r-again' }, usage(1, tenant)),
      recorder.record(call(2, tenant), usage(2, tenant)),
    ]);
    const billed = await store.db.selectFrom('usage').select(['seq', 'call_id']).where('tenant_id', '=', tenant).orderBy('seq').execute();
    expect(billed).toEqual([{ seq: 1, call_id: `c-${tenant}-1` }, { seq: 2, call_id: `c-${tenant}-2` }]);
    expect(await walkUsageChain(store.db, tenant)).toEqual({ checked: 2, problems: [] });
    // Both deliveries are on the record.
    expect(await auditRepo(store).verify(tenant)).toEqual({ ok: true, checked: 3 });
  });

  it('a call metered by an earlier transaction, alone or among others, is billed once and the batch still commits', async () => {
    const recorder = createCallRecorder(createGroupCommit(store), now);
    const tenant = 't-earlier';
    await recorder.record(call(1, tenant), usage(1, tenant));
    // Alone: the re-delivery is audited, not billed.
    await recorder.record({ ...call(1, tenant), requestId: 'r-again' }, usage(1, tenant));
    // Among others: the batch's one insert refuses it, and the batch runs again call by call.
    await Promise.all([
      recorder.record(call(2, tenant), usage(2, tenant)),
      recorder.record({ ...call(1, tenant), requestId: 'r-third' }, usage(1, tenant)),
      recorder.record(call(3, tenant), usage(3, tenant)),
    ]);
    const billed = await store.db.selectFrom('usage').select(['seq', 'call_id']).where('tenant_id', '=', tenant).orderBy('seq').execute();
    expect(billed).toEqual([1, 2, 3].map((i) => ({ seq: i, call_id: `c-${tenant}-${i}` })));
    expect(await walkUsageChain(store.db, tenant)).toEqual({ checked: 3, problems: [] });
    expect(await auditRepo(store).verify(tenant)).toEqual({ ok: true, checked: 5 });
  });

  it('calls committed together go in as one insert per kind, after one read of each chain head', async () => {
    const statements: string[] = [];
    const counted = await openStore(db.url, { onQuery: (text) => statements.push(text) });
    try {
      const recorder = createCallRecorder(createGroupCommit(counted), now);
      const tenant = 't-together';
      await Promise.all(Array.from({ length: 30 }, (_, i) => recorder.record(call(i, tenant), usage(i, tenant))));
      expect(statements.filter((t) => /insert into "usage"/.test(t))).toHaveLength(1);
      expect(statements.filter((t) => /insert into "audit"/.test(t))).toHaveLength(1);
      expect(statements.filter((t) => /select "seq", "hash" from/.test(t))).toHaveLength(2);
      expect(statements.filter((t) => /savepoint/.test(t))).toEqual([]);
      expect(await walkUsageChain(counted.db, tenant)).toEqual({ checked: 30, problems: [] });
      expect(await auditRepo(counted).verify(tenant)).toEqual({ ok: true, checked: 30 });
    } finally {
      await counted.close();
    }
  });

  it('writes that need not wait for the disk commit in transactions of their own, never held behind a durable one', async () => {
    const statements: string[] = [];
    const counted = await openStore(db.url, { onQuery: (text) => statements.push(text) });
    try {
      const group = createGroupCommit(counted);
      const tenant = 't-lanes';
      statements.length = 0;
      let open!: () => void;
      const gate = new Promise<void>((resolve) => { open = resolve; });
      // A durable item that holds its transaction open until the counter below has committed.
      const held = group.run([auditLockKey(tenant)], async (trx, batch) => {
        await insertUsageIn(trx, usage(1, tenant), now, batch);
        if (counted.dialect === 'postgres') await gate;
      });
      const counter = await group.run([], (trx) => consumeQuotaIn(trx, tenant, '*', '2026-05-01', 10), { durable: false });
      expect(counter).toEqual({ ok: true, used: 1 });
      open();
      await held;
      const transactions = statements.filter((t) => /^begin/.test(t) || /^pragma synchronous = NORMAL/.test(t));
      expect(transactions.sort()).toEqual(counted.dialect === 'sqlite'
        ? ['begin immediate', 'begin immediate', 'pragma synchronous = NORMAL']
        : ['begin', 'begin; set local synchronous_commit = off']);
    } finally {
      await counted.close();
    }
  });

  it('a batch of writes that need not be durable commits them, and the next transaction is durable again', async () => {
    const group = createGroupCommit(store);
    const taken = await Promise.all([1, 2, 3].map(() => group.run([], (trx) => consumeQuotaIn(trx, 't-lazy', '*', '2026-05-01', 10), { durable: false })));
    expect(taken.map((t) => t.used).sort()).toEqual([1, 2, 3]);
    expect(await store.db.selectFrom('quota_counters').select('used').where('tenant_id', '=', 't-lazy').executeTakeFirst()).toEqual({ used: 3 });
    // The setting was the non-durable batch's alone: the store's next commits wait for the disk.
    if (store.dialect === 'sqlite') {
      expect((await sql<{ synchronous: number }>`pragma synchronous`.execute(store.db)).rows).toEqual([{ synchronous: 2 }]);
    } else {
      // Every connection of the pool: SET LOCAL ended with the transaction.
      const settings = await Promise.all(Array.from({ length: 5 }, () => store.db.connection().execute(async (c) => (await sql<{ synchronous_commit: string }>`show synchronous_commit`.execute(c)).rows[0].synchronous_commit)));
      expect(new Set(settings)).toEqual(new Set(['on']));
    }
  });
});
