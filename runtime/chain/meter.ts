/**
 * Metering: one usage record per executed call, written and committed before the answer leaves.
 * The store ignores a second record with the same call id, so a retried call is billed once.
 */
import type { usageRepo, UsageRecord } from '../store/index.ts';

type Usage = Pick<ReturnType<typeof usageRepo>, 'record'>;

export async function meterCall(usage: Usage, record: UsageRecord): Promise<{ inserted: boolean }> {
  return usage.record(record);
}
