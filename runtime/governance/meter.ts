/**
 * Metering: one usage record per executed call, keyed by the call id, committed together with the
 * call's audit record (runtime/governance/record.ts) before the answer leaves. The store ignores a
 * second record with the same call id, so a call is never billed twice.
 */
import type { UsageRecord } from '../store/index.ts';

export interface Metered {
  callId: string;
  tenantId: string;
  customerId: string | null;
  subject: string;
  connector: string;
  tool: string;
  /**
   * `cancelled`: the caller went away mid-call (the upstream request was aborted with it).
   * `cached`: answered from the response cache (runtime/governance/response-cache.ts), no vendor request.
   */
  outcome: 'ok' | 'error' | 'cancelled' | 'cached';
  latencyMs: number;
  upstreamBytes: number;
  /**
   * Whether a request left for the vendor. Undefined when the caller does not say (a custom
   * ToolCaller); such a call is billed as if it did.
   */
  reachedVendor?: boolean;
}

/**
 * What is billable: a call that reached the vendor is one unit, whatever the vendor answered (ok,
 * an HTTP error, a timeout, the caller hanging up after it was sent). A call that never left the
 * gateway (refused, invalid arguments, a malformed cursor, cancelled before sending) is zero units.
 * Refusals have no usage row at all; executions that never reached the vendor have a row of zero
 * units, so the tenant's reports still show them. What the call fetched is recorded beside it.
 */
export function usageRecord(m: Metered): UsageRecord {
  const { reachedVendor, ...rest } = m;
  return { ...rest, latencyMs: Math.max(0, Math.round(m.latencyMs)), units: reachedVendor === false ? 0 : 1 };
}
