/**
 * Operator reports over usage and audit: calls, billable units, errors, refusals and latency
 * percentiles per time bucket and per key (tenant, customer, connector or tool). Counting is done
 * by the database; percentiles come from a histogram of exact latencies (milliseconds are
 * integers, so the histogram has at most as many rows as distinct latencies), which gives exact
 * figures on both SQLite and PostgreSQL without a percentile function that only one of them has.
 */
import { sql, type Kysely } from 'kysely';
import type { Store } from '../db.ts';
import type { Schema } from '../schema.ts';

export const REPORT_BUCKETS = ['hour', 'day'] as const;
export type ReportBucket = (typeof REPORT_BUCKETS)[number];
export const REPORT_KEYS = ['tenant', 'customer', 'connector', 'tool'] as const;
export type ReportKey = (typeof REPORT_KEYS)[number];

export interface SeriesQuery {
  /** Omitted: every tenant (a global operator's view). */
  tenantId?: string;
  from: string;
  to: string;
  bucket: ReportBucket;
  /** Split each bucket by this key; omitted: one line for everything. */
  by?: ReportKey;
}

export interface SeriesPoint {
  /** Bucket start, ISO: `2026-11-03T00:00:00.000Z` for a day, `...T14:00:00.000Z` for an hour. */
  at: string;
  /** The key's value (a tool name, a customer id ...); null for "no customer" or when not split. */
  key: string | null;
  calls: number;
  units: number;
  ok: number;
  errors: number;
  cancelled: number;
  refused: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface SeriesTotal { key: string | null; calls: number; units: number; errors: number; refused: number }

export interface Series { points: SeriesPoint[]; totals: SeriesTotal[] }

/** ISO prefix length that identifies a bucket: `YYYY-MM-DDTHH` or `YYYY-MM-DD`. */
const PREFIX: Record<ReportBucket, number> = { hour: 13, day: 10 };
const USAGE_COLUMN: Record<ReportKey, 'tenant_id' | 'customer_id' | 'connector' | 'tool'> = {
  tenant: 'tenant_id', customer: 'customer_id', connector: 'connector', tool: 'tool',
};
const AUDIT_FIELD: Record<ReportKey, string> = { tenant: 'tenant', customer: 'customer', connector: 'connector', tool: 'tool' };

function bucketStart(prefix: string, bucket: ReportBucket): string {
  return bucket === 'day' ? `${prefix}T00:00:00.000Z` : `${prefix}:00:00.000Z`;
}

/** The value at quantile q of a histogram sorted by value. */
export function quantile(histogram: Array<[number, number]>, total: number, q: number): number | null {
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const [value, count] of histogram) {
    seen += count;
    if (seen >= rank) return value;
  }
  return histogram[histogram.length - 1][0];
}

