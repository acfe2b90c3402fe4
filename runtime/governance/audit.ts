/**
 * Audit: every call, refused or not, appended to the tenant's hash chain with the decision id,
 * the arguments (secrets redacted) and the outcome. Calls that never authenticated have no
 * tenant; they go to the gateway chain, which only a global operator reads.
 */
import type { AuditRecord } from '../store/index.ts';
import { mapJson } from '../store/walk.ts';
import type { Metered } from './meter.ts';

/**
 * The chain for requests whose tenant is unknown (authentication failed, or the request was
 * refused before it could be tried): calls refused by the governance chain and refusals at the
 * HTTP edge. Tenant ids cannot start with `_`, so no tenant can own it.
 */
export const GATEWAY_CHAIN = '_gateway';

const SECRET_KEY = /password|secret|token|key/i;
export const REDACTED = '[redacted]';

/** A copy with the value of every key that looks like a secret replaced, at any depth. */
export function redactArguments(value: unknown): unknown {
  return mapJson(value, (obj) => Object.entries(obj).map(([k, v]) => [k, SECRET_KEY.test(k) ? { use: REDACTED } : { copy: v }]));
}

export interface CallAudit {
  tenantId: string | null;
  callId: string;
  requestId: string;
  /** The policy decision, or the governance decision that refused before the policy ran. */
  decisionId: string;
  subject: string | null;
  keyId: string | null;
  customer: string | null;
  connector: string;
  tool: string;
  arguments: Record<string, unknown>;
  /** An execution's outcome as metered, or `refused`; `replayed`: a re-delivery of a call (same Idempotency-Key) answered with the first delivery's result. */
  outcome: Metered['outcome'] | 'refused' | 'replayed';
  replayOf?: string;
  /** The approval this call ran on, when policy required one. */
  approvalId?: string;
  /** For refusals: which step and why. */
  step?: string;
  code?: string;
  reason?: string;
}

/** The chain a call's record goes to, and the record: nulls left out, arguments redacted. */
export function auditRecord(entry: CallAudit): { chain: string; record: AuditRecord } {
  const { tenantId, arguments: args, ...rest } = entry;
  // Nulls are left out so the indexed columns (customer, subject) stay null, not "null".
  const record: AuditRecord = { arguments: redactArguments(args) };
  for (const [k, v] of Object.entries(rest)) if (v !== null && v !== undefined) record[k] = v;
  return { chain: tenantId ?? GATEWAY_CHAIN, record };
}
