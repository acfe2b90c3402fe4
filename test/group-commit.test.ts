// The group commit that carries quota counters, usage rows and audit records, on both databases.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRepo, consumeQuotaIn, createGroupCommit, openStore, type Store } from '../runtime/store/index.ts';
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
});
