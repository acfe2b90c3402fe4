import type { Kysely } from 'kysely';
import { withWriteLock, type Store } from '../db.ts';
import type { Schema, UsageTable } from '../schema.ts';
import { USAGE_GENESIS, checkUsageRow, usageRowHash, type UsageFields } from '../usage-chain.ts';
import { auditLockKey, type ChainLink } from './audit.ts';
import type { Batch } from '../group-commit.ts';

export interface UsageRecord {
  callId: string;
  tenantId: string;
  customerId?: string | null;
  subject?: string | null;
  connector: string;
  tool: string;
  outcome: string;
  latencyMs: number;
  upstreamBytes: number;
  units: number;
  /** ISO timestamp; defaults to now. */
  at?: string;
}

export interface UsageReportRow {
  customerId: string | null;
  connector: string;
  tool: string;
  outcome: string;
  calls: number;
  units: number;
  upstreamBytes: number;
  latencyMsTotal: number;
}

const CSV_COLUMNS = ['call_id', 'tenant_id', 'customer_id', 'subject', 'connector', 'tool', 'outcome', 'latency_ms', 'upstream_bytes', 'units', 'at'] as const;

/** Throws naming the record and the field when a usage record cannot be stored as it is. */
export function checkUsageRecord(rec: UsageRecord): void {
  for (const k of ['latencyMs', 'upstreamBytes', 'units'] as const) {
    if (!Number.isInteger(rec[k]) || rec[k] < 0) throw new Error(`usage record ${rec.callId}: ${k} must be a non-negative integer, got ${rec[k]}`);
  }
  if (!rec.callId) throw new Error('usage record has no callId');
}

/**
 * Writes the metering record for one execution into a transaction that holds the tenant's audit
 * lock (auditLockKey), which serialises the tenant's usage chain as it does its audit chain.
 * Idempotent on callId: a retry of the same call is not billed twice and returns `inserted: false`.
 */
export async function insertUsageIn(trx: Kysely<Schema>, rec: UsageRecord, now: () => Date, batch?: Batch): Promise<{ inserted: boolean }> {
  checkUsageRecord(rec);
  const memoKey = `usage-head:${rec.tenantId}`;
  const head = (batch?.memo.get(memoKey) as ChainLink | undefined) ?? await trx.selectFrom('usage').select(['seq', 'hash'])
    .where('tenant_id', '=', rec.tenantId).where('seq', 'is not', null).orderBy('seq', 'desc').limit(1).executeTakeFirst() as ChainLink | undefined;
  const seq = (head?.seq ?? 0) + 1;
  const prevHash = head?.hash ?? USAGE_GENESIS;
  const fields: UsageFields = {
    call_id: rec.callId, tenant_id: rec.tenantId, customer_id: rec.customerId ?? null, subject: rec.subject ?? null,
    connector: rec.connector, tool: rec.tool, outcome: rec.outcome, latency_ms: rec.latencyMs,
    upstream_bytes: rec.upstreamBytes, units: rec.units, at: rec.at ?? now().toISOString(),
  };
  const hash = usageRowHash(prevHash, seq, fields);
  const row: UsageTable = { ...fields, seq, prev_hash: prevHash, hash };
  if (batch?.defer) {
    // The same call twice in one batch is metered once; a call metered by an earlier transaction
    // makes the batch's insert throw, and the batch runs again item by item (below).
    const metered = `usage-call:${rec.callId}`;
    if (batch.memo.has(metered)) return { inserted: false };
    batch.memo.set(metered, true);
    batch.defer('usage', row, insertUsageRows);
  } else {
    // A call id already metered inserts nothing, and its would-be link is not used: the chain stays contiguous.
    const inserted = await trx.insertInto('usage').values(row)
      .onConflict((oc) => oc.column('call_id').doNothing()).returning('call_id').executeTakeFirst();
    if (!inserted) return { inserted: false };
  }
  batch?.memo.set(memoKey, { seq, hash } satisfies ChainLink);
  return { inserted: true };
}

/** The batch's usage rows in one insert; refused whole when any of them was metered before. */
async function insertUsageRows(trx: Kysely<Schema>, rows: unknown[]): Promise<void> {
  const inserted = await trx.insertInto('usage').values(rows as UsageTable[])
    .onConflict((oc) => oc.column('call_id').doNothing()).returning('call_id').execute();
  if (inserted.length !== rows.length) throw new Error('a call in this batch was metered before: its links cannot be used');
}

