/**
 * Step 6.7 (runtime/call-path.ts): the policy engine decides on one document built from the authenticated identity and
 * the parsed call, never from headers. An allow may carry obligations (fields to redact, an item
 * cap), which tighten the tool's own shape for this call only.
 */
import type { ToolModel } from '../model.ts';
import type { Decision, Obligations, PolicyInput } from '../policy/types.ts';
import type { Identity } from './authenticate.ts';
import { Refusal } from './refusal.ts';
import { normalizeTag } from '../policy/tags.ts';
import { toolScope } from '../scope.ts';

/** The local engine (`createPolicyEngine`) or anything with the same `decide`, e.g. an OPA client. */
export interface PolicyDecider {
  decide(input: PolicyInput): Decision | Promise<Decision>;
}

export function policyInput(identity: Identity, tenant: string, customer: string | null, tool: ToolModel, time: string, args?: Record<string, unknown>, actingFor?: string | null): PolicyInput {
  return {
    identity: { subject: identity.subject, roles: identity.roles, tenant: identity.tenantId },
    tenant,
    customer,
    ...(actingFor !== undefined && { actingFor }),
    connector: tool.connector,
    tool: policyTool(tool),
    ...(args !== undefined && { arguments: args }),
    time,
  };
}

/** What a policy sees of a tool: the same for a call and for `specgate policy test` naming a catalog tool. */
export function policyTool(tool: ToolModel): PolicyInput['tool'] {
  return { name: tool.name, riskTier: tool.riskTier, annotations: tool.annotations, tags: tool.tags.map(normalizeTag), sensitivity: tool.sensitivity ?? 'none', scope: toolScope(tool) };
}

/** The messages of the rules that made the decision what it is. */
export function decisionReasons(decision: Decision): string {
  return decision.reasons.filter((r) => r.effect === decision.effect).map((r) => r.message ?? r.rule).join('; ');
}

/**
 * Decides, and refuses a deny. A `require_approval` decision comes back to the caller: a listing
 * shows the tool, and a call goes to the approval step (./approval.ts).
 */
export async function evaluatePolicy(policy: PolicyDecider, input: PolicyInput): Promise<Decision> {
  const decision = await policy.decide(input);
  if (decision.effect === 'allow' || decision.effect === 'require_approval') return decision;
  throw new Refusal('policy', 'denied', `Refused by policy: ${decisionReasons(decision)}`, 403, decision.id);
}

/** The tool with the decision's obligations folded into its shape: redactions added, item cap lowered. */
export function withObligations(tool: ToolModel, obligations: Obligations): ToolModel {
  if (obligations.redact.length === 0 && obligations.maxItems === undefined) return tool;
  const redact = [...new Set([...(tool.shape.redact ?? []), ...obligations.redact])].sort();
  const caps = [tool.shape.maxItems, obligations.maxItems].filter((n): n is number => typeof n === 'number');
  return { ...tool, shape: { ...tool.shape, redact, ...(caps.length > 0 && { maxItems: Math.min(...caps) }) } };
}
