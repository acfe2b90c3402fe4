import type { Kysely } from 'kysely';
import type { Store } from '../db.ts';
import type { Schema } from '../schema.ts';

export interface QuotaRule { tenantId: string; scope: string; period: string; limit: number }
export interface ConsumeResult { ok: boolean; used: number }

/**
 * Takes `n` units from the counter for (tenant, scope, periodStart) if that keeps it at or under
 * `limit`, in `db` or in a transaction. One statement: the upsert's conditional DO UPDATE is
 * evaluated under the row lock (PostgreSQL) or the database write lock (SQLite), so concurrent
 * callers, in one process or many instances on one database, can never push `used` past `limit`.
 */
export async function consumeQuotaIn(db: Kysely<Schema>, tenantId: string, scope: string, periodStart: string, limit: number, n = 1): Promise<ConsumeResult> {
  if (!Number.isInteger(n) || n < 1) throw new Error(`quota consume amount must be a positive integer, got ${n}`);
  if (n <= limit) {
    const row = await db.insertInto('quota_counters')
      .values({ tenant_id: tenantId, scope, period_start: periodStart, used: n })
      .onConflict((oc) => oc.columns(['tenant_id', 'scope', 'period_start'])
        .doUpdateSet((eb) => ({ used: eb('quota_counters.used', '+', n) }))
        .where('quota_counters.used', '<=', limit - n))
      .returning('used')
      .executeTakeFirst();
    if (row) return { ok: true, used: row.used };
  }
  const current = await db.selectFrom('quota_counters').select('used')
    .where('tenant_id', '=', tenantId).where('scope', '=', scope).where('period_start', '=', periodStart)
    .executeTakeFirst();
  return { ok: false, used: current?.used ?? 0 };
}

export function quotaRepo(store: Store) {
  const { db } = store;
  return {
    async setQuota(rule: QuotaRule): Promise<void> {
      if (!Number.isInteger(rule.limit) || rule.limit < 0) throw new Error(`quota limit for ${rule.tenantId} ${rule.scope}/${rule.period} must be a non-negative integer, got ${rule.limit}`);
      await db.insertInto('quotas')
        .values({ tenant_id: rule.tenantId, scope: rule.scope, period: rule.period, limit: rule.limit })
        .onConflict((oc) => oc.columns(['tenant_id', 'scope', 'period']).doUpdateSet({ limit: rule.limit }))
        .execute();
    },
    async listQuotas(tenantId: string): Promise<QuotaRule[]> {
      const rows = await db.selectFrom('quotas').selectAll().where('tenant_id', '=', tenantId).orderBy('scope').orderBy('period').execute();
      return rows.map((r) => ({ tenantId: r.tenant_id, scope: r.scope, period: r.period, limit: r.limit }));
    },
    /** See consumeQuotaIn. */
    consume(tenantId: string, scope: string, periodStart: string, limit: number, n = 1): Promise<ConsumeResult> {
      return consumeQuotaIn(db, tenantId, scope, periodStart, limit, n);
    },
    async used(tenantId: string, scope: string, periodStart: string): Promise<number> {
      const row = await db.selectFrom('quota_counters').select('used')
        .where('tenant_id', '=', tenantId).where('scope', '=', scope).where('period_start', '=', periodStart)
        .executeTakeFirst();
      return row?.used ?? 0;
    },
  };
}
