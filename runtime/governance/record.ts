/**
 * The last step of every call: its audit record and, when it executed, its usage record, written
 * in one transaction of the store's group commit before the answer leaves. Both or neither: a
 * crash can never leave a billed call unaudited or an audited execution unbilled.
 */
import { appendAuditIn, auditLockKey, checkUsageRecord, insertUsageIn, type GroupCommit, type UsageRecord } from '../store/index.ts';
import { auditRecord, type CallAudit } from './audit.ts';

export interface CallRecorder {
  record(audit: CallAudit, usage?: UsageRecord): Promise<void>;
}

export function createCallRecorder(group: GroupCommit, now: () => Date): CallRecorder {
  return {
    async record(entry, usage) {
      const { chain, record } = auditRecord(entry);
      // Checked before queueing, so a malformed record fails its own call, never a batch.
      if (usage) checkUsageRecord(usage);
      await group.run([auditLockKey(chain)], async (trx, batch) => {
        if (usage) await insertUsageIn(trx, usage, now, batch);
        await appendAuditIn(trx, chain, record, now().toISOString(), batch);
      });
    },
  };
}