export function reportsRepo(store: Store) {
  const { db } = store;

  /** Usage rows of the window (and tenant), with their bucket and key: what both aggregations group. */
  function usageWindow(q: SeriesQuery, prefix: number) {
    const keyCol = q.by ? USAGE_COLUMN[q.by] : undefined;
    let query = (db as Kysely<Schema>).selectFrom('usage')
      .select([
        sql<string>`substr(at, 1, ${sql.lit(prefix)})`.as('bucket'),
        (keyCol ? sql<string | null>`${sql.ref(keyCol)}` : sql<null>`null`).as('key'),
      ])
      .where('at', '>=', q.from).where('at', '<', q.to);
    if (q.tenantId !== undefined) query = query.where('tenant_id', '=', q.tenantId);
    return query;
  }

  function usageCounts(q: SeriesQuery, prefix: number) {
    return usageWindow(q, prefix)
      .select((eb) => ['outcome', eb.fn.countAll().as('calls'), eb.fn.sum<number>('units').as('units')])
      .groupBy(['bucket', 'key', 'outcome']).execute();
  }

  function latencyHistogram(q: SeriesQuery, prefix: number) {
    return usageWindow(q, prefix)
      .select((eb) => ['latency_ms', eb.fn.countAll().as('n')])
      .groupBy(['bucket', 'key', 'latency_ms']).orderBy('latency_ms').execute();
  }

  /**
   * Refusals have no usage row (nothing reached the vendor): they are counted from the audit.
   * The LIKE narrows the scan to records that mention the outcome; each is then parsed and checked,
   * so a caller cannot make a call count as refused by putting that text in its arguments.
   */
  async function refusals(q: SeriesQuery, prefix: number) {
    let query = db.selectFrom('audit').select(['tenant_id', 'at', 'record'])
      .where('at', '>=', q.from).where('at', '<', q.to).where('record', 'like', '%"outcome":"refused"%');
    if (q.tenantId !== undefined) query = query.where('tenant_id', '=', q.tenantId);
    const rows = await query.execute();
    const out: Array<{ bucket: string; key: string | null }> = [];
    for (const row of rows) {
      const record = JSON.parse(row.record) as Record<string, unknown>;
      if (record.outcome !== 'refused') continue;
      const field = q.by && q.by !== 'tenant' ? record[AUDIT_FIELD[q.by]] : undefined;
      const key = !q.by ? null : q.by === 'tenant' ? row.tenant_id : typeof field === 'string' ? field : null;
      out.push({ bucket: row.at.slice(0, prefix), key });
    }
    return out;
  }

  return {
    async series(q: SeriesQuery): Promise<Series> {
      const prefix = PREFIX[q.bucket];
      const [counts, histogram, refused] = await Promise.all([usageCounts(q, prefix), latencyHistogram(q, prefix), refusals(q, prefix)]);
      const points = new Map<string, SeriesPoint & { hist: Array<[number, number]> }>();
      // A null key (no customer) must not merge with a customer whose id is the empty string.
      const idOf = (bucket: string, key: string | null) => `${bucket}\u0000${key === null ? '\u0001' : key}`;
      const point = (bucket: string, key: string | null) => {
        const id = idOf(bucket, key);
        let p = points.get(id);
        if (!p) {
          p = { at: bucketStart(bucket, q.bucket), key, calls: 0, units: 0, ok: 0, errors: 0, cancelled: 0, refused: 0, p50: null, p95: null, p99: null, hist: [] };
          points.set(id, p);
        }
        return p;
      };
      for (const r of counts) {
        const p = point(r.bucket, r.key);
        const calls = Number(r.calls);
        p.calls += calls;
        p.units += Number(r.units ?? 0);
        if (r.outcome === 'ok') p.ok += calls;
        else if (r.outcome === 'cancelled') p.cancelled += calls;
        else p.errors += calls;
      }
      for (const r of histogram) point(r.bucket, r.key).hist.push([Number(r.latency_ms), Number(r.n)]);
      for (const r of refused) {
        const p = point(r.bucket, r.key);
        p.refused += 1;
        p.calls += 1;
      }
      const totals = new Map<string, SeriesTotal>();
      const out: SeriesPoint[] = [];
      for (const { hist, ...p } of points.values()) {
        const executed = hist.reduce((s, [, n]) => s + n, 0);
        p.p50 = quantile(hist, executed, 0.5);
        p.p95 = quantile(hist, executed, 0.95);
        p.p99 = quantile(hist, executed, 0.99);
        out.push(p);
        const tid = p.key === null ? '\u0001' : p.key;
        const t = totals.get(tid) ?? { key: p.key, calls: 0, units: 0, errors: 0, refused: 0 };
        t.calls += p.calls;
        t.units += p.units;
        t.errors += p.errors;
        t.refused += p.refused;
        totals.set(tid, t);
      }
      out.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : (a.key ?? '') < (b.key ?? '') ? -1 : (a.key ?? '') > (b.key ?? '') ? 1 : 0));
      const sortedTotals = [...totals.values()].sort((a, b) => b.calls - a.calls || ((a.key ?? '') < (b.key ?? '') ? -1 : 1));
      return { points: out, totals: sortedTotals };
    },
  };
}