export function usageRepo(store: Store, now: () => Date = () => new Date()) {
  const { db } = store;
  return {
    /**
     * Writes the metering record for one execution. Idempotent on callId: a retry of the same call
     * is not billed twice and returns `inserted: false`. The promise resolves only after the commit
     * (synchronous=FULL on SQLite, synchronous_commit on PostgreSQL), so awaiting it before
     * answering the client means the record survives a crash right after the answer.
     */
    async record(rec: UsageRecord): Promise<{ inserted: boolean }> {
      checkUsageRecord(rec);
      return withWriteLock(store, auditLockKey(rec.tenantId), (trx) => insertUsageIn(trx, rec, now));
    },
    /** When the call with this id was metered, if it was: an execution that already happened. */
    async ranAt(callId: string): Promise<string | undefined> {
      return (await db.selectFrom('usage').select('at').where('call_id', '=', callId).executeTakeFirst())?.at;
    },
    /** When a call ran, for which tool and customer; undefined when it has no usage row. */
    async ranCall(callId: string): Promise<{ at: string; tool: string; customerId: string | null } | undefined> {
      const row = await db.selectFrom('usage').select(['at', 'tool', 'customer_id']).where('call_id', '=', callId).executeTakeFirst();
      return row && { at: row.at, tool: row.tool, customerId: row.customer_id };
    },
    /** Totals per customer, connector, tool and outcome for [from, to), in a stable order. */
    async report(tenantId: string, from: string, to: string): Promise<UsageReportRow[]> {
      const rows = await db.selectFrom('usage')
        .select((eb) => [
          'customer_id', 'connector', 'tool', 'outcome',
          eb.fn.countAll().as('calls'),
          eb.fn.sum<number>('units').as('units'),
          eb.fn.sum<number>('upstream_bytes').as('upstream_bytes'),
          eb.fn.sum<number>('latency_ms').as('latency_ms'),
        ])
        .where('tenant_id', '=', tenantId).where('at', '>=', from).where('at', '<', to)
        .groupBy(['customer_id', 'connector', 'tool', 'outcome'])
        .orderBy('customer_id').orderBy('connector').orderBy('tool').orderBy('outcome')
        .execute();
      // PostgreSQL returns count/sum as strings (bigint/numeric); normalise to numbers.
      return rows.map((r) => ({
        customerId: r.customer_id, connector: r.connector, tool: r.tool, outcome: r.outcome,
        calls: Number(r.calls), units: Number(r.units), upstreamBytes: Number(r.upstream_bytes), latencyMsTotal: Number(r.latency_ms),
      }));
    },
    /** Raw records for [from, to) as RFC 4180 CSV (header row, CRLF), ordered by time then call id. */
    async exportCsv(tenantId: string, from: string, to: string): Promise<string> {
      const rows = await db.selectFrom('usage').select(CSV_COLUMNS)
        .where('tenant_id', '=', tenantId).where('at', '>=', from).where('at', '<', to)
        .orderBy('at').orderBy('call_id').execute();
      const lines = [CSV_COLUMNS.join(',')];
      for (const r of rows) lines.push(CSV_COLUMNS.map((c) => csvField(r[c])).join(','));
      return lines.join('\r\n') + '\r\n';
    },
  };
}

function csvField(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  // Quote anything a spreadsheet could misread; a leading = + - @ is neutralised against formula injection.
  const safe = /^[=+\-@\t\r]/.test(s) && typeof v === 'string' ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** Every tenant that has usage rows. */
export async function usageChains(db: Kysely<Schema>): Promise<string[]> {
  return (await db.selectFrom('usage').select('tenant_id').distinct().orderBy('tenant_id').execute()).map((r) => r.tenant_id);
}

/**
 * Walks one tenant's usage chain from genesis; reports rows written around the chain (no seq) and
 * the first row that does not hold. `checked` counts the rows that held.
 */
export async function walkUsageChain(db: Kysely<Schema>, tenantId: string): Promise<{ checked: number; problems: string[] }> {
  const problems: string[] = [];
  const unchained = await db.selectFrom('usage').select('call_id').where('tenant_id', '=', tenantId).where('seq', 'is', null).limit(10).execute();
  for (const r of unchained) problems.push(`usage row ${r.call_id} was inserted outside the tenant's usage chain`);
  let prevHash = USAGE_GENESIS;
  let expectSeq = 1;
  for (;;) {
    const rows = await db.selectFrom('usage').selectAll().where('tenant_id', '=', tenantId).where('seq', '>=', expectSeq)
      .orderBy('seq').limit(PAGE).execute();
    for (const row of rows) {
      const problem = checkUsageRow(row, expectSeq, prevHash);
      if (problem) return { checked: expectSeq - 1, problems: [...problems, problem] };
      prevHash = row.hash!;
      expectSeq++;
    }
    if (rows.length < PAGE) return { checked: expectSeq - 1, problems };
  }
}

const PAGE = 500;
