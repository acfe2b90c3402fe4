/**
 * Step 6.8 (runtime/call-path.ts): calls per second, per tenant and per identity. Token buckets live in this
 * instance's memory (rate-limiter-flexible): a per-second limit guards the vendor and the runtime
 * from bursts, and a database round trip per call would cost more than the limit protects. With
 * N instances behind a load balancer each one enforces the limit on its own share of the traffic;
 * the billing-exact limit is the quota (second half), which is counted in the store.
 */
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimit, rateLimitsRepo } from '../store/index.ts';
import type { Identity } from './authenticate.ts';
import { Refusal } from './refusal.ts';

type RateLimits = Pick<ReturnType<typeof rateLimitsRepo>, 'list'>;

export interface RateLimiter {
  /** Takes one call from the tenant's bucket and from the identity's; throws a 429 Refusal when either is empty. */
  check(identity: Identity, tenantId: string, now: Date): Promise<void>;
}

export function createRateLimiter(limits: RateLimits): RateLimiter {
  // One bucket set per configured rate: changing a tenant's limit starts it on fresh buckets.
  const buckets = new Map<number, RateLimiterMemory>();
  const bucketsFor = (perSecond: number) => {
    let b = buckets.get(perSecond);
    if (!b) buckets.set(perSecond, b = new RateLimiterMemory({ points: perSecond, duration: 1, keyPrefix: `rps${perSecond}` }));
    return b;
  };

  async function take(limit: RateLimit, key: string, who: string, now: Date): Promise<void> {
    try {
      await bucketsFor(limit.perSecond).consume(key);
    } catch (e) {
      if (!(e instanceof RateLimiterRes)) throw e;
      const resetAt = new Date(now.getTime() + e.msBeforeNext);
      throw new Refusal('quota', 'rate-limited',
        `Refused: rate limit of ${limit.perSecond} calls per second for ${who} reached; retry after ${Math.max(1, Math.ceil(e.msBeforeNext))} ms (at ${resetAt.toISOString()})`, 429);
    }
  }

  return {
    async check(identity, tenantId, now) {
      for (const limit of await limits.list(tenantId)) {
        if (limit.scope === 'tenant') await take(limit, `t:${tenantId}`, `tenant ${tenantId}`, now);
        else await take(limit, `i:${tenantId}:${identity.subject}`, `${identity.subject} in tenant ${tenantId}`, now);
      }
    },
  };
}
