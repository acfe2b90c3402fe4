/**
 * The hash chain of a tenant's usage rows, like the audit log's: kept apart from the repository so
 * the migration that chains the rows already stored needs nothing that opens a store.
 */
import { canonicalJson, sha256Hex } from './canonical.ts';
import type { UsageTable } from './schema.ts';

export const USAGE_GENESIS = '0'.repeat(64);

export type UsageFields = Omit<UsageTable, 'seq' | 'prev_hash' | 'hash'>;

/**
 * Usage rows form a hash chain per tenant, like the audit log, so that a billed row edited,
 * inserted or deleted in the database shows: the hash covers every column but the hash itself.
 */
export function usageRowHash(prevHash: string, seq: number, row: UsageFields): string {
  return sha256Hex(prevHash + canonicalJson({
    at: row.at, callId: row.call_id, connector: row.connector, customer: row.customer_id, latencyMs: row.latency_ms, outcome: row.outcome,
    seq, subject: row.subject, tenant: row.tenant_id, tool: row.tool, units: row.units, upstreamBytes: row.upstream_bytes,
  }));
}

/** What is wrong with one usage row as the next link of its tenant's chain, or null. */
export function checkUsageRow(row: UsageTable, expectSeq: number, prevHash: string): string | null {
  if (row.seq !== expectSeq) return `usage row seq ${expectSeq} was deleted (next stored seq is ${row.seq})`;
  if (row.prev_hash !== prevHash) return `usage row ${row.call_id} (seq ${row.seq}) does not link to seq ${expectSeq - 1}`;
  if (usageRowHash(prevHash, row.seq, row) !== row.hash) return `usage row ${row.call_id} (seq ${row.seq}) was edited: its hash does not match its contents`;
  return null;
}

