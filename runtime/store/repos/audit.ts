import { withWriteLock, type Store } from '../db.ts';
import type { Kysely } from 'kysely';
import type { AuditTable, Schema } from '../schema.ts';
import { canonicalJson, sha256Hex } from '../canonical.ts';
import type { Batch } from '../group-commit.ts';

/** An audit record: any JSON object. These optional string fields are also indexed for search. */
export type AuditRecord = Record<string, unknown> & { customer?: string; subject?: string; connector?: string; tool?: string };

export interface AuditEntry { tenantId: string; seq: number; at: string; record: AuditRecord; prevHash: string; hash: string }

export type VerifyAuditResult =
  | { ok: true; checked: number }
  | { ok: false; tenantId: string; seq: number; reason: string; checked: number };

export interface AuditQuery {
  tenant: string;
  customer?: string;
  subject?: string;
  connector?: string;
  tool?: string;
  /** Inclusive ISO lower bound on `at`. */
  from?: string;
  /** Exclusive ISO upper bound on `at`. */
  to?: string;
  /** Only records with this outcome (ok, error, refused, cancelled, replayed ...). */
  outcome?: string;
  /** Page on, oldest first: only entries after this seq (pass the last seq of the previous page). */
  afterSeq?: number;
  /** Page on, newest first: only entries before this seq. */
  beforeSeq?: number;
  /** Default 'asc' (oldest first). */
  order?: 'asc' | 'desc';
  /** At most this many entries (default 1000). */
  limit?: number;
}

const GENESIS = '0'.repeat(64);
const PAGE = 500;

// What the hash covers: everything in the row except the hash itself, so editing any column
// (including the time or the chain link) breaks verification at that row.
function entryHash(prevHash: string, tenantId: string, seq: number, at: string, recordJson: string): string {
  return sha256Hex(prevHash + canonicalJson({ at, record: JSON.parse(recordJson) as unknown, seq, tenant: tenantId }));
}

function indexed(record: AuditRecord) {
  const pick = (k: string) => (typeof record[k] === 'string' ? (record[k] as string) : null);
  return { customer_id: pick('customer'), subject: pick('subject'), connector: pick('connector'), tool: pick('tool') };
}

/** The lock that serialises appends to one tenant's chain (see withWriteLock). */
export const auditLockKey = (tenantId: string) => `audit:${tenantId}`;

/**
 * Appends one record to a tenant's chain inside a transaction that already holds that chain's
 * lock; the group commit uses it to commit many records (and their usage rows) in one transaction,
 * and passes its batch, so that the chain's head is read once per transaction, not once per record,
 * and the batch's records go in as one insert.
 */
export async function appendAuditIn(trx: Kysely<Schema>, tenantId: string, record: AuditRecord, at: string, batch?: Batch): Promise<AuditEntry> {
  if (!record || typeof record !== 'object' || Array.isArray(record)) throw new Error(`audit record for tenant ${tenantId} must be a JSON object`);
  const recordJson = canonicalJson(record);
  const memoKey = `audit-head:${tenantId}`;
  const head = (batch?.memo.get(memoKey) as ChainLink | undefined) ?? await trx.selectFrom('audit').select(['seq', 'hash'])
    .where('tenant_id', '=', tenantId).orderBy('seq', 'desc').limit(1).executeTakeFirst();
  const seq = (head?.seq ?? 0) + 1;
  const prevHash = head?.hash ?? GENESIS;
  const hash = entryHash(prevHash, tenantId, seq, at, recordJson);
  const row: AuditTable = { tenant_id: tenantId, seq, at, record: recordJson, ...indexed(record), prev_hash: prevHash, hash };
  if (batch?.defer) batch.defer('audit', row, insertAuditRows);
  else await insertAuditRows(trx, [row]);
  batch?.memo.set(memoKey, { seq, hash } satisfies ChainLink);
  return { tenantId, seq, at, record: JSON.parse(recordJson) as AuditRecord, prevHash, hash };
}

async function insertAuditRows(trx: Kysely<Schema>, rows: unknown[]): Promise<void> {
  await trx.insertInto('audit').values(rows as AuditTable[]).execute();
}

/** The last link of a chain: what the next one is computed from. */
export interface ChainLink { seq: number; hash: string }

/** Every chain that has at least one entry, by name. */
export async function auditChains(db: Kysely<Schema>): Promise<string[]> {
  return (await db.selectFrom('audit').select('tenant_id').distinct().orderBy('tenant_id').execute()).map((r) => r.tenant_id);
}

/**
 * Walks one chain from genesis, checking every row's link, hash and indexed columns; stops at the
 * first row that does not hold. `checked` counts the rows that held.
 */
