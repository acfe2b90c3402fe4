/**
 * Step 6.11 (runtime/call-path.ts): the tenant's quotas. Each rule's scope is a picomatch glob over tool names ('*' for
 * every tool); a matching call takes one unit from the counter of the current period. The
 * counter check-and-increment is one atomic statement in the store, so instances cannot overshoot.
 */
import { glob } from './glob.ts';
import type { ToolModel } from '../model.ts';
import type { quotaRepo } from '../store/index.ts';
import { Refusal } from './refusal.ts';

type Quotas = Pick<ReturnType<typeof quotaRepo>, 'listQuotas' | 'consume'>;

/** [start, next) of the period containing `now`, in UTC. */
export function periodBounds(period: string, now: Date): { start: Date; next: Date } {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const d = now.getUTCDate();
  switch (period) {
    case 'month': return { start: new Date(Date.UTC(y, m, 1)), next: new Date(Date.UTC(y, m + 1, 1)) };
    case 'day': return { start: new Date(Date.UTC(y, m, d)), next: new Date(Date.UTC(y, m, d + 1)) };
    case 'hour': {
      const h = now.getUTCHours();
      return { start: new Date(Date.UTC(y, m, d, h)), next: new Date(Date.UTC(y, m, d, h + 1)) };
    }
    default: throw new Error(`unknown quota period "${period}": use month, day or hour`);
  }
}

export async function checkQuota(quotas: Quotas, tenantId: string, tool: ToolModel, now: Date): Promise<void> {
  for (const rule of await quotas.listQuotas(tenantId)) {
    if (!glob(rule.scope)(tool.name)) continue;
    let bounds: { start: Date; next: Date };
    try {
      bounds = periodBounds(rule.period, now);
    } catch (e) {
      // A misconfigured quota fails closed: better refuse than run unmetered.
      throw new Refusal('quota', 'bad-quota', `Refused: quota ${rule.scope}/${rule.period} is misconfigured (${(e as Error).message})`, 429);
    }
    const { ok } = await quotas.consume(tenantId, rule.scope, bounds.start.toISOString(), rule.limit);
    if (!ok) {
      throw new Refusal('quota', 'exhausted', `Refused: quota exhausted (${rule.limit} calls per ${rule.period} for "${rule.scope}"); it resets at ${bounds.next.toISOString()}`, 429);
    }
  }
}
