/**
 * Metering: one usage record per executed call, keyed by the call id, committed together with the
 * call's audit record (runtime/chain/record.ts) before the answer leaves. The store ignores a
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
   * `cached`: answered from the response cache (runtime/chain/response-cache.ts), no vendor request.
   */
  outcome: 'ok' | 'error' | 'cancelled' | 'cached';
  latencyMs: number;
  upstreamBytes: number;
}

/** A call is one billable unit; what it fetched is recorded beside it for the tenant's own reports. */
export function usageRecord(m: Metered): UsageRecord {
  return { ...m, latencyMs: Math.max(0, Math.round(m.latencyMs)), units: 1 };
}