export async function walkAuditChain(db: Kysely<Schema>, tenantId: string): Promise<{ checked: number; problem?: { seq: number; reason: string } }> {
  let prevHash = GENESIS;
  let expectSeq = 1;
  for (;;) {
    const rows = await db.selectFrom('audit').selectAll().where('tenant_id', '=', tenantId).where('seq', '>=', expectSeq)
      .orderBy('seq').limit(PAGE).execute();
    for (const row of rows) {
      const problem = checkRow(row, expectSeq, prevHash);
      if (problem) return { checked: expectSeq - 1, problem: { seq: expectSeq, reason: problem } };
      prevHash = row.hash;
      expectSeq++;
    }
    if (rows.length < PAGE) return { checked: expectSeq - 1 };
  }
}

export function auditRepo(store: Store, now: () => Date = () => new Date()) {
  const { db } = store;
  return {
    /**
     * Appends to the tenant's chain. The head read and the insert run under one write lock per
     * tenant so two instances can never both link to the same predecessor.
     */
    async append(tenantId: string, record: AuditRecord): Promise<AuditEntry> {
      return withWriteLock(store, auditLockKey(tenantId), (trx) => appendAuditIn(trx, tenantId, record, now().toISOString()));
    },

    /** Walks each chain (one tenant or all) from genesis; reports the first row that does not hold. */
    async verify(tenantId?: string): Promise<VerifyAuditResult> {
      const tenants = tenantId !== undefined ? [tenantId] : await auditChains(db);
      let checked = 0;
      for (const t of tenants) {
        const walked = await walkAuditChain(db, t);
        if (walked.problem) return { ok: false, tenantId: t, seq: walked.problem.seq, reason: walked.problem.reason, checked: checked + walked.checked };
        checked += walked.checked;
      }
      return { ok: true, checked };
    },

    async search(q: AuditQuery): Promise<AuditEntry[]> {
      const limit = q.limit ?? 1000;
      const order = q.order ?? 'asc';
      const out: AuditEntry[] = [];
      let after = q.afterSeq;
      let before = q.beforeSeq;
      // The outcome is inside the record: the LIKE narrows the scan, the parsed record decides, so
      // text in a call's arguments cannot make it match. Filtered pages may come back short: read on.
      for (;;) {
        const rows = await searchPage(q, order, after, before, limit);
        for (const r of rows) {
          const entry = { tenantId: r.tenant_id, seq: r.seq, at: r.at, record: JSON.parse(r.record) as AuditRecord, prevHash: r.prev_hash, hash: r.hash };
          if (q.outcome === undefined || entry.record.outcome === q.outcome) out.push(entry);
          if (out.length === limit) return out;
        }
        if (rows.length < limit || q.outcome === undefined) return out;
        if (order === 'asc') after = rows[rows.length - 1].seq;
        else before = rows[rows.length - 1].seq;
      }
    },
  };

  function searchPage(q: AuditQuery, order: 'asc' | 'desc', afterSeq: number | undefined, beforeSeq: number | undefined, limit: number) {
    let query = db.selectFrom('audit').selectAll().where('tenant_id', '=', q.tenant);
    if (q.customer !== undefined) query = query.where('customer_id', '=', q.customer);
    if (q.subject !== undefined) query = query.where('subject', '=', q.subject);
    if (q.connector !== undefined) query = query.where('connector', '=', q.connector);
    if (q.tool !== undefined) query = query.where('tool', '=', q.tool);
    if (q.from !== undefined) query = query.where('at', '>=', q.from);
    if (q.to !== undefined) query = query.where('at', '<', q.to);
    // Outcomes are plain words (checked by the callers), so the pattern needs no escaping.
    if (q.outcome !== undefined) query = query.where('record', 'like', `%"outcome":"${q.outcome}"%`);
    if (afterSeq !== undefined) query = query.where('seq', '>', afterSeq);
    if (beforeSeq !== undefined) query = query.where('seq', '<', beforeSeq);
    return query.orderBy('seq', order).limit(limit).execute();
  }
}

function checkRow(row: AuditTable, expectSeq: number, prevHash: string): string | null {
  if (row.seq !== expectSeq) return `seq ${expectSeq} is missing (next stored seq is ${row.seq})`;
  if (row.prev_hash !== prevHash) return `prev_hash does not link to seq ${expectSeq - 1}`;
  let record: AuditRecord;
  try { record = JSON.parse(row.record) as AuditRecord; } catch { return 'record is not valid JSON'; }
  if (entryHash(prevHash, row.tenant_id, row.seq, row.at, row.record) !== row.hash) return 'hash does not match the row contents';
  const cols = indexed(record);
  for (const k of Object.keys(cols) as (keyof typeof cols)[]) {
    if (row[k] !== cols[k]) return `indexed column ${k} does not match the record`;
  }
  return null;
}
