/**
 * Checks that need every tool of the connector: a customer binding that binds nothing (a misspelt
 * name would leave the parameter to the model, which the runtime could never catch), and owner
 * parents that name no tool able to verify them.
 */
import type { ToolModel } from '../../runtime/model.ts';
import type { ConnectorSpec } from '../spec/types.ts';
import type { Selection } from '../select.ts';
import { checkOwnerParent } from '../scope.ts';
import { issueList, type Issue } from './issues.ts';

export function connectorChecks(spec: Pick<ConnectorSpec, 'customer'>, selections: readonly Selection[], tools: readonly ToolModel[]): Issue[] {
  const { issues, error } = issueList();
  for (const [i, p] of (spec.customer?.parameters ?? []).entries()) {
    if (!tools.some((t) => t.parameters.some((b) => b.customer && b.name === p))) {
      error(['customer', 'parameters', i], 'customer/unused', `customer parameter "${p}" is on no selected tool`,
        'check the name against `specgate ops`; a tool without it is not scoped to a customer');
    }
  }
  for (const sel of selections) {
    const tool = tools.find((t) => t.operation.operationId === sel.op.operationId && t.operation.path === sel.op.path);
    if (!tool?.ownerParent) continue;
    const problem = checkOwnerParent(tool, tools);
    if (problem) error([...sel.specPath, 'owner', 'parent'], 'owner/parent', problem);
  }
  return issues;
}
