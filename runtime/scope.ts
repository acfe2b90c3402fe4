/**
 * A tool's customer scope as the policy, the catalog page and the customer step see it. Models
 * generated before scopes were declared have none: their bound parameters make them customer-
 * scoped, anything else is tenant-wide without a stated reason.
 */
import type { ToolModel, ToolScope } from './model.ts';

export function toolScope(tool: Pick<ToolModel, 'scope' | 'customerParameters' | 'ownership' | 'ownerParent'>): ToolScope {
  if (tool.scope) return tool.scope;
  if (tool.customerParameters.length || tool.ownership || tool.ownerParent) {
    return { kind: 'customer', ...(tool.customerParameters.length && { bound: tool.customerParameters }), ...(tool.ownership && { verified: tool.ownership.field }) };
  }
  return { kind: 'tenant', reason: 'undeclared' };
}

/** One line for the catalog page and `specgate check --tokens`. */
export function describeScope(tool: Pick<ToolModel, 'scope' | 'customerParameters' | 'ownership' | 'ownerParent'>): string {
  const scope = toolScope(tool);
  if (scope.kind === 'tenant') return `tenant (${scope.reason})${scope.customerRecords ? ', customer records' : ''}`;
  return [
    scope.bound?.length ? `bound (${scope.bound.map((b) => `\`${b}\``).join(', ')})` : '',
    scope.verified ? `verified (\`${scope.verified}\`)` : '',
    scope.parent ? `verified via \`${scope.parent}\`` : '',
    scope.credential ? 'credential (per-customer token)' : '',
  ]
    .filter(Boolean).join(' + ');
}
