/**
 * Request budgets per vendor instance: a vendor's own limit (Autotask: 10,000 requests an hour)
 * is shared by every conversation that reaches that instance, so the gateway counts against it
 * and refuses, saying when to retry, before the vendor starts answering 429 to everyone. An
 * instance is a connector as one tenant reaches it (each tenant has its own vendor account).
 */
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { Refusal } from './refusal.ts';

export interface VendorBudget {
  requests: number;
  /** Length of the window, seconds (3600 for "per hour"). */
  perSeconds: number;
}

export interface VendorBudgets {
  /** Takes one request from the instance's budget; throws a Refusal (429) when it is spent. */
  take(connector: string, tenantId: string): Promise<void>;
}

export function createVendorBudgets(budgets: Record<string, VendorBudget>): VendorBudgets {
  const limiters = new Map<string, { limiter: RateLimiterMemory; budget: VendorBudget }>();
  for (const [connector, budget] of Object.entries(budgets)) {
    if (!Number.isInteger(budget.requests) || budget.requests < 1 || !Number.isInteger(budget.perSeconds) || budget.perSeconds < 1) {
      throw new RangeError(`vendor budget of '${connector}': requests and perSeconds must be whole numbers of at least 1`);
    }
    limiters.set(connector, { limiter: new RateLimiterMemory({ points: budget.requests, duration: budget.perSeconds, keyPrefix: `vendor-${connector}` }), budget });
  }
  return {
    async take(connector, tenantId) {
      const entry = limiters.get(connector);
      if (!entry) return;
      try {
        await entry.limiter.consume(tenantId, 1);
      } catch (e) {
        if (!(e instanceof RateLimiterRes)) throw e;
        const seconds = Math.max(1, Math.ceil(e.msBeforeNext / 1000));
        throw new Refusal('quota', 'vendor-budget',
          `Refused: the request budget for ${connector} (${entry.budget.requests} requests per ${entry.budget.perSeconds} s, kept below the vendor's own limit) is spent for your account; retry in ${seconds} s`, 429);
      }
    },
  };
}
