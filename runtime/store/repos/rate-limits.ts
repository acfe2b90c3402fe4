import type { Store } from '../db.ts';

export type RateLimitScope = 'tenant' | 'identity';
export interface RateLimit { tenantId: string; scope: RateLimitScope; perSecond: number }

export const RATE_LIMIT_SCOPES: readonly RateLimitScope[] = ['tenant', 'identity'];

export function rateLimitsRepo(store: Store) {
  const { db } = store;
  return {
    async set(limit: RateLimit): Promise<void> {
      if (!RATE_LIMIT_SCOPES.includes(limit.scope)) throw new Error(`rate limit scope "${limit.scope}" is not one of ${RATE_LIMIT_SCOPES.join(', ')}`);
      if (!Number.isInteger(limit.perSecond) || limit.perSecond < 1) {
        throw new Error(`rate limit for ${limit.tenantId} (${limit.scope}) must be a positive whole number of calls per second, got ${limit.perSecond}`);
      }
      await db.insertInto('rate_limits').values({ tenant_id: limit.tenantId, scope: limit.scope, per_second: limit.perSecond })
        .onConflict((oc) => oc.columns(['tenant_id', 'scope']).doUpdateSet({ per_second: limit.perSecond }))
        .execute();
    },
    async remove(tenantId: string, scope: RateLimitScope): Promise<void> {
      await db.deleteFrom('rate_limits').where('tenant_id', '=', tenantId).where('scope', '=', scope).execute();
    },
    async list(tenantId: string): Promise<RateLimit[]> {
      const rows = await db.selectFrom('rate_limits').selectAll().where('tenant_id', '=', tenantId).orderBy('scope').execute();
      return rows.map((r) => ({ tenantId: r.tenant_id, scope: r.scope as RateLimitScope, perSecond: r.per_second }));
    },
  };
}
