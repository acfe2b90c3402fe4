/**
 * Step 6.10 (runtime/call-path.ts): a `require_approval` decision holds the call until an operator approves that
 * exact call: this caller, for this customer, this tool, these arguments. The caller is told the
 * request's id and calls again once it is approved; one approval lets one call through.
 */
import type { ToolModel } from '../model.ts';
import type { Decision } from '../policy/types.ts';
import type { approvalsRepo } from '../store/index.ts';
import { canonicalJson, sha256Hex } from '../store/canonical.ts';
import { redactArguments } from './audit.ts';
import { decisionReasons } from './policy.ts';
import { Refusal } from './refusal.ts';

type Approvals = Pick<ReturnType<typeof approvalsRepo>, 'claim' | 'request'>;

export interface ApprovalSubject {
  tenantId: string;
  subject: string;
  customerId: string | null;
}

/** Returns the id of the approval the call runs on; throws a Refusal naming the pending request otherwise. */
export async function requireApproval(
  approvals: Approvals, decision: Decision, who: ApprovalSubject, tool: ToolModel, args: Record<string, unknown>, callId: string,
): Promise<string> {
  const key = { ...who, tool: tool.name, argumentsHash: sha256Hex(canonicalJson(args)) };
  const approved = await approvals.claim(key, callId);
  if (approved) return approved.id;
  const reason = decisionReasons(decision);
  const pending = await approvals.request({ ...key, connector: tool.connector, arguments: redactArguments(args) as Record<string, unknown>, decisionId: decision.id, reason });
  throw new Refusal('policy', 'needs-approval',
    `Held for approval: ${tool.name} needs an operator's approval (${reason}). Request ${pending.id} is pending until ${pending.expiresAt}; `
    + `once it is approved, call ${tool.name} again with the same arguments.`, 403, decision.id);
}
